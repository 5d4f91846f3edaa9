"""Checks for the beginners lab (labs/beginners): one test per step, read-only on the engine.

Each check looks only at what the learner made since they started the lab, and when a step is
not done it names what is missing, or the mistake it recognises, with the fix.
"""

from __future__ import annotations

from workshop.probes import Learner, missing

LAB = "beginners"
IMAGE = "alpine"


def test_engine(engine):
    """Step `engine`: the docker client reaches a daemon (the fixture fails if none answers)."""
    version = engine.version()
    assert version.get("ApiVersion"), "The engine answered without an API version: restart Docker."


def test_pull(learner: Learner):
    if learner.image("alpine:latest") is not None:
        return
    others = learner.tags_of(IMAGE)
    if others:
        missing(
            f"You have {', '.join(others)} but not alpine:latest: with no tag, `docker image "
            "pull alpine` pulls `latest`, the tag the lab uses; run it as written."
        )
    missing("The alpine image is not on this host yet: run `docker image pull alpine`.")


def _finished(container, what: str, command: str):
    __tracebackhide__ = True
    if container.running:
        missing(
            f"Your container {container.short_id} ({what}) is still running: wait for it, "
            f"or run `{command}` again."
        )
    if container.exit_code != 0:
        missing(
            f"Your container {container.short_id} ({what}) exited with code "
            f"{container.exit_code}, not 0: run `{command}` exactly as written."
        )


def test_run_ls(learner: Learner):
    command = "docker container run alpine ls -l"
    runs = learner.containers(IMAGE)
    done = [c for c in runs if c.ran("ls", "-l")]
    if done:
        return _finished(done[-1], "ls -l", command)
    if any(c.ran("ls") for c in runs):
        missing(
            f"You ran `ls` without `-l`: `-l` lists the files in long form (permissions, "
            f"owner, size); run `{command}`."
        )
    other = [c for c in runs if c.ran_program("ls")]
    if other:
        missing(f"You ran `{' '.join(other[-1].command)}`; this step wants exactly `{command}`.")
    missing(f"No container from alpine has run `ls -l` since you started: run `{command}`.")


def test_run_echo(learner: Learner):
    command = 'docker container run alpine echo "hello from alpine"'
    runs = learner.containers(IMAGE)
    echoes = [c for c in runs if c.ran_program("echo")]
    done = [c for c in echoes if " ".join(c.command[1:]) == "hello from alpine"]
    if done:
        return _finished(done[-1], "echo", command)
    quoted = [c for c in runs if len(c.command) == 1 and c.command[0].startswith("echo ")]
    if quoted:
        missing(
            "You put the whole command in quotes, so Docker looked for a program named "
            f"`{quoted[-1].command[0]}`: quote only the text, `{command}`."
        )
    if echoes:
        said = " ".join(echoes[-1].command[1:])
        missing(
            f'Your container echoed {said!r}; this step wants "hello from alpine": run `{command}`.'
        )
    missing(f"No container from alpine has run echo since you started: run `{command}`.")


def _shells(runs):
    return [c for c in runs if c.ran_program("sh") or c.ran_program("ash")]


def _git_bash(runs):
    __tracebackhide__ = True
    for c in runs:
        rewritten = c.windows_path_in_command
        if rewritten:
            missing(
                f"Git Bash on Windows rewrote /bin/sh into the Windows path {rewritten!r} "
                "before Docker saw it: write `//bin/sh` (two slashes) or run "
                "`export MSYS_NO_PATHCONV=1` first, then run the command again."
            )


def test_interactive_shell(learner: Learner):
    command = "docker container run -it alpine /bin/sh"
    runs = learner.containers(IMAGE)
    shells = _shells(runs)
    if any(c.interactive for c in shells):
        return
    _git_bash(runs)
    if any(c.stdin_open and not c.tty for c in shells):
        missing(
            "You used -i without -t: input stays open but there is no terminal, so the shell "
            f"shows no prompt; use both, `{command}`."
        )
    if any(c.tty and not c.stdin_open for c in shells):
        missing(
            "You used -t without -i: there is a terminal but your typing never reaches the "
            f"shell; use both, `{command}`."
        )
    if shells:
        missing(
            "Your shell exited at once: with no terminal attached, sh read the end of its "
            f"input and quit. Now give it one: `{command}`, look around, then type `exit`."
        )
    missing(
        f"No shell has run in alpine yet: run `docker container run alpine /bin/sh`, then "
        f"`{command}`."
    )


def _hello_holder(learner: Learner, runs):
    """The newest container that has a hello.txt, or a message-bearing failure."""
    __tracebackhide__ = True
    holders = [c for c in runs if c.added("hello.txt")]
    if holders:
        return holders[-1]
    _git_bash(runs)
    if learner.removed(IMAGE):
        missing(
            "No container has hello.txt any more: the one you made it in was removed "
            "(`--rm` or `docker container rm`). Make it again, without --rm: "
            '`docker container run -it alpine /bin/ash`, then `echo "hello world" > '
            "hello.txt`, then `exit`."
        )
    missing(
        "No container has a hello.txt yet: run `docker container run -it alpine /bin/ash`, "
        'type `echo "hello world" > hello.txt`, then `exit`.'
    )


def test_isolation(learner: Learner):
    runs = learner.containers(IMAGE)
    holder = _hello_holder(learner, runs)
    listings = [c for c in runs if c.ran("ls")]
    if any(c.created > holder.created for c in listings):
        return
    if listings:
        missing(
            "You ran `docker container run alpine ls` before you made hello.txt: run it "
            "again now, and see that a new container does not have the file."
        )
    missing(
        f"hello.txt is in container {holder.short_id}. Now run `docker container run alpine "
        "ls` and look for it in the new container's listing."
    )


def test_start_exec(learner: Learner):
    runs = learner.containers(IMAGE)
    holder = _hello_holder(learner, runs)
    ident = holder.short_id
    listings = [e for e in learner.execs() if e.argv[:1] == ["ls"]]
    wrong = [e for e in listings if e.container_id != holder.id]
    right = [e for e in listings if e.container_id == holder.id]
    if not right and wrong:
        missing(
            f"You ran ls in container {wrong[-1].container_id[:12]}, which has no hello.txt; "
            f"the one that has it is {ident}: `docker container start {ident}`, then "
            f"`docker container exec {ident} ls`."
        )
    if not holder.running:
        missing(
            f"The container with hello.txt ({ident}) is stopped, so exec cannot run in it: "
            f"`docker container start {ident}` first, then `docker container exec {ident} ls`."
        )
    if not right:
        missing(
            f"Container {ident} is running; now run `docker container exec {ident} ls`. (The "
            "kit sees execs in the engine's event log, which lives in memory: if Docker was "
            "restarted since, run the exec again.)"
        )
    import testinfra

    inside = testinfra.get_host(f"docker://{holder.id}")
    path = holder.added("hello.txt")
    assert inside.file(path).is_file, (
        f"hello.txt is no longer at {path} in container {ident}: make it again there with "
        f"`docker container exec {ident} sh -c 'echo hello > {path}'`."
    )
