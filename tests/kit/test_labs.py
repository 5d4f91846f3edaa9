"""Lab content: the real labs are sound, and the linter catches what a lab author gets wrong."""

from __future__ import annotations

import pytest

from tests.kit import curriculum
from workshop.errors import LabFileError, UsageError
from workshop.labs import find_step, lint, load_labs, mistakes


def test_the_kits_own_labs_are_sound():
    labs = load_labs()
    assert labs[0].id == "beginners"
    assert lint(labs) == []
    for lab in labs:
        for step in lab.steps:
            assert step.instructions.strip() and step.hint and step.solution


def test_steps_are_found_by_id_or_lab_and_id():
    labs = load_labs()
    assert find_step(labs, "run-ls")[1].id == "run-ls"
    assert find_step(labs, "beginners/run-ls")[1].id == "run-ls"
    with pytest.raises(UsageError, match="Did you mean run-ls"):
        find_step(labs, "run-sl")


@pytest.fixture
def demo(tmp_path):
    labs = curriculum.write(tmp_path)
    return labs, labs / "demo" / "lab.toml"


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_lint_finds_a_check_that_does_not_exist(demo):
    labs, manifest = demo
    edit(manifest, 'check = "test_second"', 'check = "test_sceond"')
    assert lint(load_labs(labs)) == [
        f"{manifest}:15: step 'second': check 'test_sceond' is not a test in "
        f"{labs.parent / 'checks' / 'test_demo.py'}"
    ]


def test_lint_finds_a_solution_the_instructions_do_not_show(demo):
    labs, manifest = demo
    edit(manifest, 'solution = ["touch', 'solution = ["touch -c')
    problems = lint(load_labs(labs))
    assert len(problems) == 2 and all("is not shown in" in p for p in problems)


def test_lint_finds_missing_and_empty_instructions(demo):
    labs, _ = demo
    (labs / "demo" / "steps" / "first.md").write_text("  \n")
    (labs / "demo" / "steps" / "second.md").unlink()
    problems = lint(load_labs(labs))
    assert any("first.md is empty" in p for p in problems)
    assert any("second.md is missing" in p for p in problems)


def test_a_placeholder_needs_a_where(demo):
    labs, manifest = demo
    edit(
        manifest,
        'solution = ["touch {}/first"]'.format(labs.parent / "flags"),
        'solution = ["docker container start <ID>"]',
    )
    problems = lint(load_labs(labs))
    assert any("`<ID>` in `docker container start <ID>` has no `where`" in p for p in problems)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('id = "second"', 'id = "first"', "step id 'first' is used twice"),
        ('id = "second"', 'id = "Second Step"', "ids are lowercase"),
        ('title = "Demo lab"\n', "", "the lab needs `title`"),
        ("format_version = 1", 'format_version = "one"', "needs `format_version = 2`"),
        (
            'solution = ["touch',
            'solution = [{ run = "x", typo = 1 }, "touch',
            "unknown solution key",
        ),
    ],
)
def test_malformed_manifests_name_the_problem(demo, old, new, words):
    labs, manifest = demo
    edit(manifest, old, new)
    with pytest.raises(LabFileError, match=words) as caught:
        load_labs(labs)
    assert str(caught.value).startswith(str(manifest))


def test_a_probe_placeholder_must_name_a_function_of_the_checks(demo):
    labs, manifest = demo
    edit(
        manifest,
        'solution = ["touch {}/second"]'.format(labs.parent / "flags"),
        'solution = [{ run = "touch <F>", where = { F = "probe:nowhere" } }]',
    )
    problems = lint(load_labs(labs))
    assert any("probe 'nowhere' is not a function in" in p for p in problems), problems


def test_the_kits_checks_name_every_mistake_once():
    for lab in load_labs():
        ids = mistakes(lab)
        assert ids, lab.id
        assert all(len(i) <= 40 and i == i.lower() and " " not in i for i in ids), lab.id
    beginners = mistakes(load_labs()[0])
    # literals passed to a helper that hands its parameter on are ids too
    assert {"ls-without-long", "shell-without-it", "not-pulled", "ls-removed-unseen"} <= set(
        beginners
    )


HELPERS = """
from workshop.probes import missing


def _gone(what, mistake):
    missing(f"{what} is gone.", mistake=mistake)


def test_first():
    _gone("first", "first-gone")
    _gone("again", "first-gone")
    missing("No id here.")
    missing("Spelled wrong.", mistake="Not_Kebab")
    missing("Far too long.", mistake="this-id-is-far-too-long-for-a-dashboard-cell")
    missing("From a variable.", mistake=ID)


def test_second():
    _gone("second", ID)
    missing("Fine.", mistake="second-fine")
"""


def test_lint_names_each_mistake_id_problem_with_file_and_line(demo):
    labs, _ = demo
    checks = labs.parent / "checks" / "test_demo.py"
    checks.write_text(HELPERS)
    long = "this-id-is-far-too-long-for-a-dashboard-cell"
    assert lint(load_labs(labs)) == [
        f"{checks}:11: mistake id 'first-gone' is also used at line 10; one id names one "
        "mistake, unique within the lab",
        f'{checks}:12: missing(...) names no mistake: add mistake="kebab-case-id", the id of '
        "what this check recognised",
        f"{checks}:13: mistake id 'Not_Kebab' must be kebab-case (lowercase letters and digits "
        "joined by single dashes), at most 40 characters",
        f"{checks}:14: mistake id {long!r} must be kebab-case (lowercase letters and digits "
        "joined by single dashes), at most 40 characters",
        f"{checks}:15: mistake= must be a string literal, or a parameter of the enclosing "
        "function that each of its calls passes as a literal",
        f"{checks}:19: _gone(...) must pass `mistake` as a string literal, the id of the "
        "mistake it names here",
    ]
    assert mistakes(load_labs(labs)[0]) == {
        "first-gone": 10,
        "Not_Kebab": 13,
        long: 14,
        "second-fine": 20,
    }


def test_a_helper_nobody_calls_cannot_hand_on_an_id(demo):
    labs, _ = demo
    checks = labs.parent / "checks" / "test_demo.py"
    text = checks.read_text()
    checks.write_text(text + "\n\ndef _unused(mistake):\n    missing('x', mistake=mistake)\n")
    problems = lint(load_labs(labs))
    assert len(problems) == 1 and "nothing in the module calls _unused()" in problems[0]
    assert problems[0].startswith(f"{checks}:")


def test_the_demo_curriculum_lints_clean(demo):
    labs, _ = demo
    assert lint(load_labs(labs)) == []
    assert set(mistakes(load_labs(labs)[0])) == {"no-first-flag", "no-second-flag"}
