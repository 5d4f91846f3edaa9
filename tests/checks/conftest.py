"""Runs the step checks under pytest for `make test`: every step the learner has reached is
checked, steps not reached yet are reported as skipped, and a step not done shows one sentence.

`workshop next` and `workshop check` call the same check functions with the same providers.
"""

from __future__ import annotations

import pytest

from workshop import checks, course, labs, state
from workshop.errors import WorkshopError
from workshop.probes import Missing


def pytest_collection_modifyitems(config, items):
    try:
        all_labs = labs.load_labs()
        progress = state.Store().read()
    except WorkshopError as exc:
        raise pytest.UsageError(str(exc)) from None
    for item in items:
        lab_id = getattr(item.module, "LAB", None)
        lab = next((lab for lab in all_labs if lab.id == lab_id), None)
        step = next((s for s in lab.steps if s.check == item.originalname), None) if lab else None
        if step is not None and course.state_of(all_labs, progress, lab, step) == "todo":
            item.add_marker(
                pytest.mark.skip(reason=f"step {step.id!r} not reached yet (`workshop next`)")
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(Missing):
        report.longrepr = f"{item.name}: {call.excinfo.value}"  # the sentence, not a traceback
    return report


@pytest.fixture(scope="session")
def engine():
    """The docker-py client for the learner's engine."""
    try:
        return checks.provide_engine()
    except WorkshopError as exc:  # no engine: one sentence, as for a step not done
        raise Missing(str(exc)) from None


@pytest.fixture
def learner(request):
    """What the learner made since they started this module's lab."""
    return checks.provide_learner(request.module.LAB)
