"""`workshop watch` on the real engine, in a real pseudo-terminal: the robot learner types each
step's solution in another process while watch runs, and watch moves on by itself; a `--rm`
run is accepted; the engine restarting mid-lab is survived; the kit's own looks inside
containers never make watch check again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.kit.fixtures import KIT, needs_lab, ours

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

BEGINNERS = ("pull", "run-ls", "run-echo", "shell", "isolation", "start-exec")


@pytest.fixture
def spawn(home: Path):
    """`spawn(*args)`: `workshop watch` in a real pseudo-terminal, as this learner; whatever a
    test leaves running is ended after it."""
    children: list[pexpect.spawn] = []

    def start(*args: str, rows: int = 40, cols: int = 120) -> pexpect.spawn:
        env = {**os.environ, "WORKSHOP_HOME": str(home), "TERM": "xterm-256color"}
        env.pop("COLUMNS", None)  # the terminal's own size
        child = pexpect.spawn(
            sys.executable,
            ["-m", "workshop", "watch", *args],
            cwd=KIT,
            env=env,
            dimensions=(rows, cols),
            encoding="utf-8",
            timeout=60,
        )
        child.logfile_read = open(home.parent / "watch-screen.txt", "a", encoding="utf-8")  # noqa: SIM115
        children.append(child)
        return child

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        child.logfile_read.close()


def robot(*steps: str, lab: str = "beginners") -> str:
    """The learner in their other terminal: types the steps' solutions, records nothing."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.kit.robot", lab, *steps],
        cwd=KIT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def rechecks(log: Path, why: str = "activity", others: bool = False) -> list[dict]:
    """The checks watch ran for `why`; those the test's own doing caused (a log line, or an
    event about something the test made), or with `others` only those caused by someone else
    on the shared engine (every event about what another user made)."""
    if not log.exists():
        return []
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    lines = [line for line in lines if line["why"] == why]
    return [line for line in lines if others is _someone_elses(line)]


def _someone_elses(recheck: dict) -> bool:
    about = recheck.get("about") or []
    return bool(about) and not any(ours(event) for event in about)


def end(child: pexpect.spawn) -> int:
    """The exit status, once the child has ended (pexpect's `close` would signal a child still
    finishing on a loaded machine)."""
    child.expect(pexpect.EOF, timeout=15)
    deadline = time.monotonic() + 15
    while child.isalive() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.close()
    return child.exitstatus


def quit_(child: pexpect.spawn) -> None:
    child.send("q")
    assert end(child) == 0


@needs_lab("beginners")
def test_watch_walks_the_beginners_lab_with_no_key_pressed(spawn, home, leave_no_trace):
    child = spawn()
    child.expect("step 2 of 7")  # the engine answers: step 1 is done at once
    child.setwinsize(24, 60)  # the terminal resized: the page is drawn again, to the new width
    child.expect("step 2 of 7")
    child.expect("[^─]─{60}[^─]")  # the rule above the verdict spans the new width
    child.setwinsize(40, 120)
    for number, step in enumerate(BEGINNERS, start=2):
        robot(step)
        if number < 7:
            child.expect(f"step {number + 1} of 7")
    # the next lab comes up by itself (its header is drawn above the news of the last one)
    child.expect("step 1 of 5")
    child.expect("Lab complete: First containers with alpine")
    quit_(child)
    status = json.loads(
        subprocess.run(
            [sys.executable, "-m", "workshop", "status", "--json"],
            cwd=KIT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    states = {s["id"]: s["state"] for s in status["labs"][0]["steps"]}
    assert set(states.values()) == {"done"}, states  # recorded as `workshop next` records


@needs_lab("beginners")
def test_a_rm_run_is_accepted_while_watch_runs(spawn, home, workshop, leave_no_trace):
    assert workshop("goto", "run-ls").code == 0  # solves pull, shows run-ls
    child = spawn("--plain")
    child.expect("Now: .* step 3 of 7: run-ls")
    docker("container", "run", "--rm", "alpine", "ls", "-l")
    child.expect("Done: step run-ls.")
    child.expect("step 4 of 7: run-echo")
    quit_(child)
    # The journal kept what the removed container ran: a later check, without watch, agrees.
    checked = workshop("check", "run-ls")
    assert checked.code == 0, checked


@needs_lab("beginners")
def test_a_rm_run_is_not_seen_without_watch(home, workshop, leave_no_trace):
    """The other side: with nobody watching, the engine forgets what a --rm container ran."""
    assert workshop("goto", "run-ls").code == 0
    docker("container", "run", "--rm", "alpine", "ls", "-l")
    checked = workshop("check", "run-ls")
    assert checked.code == 3 and "removed (`--rm`" in checked.out, checked


def test_the_kits_own_looks_do_not_make_watch_check_again(
    spawn, home, workshop, leave_no_trace, neighbour
):
    assert workshop("goto", "start-exec").code == 0  # hello.txt made, the container stopped
    log = home.parent / "watch.log"
    child = spawn("--plain", "--log", str(log))
    child.expect("step 7 of 7: start-exec")
    holder = workshop("check", "start-exec").out.split("docker container start ")[1].split("`")[0]
    docker("container", "start", holder)
    child.expect(f"Container {holder} is running")
    time.sleep(1)
    before = len(rechecks(log))
    # Looks marked as the kit's (as its testinfra looks are) leave exec events: no re-check.
    for _ in range(3):
        docker("container", "exec", holder, "sh", "-c", ": workshop-kit-look; cat hello.txt")
    time.sleep(2)
    assert len(rechecks(log)) == before, rechecks(log)
    # The learner's exec: one re-check, which passes the step and looks inside the container
    # itself (testinfra: the file is still there); those looks do not trigger another.
    docker("container", "exec", holder, "ls")
    child.expect("Done: step start-exec.")
    time.sleep(3)
    after = rechecks(log)[before:]
    assert len(after) == 1, after
    assert [e["verb"] for e in after[0]["about"] if ours(e)] == ["exec_start"], after
    quit_(child)
    docker("container", "stop", "-t", "1", holder)


@needs_lab("beginners")
def test_watch_is_idle_when_nothing_happens(spawn, home, workshop, leave_no_trace, neighbour):
    """No polling: in 5 s with nothing happening, no check runs for the learner and hardly any
    CPU is used, though a container's healthcheck execs every second meanwhile (the engine's,
    not the learner's). Another user works on the engine meanwhile: the checks their events
    cause are theirs, and so is the CPU those take."""
    assert workshop("goto", "run-ls").code == 0
    docker("container", "run", "-d", "--health-cmd", "true", "--health-interval", "1s",
           "alpine", "sleep", "60")  # fmt: skip
    log = home.parent / "watch.log"
    child = spawn("--plain", "--log", str(log))
    child.expect("step 3 of 7: run-ls")
    time.sleep(1)
    ticks = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{child.pid}/stat") as stat:
        before = sum(int(x) for x in stat.read().rsplit(")", 1)[1].split()[11:13])
    time.sleep(5)
    with open(f"/proc/{child.pid}/stat") as stat:
        after = sum(int(x) for x in stat.read().rsplit(")", 1)[1].split()[11:13])
    assert rechecks(log) == []
    assert rechecks(log, others=True), "the neighbour's runs woke watch (they do, and count not)"
    theirs = sum(line["took"] for line in rechecks(log, others=True))
    used = (after - before) / ticks
    assert used < 0.25 + theirs, f"{used:.2f} s of CPU in 5 s ({theirs:.2f} s for others)"
    quit_(child)


def _restart_engine() -> None:
    generation = subprocess.run(
        [str(KIT / "scripts" / "engine"), "which"], capture_output=True, text=True
    ).stdout.strip()
    if generation not in ("20", "26"):
        pytest.skip("the engine was not started by scripts/engine: the kit will not restart it")
    for args in (["down"], ["up", "--engine", generation]):
        done = subprocess.run(
            [str(KIT / "scripts" / "engine"), *args], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_watch_survives_the_engine_restarting_mid_lab(spawn, home, workshop, leave_no_trace):
    assert workshop("goto", "run-echo").code == 0
    child = spawn("--plain")
    child.expect("step 4 of 7: run-echo")
    _restart_engine()
    child.expect("Engine: ")
    robot("run-echo")  # the engine is back: the learner carries on
    child.expect("Done: step run-echo.", timeout=60)
    child.expect("step 5 of 7: shell")
    quit_(child)


def test_watch_without_an_engine_says_so_and_waits(spawn, home, tmp_path):
    """No engine where the kit looks: one sentence, and watch keeps waiting (q still quits)."""
    env = {"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"}
    os.environ.update(env)
    try:
        child = spawn("--plain")
        child.expect("Engine: .*nothing.sock")
        child.sendcontrol("c")
        assert end(child) == 130, child.before
    finally:
        os.environ.pop("DOCKER_HOST")


@needs_lab("beginners")
def test_two_watches_and_next_at_once_share_one_journal(spawn, home, workshop, leave_no_trace):
    assert workshop("goto", "run-ls").code == 0
    first, second = spawn("--plain"), spawn("--plain")
    for child in (first, second):
        child.expect("step 3 of 7: run-ls")
    docker("container", "run", "--rm", "alpine", "ls", "-l")
    nexted = workshop("next")  # the learner's other terminal, at the same moment
    for child in (first, second):
        child.expect("step 4 of 7: run-echo")
    assert nexted.code in (0, 3), nexted
    for child in (first, second):
        quit_(child)
    journals = list(home.glob("journal-*.jsonl"))
    assert journals
    for journal in journals:
        for line in journal.read_text().splitlines():
            json.loads(line)  # every line whole: two writers never interleaved


@needs_lab("mysfits")
def test_a_request_in_the_services_log_is_noticed(spawn, home, workshop, leave_no_trace, neighbour):
    """The call step's evidence is the service's access log, not an engine event: watch
    follows the output of the lab's running containers for it (`watch = "logs"`), and the
    kit's own requests to the service do not make it check again."""
    assert workshop("goto", "mysfits/call").code == 0  # everything before: built, running
    log = home.parent / "watch.log"
    child = spawn("--plain", "--log", str(log))
    child.expect("step 3 of 5: call")
    time.sleep(2)
    before = len(rechecks(log))
    robot("call", lab="mysfits")  # curl localhost:8080/mysfits, then docker container logs
    child.expect("Done: step call.")
    child.expect("step 4 of 5: rebuild")
    quit_(child)
    assert len(rechecks(log)) - before <= 2, rechecks(log)[before:]


@needs_lab("beginners")
def test_a_learner_in_a_classroom_reports_live_what_changed(
    spawn, home, workshop, tmp_path, leave_no_trace
):
    """Joined to a classroom, watch reports each verdict as it makes it: a mistake once (not
    once per re-check), then the step done."""
    from tests.kit.test_classroom_client import Server

    server = Server(tmp_path, dict(os.environ)).start()
    try:
        assert workshop("join", server.url, server.code, "--name", "Watcher").code == 0
        assert workshop("goto", "run-ls").code == 0
        child = spawn("--plain")
        child.expect("step 3 of 7: run-ls")
        docker("container", "run", "alpine", "ls")
        child.expect("Not done yet: .*names only")
        docker("container", "run", "alpine", "true")  # another event: the same state re-checked
        time.sleep(1)
        docker("container", "run", "alpine", "ls", "-l")
        child.expect("Done: step run-ls.")
        time.sleep(1.5)  # a report is delivered within about a second
        quit_(child)
        watched = [
            (data["step"], data["passed"], data["mistake"])
            for _, kind, data in server.stored("Watcher")
            if kind == "verdict" and data["via"] == "watch"
        ]
        assert ("run-ls", False, "ls-without-long") in watched, watched
        assert watched.count(("run-ls", False, "ls-without-long")) == 1, watched
        assert ("run-ls", True, "") in watched, watched
    finally:
        server.stop()


@needs_lab("beginners")
def test_watch_catches_up_after_being_frozen(spawn, home, workshop, leave_no_trace):
    """Watch frozen (SIGSTOP, as a suspended laptop freezes it) while the learner's work
    happens: when it runs again, it reads what it missed and moves on. (A real suspend also
    makes the wall clock jump past the monotonic one; watch then reconnects first.)"""
    import signal

    assert workshop("goto", "run-ls").code == 0
    child = spawn("--plain")
    child.expect("step 3 of 7: run-ls")
    os.kill(child.pid, signal.SIGSTOP)
    try:
        docker("container", "run", "alpine", "ls", "-l")
        time.sleep(6)
    finally:
        os.kill(child.pid, signal.SIGCONT)
    child.expect("Done: step run-ls.", timeout=30)
    child.expect("step 4 of 7: run-echo")
    quit_(child)


def test_the_keys_hint_whole_text_and_quit(spawn, home, tmp_path):
    """h shows the hint, s prints the step's whole text on the normal screen until a key is
    pressed, q quits with exit 0; with no engine, so nothing else happens meanwhile."""
    os.environ["DOCKER_HOST"] = f"unix://{tmp_path}/nothing.sock"
    try:
        child = spawn()
        child.expect("step 1 of 7")
        child.send("h")
        child.expect("Hint:")
        child.send("s")
        child.expect("\x1b\\[\\?1049l")  # off the page, onto the normal screen
        child.expect("sections")  # the whole text: its last paragraph
        child.expect("Press a key to go back to watch.")
        child.send(" ")
        child.expect("q quit")
        quit_(child)
    finally:
        os.environ.pop("DOCKER_HOST")
