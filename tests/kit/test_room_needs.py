"""What the course needs, as scripts/engine reads it: `python -m workshop.needs --images`; and
scripts/engine refusing, in one line, a course image it has no stand-in recipe for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.needs import course_needs

KIT = Path(__file__).resolve().parents[2]


def needs(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop.needs", *args],
        capture_output=True,
        text=True,
        cwd=KIT,
        env={**os.environ, **(env or {})},
    )


def test_needs_prints_the_course_images_one_a_line():
    done = needs("--images")
    assert done.returncode == 0, done.stderr
    wanted = course_needs()  # what the labs' manifests say, in lab order
    assert done.stdout.splitlines() == wanted.refs()
    assert {"alpine:latest", "python:3.12-slim"} <= set(wanted.refs())
    done = needs("--requirements")
    assert done.stdout.splitlines() == [str(need.requirements) for need in wanted.packages]


def with_image(tmp_path, ref: str) -> Path:
    labs = tmp_path / "labs"
    shutil.copytree(KIT / "labs", labs)
    manifest = labs / "beginners" / "lab.toml"
    text = manifest.read_text()
    assert 'needs = { images = ["alpine:latest"] }' in text
    manifest.write_text(
        text.replace('images = ["alpine:latest"]', f'images = ["alpine:latest", "{ref}"]')
    )
    return labs


def test_needs_reads_the_labs_it_is_given(tmp_path):
    done = needs("--images", env={"WORKSHOP_LABS": str(with_image(tmp_path, "busybox:1.36"))})
    refs = course_needs().refs()
    assert done.stdout.splitlines() == [*refs[:1], "busybox:1.36", *refs[1:]]


@pytest.mark.engine
def test_scripts_engine_refuses_an_image_without_a_recipe_in_one_line(tmp_path):
    which = subprocess.run([str(KIT / "scripts/engine"), "which"], capture_output=True, text=True)
    if which.stdout.strip() not in ("20", "26"):
        pytest.skip("the engine is not scripts/engine's: `up` would not build stand-ins")
    labs = with_image(tmp_path, "kit-no-recipe:1")
    done = subprocess.run(
        [str(KIT / "scripts/engine"), "up"],
        capture_output=True,
        text=True,
        env={**os.environ, "WORKSHOP_LABS": str(labs)},
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        "kit-no-recipe:1: no stand-in recipe in scripts/engine (add a recipe_kit_no_recipe "
        "function beside recipe_alpine)"
    ), done.stderr
