"""The verdict table of the beginners lab: for every step, correct ways that must pass and wrong
ways that must fail with the mistake named, typed by the robot learner on the real engine
(interactive ones through a pseudo-terminal). A verdict is a promise to a learner: these cases
keep the checks judging what was achieved, not how it was spelled, and never saying something
false. Also: evidence that outlives the engine's 256-event ring (the kit's journal), `--rm`,
containers stopped after the step, and steps done earlier that stay done.
"""

from __future__ import annotations

import pytest

from tests.kit.fixtures import ROBOT

from .test_robot import not_done, type_, type_solution

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

IT_SH = ("docker container run -it alpine /bin/sh", "exit")

# step -> [(case, commands, None if the step must pass, else words the verdict must say)].
# A command is a string, or a tuple (command, lines typed at its prompt) run in a pty.
# `{holder}` is the container that holds hello.txt, `{other}` another stopped alpine container.
TABLE: dict[str, list[tuple[str, list, str | None]]] = {
    "run-ls": [
        ("as written", ["docker container run alpine ls -l"], None),
        ("-la", ["docker container run alpine ls -la"], None),
        ("-l with a path", ["docker container run alpine ls -l /etc"], None),
        ("/bin/ls", ["docker container run alpine /bin/ls -l"], None),
        ("options apart", ["docker container run alpine ls -a -l /"], None),
        ("numeric long form", ["docker container run alpine ls -n"], None),
        ("through busybox", ["docker container run alpine busybox ls -l"], None),
        ("through sh -c", ['docker container run alpine sh -c "ls -l /"'], None),
        ("old syntax, full name", ["docker run docker.io/library/alpine:latest ls -l"], None),
        ("with -it", [("docker container run -it alpine ls -l",)], None),
        ("--rm", ["docker container run --rm alpine ls -l"], "removed (`--rm`"),
        ("no -l", ["docker container run alpine ls"], "lists names only"),
        ("a path that is not there", ["docker container run alpine ls -l /nope"], "exited"),
        ("quoted whole", ['docker container run alpine "ls -l"'], "whole command in quotes"),
        ("nothing yet", [], "No container from alpine has run `ls -l`"),
    ],
    "run-echo": [
        ("as written", ['docker container run alpine echo "hello from alpine"'], None),
        ("other words", ["docker container run alpine echo hi there"], None),
        ("single quotes", ["docker container run alpine echo 'hello from alpine'"], None),
        ("/bin/echo -n", ["docker container run alpine /bin/echo -n hello"], None),
        ("through sh -c", ["docker container run alpine sh -c 'echo hello'"], None),
        ("printf", ["docker container run alpine printf 'hello\\n'"], None),
        ("--rm", ["docker container run --rm alpine echo hello"], "removed (`--rm`"),
        ("no words", ["docker container run alpine echo"], "nothing to say"),
        ("quoted whole", ['docker container run alpine "echo hello"'], "whole command in quotes"),
    ],
    "shell": [
        ("as written", [IT_SH], None),
        ("ash", [("docker container run -it alpine ash", "exit")], None),
        ("the image's own command", [("docker container run -it alpine", "exit")], None),
        ("long options", [("docker run --interactive --tty alpine sh", "exit")], None),
        ("-ti", [("docker container run -ti alpine /bin/sh", "exit")], None),
        ("busybox sh", [("docker container run -it alpine busybox sh", "exit")], None),
        ("a login shell", [("docker container run -it alpine sh -l", "exit")], None),
        (
            "detached, then attached",
            ["docker container run -dit alpine sh", ("docker container attach {newest}", "exit")],
            None,
        ),
        ("detached only", ["docker container run -dit alpine sh"], "started detached (-d)"),
        ("no -it", ["docker container run alpine /bin/sh"], "exited at once"),
        ("-t only", ["docker container run -d -t alpine /bin/sh"], "-t without -i"),
        ("a script, not a session", [("docker container run -it alpine sh -c ls",)], "a script"),
        ("bash", [("docker container run -it alpine /bin/bash",)], "alpine has no bash"),
        ("--rm", [("docker container run --rm -it alpine sh", "exit")], "removed (`--rm`"),
    ],
    "isolation": [
        ("as written", ["<solution>"], None),
        (
            "ls -l, touch",
            [
                ("docker container run -it alpine sh", "touch hello.txt", "exit"),
                "docker container run alpine ls -l",
            ],
            None,
        ),
        (
            "cat the file",
            [
                ("docker container run -it alpine ash", "echo hi > /hello.txt", "exit"),
                "docker container run alpine cat hello.txt",
            ],
            None,
        ),
        (
            "ls before the file",
            [
                "docker container run alpine ls",
                ("docker container run -it alpine ash", "echo hi > hello.txt", "exit"),
            ],
            "before you made hello.txt",
        ),
        (
            "the file in a --rm container",
            [("docker container run --rm -it alpine ash", "echo hi > hello.txt", "exit")],
            "the file went with it",
        ),
        (
            "the listing with --rm",
            [
                ("docker container run -it alpine ash", "echo hi > hello.txt", "exit"),
                "docker container run --rm alpine ls",
            ],
            "removed (`--rm`",
        ),
    ],
    "start-exec": [
        ("as written", ["<solution>"], None),
        (
            "cat the file",
            ["docker container start {holder}", "docker container exec {holder} cat hello.txt"],
            None,
        ),
        (
            "/bin/ls",
            ["docker container start {holder}", "docker container exec {holder} /bin/ls"],
            None,
        ),
        (
            "a shell with exec -it",
            [
                "docker container start {holder}",
                ("docker container exec -it {holder} sh", "ls", "exit"),
            ],
            None,
        ),
        (
            "stopped afterwards",
            [
                "docker container start {holder}",
                "docker container exec {holder} ls",
                "docker container stop -t 1 {holder}",
            ],
            None,
        ),
        ("never started again", ["docker container exec {holder} ls"], "is stopped"),
        (
            "exec in another container",
            ["docker container start {other}", "docker container exec {other} ls"],
            "which has no hello.txt",
        ),
        (
            "attached instead",
            [("docker container start -ai {holder}", "ls", "exit")],
            "You attached to container",
        ),
    ],
}

CASES = [
    (step, case, commands, said) for step, rows in TABLE.items() for case, commands, said in rows
]


def _reach(step: str) -> None:
    """Do what the table's step needs first: alpine pulled; for start-exec, the isolation step
    (and another stopped container for `{other}`)."""
    type_("docker image pull alpine")
    if step == "start-exec":
        type_(*IT_SH)
        type_solution("isolation")


def _holder_and_other(engine, since_ids: set[str]) -> dict[str, str]:
    holder = other = ""
    for summary in engine.api.containers(all=True, filters=ROBOT):
        if summary["Id"] in since_ids:
            continue
        changes = engine.api.diff(summary["Id"]) or []
        if any(c["Path"].endswith("hello.txt") for c in changes):
            holder = holder or summary["Id"][:12]
        elif summary["Command"] == "/bin/sh":
            other = other or summary["Id"][:12]
    return {"holder": holder, "other": other}


def _pty(run: str, *lines: str) -> None:
    """Type into a real terminal: answer busybox's cursor queries, type each line when the
    prompt shows or the screen goes quiet (an attached shell draws no new prompt)."""
    import shlex

    import pexpect

    from workshop.solve import CURSOR_QUERY, CURSOR_REPLY, PROMPT

    argv = shlex.split(run)
    child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=30, dimensions=(24, 100))
    pending = list(lines)
    try:
        while True:
            seen = child.expect([CURSOR_QUERY, PROMPT, pexpect.EOF, pexpect.TIMEOUT], timeout=1)
            if seen == 0:
                child.send(CURSOR_REPLY)
            elif seen == 2:
                break
            elif pending:
                child.sendline(pending.pop(0))
            elif seen == 3:
                child.sendeof()
    finally:
        child.close(force=True)


def _type(command, names: dict[str, str], engine=None) -> None:
    if command == "<solution>":
        return
    if engine is not None and "{newest}" in str(command):
        newest = engine.api.containers(all=True, limit=1, filters=ROBOT)
        names = {**names, "newest": newest[0]["Id"][:12] if newest else ""}
    if isinstance(command, tuple):
        run, *lines = command
        _pty(run.format(**names), *(line.format(**names) for line in lines))
    else:
        type_(command.format(**names), check=False)


@pytest.mark.usefixtures("leave_no_trace")
@pytest.mark.parametrize(
    ("step", "case", "commands", "said"),
    CASES,
    ids=[f"{step}: {case}" for step, case, _, _ in CASES],
)
def test_verdict(workshop, engine, step, case, commands, said):
    existing = {c["Id"] for c in engine.api.containers(all=True, filters=ROBOT)}
    workshop("next")  # the learner begins the workshop
    _reach(step)
    names = _holder_and_other(engine, existing)
    if commands == ["<solution>"]:
        type_solution(step)
    for command in commands:
        _type(command, names, engine)
    verdict = workshop("check", step)
    if said is None:
        assert verdict.code == 0, f"{step} ({case}) should pass: {verdict}"
    else:
        assert said in not_done(verdict, step), f"{step} ({case}): {verdict}"


def _fill_the_ring(engine, events: int = 300) -> None:
    """Push the engine's 256-event ring past what happened: tag and untag a throwaway name."""
    alpine = engine.images.get("alpine:latest")
    for n in range(events // 2):
        alpine.tag("kit-selftest/ring", str(n))
        engine.images.remove(f"kit-selftest/ring:{n}")


@pytest.mark.usefixtures("leave_no_trace")
def test_a_pull_the_ring_forgot_counts_when_alpine_was_absent_at_the_start(workshop, engine):
    from .test_robot import without_local_alpine

    if not without_local_alpine(engine):
        pytest.skip("alpine:latest here is not the kit's stand-in, so the test may not untag it")
    workshop("next")  # alpine is not on the host now: the kit notes that
    type_("docker image pull alpine")
    _fill_the_ring(engine)
    assert workshop("check", "pull").code == 0


@pytest.mark.usefixtures("leave_no_trace")
def test_what_the_kit_saw_outlives_the_ring(workshop, engine):
    """An exec the kit saw once still counts after the ring moved on and the container
    stopped; a container it saw before it was removed still counts too."""
    workshop("next")
    type_("docker image pull alpine")
    type_solution("run-ls")
    type_(*IT_SH)
    type_solution("isolation")
    type_solution("start-exec")
    assert workshop("check", "start-exec").code == 0  # the kit sees the exec now
    assert workshop("check", "run-ls").code == 0  # ... and the `ls -l` container
    for summary in engine.api.containers(filters={**ROBOT, "status": "running"}):
        if summary["Command"] == "/bin/ash":
            engine.api.stop(summary["Id"], timeout=1)
    for summary in engine.api.containers(all=True, filters=ROBOT):
        if summary["Command"] == "ls -l":
            engine.api.remove_container(summary["Id"])  # the learner tidies up
    _fill_the_ring(engine)
    assert workshop("check", "start-exec").code == 0, workshop("check", "start-exec")
    assert workshop("check", "run-ls").code == 0, workshop("check", "run-ls")


@pytest.mark.usefixtures("leave_no_trace")
def test_a_step_done_earlier_stays_done(workshop, engine):
    """`next` recorded the whole lab; then the container that held hello.txt was removed: the
    engine no longer shows the last steps, and `check` and `make test` report them as done
    earlier, never as steps to do again."""

    workshop("next")
    type_("docker image pull alpine")
    for step in ("run-ls", "run-echo", "shell", "isolation", "start-exec"):
        type_solution(step)
    assert "Lab complete" in workshop("next").out
    for summary in engine.api.containers(all=True, filters=ROBOT):
        if summary["Command"] == "/bin/ash":
            engine.api.remove_container(summary["Id"], force=True)
    again = workshop("check", "start-exec")
    assert again.code == 0 and "was done earlier" in again.out, again
    tested = workshop.make_test("-rA")
    assert "start-exec: done earlier" in tested.stdout, tested.stdout
    assert "FAILED tests/checks/test_beginners.py" not in tested.stdout, tested.stdout
