"""The learner's way through the labs: where they are, what `next`, `check`, `solve`, `goto` do.

Plain functions over labs, progress and the engine; the command line only parses and prints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from workshop import checks
from workshop.errors import EngineUnavailable, UsageError, WorkshopError
from workshop.labs import Lab, Step, builds_on, find_step, load_labs, require_builds_on
from workshop.state import LabProgress, Progress, Store, joined


class Position(NamedTuple):
    """The current lab and step; both None when every lab is done."""

    lab: Lab | None
    step: Step | None


def position(labs: list[Lab], progress: Progress) -> Position:
    """The first step not done of the latest lab the learner has opened and not finished (a
    lab `goto` took them to, though an earlier lab it does not build on is unfinished); else
    the first step not done, in course order."""
    opened = [lab for lab in labs if progress.lab(lab.id) is not None]
    for lab in [*reversed(opened), *labs]:
        for step in lab.steps:
            if not progress.is_done(lab.id, step.id):
                return Position(lab, step)
    return Position(None, None)


def state_of(labs: list[Lab], progress: Progress, lab: Lab, step: Step) -> str:
    """`done`, `current` or `todo`."""
    if progress.is_done(lab.id, step.id):
        return "done"
    here = position(labs, progress)
    if here.lab is lab and here.step is step:
        return "current"
    return "todo"


def status(labs: list[Lab], progress: Progress) -> dict:
    """The progress table, as `workshop status --json` prints it."""
    return {
        "labs": [
            {
                "id": lab.id,
                "title": lab.title,
                "steps": [
                    {"id": s.id, "title": s.title, "state": state_of(labs, progress, lab, s)}
                    for s in lab.steps
                ],
            }
            for lab in labs
        ]
    }


class Course:
    """Labs, the learner's progress and (when needed) the engine, for one command. `via` names
    the command (`next`, `check`, `solve`, `goto`): a learner who joined a classroom reports
    each verdict it makes, as made by that command."""

    def __init__(self, labs: list[Lab] | None = None, store: Store | None = None, via: str = ""):
        self.labs = labs if labs is not None else load_labs()
        self.store = store or Store()
        self.via = via

    def progress(self) -> Progress:
        return self.store.read()

    def find(self, ref: str | None) -> tuple[Lab, Step]:
        """A step by id (any case), by its number in the current lab, or the current one."""
        here = position(self.labs, self.progress())
        if ref and ref.isdigit():
            lab = here.lab or self.labs[-1]
            if not 1 <= int(ref) <= len(lab.steps):
                raise UsageError(
                    f"Lab {lab.id!r} has steps 1 to {len(lab.steps)}, not {ref}; "
                    "`workshop status` lists them."
                )
            return lab, lab.steps[int(ref) - 1]
        if ref:
            return find_step(self.labs, ref.strip().lower())
        if here.step is None:
            raise UsageError("Every step of every lab is done: there is no current step.")
        return here.lab, here.step

    def start(self, lab: Lab) -> None:
        """Record when the learner started `lab` (the engine's clock), if not yet recorded,
        and note in the journal which images were on the engine then (was the lab's image
        here already?), so later checks need not rely on the engine's short event log."""
        known = self.progress().lab(lab.id)
        if known is not None and known.started_at:
            return
        from workshop.engine import client, parse_time
        from workshop.journal import Journal
        from workshop.probes import snapshot
        from workshop.state import home

        engine = client()
        info = engine.info()  # the engine's clock and its identity, in one request
        now = parse_time(info["SystemTime"])
        with self.store.update() as progress:
            lab_progress = progress.labs.setdefault(lab.id, LabProgress(started_at=""))
            if lab_progress.started_at:
                return
            lab_progress.started_at = now.isoformat()
        line = snapshot(engine)
        line.update(time=int(now.timestamp() * 1e9), why=f"lab {lab.id} started")
        Journal(home(), info.get("ID") or "").append([line])

    def open(self, lab: Lab) -> None:
        """The learner has seen the lab's first step; start it now if an engine answers (its
        first step may be getting the engine up: then it starts at the next check)."""
        with self.store.update() as progress:
            progress.labs.setdefault(lab.id, LabProgress(started_at=""))
        with contextlib.suppress(EngineUnavailable):
            self.start(lab)

    def seeing(self):
        """A block in which everything the engine does is journaled as it happens: wrap what
        the kit runs itself (a step's solution, in `solve` and `goto`), so that the check after
        it sees it all, a `--rm` container included (see `workshop.feed.seeing`)."""
        from workshop.feed import seeing

        return seeing(self.store.directory)

    def record(self, lab: Lab, verdicts: list[checks.Verdict]) -> list[str]:
        """Mark passed steps done; returns the ids newly recorded."""
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        recorded = []
        with self.store.update() as progress:
            lab_progress = progress.lab(lab.id)
            for verdict in verdicts:
                if verdict.passed and verdict.step not in lab_progress.done:
                    lab_progress.done[verdict.step] = stamp
                    recorded.append(verdict.step)
            complete = all(s.id in lab_progress.done for s in lab.steps)
            if recorded and complete and not lab_progress.finished_at:
                from workshop.engine import client, engine_time

                # `reset` takes only what was made while the lab ran, not the learner's later work
                lab_progress.finished_at = engine_time(client()).isoformat()
        return recorded

    def check(
        self, lab: Lab, steps: list[Step], stop_at_first_failure=False, record=True
    ) -> list[checks.Verdict]:
        """Check `steps` on the engine; with `record`, start the lab if needed and record the
        steps done. Without it nothing is written to the learner's progress."""
        if record:
            self.start(lab)
        inputs = checks.Inputs(self.progress())
        verdicts = checks.run(lab, steps, inputs, stop_at_first_failure=stop_at_first_failure)
        if record:
            self.record(lab, verdicts)
        if self.via and joined():
            from workshop import report

            report.verdicts(lab.id, verdicts, self.via)  # queued only; the command delivers
        return verdicts

    def catch_up(self, lab: Lab, target: Step) -> Iterator[tuple[Lab, Step]]:
        """Yield each step before `target` that is not done, for the caller to solve: the
        earlier steps of its lab and every step of the labs it builds on (`builds_on`), no
        other lab's; steps the engine shows done already are recorded and skipped."""
        require_builds_on(self.labs, lab)
        for earlier_lab in [*builds_on(self.labs, lab), lab]:
            for earlier in earlier_lab.steps:
                if earlier_lab is lab and earlier.id == target.id:
                    return
                if self.progress().is_done(earlier_lab.id, earlier.id):
                    continue
                if not self.check(earlier_lab, [earlier])[0].passed:
                    yield earlier_lab, earlier

    def require_done(self, lab: Lab, step: Step) -> None:
        """After a solution ran: the step must now check as done."""
        verdict = self.check(lab, [step])[0]
        if not verdict.passed:
            raise WorkshopError(
                f"The solution of step {step.id} ran, but the step is still not done: "
                f"{verdict.message}"
            )

    def run_solution(self, lab: Lab, step: Step, tee=None) -> None:
        """Run the step's solution for real (each command printed, then its output), everything
        the engine does meanwhile journaled; the step must then check as done. `tee` also
        receives each command and its output (a classroom's demo stream)."""
        from workshop.checks import prober
        from workshop.solve import solve

        with self.seeing():
            solve(step, probe=prober(lab), cwd=lab.root, tee=tee)
        self.require_done(lab, step)

    def solve(self, ref: str | None) -> tuple[Lab, Step]:
        """`workshop solve`: the step `ref` names (the current one by default), solved for real
        and checked done; streamed to the room's demo page when joined as its instructor."""
        lab, step = self.find(ref)
        self.start(lab)
        stream = None
        if joined():
            from workshop import report

            if report.is_instructor():
                stream = report.DemoStream()
                stream.step(f"{lab.title}: {step.title} ({lab.id}/{step.id})")
        self.run_solution(lab, step, tee=stream)
        return lab, step

    def goto(self, ref: str) -> Iterator[Going]:
        """`workshop goto`: solve each earlier step not yet done (`catch_up`), then open the
        lab of the step `ref` names. Yields what to say as it goes: each step about to be
        solved, each step solved, and at last the step arrived at."""
        lab, target = self.find(ref)
        for earlier_lab, earlier in self.catch_up(lab, target):
            yield Going("solving", earlier_lab, earlier)
            self.run_solution(earlier_lab, earlier)
            yield Going("solved", earlier_lab, earlier)
        self.open(lab)  # what the learner does from now on counts
        yield Going("arrived", lab, target)

    def advance(self) -> Advance:
        """`workshop next`: check the current step and any the learner did ahead, in one go."""
        progress = self.progress()
        here = position(self.labs, progress)
        if here.step is None:
            return Advance(recorded=[], failed=None, now=here)
        lab = here.lab
        if progress.lab(lab.id) is None:  # a lab just begun: show its first step, check nothing
            self.open(lab)
            return Advance(recorded=[], failed=None, now=here)
        todo = [s for s in lab.steps if not progress.is_done(lab.id, s.id)]
        verdicts = self.check(lab, todo, stop_at_first_failure=True)
        recorded = [v.step for v in verdicts if v.passed]
        failed = next((v for v in verdicts if not v.passed), None)
        now = position(self.labs, self.progress())
        finished = lab if now.lab is not lab else None
        if now.lab is not None and finished is not None:
            self.open(now.lab)
        return Advance(recorded=recorded, failed=failed, now=now, finished=finished)


class Advance(NamedTuple):
    recorded: list[str]
    failed: checks.Verdict | None
    now: Position
    finished: Lab | None = None  # the lab this call completed


class Going(NamedTuple):
    """A moment of `Course.goto`: `what` is "solving" (the step's solution is about to run),
    "solved" (it ran, and the step is done) or "arrived" (the step gone to, now current)."""

    what: str
    lab: Lab
    step: Step


def labs_json(course: Course) -> dict:
    """The labs and how far the learner is in each, as `workshop labs --json` prints them."""
    from workshop.version import kit_version

    progress = course.progress()
    return {
        "kit": kit_version(),
        "labs": [
            {
                "id": lab.id,
                "title": lab.title,
                "summary": lab.summary,
                "folder": str(lab.folder),
                "steps": [s.id for s in lab.steps],
                "done": sum(progress.is_done(lab.id, s.id) for s in lab.steps),
                "total": len(lab.steps),
                "working_copy": {p: str(lab.paths.path(p)) for p in lab.working_copy},
            }
            for lab in course.labs
        ],
    }
