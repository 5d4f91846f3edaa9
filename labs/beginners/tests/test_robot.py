"""The robot learner: walks the beginners lab on the real engine, typing each step's solution
exactly as the lab shows it (interactive ones through a real pseudo-terminal), and proves each
check both ways. Then it makes the common mistakes and reads what the checks say about them.
"""

from __future__ import annotations

import io
import json
import subprocess

import pytest

from tests.kit.fixtures import ROBOT, TRACE, lab_of
from workshop.checks import prober
from workshop.errors import Exit
from workshop.labs import Command
from workshop.solve import run_command

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

LAB = lab_of(__file__)
STANDIN = "io.workshop.standin"


def type_solution(step_id: str) -> str:
    out = io.StringIO()
    for command in LAB.step(step_id).solution:
        run_command(command, out, prober(LAB))
    return out.getvalue()


def type_(run: str, *lines: str, check=True) -> str:
    """Type one command as a learner would (lines go to the container's prompt)."""
    out = io.StringIO()
    try:
        run_command(Command(run=run, type=tuple(lines)), out)
    except Exception:
        if check:
            raise
    return out.getvalue()


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True)


def without_local_alpine(engine) -> bool:
    """Untag alpine:latest if it is the kit's own stand-in; False if it is the learner's image."""
    from docker.errors import ImageNotFound

    try:
        image = engine.images.get("alpine:latest")
    except ImageNotFound:
        return True
    if STANDIN not in image.labels:
        return False
    engine.images.remove("alpine:latest", force=True)  # untags; containers keep their image
    TRACE.record("untag", "alpine:latest")  # `no_trace` puts it back
    return True


def not_done(result, step: str) -> str:
    assert result.code == 3, f"step {step} should not be done yet, got {result}"
    return " ".join(result.out.split())


@pytest.mark.usefixtures("leave_no_trace")
def test_robot_walks_the_lab_and_every_check_fails_before_and_passes_after(workshop, engine):
    nowhere = workshop("check", "engine", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert nowhere.code == Exit.ERROR, nowhere
    assert "No Docker engine answers at unix:///nonexistent/docker.sock" in nowhere.out

    workshop("next")  # the learner begins: the first step is shown
    for step in LAB.steps:
        before = workshop("check", step.id)
        if step.id != "engine":  # the engine step passes as soon as an engine answers
            not_done(before, step.id)
        type_solution(step.id)
        after = workshop("check", step.id)
        assert after.code == 0, f"step {step.id} should pass after its solution: {after}"

    assert json.loads(workshop("status", "--json").out)["labs"][0]["steps"][1]["state"] == "todo"
    finale = workshop("next")  # `check` records nothing; `next` records every step done ahead
    assert "Lab complete: First containers with alpine" in finale.out, finale
    status = json.loads(workshop("status", "--json").out)
    states = {
        s["id"]: s["state"] for lab in status["labs"] for s in lab["steps"] if lab["id"] == LAB.id
    }
    assert set(states.values()) == {"done"}, states

    type_("docker container run --name kit-selftest-after alpine true")  # the learner's own work
    dry = workshop("reset", "--dry-run")
    assert "would remove container" in dry.out and "kit-selftest-after" not in dry.out, dry


@pytest.mark.usefixtures("leave_no_trace")
def test_next_records_every_step_done_ahead_in_one_go(workshop):
    first = workshop("next")
    assert first.code == 0 and "step 1 of 7: engine" in first.out, first
    type_("docker image pull alpine")
    type_("docker container run alpine ls -l")
    second = workshop("next")
    assert second.code == 0, second
    for step in ("engine", "pull", "run-ls"):
        assert f"Step {step} is done." in second.out
    assert "step 4 of 7: run-echo" in second.out
    third = workshop("next")
    assert third.code == 3 and "Step run-echo is not done yet" in third.out, third


# Each mistake: commands a learner might type instead, the step, and words the check must say.
MISTAKES = {
    "ls without -l": (["docker container run alpine ls"], "run-ls", "which lists names only"),
    "echo in one quoted word": (
        ['docker container run alpine "echo hello from alpine"'],
        "run-echo",
        "whole command in quotes",
    ),
    "echo with no words": (["docker container run alpine echo"], "run-echo", "nothing to say"),
    "sh without -it": (["docker container run alpine /bin/sh"], "shell", "exited at once"),
    "git bash path": (
        ['docker container run alpine "C:/Program Files/Git/usr/bin/sh"'],
        "shell",
        "//bin/sh",
    ),
    "hello.txt in a removed container": (
        [
            (
                "docker container run --rm -it alpine /bin/ash",
                'echo "hello world" > hello.txt',
                "exit",
            )
        ],
        "isolation",
        "the file went with it",
    ),
    "bash, which alpine has not": (
        [("docker container run -it alpine /bin/bash", "exit")],  # no prompt ever comes
        "shell",
        "alpine has no bash",
    ),
    "the newest mistake is the one named": (
        [
            "docker container run alpine echo",
            'docker container run alpine "echo hello from alpine"',
        ],
        "run-echo",
        "whole command in quotes",
    ),
    "ls before the file was made": (
        [
            "docker container run alpine ls",
            ("docker container run -it alpine /bin/ash", 'echo "hello world" > hello.txt', "exit"),
        ],
        "isolation",
        "before you made hello.txt",
    ),
}


@pytest.mark.usefixtures("leave_no_trace")
@pytest.mark.parametrize("mistake", MISTAKES, ids=list(MISTAKES))
def test_a_common_mistake_is_named_with_its_fix(workshop, mistake):
    commands, step, words = MISTAKES[mistake]
    workshop("next")  # the learner starts the lab
    type_("docker image pull alpine")
    for command in commands:
        if isinstance(command, tuple):
            type_(*command, check=False)  # some mistakes make docker itself fail
        else:
            type_(command, check=False)
    assert words in not_done(workshop("check", step), step)


@pytest.mark.usefixtures("leave_no_trace")
def test_an_image_pulled_before_the_lab_started_is_pulled_again(workshop):
    type_("docker image pull alpine")
    workshop("next")  # the learner starts after the pull
    assert "has not seen you pull it since" in not_done(workshop("check", "pull"), "pull")
    type_("docker image pull alpine")
    assert workshop("check", "pull").code == 0


@pytest.mark.usefixtures("leave_no_trace")
def test_t_without_i_is_named_and_the_way_out_given(workshop, engine):
    workshop("next")
    type_("docker image pull alpine")
    type_("docker container run -d -t alpine /bin/sh")  # -d: the robot needs its terminal back
    said = not_done(workshop("check", "shell"), "shell")
    assert "-t without -i" in said and "docker container stop" in said


@pytest.mark.usefixtures("leave_no_trace")
def test_sh_with_i_but_no_t_is_named(workshop):
    workshop("next")
    type_("docker image pull alpine")
    subprocess.run(
        ["docker", "container", "run", "-i", "alpine", "/bin/sh"],
        stdin=subprocess.DEVNULL,
        check=True,
        capture_output=True,
    )
    assert "-i without -t" in not_done(workshop("check", "shell"), "shell")


@pytest.mark.usefixtures("leave_no_trace")
def test_pulled_another_tag_only_is_named(workshop, engine):
    if not without_local_alpine(engine):
        pytest.skip("alpine:latest here is not the kit's stand-in, so the test may not untag it")
    workshop("next")
    type_("docker image pull alpine")
    docker("image", "tag", "alpine", "alpine:3.20")
    docker("image", "rm", "alpine:latest")
    assert "You have alpine:3.20 but not alpine:latest" in not_done(
        workshop("check", "pull"), "pull"
    )


def _holder(engine) -> str:
    """The robot's newest container with hello.txt (made in this test)."""
    for summary in engine.api.containers(all=True, filters=ROBOT):
        if any(c["Path"].endswith("hello.txt") for c in engine.api.diff(summary["Id"]) or []):
            return summary["Id"][:12]
    raise AssertionError("the robot made no hello.txt")


@pytest.mark.usefixtures("leave_no_trace")
def test_exec_on_a_container_never_started_again_is_named(workshop, engine):
    workshop("next")
    type_("docker image pull alpine")
    type_solution("isolation")
    holder = _holder(engine)
    type_(f"docker container exec {holder} ls", check=False)  # docker refuses: not running
    said = not_done(workshop("check", "start-exec"), "start-exec")
    assert f"({holder}) is stopped" in said and f"docker container start {holder}" in said


@pytest.mark.usefixtures("leave_no_trace")
def test_exec_on_the_wrong_container_is_named(workshop, engine):
    workshop("next")
    type_("docker image pull alpine")
    type_("docker container run -it alpine /bin/sh", "exit")
    other = engine.api.containers(all=True, limit=1, filters=ROBOT)[0]["Id"][:12]
    type_solution("isolation")
    holder = _holder(engine)
    type_(f"docker container start {other}")
    type_(f"docker container exec {other} ls")
    said = not_done(workshop("check", "start-exec"), "start-exec")
    assert f"You ran `ls` in container {other}, which has no hello.txt" in said
    assert f"docker container exec {holder} ls" in said


@pytest.mark.usefixtures("leave_no_trace")
def test_the_engine_step_names_a_docker_host_that_points_nowhere(workshop):
    result = workshop("check", "engine", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert result.code == Exit.ERROR, result
    said = " ".join(result.out.split())
    assert "No Docker engine answers at tcp://127.0.0.1:9 (from DOCKER_HOST)" in said
    assert "unset DOCKER_HOST" in said
