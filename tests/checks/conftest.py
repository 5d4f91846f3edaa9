"""`make test`: every step the learner has reached, judged by the kit's one check runtime.

pytest collects one item per step of each lab (in the lab's order) from the lab's checks module
(labs/<id>/checks.py: every lab `workshop labs` lists, found by the kit itself), and each item
calls `workshop.checks.evaluate`: the very code and inputs `workshop next` and
`workshop check` use. Outcomes:
- done now: passed;
- seen done earlier and recorded, though the engine no longer shows it (a later step removed
  what it made, or the engine forgot): passed, and listed at the end as done earlier;
- not done: failed, with the one sentence that says what is missing and the fix;
- not reached yet: skipped, saying so;
- the engine failing under the check: failed as an engine error, with its own sentence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workshop import checks, course, labs, report, state
from workshop.errors import WorkshopError

_SUMMARY: list[str] = []
_EARLIER: list[str] = []
_CONTEXT: dict = {}


def _context() -> dict:
    if not _CONTEXT:
        try:
            all_labs = labs.load_labs()
            progress = state.Store().read()
        except WorkshopError as exc:
            raise pytest.UsageError(str(exc)) from None
        _CONTEXT.update(labs=all_labs, progress=progress, inputs=checks.Inputs(progress))
    return _CONTEXT


class StepFailed(Exception):
    """A step not done, or an engine error: its sentence is the whole report."""


class StepItem(pytest.Item):
    def __init__(self, *, lab, step, **kwargs):
        super().__init__(**kwargs)
        self.lab = lab
        self.step = step
        self.add_marker(pytest.mark.step(step.id))

    def runtest(self):
        context = _context()
        try:
            verdict = checks.evaluate(self.lab, self.step, context["inputs"])
        except WorkshopError as exc:
            raise StepFailed(str(exc)) from None
        report.verdicts(self.lab.id, [verdict], "test")  # a learner in a classroom: queued
        if not verdict.passed:
            raise StepFailed(verdict.message)
        if verdict.earlier:
            _EARLIER.append(
                f"{self.step.id}: done earlier (seen done at {verdict.earlier}); the engine no "
                "longer shows all of it (a later step, or you, removed what it made): it stays "
                "done."
            )

    def repr_failure(self, excinfo):
        if excinfo.errisinstance(StepFailed):
            return f"{self.step.id}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, _line_of(self.path, self.step.check), f"{self.lab.id}/{self.step.id}"


def _line_of(path, function: str) -> int:
    """Where `def function(` stands in the checks module (0-based, as pytest counts)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:  # a lab whose steps are all declared in its manifest has no checks.py
        return 0
    for number, line in enumerate(text.splitlines()):
        if line.startswith(f"def {function}("):
            return number
    return 0


class LabChecks(pytest.File):
    """A lab's checks module (labs/<id>/checks.py), collected as its lab's steps, in order."""

    def __init__(self, *, lab, **kwargs):
        super().__init__(**kwargs)
        self.lab = lab

    def collect(self):
        context = _context()
        for step in self.lab.steps:
            item = StepItem.from_parent(self, name=step.check, lab=self.lab, step=step)
            if course.state_of(context["labs"], context["progress"], self.lab, step) == "todo":
                reason = f"step {step.id!r} not reached yet (`workshop next`)"
                item.add_marker(pytest.mark.skip(reason=reason))
            yield item


class Labs(pytest.File):
    """Every lab in the kit (`labs.load_labs`, so a lab added or removed needs no change here),
    each collected from its own folder's checks module."""

    def collect(self):
        for lab in _context()["labs"]:
            # named by its lab: labs read from elsewhere (WORKSHOP_LABS) are all `checks.py`
            name = f"{lab.id}/{lab.checks.name}"
            yield LabChecks.from_parent(self, path=lab.checks, lab=lab, name=name)


def pytest_collect_file(file_path, parent):
    """This folder holds no checks: its conftest.py stands for every lab's."""
    if file_path.name == "conftest.py" and file_path.parent == Path(__file__).parent:
        return Labs.from_parent(parent, path=file_path)
    return None


def pytest_collection_finish(session):
    context = _context()
    all_labs, progress = context["labs"], context["progress"]
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


def pytest_sessionfinish(session):
    report.deliver()  # what was queued, delivered within about a second (or kept for later)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    for line in _EARLIER:
        terminalreporter.write_line(line)
    for line in _SUMMARY:
        terminalreporter.write_line(line, bold=True)
