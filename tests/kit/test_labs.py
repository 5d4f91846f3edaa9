"""Lab content: the real labs are sound, and the linter catches what a lab author gets wrong."""

from __future__ import annotations

import pytest

from tests.kit import curriculum
from workshop.errors import LabFileError, UsageError
from workshop.labs import find_step, lint, load_labs, mistakes


def test_the_kits_own_labs_are_sound():
    labs = load_labs()
    assert labs and lint(labs) == []
    for lab in labs:
        assert lab.checks.parent == lab.folder, lab.id  # a lab is one folder
        for step in lab.steps:
            assert step.instructions.strip() and step.hint and step.solution


def test_steps_are_found_by_id_or_lab_and_id(demo):
    labs = load_labs(demo[0])
    assert find_step(labs, "first")[1].id == "first"
    assert find_step(labs, "demo/second")[1].id == "second"
    with pytest.raises(UsageError, match="Did you mean first"):
        find_step(labs, "frist")


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
        f"{manifest}:18: step 'second': check 'test_sceond' is not a test in "
        f"{labs / 'demo' / 'checks.py'}"
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
        ("format_version = 2", 'format_version = "one"', "needs `format_version = 2`"),
        ("format_version = 2", "format_version = 3", "upgrade the kit"),
        ("images = []", "images = []\nneeds = { gpu = 1 }", "`needs` takes numbers"),
        ("images = []", 'images = []\nbuilds_on = ["demo"]', "builds on itself"),
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


def test_a_lab_building_on_a_missing_lab_loads_and_lint_names_it(demo):
    """A deleted lab another builds on leaves a working kit: lint says what is missing."""
    labs, manifest = demo
    edit(manifest, "images = []", 'images = []\nbuilds_on = ["nowhere"]')
    problems = lint(load_labs(labs))
    assert any(
        p.startswith(str(manifest)) and "`builds_on` names lab 'nowhere'" in p for p in problems
    ), problems


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('id = "no-first-flag"', 'id = "No_First"', "ids are kebab-case"),
        ('id = "no-second-flag"', 'id = "no-first-flag"', "also declared at line"),
        ('reproduce = ["true"]\n\n[[steps]]', "\n[[steps]]", "has no `reproduce`"),
    ],
)
def test_mistakes_that_are_not_sound_are_lint_findings_with_their_line(demo, old, new, words):
    labs, manifest = demo
    edit(manifest, old, new)
    problems = lint(load_labs(labs))
    assert any(words in p and p.startswith(f"{manifest}:") for p in problems), problems


def test_a_probe_placeholder_must_name_a_function_of_the_checks(demo):
    labs, manifest = demo
    edit(
        manifest,
        'solution = ["touch {}/second"]'.format(labs.parent / "flags"),
        'solution = [{ run = "touch <F>", where = { F = "probe:nowhere" } }]',
    )
    problems = lint(load_labs(labs))
    assert any("probe 'nowhere' is not a function in" in p for p in problems), problems


def test_the_kits_labs_declare_their_mistakes_once_each():
    for lab in load_labs():
        declared = [m for step in lab.steps for m in step.mistakes]
        assert declared, lab.id
        assert len({m.id for m in declared}) == len(declared), lab.id
        assert set(mistakes(lab)) == {m.id for m in declared}
        for mistake in declared:  # the commands that make it, or why none can
            assert mistake.reproduce or mistake.unreproducible, (lab.id, mistake.id)


def test_mistakes_are_read_from_the_manifest_with_their_lines(demo):
    labs, manifest = demo
    lines = manifest.read_text().splitlines()
    found = mistakes(load_labs(labs)[0])
    assert found == {
        "no-first-flag": lines.index('id = "no-first-flag"'),
        "no-second-flag": lines.index('id = "no-second-flag"'),
    }
    assert all(lines[line - 1] == "[[steps.mistakes]]" for line in found.values())


def test_an_unreproducible_mistake_says_why(demo):
    labs, manifest = demo
    edit(
        manifest,
        'id = "no-first-flag"\nreproduce = ["true"]',
        'id = "no-first-flag"\nreproduce = []\nunreproducible = "the flag folder is gone"',
    )
    (mistake,) = load_labs(labs)[0].step("first").mistakes
    assert mistake.reproduce == () and mistake.unreproducible == "the flag folder is gone"


def test_lint_finds_a_working_copys_path_written_as_is(demo):
    """A path the learner works on, written without `{kit:...}`, is a file that an installed
    kit's learner does not have where the text says (their copy is in their working folder)."""
    labs, manifest = demo
    edit(manifest, "images = []\n", 'images = []\nworking_copy = ["labs/demo/data.json"]\n')
    (labs / "demo" / "data.json").write_text("[]\n")
    first = labs / "demo" / "steps" / "first.md"
    first.write_text(first.read_text() + "\nThe entry is also in `labs/demo/data.json`.\n")
    (problem,) = lint(load_labs(labs))
    assert "step 'first'" in problem and "`labs/demo/data.json` in first.md" in problem
    assert "{kit:labs/demo/data.json}" in problem
    edit(first, "`labs/demo/data.json`", "`{kit:labs/demo/data.json}`")
    assert lint(load_labs(labs)) == []


def test_the_demo_curriculum_lints_clean(demo):
    labs, _ = demo
    assert lint(load_labs(labs)) == []
    assert set(mistakes(load_labs(labs)[0])) == {"no-first-flag", "no-second-flag"}


def test_kit_paths_render_relative_in_a_clone_and_to_the_working_copy_when_installed(
    tmp_path, monkeypatch
):
    from workshop import labs as labs_module
    from workshop.labs import KitPaths

    kit = tmp_path / "kit"
    (kit / "images" / "app").mkdir(parents=True)
    (kit / "images" / "app" / "data.json").write_text("[]\n")
    (kit / "images" / "app" / "__pycache__").mkdir()
    text = "Build `{kit:images/app}`, edit {kit:images/app/data.json}, read {kit:labs/x.md}."
    clone = KitPaths.of(kit, ("images/app",))
    assert not clone.separate
    assert clone.render(text) == "Build `images/app`, edit images/app/data.json, read labs/x.md."

    monkeypatch.setattr(labs_module, "_PACKAGE", tmp_path)  # as if kit/ were inside the package
    work = tmp_path / "my work"
    monkeypatch.setenv("WORKSHOP_WORKDIR", str(work))
    installed = KitPaths.of(kit, ("images/app",))
    assert installed.separate and installed.work == work
    assert installed.render(text) == (
        f"Build `'{work}/images/app'`, edit '{work}/images/app/data.json', read {kit}/labs/x.md."
    )  # a path with a space is quoted, so a pasted command still works
    installed.ensure()
    assert (work / "images/app/data.json").read_text() == "[]\n"
    assert not (work / "images/app/__pycache__").exists()
    (work / "images/app/data.json").write_text("[1]\n")
    installed.ensure()  # never overwrites the learner's work
    assert (work / "images/app/data.json").read_text() == "[1]\n"

    from workshop.labs import restore_command

    assert restore_command(kit, "images/app/data.json") == (
        f"cp {kit}/images/app/data.json '{work}/images/app/data.json'"
    )
    monkeypatch.setattr(labs_module, "_PACKAGE", tmp_path / "elsewhere")  # a clone again
    assert restore_command(kit, "images/app/data.json", "images/app/x") == (
        "git checkout -- images/app/data.json images/app/x"
    )


def test_what_a_lab_needs_of_the_engine_is_in_its_manifest(demo, monkeypatch):
    from workshop.doctor import _needing

    labs, manifest = demo
    edit(manifest, "images = []", "images = []\nneeds = { disk_gb = 1.5, memory_gb = 2 }")
    assert load_labs(labs)[0].needs == {"disk_gb": 1.5, "memory_gb": 2.0}
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    assert _needing("disk_gb") == ": lab demo needs about 1.5 GiB"
    edit(manifest, "needs = { disk_gb = 1.5, memory_gb = 2 }", "")
    assert _needing("disk_gb") == ""


def test_a_lab_needs_a_swarm_and_free_ports(demo):
    labs, manifest = demo
    edit(manifest, "images = []", "images = []\nneeds = { swarm = true, ports = [5001, 8090] }")
    lab = load_labs(labs)[0]
    assert lab.needs == {"swarm": 1.0} and lab.ports == (5001, 8090)
    edit(manifest, "ports = [5001, 8090]", 'ports = ["5001"]')
    with pytest.raises(LabFileError, match="list of port numbers"):
        load_labs(labs)
    edit(manifest, 'swarm = true, ports = ["5001"]', 'swarm = "yes"')
    with pytest.raises(LabFileError, match="true or false"):
        load_labs(labs)


def test_doctor_says_what_a_swarm_lab_meets():
    from workshop.doctor import FAIL, OK, _swarm_finding

    manager = _swarm_finding({"LocalNodeState": "active", "ControlAvailable": True}, "shipit")
    assert manager.status == OK and "manages it" in manager.detail
    none = _swarm_finding({"LocalNodeState": "inactive"}, "shipit")
    assert none.status == OK and "docker swarm init" in none.detail
    worker = _swarm_finding({"LocalNodeState": "active", "ControlAvailable": False}, "shipit")
    assert worker.status == FAIL and "worker" in worker.detail
    assert _swarm_finding({"LocalNodeState": "error"}, "shipit").status == FAIL
    # Podman answers the Docker API but has no swarm mode: no "the lab makes one"
    podman = _swarm_finding({"LocalNodeState": "inactive"}, "shipit", "Podman")
    assert podman.status == FAIL and "Podman has no swarm mode" in podman.detail


def test_a_lab_says_its_shells_prompt_and_a_command_may_say_its_own(demo):
    labs, manifest = demo
    edit(manifest, "images = []", 'images = []\nprompt = "/ # "')
    edit(
        manifest,
        'solution = ["touch {}/second"]'.format(labs.parent / "flags"),
        'solution = [{ run = "touch x", type = ["exit"], prompt = "$ " }, "touch y"]',
    )
    lab = load_labs(labs)[0]
    assert lab.step("first").solution[0].prompt == "/ # "
    assert [c.prompt for c in lab.step("second").solution] == ["$ ", "/ # "]
