"""Instructor commands on the real engine: reset removes only what the labs made; doctor says
which engine and why; `make test` checks what the learner reached and skips the rest."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.kit.conftest import KIT
from tests.kit.test_beginners_robot import type_, type_solution, without_local_alpine

pytestmark = [pytest.mark.engine, pytest.mark.destructive]


@pytest.mark.usefixtures("leave_no_trace")
def test_reset_removes_only_the_labs_containers_and_keeps_the_rest(workshop, engine):
    type_("docker image pull alpine")
    mine_before = engine.containers.create("alpine", ["true"], name="kit-selftest-before")
    workshop("next")  # the learner starts now
    existing = {c["Id"] for c in engine.api.containers(all=True)}
    type_solution("run-ls")
    engine.images.get("alpine").tag("kit-selftest-other", "1")
    other_image = engine.containers.create(
        "kit-selftest-other:1", ["true"], name="kit-selftest-other"
    )
    lab_made = [
        c["Id"]
        for c in engine.api.containers(all=True)
        if c["Id"] not in existing and c["Id"] != other_image.id
    ]
    assert lab_made

    dry = workshop("reset", "--dry-run")
    assert dry.code == 0 and "would remove container" in dry.out, dry
    assert "kit-selftest" not in dry.out
    assert all(engine.containers.get(i) for i in lab_made)  # a dry run removes nothing

    done = workshop("reset", "--yes")
    assert done.code == 0 and "Progress reset" in done.out, done
    left = {c["Id"] for c in engine.api.containers(all=True)}
    assert mine_before.id in left and other_image.id in left
    assert not left & set(lab_made)
    assert engine.images.get("alpine:latest")  # pulled, not built, by the lab: kept


def test_doctor_names_the_engine_and_why(workshop):
    from workshop.engine import discover

    expected = discover()
    result = workshop("doctor")
    assert result.code == 0, result
    assert f"engine: {expected.url} (from {expected.source})" in result.out
    assert "server: Docker" in result.out and "API 1." in result.out
    nowhere = workshop("doctor", env={"DOCKER_HOST": "tcp://127.0.0.1:9"})
    assert nowhere.code == 1 and "(from DOCKER_HOST)" in nowhere.out


@pytest.mark.usefixtures("leave_no_trace")
def test_make_test_checks_reached_steps_and_skips_the_rest(workshop, engine):
    if not without_local_alpine(engine):
        pytest.skip("alpine:latest here is not the kit's stand-in, so the test may not untag it")

    def make_test():
        return subprocess.run(
            [sys.executable, "-m", "pytest", "tests/checks", "-q", "-p", "no:randomly"],
            cwd=KIT,
            env=workshop.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    workshop("next")
    first = make_test()
    assert first.returncode == 0, first.stdout  # step 1 (the engine) is reached and passes
    assert "skipped" in first.stdout and "not reached yet" in first.stdout
    workshop("next")  # engine done; pull is now current, and not done
    second = make_test()
    assert second.returncode == 1, second.stdout
    assert "The alpine image is not on this host yet" in second.stdout
    type_solution("pull")
    assert make_test().returncode == 0


@pytest.mark.usefixtures("leave_no_trace")
def test_make_test_does_not_fail_a_step_done_earlier_that_a_later_step_undid(workshop, engine):
    workshop("next")
    type_solution("pull")
    type_solution("run-ls")
    type_solution("run-echo")
    assert "step 5 of 7: shell" in workshop("next").out
    for summary in engine.api.containers(all=True, filters={"ancestor": "alpine"}):
        if engine.api.inspect_container(summary["Id"])["Config"]["Cmd"] == ["ls", "-l"]:
            engine.api.remove_container(summary["Id"])  # the learner tidies up
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/checks", "-q", "-rfs", "-p", "no:randomly"],
        cwd=KIT,
        env=workshop.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    # run-ls was done before run-echo: the kit saw its container before it was removed, so it
    # still passes; the current step (shell) is not done yet, so the run as a whole fails
    assert "FAILED tests/checks/test_beginners.py::test_interactive_shell" in result.stdout
    assert "FAILED tests/checks/test_beginners.py::test_run_ls" not in result.stdout


@pytest.mark.usefixtures("leave_no_trace")
def test_reset_removes_the_images_a_lab_built_and_its_earlier_builds(workshop, engine, tmp_path):
    import shutil

    if engine.images.list(name="mythicalmysfits/service"):
        pytest.skip("mythicalmysfits/service exists already: it may be the learner's")
    kept = engine.images.list()
    workshop("next")  # the learner begins the workshop
    type_("docker image build -t mythicalmysfits/service images/mysfits")
    changed = tmp_path / "mysfits"
    shutil.copytree(KIT / "images" / "mysfits", changed)
    data = changed / "mysfits.json"
    mysfits = json.loads(data.read_text())
    mysfits[0]["likes"] += 1
    data.write_text(json.dumps(mysfits, indent=2))
    type_(f"docker image build -t mythicalmysfits/service {changed}")  # the first build: <none>
    dry = " ".join(workshop("reset", "--dry-run").out.split())
    assert "would remove image mythicalmysfits/service:latest" in dry, dry
    assert "(an earlier build of mythicalmysfits/service)" in dry, dry
    assert workshop("reset", "--yes").code == 0
    assert not engine.images.list(name="mythicalmysfits/service")
    left = {image.id for image in engine.images.list()}
    assert {image.id for image in kept} <= left  # nothing else went


@pytest.mark.usefixtures("leave_no_trace")
def test_reset_untags_a_lab_image_the_learner_also_tagged_and_restores_edited_files(
    workshop, engine, tmp_path
):
    """The learner's own tag keeps the image; the lab's data file is restored from git, and the
    learner's edited copy is kept beside it."""
    from workshop.labs import find_lab, load_labs

    if engine.images.list(name="mythicalmysfits/service"):
        pytest.skip("mythicalmysfits/service exists already: it may be the learner's")
    lab = find_lab(load_labs(), "mysfits")
    data = KIT / lab.edits[0]
    original = data.read_bytes()
    workshop("goto", "build")
    try:
        type_("docker image build -t mythicalmysfits/service images/mysfits")
        type_("docker image tag mythicalmysfits/service kit-selftest/mine")
        data.write_bytes(original.replace(b'"likes": ', b'"likes":  ', 1))
        dry = " ".join(workshop("reset", "--dry-run").out.split())
        assert "would remove image mythicalmysfits/service:latest" in dry, dry
        assert "the image stays: it is also kit-selftest/mine:latest" in dry, dry
        assert f"would restore your edits to {lab.edits[0]}" in dry, dry
        done = workshop("reset", "--yes")
        assert done.code == 0, done
        assert data.read_bytes() == original
        copies = list(data.parent.glob(f"{data.name}.before-reset-*"))
        assert len(copies) == 1 and copies[0].read_bytes() != original
        assert engine.images.get("kit-selftest/mine:latest")
        assert not engine.images.list(name="mythicalmysfits/service")
    finally:
        data.write_bytes(original)
        for copy in data.parent.glob(f"{data.name}.before-reset-*"):
            copy.unlink()
