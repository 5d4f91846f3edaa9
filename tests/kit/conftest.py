"""Fixtures for the kit's own suite: a fresh learner (state folder), the real engine, cleanup.

Tests that touch the engine remove only what they created: containers and tags made while the
test ran, found by comparing the engine before and after.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[2]


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


@contextlib.contextmanager
def no_trace(engine):
    """On leaving: remove the containers and tags that appeared inside the block."""
    containers = {c["Id"] for c in engine.api.containers(all=True)}
    tags = {t for image in engine.images.list() for t in image.tags}
    try:
        yield
    finally:
        for summary in engine.api.containers(all=True):
            if summary["Id"] not in containers:
                engine.api.remove_container(summary["Id"], force=True)
        for image in engine.images.list():
            for tag in image.tags:
                if tag not in tags:
                    engine.images.remove(tag, force=True)  # untags; containers keep theirs


@pytest.fixture
def leave_no_trace(engine):
    """Remove, after the test, the containers and tags that appeared while it ran."""
    with no_trace(engine):
        yield
