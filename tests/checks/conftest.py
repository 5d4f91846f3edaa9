"""Runs the step checks under pytest for `make test`: every step the learner has reached is
checked, steps not reached yet are reported as skipped, and a step not done shows one sentence.

`workshop next` and `workshop check` call the same check functions with the same providers.
"""

from __future__ import annotations

import pytest

from workshop import checks, course, labs, state
from workshop.errors import WorkshopError
from workshop.probes import Missing

# Steps recorded done: checked again, and if the engine no longer shows them (a later step undid
# them on purpose, as the Mysfits cleanup does, or the engine's short in-memory event log has
# moved on), reported as skipped with the reason rather than failed. nodeid -> the reason.
_DONE_EARLIER: dict[str, str] = {}


_SUMMARY: list[str] = []


def pytest_collection_modifyitems(config, items):
    try:
        all_labs = labs.load_labs()
        progress = state.Store().read()
    except WorkshopError as exc:
        raise pytest.UsageError(str(exc)) from None
    total = sum(len(lab.steps) for lab in all_labs)
    done = sum(progress.is_done(lab.id, s.id) for lab in all_labs for s in lab.steps)
    here = course.position(all_labs, progress)
    _SUMMARY.append(
        f"Your progress: {done} of {total} steps done. "
        + (
            f"Current step: {here.lab.id}/{here.step.id} ({here.step.title}); `workshop show` "
            "shows it, `workshop next` checks it and moves on."
            if here.step
            else "Every step of every lab is done."
        )
    )
    for item in items:
        lab_id = getattr(item.module, "LAB", None)
        lab = next((lab for lab in all_labs if lab.id == lab_id), None)
        step = next((s for s in lab.steps if s.check == item.originalname), None) if lab else None
        if step is None:
            continue
        state_now = course.state_of(all_labs, progress, lab, step)
        if state_now == "todo":
            item.add_marker(
                pytest.mark.skip(reason=f"step {step.id!r} not reached yet (`workshop next`)")
            )
        if state_now == "done":
            when = progress.lab(lab.id).done[step.id]
            _DONE_EARLIER[item.nodeid] = (
                f"step {step.id!r} was seen done at {when}; the engine no longer shows it"
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(Missing):
        if report.when == "call" and item.nodeid in _DONE_EARLIER:
            report.outcome = "skipped"  # done earlier, undone on purpose later: not a failure
            reason = f"{_DONE_EARLIER[item.nodeid]} (now: {call.excinfo.value})"
            report.longrepr = (str(item.path), item.location[1], f"Skipped: {reason}")
        else:
            report.longrepr = f"{item.name}: {call.excinfo.value}"  # the sentence, no traceback
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
    try:
        return checks.provide_learner(request.module.LAB)
    except WorkshopError as exc:  # no engine: one sentence, as for a step not done
        raise Missing(str(exc)) from None


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    for line in _SUMMARY:
        terminalreporter.write_line(line, bold=True)
