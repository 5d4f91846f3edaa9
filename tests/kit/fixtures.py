"""Fixtures for the kit's own suite and every lab's own tests (a pytest plugin, named by
tests/kit/conftest.py and labs/conftest.py): a fresh learner (state folder), the real engine,
cleanup.

Tests that touch the engine remove exactly what they created, and nothing a learner (or another
run of the suite) makes on the same engine meanwhile: for the whole session a `docker` shim is
first on PATH (in this process and in every `workshop` it runs), which labels the robot's
containers and builds with this session's `io.workshop.selftest` label and logs the tags it
applies (tests/kit/trace.py). Containers a test makes with docker-py carry `LABELS` too.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kit.trace import LABEL, Trace

KIT = Path(__file__).resolve().parents[2]


def lab_of(test_file: str):
    """The lab whose folder holds `test_file` (a lab's own tests find their lab by where they
    are, so a copy of the folder under a new id tests the copy)."""
    from workshop.labs import load_labs

    here = Path(test_file).resolve()
    for lab in load_labs():
        if lab.folder.resolve() in here.parents:
            return lab
    raise LookupError(f"{here} is in no lab's folder")


TRACE = Trace()  # this session's mark
LABELS = TRACE.labels  # for containers.create/run(..., labels=LABELS)
ROBOT = {"label": TRACE.selector}  # filters={**ROBOT, ...}: only the robot's containers


@dataclass
class Result:
    code: int
    out: str

    def __str__(self) -> str:
        return f"exit {self.code}:\n{self.out}"


class Workshop:
    """Runs the `workshop` command as a learner would, in a separate process."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout=300) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "workshop", *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            cwd=KIT,
        )
        return Result(done.returncode, done.stdout)

    def make_test(self, *args: str) -> subprocess.CompletedProcess:
        """The learner's `make test` (pytest on tests/checks), with this learner's state."""
        return subprocess.run(
            [sys.executable, "-m", "pytest", "tests/checks", "-q", "-p", "no:randomly", *args],
            cwd=KIT,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture(scope="session", autouse=True)
def _docker_shim():
    """The robot's `docker` (and that of every `workshop` it runs) is the labelling shim."""
    with TRACE.on_path():
        yield
    TRACE.close()


@pytest.fixture(scope="session", autouse=True)
def _busy_engine():
    """With WORKSHOP_SELFTEST_NEIGHBOUR=SECONDS, the whole session runs beside a busy neighbour
    (tests/kit/neighbour.py): the suite must hold on an engine that others use meanwhile."""
    every = os.environ.get("WORKSHOP_SELFTEST_NEIGHBOUR")
    if not every:
        yield
        return
    from tests.kit.neighbour import busy

    with busy(float(every)):
        yield


@functools.cache
def _edited_by_labs() -> tuple[Path, ...]:
    """The clone's files that its labs have the learner edit."""
    from workshop.labs import load_labs

    return tuple(KIT / relative for lab in load_labs(KIT / "labs") for relative in lab.edits)


def _kit_edits() -> dict[Path, bytes | None]:
    """Those files, and every copy reset keeps beside them, as they are now."""
    files: dict[Path, bytes | None] = {}
    for path in _edited_by_labs():
        files[path] = path.read_bytes() if path.is_file() else None
        for copy in path.parent.glob(f"{path.name}.before-reset-*"):
            files[copy] = copy.read_bytes()
    return files


@pytest.fixture(autouse=True)
def _kit_files_untouched():
    """A test that edits the clone's own lab files (as a learner would) puts them back: the next
    test's reset would otherwise find "the learner's edits" and keep a copy of them. The test
    that leaves them changed fails here, by name, and the files are put back."""
    before = _kit_edits()
    yield
    after = _kit_edits()
    if after == before:
        return
    for path, data in before.items():
        if data is None:
            path.unlink(missing_ok=True)
        elif after.get(path) != data:
            path.write_bytes(data)
    for path in after.keys() - before.keys():
        path.unlink(missing_ok=True)
    changed = sorted(str(p.relative_to(KIT)) for p in before.keys() | after.keys()
                     if before.get(p) != after.get(p))  # fmt: skip
    pytest.fail(f"the test left the kit's own files changed (now put back): {', '.join(changed)}")


@pytest.fixture
def neighbour() -> str:
    """Another user on the engine while the test runs: a container from alpine and a moved tag
    every 2 s (tests/kit/neighbour.py); yields the mark on what it makes."""
    from tests.kit.neighbour import busy

    with busy(2.0) as mark:
        yield mark


def ours(about: dict) -> bool:
    """An event (as `workshop watch --log` lists it) about something this session made."""
    return (about.get("attrs") or {}).get(LABEL) == TRACE.session


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A brand-new learner: an empty state folder, in this process and in every child."""
    folder = tmp_path / "home"
    monkeypatch.setenv("WORKSHOP_HOME", str(folder))
    monkeypatch.setenv("COLUMNS", "200")
    return folder


@pytest.fixture
def workshop(home) -> Workshop:
    return Workshop(dict(os.environ))


@pytest.fixture(scope="session")
def engine():
    from workshop.engine import client

    return client()


def no_trace(engine):
    """On leaving the block: remove exactly what the robot made inside it: its containers, its
    images and the tags it applied; a learner's containers and tags made meanwhile stay."""
    return TRACE.no_trace(engine)


@pytest.fixture
def leave_no_trace(engine):
    """Remove, after the test, exactly what the robot made while it ran (see `no_trace`)."""
    with no_trace(engine):
        yield


def needs_lab(*lab_ids: str):
    """For a test that runs on the kit's own labs (a whole lab typed by the robot, reset of
    what it made): skipped, saying why, in a kit whose labs/ lacks one of them (a lab is one
    folder; deleting it leaves a working kit and a passing suite)."""
    absent = [lab for lab in lab_ids if not (KIT / "labs" / lab / "lab.toml").is_file()]
    return pytest.mark.skipif(
        bool(absent), reason=f"runs on the kit's {', '.join(absent)} lab, which is not in labs/"
    )
