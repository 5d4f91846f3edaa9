"""Runs step checks (pytest tests in a lab's checks module) in-process and collects one verdict each.

The same tests run under plain pytest for `make test`; here a small plugin gathers the outcome
and the one-sentence message of each, and pytest's own output is kept off the learner's screen.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass

from workshop.errors import WorkshopError
from workshop.labs import Lab, Step

PLUGIN_NAME = "workshop-runner"


@dataclass(frozen=True)
class Verdict:
    step: str
    passed: bool
    message: str = ""


def _message(excinfo) -> str:
    import pytest

    exc = excinfo.value
    if isinstance(exc, pytest.fail.Exception):
        return str(exc.msg or "").strip()
    if isinstance(exc, pytest.skip.Exception):
        return str(exc.msg or "").strip()
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ", 1)[0].strip()
        return text or "a check assertion failed (the check gave no message: report this to the kit's authors)"
    if type(exc).__module__.split(".")[0] in ("docker", "requests", "urllib3"):
        return (
            f"The Docker engine stopped answering during the check ({type(exc).__name__}); "
            "make sure Docker is running (`workshop doctor`), then try again."
        )
    return (
        f"The check itself broke ({type(exc).__name__}: {exc}); this is a bug in the kit, "
        "please tell your instructor."
    )


class _Collector:
    workshop_runner = True  # tells the checks' conftest not to skip unreached steps

    def __init__(self, by_nodeid: dict[str, Step]):
        self.by_function = {step.check: step for step in by_nodeid.values()}
        self.verdicts: dict[str, Verdict] = {}
        self.errors: list[str] = []

    def _step(self, item) -> Step | None:
        return self.by_function.get(getattr(item, "originalname", item.name))

    def pytest_runtest_makereport(self, item, call):
        step = self._step(item)
        if step is None or step.id in self.verdicts and not self.verdicts[step.id].passed:
            return
        if call.excinfo is not None:
            self.verdicts[step.id] = Verdict(step.id, False, _message(call.excinfo))
        elif call.when == "call":
            self.verdicts[step.id] = Verdict(step.id, True)

    def pytest_collectreport(self, report):
        if report.failed:
            self.errors.append(str(report.longrepr))


def run(lab: Lab, steps: list[Step], stop_at_first_failure: bool = False) -> list[Verdict]:
    """Check `steps` of `lab` in order; with `stop_at_first_failure`, stop at the first undone one."""
    import pytest

    if not steps:
        return []
    if not lab.checks.is_file():
        raise WorkshopError(
            f"The checks of lab {lab.id!r} are missing ({lab.checks}): restore the kit's "
            "tests folder (git checkout -- tests)."
        )
    nodeids = {f"{lab.checks}::{step.check}": step for step in steps}
    collector = _Collector(nodeids)
    args = [
        *nodeids,
        "-q",
        "--no-header",
        "-p", "no:cacheprovider",
        "-p", "no:randomly",
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        "-W", "ignore",  # a library's warning must never fail a learner's check
        "-o", "console_output_style=classic",
        "--rootdir", str(lab.checks.parent),
    ]
    if stop_at_first_failure:
        args.append("--maxfail=1")
    output = io.StringIO()
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # load no third-party plugin: fast start
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = pytest.main(args, plugins=[collector])
    except Exception as exc:  # pytest itself broke: say so in one sentence
        raise WorkshopError(
            f"Running the checks of lab {lab.id!r} failed ({type(exc).__name__}: {exc}); "
            "please tell your instructor."
        ) from None
    finally:
        if previous is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous
    if collector.errors or code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        detail = (collector.errors or [output.getvalue()])[0].strip().splitlines()
        raise WorkshopError(
            f"The checks module {lab.checks} could not be loaded ({detail[-1] if detail else code}); "
            "restore it with `git checkout -- tests` or ask your instructor."
        )
    verdicts = []
    for step in steps:
        verdict = collector.verdicts.get(step.id)
        if verdict is None:
            if stop_at_first_failure and verdicts and not verdicts[-1].passed:
                break
            verdict = Verdict(step.id, False, f"its check {step.check} did not run")
        verdicts.append(verdict)
        if stop_at_first_failure and not verdict.passed:
            break
    return verdicts
