"""`make test` on the beginners lab: its reached steps judged (the pull step's sentence), and a
step done earlier that a later step undid (the run-ls container removed) still passing."""

from __future__ import annotations

import pytest

from tests.kit.fixtures import ROBOT

from .test_robot import type_solution, without_local_alpine

pytestmark = [pytest.mark.engine, pytest.mark.destructive]


@pytest.mark.usefixtures("leave_no_trace")
def test_make_test_checks_reached_steps_and_skips_the_rest(workshop, engine):
    if not without_local_alpine(engine):
        pytest.skip("alpine:latest here is not the kit's stand-in, so the test may not untag it")
    make_test = workshop.make_test

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
    for summary in engine.api.containers(all=True, filters=ROBOT):
        if engine.api.inspect_container(summary["Id"])["Config"]["Cmd"] == ["ls", "-l"]:
            engine.api.remove_container(summary["Id"])  # the learner tidies up
    result = workshop.make_test("-rfs")
    # run-ls was done before run-echo: the kit saw its container before it was removed, so it
    # still passes; the current step (shell) is not done yet, so the run as a whole fails
    assert "FAILED labs/beginners/checks.py::test_interactive_shell" in result.stdout
    assert "FAILED labs/beginners/checks.py::test_run_ls" not in result.stdout
