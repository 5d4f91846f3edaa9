"""Every kind a lab makes is the lab's to watch and reset, and what `solve` runs is seen: a fixture
lab (tests/kit/fixtures/kinds/labs/volumes) makes a named volume and writes and reads it from `--rm`
containers. Its volume gets a name only this session uses: the engine is shared."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kit.conftest import TRACE
from tests.kit.test_watch import docker, quit_, spawn  # noqa: F401 -- spawn is a fixture

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kinds"


@pytest.fixture
def volume(tmp_path, workshop, engine, monkeypatch) -> str:
    """The fixture curriculum, its volume named for this test; the volume removed after it."""
    name = f"notes-{TRACE.session}-{tmp_path.name[-6:]}"
    labs = tmp_path / "kit" / "labs"
    shutil.copytree(FIXTURES / "labs", labs, ignore=shutil.ignore_patterns("__pycache__"))
    for path in labs.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace("notes", name))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))  # for `spawn`
    yield name
    for left in (name, f"other-{name}"):
        with contextlib.suppress(Exception):
            engine.api.remove_volume(left, force=True)
        with contextlib.suppress(Exception):
            engine.api.remove_network(f"{left}-net")


def run_rm(name: str, *command: str) -> None:
    docker("container", "run", "--rm", "-v", f"{name}:/data", "alpine", *command)


@pytest.mark.usefixtures("leave_no_trace")
def test_solve_sees_the_rm_containers_it_runs_and_a_later_check_agrees(workshop, volume):
    for step in ("make-volume", "write", "read"):
        solved = workshop("solve", step)
        assert solved.code == 0 and f"Step {step} is done." in solved.out, solved
    # The journal kept the `--rm` reader's mounts: judged the same without the engine's help.
    later = workshop("check", "read")
    assert later.code == 0, later
    from workshop.checks import Inputs
    from workshop.state import Store

    learner = Inputs(Store().read()).learner()  # what a lab's own check is given
    assert volume in [made.name for made in learner.volumes()]
    tries = learner.attempts("alpine", lambda c: c.uses_volume(volume))
    assert len(tries) == 2 and all(c.gone for c in tries), tries  # both `--rm`, both journaled
    assert tries[-1].mount_at("/data").name == volume and tries[-1].networks == ["bridge"]
    assert tries.done("fix") is tries[-1]
    assert not learner.restarted()


@pytest.mark.usefixtures("leave_no_trace")
def test_a_rm_run_nobody_saw_is_said_once_by_the_kit(workshop, volume):
    assert workshop("solve", "make-volume").code == 0
    run_rm(volume, "sh", "-c", "echo hello > /data/note.txt")  # nothing watching
    checked = workshop("check", "write")
    assert checked.code == 3, checked
    assert "removed (run with `--rm`?) before the kit saw what it ran" in checked.out, checked
    subprocess.run(
        ["docker", "container", "run", "-v", f"{volume}:/data", "alpine",
         "sh", "-c", "echo hello > /data/note.txt; exit 4"],
        capture_output=True,
    )  # fmt: skip
    failed = workshop("check", "write")  # an attempt the kit saw: its own verdict
    assert failed.code == 3 and "exited with code 4" in failed.out, failed


@pytest.mark.usefixtures("leave_no_trace")
def test_reset_lists_and_removes_the_labs_volume_and_network_and_nothing_else(
    workshop, volume, engine, neighbour
):
    assert workshop("solve", "make-volume").code == 0
    other = f"other-{volume}"
    docker("volume", "create", other)  # the learner's own, not declared by the lab
    docker("network", "create", f"{volume}-net")  # the lab's
    docker("network", "create", f"{other}-net")
    dry = " ".join(workshop("reset", "--dry-run").out.split())
    assert f"would remove volume {volume}, made by lab volumes" in dry, dry
    assert f"would remove network {volume}-net, made by lab volumes" in dry, dry
    assert other not in dry, dry
    assert engine.api.inspect_volume(volume)  # a dry run removes nothing
    done = workshop("reset", "--yes")
    assert done.code == 0, done
    names = {v["Name"] for v in engine.api.volumes()["Volumes"] or []}
    assert volume not in names and other in names
    networks = {n["Name"] for n in engine.api.networks()}
    assert f"{volume}-net" not in networks and f"{other}-net" in networks


@pytest.mark.usefixtures("leave_no_trace")
def test_a_volume_the_lab_declares_wakes_watch(spawn, home, volume):  # noqa: F811
    child = spawn("--plain")
    child.expect("step 1 of 3: make-volume")
    subprocess.run(["docker", "volume", "create", volume], check=True, capture_output=True)
    child.expect("Done: step make-volume.", timeout=5)  # no container event follows to wake it
    quit_(child)
