"""`make bench` chooses what it times from the labs themselves: no script of it names a lab.

The bench itself runs on the engine for minutes (`make bench`); what is proved here is its choice,
from the manifests alone, and that renaming or deleting a lab cannot break it by a name.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil

import pytest

from tests.kit.conftest import KIT
from workshop.labs import load_labs

FIXTURE_LABS = KIT / "tests" / "kit" / "fixtures" / "labs"
SCRIPTS = sorted((KIT / "scripts").glob("bench*.py"))


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_script", KIT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _strings(path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_bench_script_names_a_lab_its_steps_or_images():
    """No string in them is a step id (ids such as `run` are also plain words, so only a whole
    string counts), and none holds a lab id or an image as a word."""
    assert SCRIPTS, "scripts/bench*.py are gone"
    steps, words = set(), set()
    for lab in load_labs(KIT / "labs") + load_labs(FIXTURE_LABS):
        steps |= {step.id for step in lab.steps}
        words |= {lab.id, *lab.images, *lab.builds}
    for script in SCRIPTS:
        strings = _strings(script)
        said = set()
        for text in strings:
            said |= set(text.replace("/", " ").replace(":", " ").replace("`", " ").split())
        assert not strings & steps, f"{script.name} names steps {sorted(strings & steps)}"
        assert not said & words, f"{script.name} names {sorted(said & words)}"


def test_the_subject_is_the_first_free_lab_with_an_interactive_step(bench):
    labs = load_labs(KIT / "labs")
    lab = bench.subject(labs)
    assert not lab.builds_on
    assert any(command.interactive for step in lab.steps for command in step.solution)
    earlier = labs[: labs.index(lab)]
    assert not [
        other
        for other in earlier
        if not other.builds_on
        and any(command.interactive for step in other.steps for command in step.solution)
    ]


def test_without_an_interactive_step_the_first_free_lab_is_timed(bench, tmp_path):
    labs = load_labs(FIXTURE_LABS)  # declared labs: no interactive step
    assert not any(c.interactive for lab in labs for s in lab.steps for c in s.solution)
    assert bench.subject(labs) is labs[0]
    assert bench.subject([]) is None


def test_a_renamed_lab_is_still_timed(bench, tmp_path):
    """The subject's folder and id renamed (and what builds on it told): the bench follows."""
    labs = tmp_path / "labs"
    shutil.copytree(KIT / "labs", labs, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    old = bench.subject(load_labs(KIT / "labs")).id
    (labs / old).rename(labs / "renamed")
    for manifest in labs.glob("*/lab.toml"):
        text = manifest.read_text(encoding="utf-8")
        manifest.write_text(
            text.replace(f'id = "{old}"', 'id = "renamed"').replace(f'"{old}"', '"renamed"'),
            encoding="utf-8",
        )
    lab = bench.subject(load_labs(labs))
    assert lab.id == "renamed"
    assert lab.folder == labs / "renamed"
