"""Checks for the beginners lab (labs/beginners): one test per step, read-only on the engine.

Each check states what the learner must have achieved and accepts every way of achieving it:
commands are compared by meaning (`ls -la /`, `/bin/ls -l` and `sh -c "ls -l"` all list in long
form), containers from alpine however it was named (tag, ID), and what the kit saw earlier counts
(its journal keeps the engine's events and containers it met, see workshop/journal.py). When a
step is not done, the check names what is missing, or the mistake it recognises, with the fix,
and says plainly when the kit cannot see the work (a container removed with `--rm`).
"""

from __future__ import annotations

from workshop.meaning import program_name
from workshop.probes import Container, Learner, missing

from .listing import lists_long

LAB = "beginners"
IMAGE = "alpine"
RUN_LS = "docker container run alpine ls -l"
RUN_ECHO = 'docker container run alpine echo "hello from alpine"'
RUN_SHELL = "docker container run -it alpine /bin/sh"
RUN_ASH = "docker container run -it alpine /bin/ash"
MAKE_FILE = 'echo "hello world" > hello.txt'
SHELLS = ("sh", "ash")
LOOKS = ("ls", "cat", "find", "stat", "test", "[", "head", "tail", "more", "less", "wc", "grep")


def test_engine(engine):
    """Step `engine`: the docker client reaches a daemon (the runtime fails if none answers)."""
    if not engine.version().get("ApiVersion"):
        missing(
            "The engine answered without an API version: restart Docker, then try again.",
            mistake="engine-without-api",
        )


# --- pull --------------------------------------------------------------------------------------


def test_pull(learner: Learner):
    """Step `pull`: alpine:latest is on the host, and it came since the workshop began: a pull
    the kit saw (`docker image pull`, or the pull `docker container run` does by itself for a
    missing image), or alpine:latest was absent (or another image) when the workshop began."""
    image = learner.image("alpine:latest")
    if image is not None:
        before = learner.at_start("alpine:latest")
        if learner.pulled("alpine:latest") or (before is not None and before != image.id):
            return
        if before == image.id:
            seen = "alpine was already on this host when you began the workshop, and the kit has"
            seen += " not seen you pull it since"
        else:  # no snapshot from then: the kit cannot tell whether it was here
            seen = "The kit has not seen you pull alpine since you began the workshop"
        missing(
            f"{seen} (it reads the engine's event log, which keeps only its last few hundred "
            "events, each time you run a workshop command): run `docker image pull alpine` "
            "yourself; it is quick when the image is already here.",
            mistake="pull-not-seen",
        )
    others = learner.tags_of(IMAGE)
    if others:
        missing(
            f"You have {', '.join(others)} but not alpine:latest: with no tag, `docker image "
            "pull alpine` pulls `latest`, the tag the lab uses; run it as written.",
            mistake="alpine-other-tag",
        )
    missing(
        "The alpine image is not on this host yet: run `docker image pull alpine`.",
        mistake="not-pulled",
    )


# --- shared: what the learner's containers did ---------------------------------------------------


def _removed(learner: Learner, what: str, fix: str, mistake: str, after=None):
    """If containers from alpine were removed before the kit could see them, say so plainly
    (`mistake`: the id of this removal in the caller's step)."""
    __tracebackhide__ = True
    gone = learner.removed_unseen(IMAGE, after=after)
    if gone:
        ids = ", ".join(event.actor[:12] for event in gone[-3:])
        several = len(gone) > 1
        if several:
            said = f"Containers {ids} from alpine were"
        else:
            said = f"Container {ids} from alpine was"
        what = what.format(it="they" if several else "it", was="were" if several else "was")
        missing(
            f"{said} removed (`--rm`, or `docker container rm`) before the kit could see {what}: "
            f"a removed container leaves nothing to inspect. {fix} "
            "Leave out --rm: the next steps use the stopped containers, and `docker container "
            "ls -a` lists them.",
            mistake=mistake,
        )


def _newest(containers: list[Container]):
    """When the newest of these was made (None for none): a removal after it is newer news."""
    return max((c.created for c in containers), default=None)


def _exited_well(container: Container, what: str, command: str):
    __tracebackhide__ = True
    if container.running:
        missing(
            f"Your container {container.short_id} ({what}) is still running: wait for it, "
            f"or run `{command}` again.",
            mistake="still-running",
        )
    if container.gone and container.exit_code is None:
        missing(
            f"Your container {container.short_id} ({what}) was removed before the kit saw how "
            f"it ended: run `{command}` again, and leave it until `workshop next` has seen it.",
            mistake="removed-before-exit-seen",
        )
    if container.never_started:
        missing(
            f"Container {container.short_id} was created but never started: run `{command}`.",
            mistake="never-started",
        )
    if container.exit_code != 0:
        missing(
            f"Your container {container.short_id} ran `{container.shown}` and exited with code "
            f"{container.exit_code}, not 0, so it failed (`docker container logs "
            f"{container.short_id}` shows what it said): run `{command}`.",
            mistake="exited-nonzero",
        )


def _quoted_whole(container: Container) -> str | None:
    """`docker run alpine "echo hello"`: the whole command in one word, which is no program."""
    command = container.command
    if len(command) == 1 and " " in command[0].strip():
        return command[0]
    return None


# --- run-ls --------------------------------------------------------------------------------------


def test_run_ls(learner: Learner):
    """Step `run-ls`: a container from alpine ran `ls` in long form (any path, any spelling)
    and exited 0."""
    runs = learner.containers(IMAGE, gone=True)
    long_form = [c for c in runs if any(lists_long(args) for args in c.runs("ls"))]
    good = [c for c in long_form if not c.running and c.exit_code == 0]
    if good:
        return
    quoted = [c for c in runs if (_quoted_whole(c) or "").split()[:1] == ["ls"]]
    plain = [c for c in runs if c.runs("ls")]
    _removed(
        learner,
        "what {it} ran",
        f"Run `{RUN_LS}` again.",
        "ls-removed-unseen",
        after=_newest(plain + quoted),
    )
    if long_form:
        _exited_well(long_form[-1], "ls in long form", RUN_LS)
    if plain and (not quoted or plain[-1].created > quoted[-1].created):
        missing(
            f"You ran `{plain[-1].shown}`, which lists names only: `-l` asks ls for the long "
            f"form (permissions, owner, size, date); run `{RUN_LS}`.",
            mistake="ls-without-long",
        )
    if quoted:
        missing(
            f"You put the whole command in quotes, so Docker looked for a program named "
            f"`{quoted[-1].command[0]}`: write the words apart, `{RUN_LS}`.",
            mistake="ls-quoted-whole",
        )
    missing(
        f"No container from alpine has run `ls -l` since you began: run `{RUN_LS}`.",
        mistake="ls-not-run",
    )


# --- run-echo ------------------------------------------------------------------------------------


def _says(container: Container) -> list[list[str]]:
    return [args for args in container.runs("echo") + container.runs("printf") if _words(args)]


def _words(args: list[str]) -> list[str]:
    """The text echo prints: its arguments less options such as -n or -e."""
    words = list(args)
    while words and words[0] in ("-n", "-e", "-E", "-ne", "-en"):
        words.pop(0)
    return [w for w in words if w.strip()]


def test_run_echo(learner: Learner):
    """Step `run-echo`: a container from alpine ran echo with some words (the lab's are
    "hello from alpine"; any will do) and exited 0."""
    runs = learner.containers(IMAGE, gone=True)
    said = [c for c in runs if _says(c)]
    good = [c for c in said if not c.running and c.exit_code == 0]
    if good:
        return
    attempts = [
        c for c in runs if c.runs("echo") or (_quoted_whole(c) or "").split()[:1] == ["echo"]
    ]
    latest = attempts[-1] if attempts else None  # the newest attempt is the one to talk about
    _removed(
        learner,
        "what {it} ran",
        f"Run `{RUN_ECHO}` again.",
        "echo-removed-unseen",
        after=_newest(attempts),
    )
    if latest is not None and _quoted_whole(latest):
        missing(
            "You put the whole command in quotes, so Docker looked for a program named "
            f"`{latest.command[0]}`: quote only the text, `{RUN_ECHO}`.",
            mistake="echo-quoted-whole",
        )
    if said:
        _exited_well(said[-1], "echo", RUN_ECHO)
    if latest is not None:
        missing(
            f"Your container ran `{latest.shown}`, which has nothing to say: give echo some "
            f"words, `{RUN_ECHO}`.",
            mistake="echo-without-words",
        )
    missing(
        f"No container from alpine has run echo since you began: run `{RUN_ECHO}`.",
        mistake="echo-not-run",
    )


# --- shell ---------------------------------------------------------------------------------------


def _main(container: Container) -> list[str]:
    """The command with `busybox`/`env` in front dropped: `busybox sh` is `sh`."""
    argv = list(container.command)
    while len(argv) > 1 and program_name(argv[0]) in ("busybox", "env"):
        argv = argv[1:]
    return argv


def _shells(runs: list[Container]) -> list[Container]:
    """Containers that ran one of alpine's shells as a session, or with -it (a script run
    without a terminal, `sh -c "echo hi"`, is another step's work, not a shell attempt)."""
    return [
        c
        for c in runs
        if _main(c)
        and program_name(_main(c)[0]) in SHELLS
        and not c.windows_path_in_command
        and (_session(c) or c.interactive)
    ]


def _session(container: Container) -> bool:
    """A shell reading commands from its terminal (`sh`, `ash -l`), not a script (`sh -c`)."""
    args = _main(container)[1:]
    return all(a.startswith("-") and "c" not in a[1:] for a in args)


def _not_in_alpine(runs: list[Container]):
    """A shell alpine does not have (bash), or a Windows path made by Git Bash."""
    __tracebackhide__ = True
    for c in reversed(runs):
        rewritten = c.windows_path_in_command
        if rewritten:
            missing(
                f"Git Bash on Windows rewrote /bin/sh into the Windows path {rewritten!r} "
                "before Docker saw it: write `//bin/sh` (two slashes) or run "
                "`export MSYS_NO_PATHCONV=1` first, then run the command again.",
                mistake="git-bash-path",
            )
        if c.command and program_name(c.command[0]) == "bash":
            missing(
                "alpine has no bash (the container could not start it): alpine's shells are "
                "/bin/sh and /bin/ash; use the command as written.",
                mistake="bash-not-in-alpine",
            )


def test_interactive_shell(learner: Learner):
    """Step `shell`: a container from alpine ran a shell with `-it` (input open and a
    terminal), however the shell was named (`sh`, `/bin/ash`, or the image's own command)."""
    runs = learner.containers(IMAGE, gone=True)
    shells = _shells(runs)
    sessions = [c for c in shells if c.interactive and _session(c)]
    # typed into: the docker client attached to it (the engine logs `attach`), unless the log
    # has forgotten how the container was made (then the kit gives it the benefit of the doubt)
    if any(learner.events_of(c, "attach") or not learner.events_of(c, "create") for c in sessions):
        return
    if sessions:
        latest = sessions[-1]
        missing(
            f"Your shell {latest.short_id} was started detached (-d): it waits in the "
            "background and nobody has typed into it. Attach to it with `docker container "
            f"attach {latest.short_id}` (then `exit`), or run `{RUN_SHELL}` without -d.",
            mistake="shell-detached",
        )
    tried = [
        c
        for c in runs
        if (c.command and program_name(c.command[0]) in (*SHELLS, "bash"))
        or c.windows_path_in_command
    ]
    if tried and tried[-1] not in shells:  # bash, or a path Git Bash rewrote
        _not_in_alpine(tried[-1:])
    again = f"Run `{RUN_SHELL}` again, then type `exit`."
    _removed(learner, "how {it} {was} run", again, "shell-removed-unseen", after=_newest(shells))
    if shells:
        latest = shells[-1]  # the newest attempt is the one to talk about
        if latest.interactive:
            missing(
                f"Your shell ran a script (`{latest.shown}`), not a session: drop the -c part "
                f"and type the commands at its prompt, `{RUN_SHELL}`.",
                mistake="shell-ran-script",
            )
        if latest.stdin_open and not latest.tty:
            missing(
                "You used -i without -t: input stays open but there is no terminal, so the "
                f"shell shows no prompt; use both, `{RUN_SHELL}`.",
                mistake="shell-without-t",
            )
        if latest.tty and not latest.stdin_open:
            missing(
                "You used -t without -i: there is a terminal but your typing never reaches "
                f"the shell (stop it from another terminal with `docker container stop "
                f"{latest.short_id}`); use both, `{RUN_SHELL}`.",
                mistake="shell-without-i",
            )
        missing(
            "Your shell exited at once: with no terminal attached, sh read the end of its "
            f"input and quit. Now give it one: `{RUN_SHELL}`, look around, then type `exit`.",
            mistake="shell-without-it",
        )
    missing(
        f"No shell has run in alpine yet: run `docker container run alpine /bin/sh`, then "
        f"`{RUN_SHELL}`.",
        mistake="shell-not-run",
    )


# --- isolation -----------------------------------------------------------------------------------


def _hello_holder(learner: Learner, runs: list[Container]) -> Container:
    """The newest container that has a hello.txt, or a message-bearing failure."""
    __tracebackhide__ = True
    # newest first, and the first found: each look is a `diff` the engine computes
    holder = next((c for c in reversed(runs) if not c.gone and c.added("hello.txt")), None)
    if holder is not None:
        return holder
    _not_in_alpine(runs[-1:])
    removed = learner.removed(IMAGE)
    if removed:
        missing(
            f"No container has hello.txt. {len(removed)} alpine container(s) were removed "
            "since you began: if you made hello.txt in one of them (with `--rm`, or "
            "before `docker container rm`), the file went with it. Make it again, without "
            f"--rm: `{RUN_ASH}`, then `{MAKE_FILE}`, then `exit`.",
            mistake="hello-removed",
        )
    missing(
        f"No container has a hello.txt yet: run `{RUN_ASH}`, type `{MAKE_FILE}`, then `exit`.",
        mistake="no-hello-file",
    )


def hello_container_id(learner: Learner) -> str:
    """Probe for `workshop solve`: the ID of the container that holds hello.txt."""
    return _hello_holder(learner, learner.containers(IMAGE)).short_id


def _restarted(holder: Container) -> bool:
    """Started again since it was made (its first start follows its creation at once)."""
    started = holder.started_at
    return started is not None and (started - holder.created).total_seconds() > 3


def _first_run_ended(learner: Learner, holder: Container):
    """When the run that made hello.txt ended: the holder's first `die`, else (the event log
    has moved on) its finish if it never ran again, else its creation."""
    died = learner.events_of(holder, "die")
    if died:
        return died[0]
    finished = holder.attrs["State"].get("FinishedAt") or ""
    if not holder.running and not _restarted(holder) and not finished.startswith("0001-"):
        from workshop.engine import parse_time

        return parse_time(finished) if finished else holder.created
    return holder.created


def _looked(container: Container) -> bool:
    """Did it look at files: an ls of any kind, or a command that names hello.txt?"""
    return any(
        cmd[0] in LOOKS and (cmd[0] == "ls" or any("hello.txt" in arg for arg in cmd[1:]))
        for cmd in container.commands()
    )


def test_isolation(learner: Learner):
    """Step `isolation`: a container has hello.txt, and a new container from alpine, made
    after the file, looked for it (`ls`, any form, or a command naming hello.txt)."""
    runs = learner.containers(IMAGE, gone=True)
    holder = _hello_holder(learner, runs)
    made = _first_run_ended(learner, holder)
    looked = [c for c in runs if c.id != holder.id and _looked(c)]
    # the cheap test first: a container's `diff` is asked only of those made after the file
    if any(c.created >= made and not c.added("hello.txt") for c in looked):
        return
    _removed(
        learner,
        "what {it} listed",
        "Run `docker container run alpine ls` again.",
        "listing-removed-unseen",
        after=made,
    )
    if any(not c.added("hello.txt") for c in looked):
        missing(
            "You ran `docker container run alpine ls` before you made hello.txt: run it "
            "again now, and see that a new container does not have the file.",
            mistake="listed-before-hello",
        )
    missing(
        f"hello.txt is in container {holder.short_id}. Now run `docker container run alpine "
        "ls` and look for it in the new container's listing.",
        mistake="isolation-not-listed",
    )


# --- start-exec ----------------------------------------------------------------------------------


def _started_again(learner: Learner, holder: Container, made):
    """When the holder was started again after the run that made the file, or None."""
    starts = [t for t in learner.events_of(holder, "start") if t > made]
    if starts:
        return starts[0]
    return holder.started_at if _restarted(holder) else None


def test_start_exec(learner: Learner):
    """Step `start-exec`: the container that holds hello.txt was started again, and a command
    ran in it with `docker container exec` after that (any command: `ls`, `cat hello.txt`, a
    shell). What happened stays done: stopping the container afterwards undoes nothing."""
    runs = learner.containers(IMAGE)
    holder = _hello_holder(learner, runs)
    ident = holder.short_id
    made = _first_run_ended(learner, holder)
    again = _started_again(learner, holder, made)
    execs = learner.execs()
    mine = [e for e in execs if e.container_id == holder.id and again and e.time >= again]
    if mine:
        _still_there(holder)
        return
    start = "" if holder.running else f"`docker container start {ident}`, then "
    alpine = {c.id for c in learner.containers(IMAGE, gone=True)}
    elsewhere = [e for e in execs if e.container_id != holder.id and e.container_id in alpine]
    if elsewhere:
        missing(
            f"You ran `{elsewhere[-1].command}` in container {elsewhere[-1].container_id[:12]}, "
            f"which has no hello.txt; the one that has it is {ident}: {start}"
            f"`docker container exec {ident} ls`.",
            mistake="exec-in-other-container",
        )
    attached = [t for t in learner.events_of(holder, "attach") if t > made]
    if attached:
        missing(
            f"You attached to container {ident} (`start -a`/`-i`, or `attach`), so you typed "
            "into its own shell; this step runs a second process in it with exec: "
            f"{start}`docker container exec {ident} ls`.",
            mistake="attached-not-exec",
        )
    if not holder.running:
        missing(
            f"The container with hello.txt ({ident}) is stopped, so exec cannot run in it: "
            f"`docker container start {ident}` first, then `docker container exec {ident} ls`.",
            mistake="holder-stopped",
        )
    missing(
        f"Container {ident} is running; now run `docker container exec {ident} ls`. (The kit "
        "reads execs from the engine's event log each time you run a workshop command; the "
        "engine keeps only its last few hundred events, so if you ran it long ago, run it "
        "again.)",
        mistake="exec-not-seen",
    )


def _still_there(holder: Container):
    """While the holder runs, look inside it (testinfra) that the file is still there."""
    __tracebackhide__ = True
    if not holder.running:
        return  # stopped after the exec: its filesystem changes were read with diff
    from workshop.services import Inside

    path = holder.added("hello.txt")
    if not Inside(holder).exists(path):
        missing(
            f"hello.txt is no longer at {path} in container {holder.short_id}: make it again "
            f"there with `docker container exec {holder.short_id} sh -c 'echo hello > {path}'`.",
            mistake="hello-gone",
        )
