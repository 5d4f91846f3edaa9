"""Instructor commands on the real engine: reset removes only what the labs made; doctor says
which engine and why; `make test` checks what the learner reached and skips the rest."""

from __future__ import annotations

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
    workshop("check", "engine")  # the learner starts now
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
