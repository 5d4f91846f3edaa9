"""The one check runtime: `workshop next`, `workshop check` and `make test` all judge a step here.

A lab's checks are plain functions in its folder's `checks.py` (labs/<id>/) that ask for
`engine` and/or `learner` by argument name; the runtime gives every check the same inputs (the
engine client, and one `Learner` that brought the kit's journal up to date once for the whole
command) and turns its outcome into a `Verdict`. `make test` collects the same functions with
pytest and calls `evaluate` (tests/checks/conftest.py), so the two can never disagree.

Outcomes: the check returns (done); it calls `missing(...)` (not done, with the sentence); or
the engine fails under it (an engine error, never "not done"). A step the learner's progress
records as done stays done: if the engine no longer shows it, the verdict says so ("done
earlier") instead of asking a finished learner to do it again.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from types import ModuleType
from typing import NamedTuple

from workshop.engine import engine_error, engine_fault
from workshop.errors import WorkshopError
from workshop.labs import Lab, Step
from workshop.probes import Missing
from workshop.state import Progress


class LookInsideFailed(WorkshopError):
    """The kit could not look inside a container (the docker CLI failed, not the learner)."""


class Verdict(NamedTuple):
    step: str
    passed: bool
    message: str = ""  # why not done; for a step done earlier, what the engine shows now
    earlier: str = ""  # when a step recorded done was seen done, if the engine no longer shows it
    mistake: str = ""  # the stable id of the mistake the check named (see `labs.mistakes`)


class Inputs:
    """What checks may ask for, made once per command and shared by every check in it."""

    names = ("engine", "learner")

    def __init__(self, progress: Progress):
        self.progress = progress
        self._engine = None
        self._learner = None

    def engine(self):
        """The docker-py client; EngineUnavailable (one sentence with the fix) if none answers."""
        if self._engine is None:
            from workshop.engine import client

            self._engine = client()
        return self._engine

    def learner(self):
        """What the learner did since they began the workshop, with the kit's journal."""
        if self._learner is None:
            from workshop.engine import Asked, parse_time
            from workshop.journal import Journal
            from workshop.probes import Learner
            from workshop.state import home

            began = self.progress.began()
            if began is None:
                raise Missing("You have not begun the workshop yet: run `workshop next`.")
            engine = self.engine()
            listing = Asked(engine.api.containers, all=True)  # while the engine answers info
            info = engine.info()
            journal = Journal(home(), info.get("ID") or "")
            learner = Learner(engine, parse_time(began), journal, info=info, listing=listing)
            learner.record  # noqa: B018 -- every look feeds the journal, whatever is checked
            self._learner = learner
        return self._learner

    def give(self, lab: Lab, function) -> dict:
        arguments = {}
        for name in inspect.signature(function).parameters:
            if name not in self.names:
                raise WorkshopError(
                    f"{function.__name__} in {lab.checks} asks for {name!r}; checks may ask "
                    f"for {' and '.join(self.names)}."
                )
            arguments[name] = getattr(self, name)()
        return arguments


def load(lab: Lab) -> ModuleType:
    """The lab's checks module, imported as part of its folder: the folder is a package named
    `Lab.package` (its `__path__` is the folder), so the checks may import the lab's own helper
    modules beside them (`from . import gunicorn_log`) and nothing else is put on `sys.path`."""
    name = f"{lab.package}.{lab.checks.stem}"
    if name in sys.modules:
        return sys.modules[name]
    if not lab.checks.is_file():
        raise WorkshopError(
            f"The checks of lab {lab.id!r} are missing ({lab.checks}): restore the lab's "
            f"folder (git checkout -- {lab.folder.name}) or fix `checks` in {lab.manifest.name}."
        )
    if lab.package not in sys.modules:
        package = ModuleType(lab.package, f"The lab {lab.id!r} ({lab.folder}).")
        package.__path__ = [str(lab.folder)]
        package.__package__ = lab.package
        sys.modules[lab.package] = package
    spec = importlib.util.spec_from_file_location(name, lab.checks)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = lab.package
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise WorkshopError(
            f"The checks module {lab.checks} could not be loaded ({type(exc).__name__}: {exc}); "
            f"restore the lab's folder (git checkout -- {lab.folder.name}) or ask your "
            "instructor."
        ) from None
    return module


def _check_function(lab: Lab, step: Step):
    function = getattr(load(lab), step.check, None)
    if not callable(function):
        raise WorkshopError(
            f"{lab.manifest}:{step.line}: step {step.id!r} names check {step.check!r}, which "
            f"{lab.checks} does not define; run `workshop lint`."
        )
    return function


def _judge(lab: Lab, step: Step, inputs: Inputs) -> None:
    """Run the step's check: its declared outcome (`workshop.declared`), else its Python check."""
    if step.declared:
        from workshop import declared

        declared.judge(step, inputs.learner())
        return
    function = _check_function(lab, step)
    function(**inputs.give(lab, function))


def _undeclared(lab: Lab, step: Step, mistake: str) -> WorkshopError | None:
    """Format 2: a mistake id the lab does not declare is a bug in the lab's checks."""
    if lab.format_version < 2 or not mistake:  # no id: the runtime's own ("not begun yet")
        return None
    from workshop.labs import declared_mistakes

    if mistake in declared_mistakes(lab):
        return None
    return WorkshopError(
        f"The check of step {step.id} named mistake {mistake!r}, which {lab.manifest} does not "
        "declare; this is a bug in the lab: please tell your instructor (`workshop lint` finds it)."
    )


def evaluate(lab: Lab, step: Step, inputs: Inputs) -> Verdict:
    """Judge one step. Raises WorkshopError when the engine (or the kit) fails under it."""
    try:
        _judge(lab, step, inputs)
    except Missing as exc:
        bug = _undeclared(lab, step, exc.mistake)
        if bug is not None:
            raise bug from None
        seen = inputs.progress.lab(lab.id)
        when = seen.done.get(step.id) if seen else None
        if when:
            return Verdict(step.id, True, str(exc), earlier=when)
        return Verdict(step.id, False, str(exc), mistake=exc.mistake)
    except WorkshopError:
        raise
    except AssertionError as exc:
        text = str(exc).split("\nassert ", 1)[0].strip()
        return Verdict(
            step.id,
            False,
            text or "a check assertion failed without a message (a bug in the kit's checks)",
        )
    except Exception as exc:
        if engine_fault(exc):
            raise engine_error(exc) from None
        raise WorkshopError(
            f"The check of step {step.id} broke ({type(exc).__name__}: {exc}); this is a bug "
            "in the kit: please tell your instructor."
        ) from exc
    return Verdict(step.id, True)


def prober(lab: Lab):
    """For solutions: `probe(name)` calls the checks module's function `name` (which may say,
    for instance, which container holds the learner's file) and returns its answer."""

    def probe(name: str) -> str:
        from workshop.state import Store

        function = getattr(load(lab), name, None)
        if not callable(function):
            raise WorkshopError(f"{lab.checks} has no probe {name!r}; run `workshop lint`.")
        given = Inputs(Store().read())
        try:
            return str(function(**given.give(lab, function)))
        except Missing as exc:
            raise WorkshopError(f"{exc} (do the earlier steps first: `workshop goto`)") from None
        except Exception as exc:
            if engine_fault(exc):
                raise engine_error(exc) from None
            raise

    return probe


def run(
    lab: Lab, steps: list[Step], inputs: Inputs, stop_at_first_failure: bool = False
) -> list[Verdict]:
    """Check `steps` of `lab` in order, stopping at the first undone one if asked."""
    verdicts = []
    for step in steps:
        verdicts.append(evaluate(lab, step, inputs))
        if stop_at_first_failure and not verdicts[-1].passed:
            break
    return verdicts
