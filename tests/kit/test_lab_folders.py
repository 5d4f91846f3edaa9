"""A lab is one folder: a copy under a new id is a working extra lab, a kit without a lab's folder
still works, and `goto` into a lab solves only the labs it builds on. On copies of the kit's labs
(and the fixture curriculum), in temporary folders."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kit import curriculum
from tests.kit.fixtures import KIT
from workshop import checks
from workshop.labs import find_lab, lint, load_labs


def _copy_lab(labs: Path, lab_id: str, new_id: str) -> Path:
    """labs/<lab_id> copied to labs/<new_id>, with the new id and its step ids made unique."""
    folder = labs / new_id
    shutil.copytree(labs / lab_id, folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = folder / "lab.toml"
    text = manifest.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id = "[^"]+"$', f'id = "{new_id}"', text, count=1)
    text = re.sub(r'(?m)^(\[\[steps\]\]\nid = ")', rf"\g<1>{new_id}-", text)
    manifest.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def kit_labs(tmp_path, monkeypatch, workshop):
    """A copy of the kit's labs folder, which the kit reads instead of its own, beside a copy of
    what the labs build (`images/`: the paths a lab names are the kit's, relative to the folder
    that holds `labs/`)."""
    labs = tmp_path / "labs"
    shutil.copytree(KIT / "labs", labs, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    shutil.copytree(
        KIT / "images", tmp_path / "images", ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return labs


@pytest.mark.parametrize("lab_id", [lab.id for lab in load_labs()])
def test_a_copied_lab_folder_is_a_working_extra_lab(kit_labs, workshop, lab_id):
    new_id = f"{lab_id}-copy"
    _copy_lab(kit_labs, lab_id, new_id)
    labs = load_labs(kit_labs)
    assert lint(labs) == []
    listed = workshop("labs")
    assert listed.code == 0 and re.search(rf"(?m)^{new_id}\s", listed.out), listed
    copy = find_lab(labs, new_id)
    module = checks.load(copy)  # its checks load, with the helpers of its own folder
    assert Path(module.__file__).parent == copy.folder
    for step in copy.steps:
        assert callable(getattr(module, step.check))
    helpers = [
        value
        for value in vars(module).values()
        if getattr(value, "__module__", "").startswith(f"{copy.package}.")
    ]
    for helper in helpers:  # e.g. the Mysfits lab's gunicorn_log: the copy's, not the original's
        assert Path(sys.modules[helper.__module__].__file__).parent == copy.folder
    assert {s.id for s in copy.steps}.isdisjoint(s.id for s in find_lab(labs, lab_id).steps)


@pytest.mark.engine
@pytest.mark.parametrize("lab_id", [lab.id for lab in load_labs()])
def test_a_kit_without_a_labs_folder_still_works(tmp_path, kit_labs, workshop, lab_id):
    shutil.rmtree(kit_labs / lab_id)
    remaining = load_labs(kit_labs)
    left = [lab.id for lab in remaining]
    assert lab_id not in left
    listed = workshop("labs")
    assert listed.code == 0 and lab_id not in listed.out, listed
    # a lab that builds on the deleted one is still there: lint, and goto into it, say what is
    # missing and how to fix it; the rest of the kit works as before
    dependents = [lab for lab in remaining if lab_id in lab.builds_on]
    lint = workshop("lint")
    if dependents:
        assert lint.code == 1 and f"`builds_on` names lab {lab_id!r}" in lint.out, lint
        first = dependents[0]
        went = workshop("goto", f"{first.id}/{first.steps[0].id}")
        assert went.code == 1 and f"builds on {lab_id}, which is not in" in went.out, went
        assert "Traceback" not in went.out
    else:
        assert lint.code == 0, lint
    shown = workshop("next")
    assert shown.code == 0 and "step 1 of" in shown.out, shown
    # `make test` in a kit without that lab: pytest on its tests/checks collects the others
    shutil.copytree(KIT / "tests" / "checks", tmp_path / "tests" / "checks")
    shutil.copy(KIT / "pyproject.toml", tmp_path / "pyproject.toml")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/checks", "-q", "-p", "no:randomly", "--co"],
        cwd=tmp_path,
        env=workshop.env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    collected = re.findall(r"(?m)^labs/([a-z0-9-]+)/checks\.py::", run.stdout)
    assert collected and set(collected) == set(left), run.stdout


@pytest.fixture
def more(tmp_path, monkeypatch, workshop):
    labs = curriculum.write_more(tmp_path)
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return tmp_path / "flags"


@pytest.mark.engine
def test_goto_into_a_lab_that_builds_on_nothing_solves_no_other_lab(more, workshop):
    result = workshop("goto", "extra-step")
    assert result.code == 0, result
    assert "Catching up" not in result.out
    assert not (more / "first").exists() and not (more / "second").exists()
    status = workshop("status")
    assert status.code == 0 and "extra-step" in status.out
    checked = workshop("check")  # the current step is the one goto showed
    assert "extra-step" in checked.out, checked


@pytest.mark.engine
def test_goto_into_a_lab_solves_the_labs_it_builds_on(more, workshop):
    result = workshop("goto", "sequel-step")
    assert result.code == 0, result
    assert "Catching up: demo/first" in result.out and "Catching up: demo/second" in result.out
    assert "extra" not in result.out
    assert (more / "first").exists() and (more / "second").exists()
    assert not (more / "extra-step").exists()
