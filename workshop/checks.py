"""Runs step checks and collects one verdict each, fast enough for `workshop next` to feel instant.

A lab's checks are pytest tests (plain functions in `tests/checks/test_<lab>.py`), and `make test`
runs them under pytest. The runner calls the same functions directly, giving each the arguments
it names (`engine`, `learner`) from the providers below, which the checks' conftest also uses:
starting pytest would cost more than the whole check.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from types import ModuleType

from workshop.errors import WorkshopError
from workshop.labs import Lab, Step
from workshop.probes import Missing


@dataclass(frozen=True)
class Verdict:
    step: str
    passed: bool
    message: str = ""


def provide_engine():
    """The docker-py client; EngineUnavailable (one sentence with the fix) if none answers."""
    from workshop.engine import client

    return client()


def provide_learner(lab_id: str):
    """What the learner made since they started `lab_id`."""
    from workshop.engine import parse_time
    from workshop.probes import Learner
    from workshop.state import Store

    started = Store().read().lab(lab_id)
    if started is None or not started.started_at:
        raise Missing(f"You have not started the {lab_id!r} lab yet: run `workshop next`.")
    return Learner(provide_engine(), parse_time(started.started_at))


PROVIDERS = {
    "engine": lambda lab: provide_engine(),
    "learner": lambda lab: provide_learner(lab.id),
}


def _load(lab: Lab) -> ModuleType:
    name = f"workshop_checks_{lab.id.replace('-', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    if not lab.checks.is_file():
        raise WorkshopError(
            f"The checks of lab {lab.id!r} are missing ({lab.checks}): restore the kit's "
            "tests folder (git checkout -- tests)."
        )
    spec = importlib.util.spec_from_file_location(name, lab.checks)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise WorkshopError(
            f"The checks module {lab.checks} could not be loaded ({type(exc).__name__}: {exc}); "
            "restore it with `git checkout -- tests` or ask your instructor."
        ) from None
    sys.modules[name] = module
    return module


def _message(exc: BaseException) -> str:
    if isinstance(exc, Missing):
        return str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ", 1)[0].strip()
        return text or "a check assertion failed without a message (a bug in the kit's checks)"
    if type(exc).__module__.split(".")[0] in ("docker", "requests", "urllib3"):
        return (
            f"The Docker engine stopped answering during the check ({type(exc).__name__}); "
            "make sure Docker is running (`workshop doctor`), then try again."
        )
    return (
        f"The check itself broke ({type(exc).__name__}: {exc}); this is a bug in the kit, "
        "please tell your instructor."
    )


def _call(lab: Lab, function):
    arguments = {}
    for name in inspect.signature(function).parameters:
        if name not in PROVIDERS:
            raise WorkshopError(
                f"{function.__name__} in {lab.checks} asks for {name!r}; checks may ask for "
                f"{', '.join(PROVIDERS)}."
            )
        arguments[name] = PROVIDERS[name](lab)
    return function(**arguments)


def prober(lab: Lab):
    """For solutions: `probe(name)` calls the checks module's function `name` (which may say,
    for instance, which container holds the learner's file) and returns its answer."""

    def probe(name: str) -> str:
        function = getattr(_load(lab), name, None)
        if not callable(function):
            raise WorkshopError(f"{lab.checks} has no probe {name!r}; run `workshop lint`.")
        try:
            return str(_call(lab, function))
        except Missing as exc:
            raise WorkshopError(f"{exc} (do the earlier steps first: `workshop goto`)") from None

    return probe


def run_one(lab: Lab, step: Step) -> Verdict:
    function = getattr(_load(lab), step.check, None)
    if not callable(function):
        raise WorkshopError(
            f"{lab.manifest}:{step.line}: step {step.id!r} names check {step.check!r}, which "
            f"{lab.checks} does not define; run `workshop lint`."
        )
    try:
        _call(lab, function)
    except WorkshopError:
        raise
    except Exception as exc:  # a check's verdict, or its failure, becomes one sentence
        return Verdict(step.id, False, _message(exc))
    return Verdict(step.id, True)


def run(lab: Lab, steps: list[Step], stop_at_first_failure: bool = False) -> list[Verdict]:
    """Check `steps` of `lab` in order, stopping at the first undone one if asked."""
    verdicts = []
    for step in steps:
        verdicts.append(run_one(lab, step))
        if stop_at_first_failure and not verdicts[-1].passed:
            break
    return verdicts
