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
    if not engine.version().get("ApiVersion"):
        missing("The engine answered without an API version: restart Docker, then try again.")


def test_pull(learner: Learner):
    if learner.image("alpine:latest") is not None:
        if learner.pulled("alpine:latest"):
            return
        missing(
            "alpine is already on this host, but you have not pulled it since you started the "
            "lab (or the engine's event log, which keeps only recent events, forgot it): run "
            "`docker image pull alpine` yourself; it is quick when the image is already here."
        )
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
    done = [
        c
        for c in runs
        if c.ran_program("echo")
        and c.command[1:]
        and " ".join(c.command[1:]) == "hello from alpine"
    ]
    if done:
        return _finished(done[-1], "echo", command)
    attempts = [c for c in runs if c.command and c.command[0].split()[0].endswith("echo")]
    if not attempts:
        missing(f"No container from alpine has run echo since you started: run `{command}`.")
    latest = attempts[-1]  # the newest attempt is the one to talk about
    if len(latest.command) == 1 and " " in latest.command[0]:
        missing(
            "You put the whole command in quotes, so Docker looked for a program named "
            f"`{latest.command[0]}`: quote only the text, `{command}`."
        )
    said = " ".join(latest.command[1:])
    missing(
        f'Your container echoed {said!r}; this step wants "hello from alpine": run `{command}`.'
    )


def _shells(runs):
    return [
        c
        for c in runs
        if (c.ran_program("sh") or c.ran_program("ash")) and not c.windows_path_in_command
    ]


def _not_in_alpine(runs):
    """A shell alpine does not have (bash), or a Windows path made by Git Bash."""
    __tracebackhide__ = True
    for c in reversed(runs):
        rewritten = c.windows_path_in_command
        if rewritten:
            missing(
                f"Git Bash on Windows rewrote /bin/sh into the Windows path {rewritten!r} "
                "before Docker saw it: write `//bin/sh` (two slashes) or run "
                "`export MSYS_NO_PATHCONV=1` first, then run the command again."
            )
        if c.ran_program("bash"):
            missing(
                "alpine has no bash (the container could not start it): alpine's shells are "
                "/bin/sh and /bin/ash; use the command as written."
            )


def test_interactive_shell(learner: Learner):
    command = "docker container run -it alpine /bin/sh"
    runs = learner.containers(IMAGE)
    shells = _shells(runs)
    if any(c.interactive for c in shells):
        return
    tried = [
        c
        for c in runs
        if c.ran_program("sh")
        or c.ran_program("ash")
        or c.ran_program("bash")
        or c.windows_path_in_command
    ]
    if tried and tried[-1] not in shells:
        _not_in_alpine(tried[-1:])
    if shells:
        latest = shells[-1]  # the newest attempt is the one to talk about
        if latest.stdin_open and not latest.tty:
            missing(
                "You used -i without -t: input stays open but there is no terminal, so the "
                f"shell shows no prompt; use both, `{command}`."
            )
        if latest.tty and not latest.stdin_open:
            missing(
                "You used -t without -i: there is a terminal but your typing never reaches "
                f"the shell (stop it from another terminal with `docker container stop "
                f"{latest.short_id}`); use both, `{command}`."
            )
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
    _not_in_alpine(runs[-1:])
    removed = learner.removed(IMAGE)
    if removed:
        missing(
            f"No container has hello.txt. {len(removed)} alpine container(s) were removed "
            "since you started: if you made hello.txt in one of them (with `--rm`, or "
            "before `docker container rm`), the file went with it. Make it again, without "
            '--rm: `docker container run -it alpine /bin/ash`, then `echo "hello world" > '
            "hello.txt`, then `exit`."
        )
    missing(
        "No container has a hello.txt yet: run `docker container run -it alpine /bin/ash`, "
        'type `echo "hello world" > hello.txt`, then `exit`.'
    )


def hello_container_id(learner: Learner) -> str:
    """Probe for `workshop solve`: the ID of the container that holds hello.txt."""
    return _hello_holder(learner, learner.containers(IMAGE)).short_id


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
    right = [e for e in listings if e.container_id == holder.id]
    wrong = [e for e in listings if e.container_id != holder.id]
    start = "" if holder.running else f"`docker container start {ident}`, then "
    if not right and wrong:
        missing(
            f"You ran ls in container {wrong[-1].container_id[:12]}, which has no hello.txt; "
            f"the one that has it is {ident}: {start}`docker container exec {ident} ls`."
        )
    if not holder.running:
        missing(
            f"The container with hello.txt ({ident}) is stopped, so exec cannot run in it: "
            f"`docker container start {ident}` first, then `docker container exec {ident} ls`."
        )
    if not right:
        missing(
            f"Container {ident} is running; now run `docker container exec {ident} ls`. (The "
            "kit sees execs in the engine's event log, which keeps only its most recent few "
            "hundred events and forgets them when Docker restarts: run the exec again.)"
        )
    import testinfra

    inside = testinfra.get_host(f"docker://{holder.id}")
    path = holder.added("hello.txt")
    if not inside.file(path).is_file:
        missing(
            f"hello.txt is no longer at {path} in container {ident}: make it again there with "
            f"`docker container exec {ident} sh -c 'echo hello > {path}'`."
        )
