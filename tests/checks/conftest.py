"""Fixtures and hooks for the step checks.

Run by `workshop next/check` in-process, and by plain pytest for `make test`, which checks every
step the learner has reached and reports the steps not reached yet as skipped.
"""

from __future__ import annotations

import pytest

from workshop import course, labs, state
from workshop.engine import client, parse_time
from workshop.errors import WorkshopError
from workshop.probes import Learner, missing


def _from_runner(config) -> bool:
    return any(getattr(p, "workshop_runner", False) for p in config.pluginmanager.get_plugins())


def pytest_collection_modifyitems(config, items):
    if _from_runner(config):
        return
    try:
        all_labs = labs.load_labs()
        progress = state.Store().read()
    except WorkshopError as exc:
        raise pytest.UsageError(str(exc)) from None
    for item in items:
        lab_id = getattr(item.module, "LAB", None)
        lab = next((lab for lab in all_labs if lab.id == lab_id), None)
        step = next((s for s in lab.steps if s.check == item.originalname), None) if lab else None
        if step is None:
            continue
        where = course.state_of(all_labs, progress, lab, step)
        if where == "todo":
            item.add_marker(
                pytest.mark.skip(reason=f"step {step.id!r} not reached yet (`workshop next`)")
            )


@pytest.fixture(scope="session")
def engine():
    """The docker-py client for the learner's engine."""
    __tracebackhide__ = True
    try:
        return client()
    except WorkshopError as exc:
        missing(str(exc))


@pytest.fixture
def learner(request, engine) -> Learner:
    """What the learner made since they started this module's lab."""
    __tracebackhide__ = True
    lab_id = request.module.LAB
    started = state.Store().read().lab(lab_id)
    if started is None:
        missing(f"You have not started the {lab_id!r} lab yet: run `workshop next`.")
    return Learner(engine, parse_time(started.started_at))
