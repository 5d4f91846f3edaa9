"""Declared checks, without an engine: the vocabulary as the manifest states it, the lines lint
and the loader name, commands by meaning, and mistake ids as data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from workshop import declared
from workshop.errors import LabFileError
from workshop.labs import (
    GENERIC_MISTAKES,
    LAB_KEYS,
    STEP_KEYS,
    declared_mistakes,
    lint,
    load_labs,
    mistakes,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "labs"

HEAD = """\
format_version = 2
id = "tiny"
title = "Tiny"
images = ["alpine"]
volumes = ["data"]

[[steps]]
id = "one"
title = "One"
instructions = "steps/one.md"
hint = "Do it."
solution = ["docker container run alpine ls -l"]
"""


def write(tmp_path: Path, manifest: str, text: str = "docker container run alpine ls -l") -> Path:
    lab = tmp_path / "labs" / "tiny"
    (lab / "steps").mkdir(parents=True)
    (lab / "lab.toml").write_text(manifest)
    (lab / "steps" / "one.md").write_text(f"# One\n\n`{text}`\n")
    return tmp_path / "labs"


def line_of(manifest: str, needle: str) -> int:
    return next(n for n, line in enumerate(manifest.splitlines(), 1) if needle in line)


# --- the fixture labs are sound -----------------------------------------------------------------


def test_fixture_labs_load_and_lint_clean():
    labs = load_labs(FIXTURES)
    assert [lab.id for lab in labs] == ["volumes", "webpage"]
    assert lint(labs) == []
    volumes = labs[0]
    read = volumes.step("read-note")
    assert read.declared and read.check == ""
    (claim,) = read.expect
    assert claim.noun == "container"
    assert claim.fields == {
        "image": "alpine",
        "ran": "cat /notes/todo.txt",
        "exit_code": 0,
        "mount": {"volume": "kit-notes", "path": "/notes"},
    }
    manifest = volumes.manifest.read_text()
    assert claim.line == line_of(manifest, 'container = { image = "alpine", ran = "cat')
    (mistake,) = read.mistakes
    assert mistake.id == "read-without-volume"
    headers = [n for n, line in enumerate(manifest.splitlines(), 1) if line == "[[steps.mistakes]]"]
    assert mistake.line == headers[1]  # the read-note step's, not the write-note step's
    assert [c.run for c in mistake.reproduce] == ["docker container run alpine cat /notes/todo.txt"]


def test_mistake_ids_are_data_with_the_kit_own():
    volumes = load_labs(FIXTURES)[0]
    ids = mistakes(volumes)
    assert set(ids) == {"wrote-without-volume", "read-without-volume"}
    assert set(declared.KIT_MISTAKES) <= set(declared_mistakes(volumes))
    assert set(declared.KIT_MISTAKES) == GENERIC_MISTAKES  # one list, kept in two places
    manifest = volumes.manifest.read_text().splitlines()
    assert manifest[ids["read-without-volume"] - 1] == "[[steps.mistakes]]"
    assert manifest[ids["read-without-volume"]] == 'id = "read-without-volume"'


# --- loading: one clear sentence with file and line ----------------------------------------------


@pytest.mark.parametrize(
    ("expect", "key", "said"),
    [
        ('contaner = { image = "alpine" }', "contaner", "'contaner', which is not a check"),
        ('container = { image = "alpine", rann = "ls" }', "container", "has no key 'rann'"),
        ('container = { image = "alpine", exit_code = "0" }', "container", "must be a whole num"),
        ('container = { image = "alpine", exit_code = true }', "container", "must be a whole num"),
        ('container = { ran = "ls" }', "container", "`container` needs `image`"),
        ('image = { tag = "alpine", since = "stolen" }', "image", "one of pulled, built, either"),
        ('file = { image = "alpine", path = "/x", mount = { volum = "d" } }', "file", "mount"),
        ('running = { image = "alpine", count = 0 }', "running", "at least 1"),
        ("http = { port = 8080, status = 200.5 }", "http", "must be a whole number"),
    ],
)
def test_a_wrong_declaration_names_its_line(tmp_path, expect, key, said):
    manifest = HEAD + f"\n[steps.expect]\n{expect}\n"
    labs = write(tmp_path, manifest)
    with pytest.raises(LabFileError) as caught:
        load_labs(labs)
    assert said in caught.value.problem
    assert caught.value.line == line_of(manifest, expect.split(" =")[0] + " =")
    assert caught.value.path == labs / "tiny" / "lab.toml"


def test_format_1_refuses_declarations(tmp_path):
    manifest = HEAD.replace("format_version = 2", "format_version = 1").replace(
        'title = "Tiny"', 'title = "Tiny"\nchecks = "x.py"'
    )
    manifest += '\n[steps.expect]\ncontainer = { image = "alpine", ran = "ls -l" }\n'
    with pytest.raises(LabFileError, match="need `format_version = 2`") as caught:
        load_labs(write(tmp_path, manifest))
    assert caught.value.line == line_of(manifest, "[steps.expect]")


def test_a_newer_format_asks_to_upgrade(tmp_path):
    manifest = HEAD.replace("format_version = 2", "format_version = 3")
    with pytest.raises(LabFileError, match="upgrade the kit"):
        load_labs(write(tmp_path, manifest))


def test_check_and_expect_together_are_refused(tmp_path):
    manifest = HEAD + 'check = "test_one"\n[steps.expect]\nvolume = { name = "data" }\n'
    with pytest.raises(LabFileError, match="both `check` and"):
        load_labs(write(tmp_path, manifest))


def test_a_declared_mistake_needs_says_and_when(tmp_path):
    manifest = HEAD + (
        '\n[steps.expect]\ncontainer = { image = "alpine", ran = "ls -l" }\n'
        '\n[[steps.mistakes]]\nid = "no-long"\nwhen = { container = { image = "alpine" } }\n'
        'reproduce = ["docker container run alpine ls"]\n'
    )
    with pytest.raises(LabFileError, match="both `when`") as caught:
        load_labs(write(tmp_path, manifest))
    assert caught.value.line == line_of(manifest, "[[steps.mistakes]]")


# --- lint: every problem, with its line -----------------------------------------------------------


def test_lint_lists_every_problem_with_its_line(tmp_path):
    manifest = HEAD.replace('volumes = ["data"]', 'volumes = ["data"]\ncolour = "red"') + (
        'flavour = "mint"\n'
        '\n[steps.expect]\ncontainer = { image = "busybox", ran = "ls -l" }\n'
        'volume = { name = "other" }\npushed = { tag = "127.0.0.1:5000/me/app:v1" }\n'
        '\n[[steps.mistakes]]\nid = "No_Long"\nsays = "You ran {command} in {nothing}."\n'
        'when = { container = { image = "alpine", ran = "ls" } }\n'
        '\n[[steps.mistakes]]\nid = "No_Long"\n'
    )
    labs = write(tmp_path, manifest)
    path = labs / "tiny" / "lab.toml"
    problems = lint(load_labs(labs))
    first, second = (
        line_of(manifest, "[[steps.mistakes]]"),
        manifest.splitlines().index("[[steps.mistakes]]", line_of(manifest, "[[steps.mistakes]]"))
        + 1,
    )
    step = line_of(manifest, "[[steps]]")
    assert problems == [
        f"{path}:{line_of(manifest, 'colour')}: unknown key 'colour'; a lab has "
        + ", ".join(LAB_KEYS),
        f"{path}:{line_of(manifest, 'flavour')}: step 'one': unknown key 'flavour'; a step has "
        + ", ".join(STEP_KEYS),
        f"{path}:{first}: step 'one', mistake 'No_Long': ids are kebab-case (lowercase letters "
        "and digits joined by single dashes), at most 40 characters",
        f"{path}:{first}: step 'one', mistake 'No_Long' has no `reproduce`: list the commands "
        "that make it, so `workshop prove` can show the check names it (or, when no command "
        'can, say why: `unreproducible = "..."`)',
        f"{path}:{first}: step 'one', mistake 'No_Long': `says` uses {{nothing}}, which its "
        "`when` does not give; it may use {command}, {container}, {exit_code}, {image}, {name}, "
        "{ports}",
        f"{path}:{second}: step 'one', mistake 'No_Long': ids are kebab-case (lowercase letters "
        "and digits joined by single dashes), at most 40 characters",
        f"{path}:{second}: step 'one', mistake 'No_Long': also declared at line {first}; one id "
        "names one mistake, unique within the lab",
        f"{path}:{second}: step 'one', mistake 'No_Long' has no `reproduce`: list the commands "
        "that make it, so `workshop prove` can show the check names it (or, when no command "
        'can, say why: `unreproducible = "..."`)',
        f"{path}:{step}: step 'one': a declaration names image 'busybox', which the lab does not "
        "list in `images` or `builds` (so reset and watch would not know it)",
        f"{path}:{step}: step 'one': a declaration pushes '127.0.0.1:5000/me/app:v1', which the "
        "lab does not list in `builds` (so reset would not remove the learner's tag)",
        f"{path}:{step}: step 'one': a declaration names volume 'other', which the lab does not "
        "list in `volumes`",
    ]


def test_lint_finds_a_python_check_naming_an_undeclared_id(tmp_path):
    manifest = HEAD + 'check = "test_one"\n\n[[steps.mistakes]]\nid = "declared-one"\n'
    manifest += 'reproduce = ["docker container run alpine ls"]\n'
    labs = write(tmp_path, manifest)
    (labs / "tiny" / "checks.py").write_text(
        "from workshop.probes import missing\n\n\ndef test_one():\n"
        '    missing("a", mistake="declared-one")\n'
        '    missing("b", mistake="still-running")\n'
        '    missing("c", mistake="made-up")\n'
    )
    assert lint(load_labs(labs)) == [
        f"{labs / 'tiny' / 'checks.py'}:7: mistake 'made-up' is not declared: add a "
        "[[steps.mistakes]] table with its id and `reproduce` to the step's table in "
        f"{labs / 'tiny' / 'lab.toml'}"
    ]


def test_a_copied_lab_lints_clean_under_its_new_id(tmp_path):
    shutil.copytree(FIXTURES / "volumes", tmp_path / "labs" / "volumes-copy")
    manifest = tmp_path / "labs" / "volumes-copy" / "lab.toml"
    manifest.write_text(manifest.read_text().replace('id = "volumes"', 'id = "volumes-copy"'))
    (lab,) = load_labs(tmp_path / "labs")
    assert lab.id == "volumes-copy"
    assert lint([lab]) == []


# --- commands by meaning, names, sentences --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "wanted", "same"),
    [
        (["ls", "-l"], "ls -l", True),
        (["/bin/ls", "-la", "/"], "ls -l", True),
        (["ls", "-a", "-l"], "ls -l", True),
        (["ls"], "ls -l", False),
        (["ls", "-a"], "ls -l", False),
        (["cat", "/notes/todo.txt"], "cat /notes/todo.txt", True),
        (["cat", "/etc/hosts"], "cat /notes/todo.txt", False),
        (["python3", "-m", "http.server", "8000"], "python3 -m http.server", True),
        (["/usr/bin/python3", "-m", "http.server"], "python3 -m http.server", True),
        (["python3", "-m", "pip"], "python3 -m http.server", False),
    ],
)
def test_commands_compare_by_meaning(argv, wanted, same):
    assert declared._same(argv, wanted) is same


@pytest.mark.parametrize(
    "command",
    [["ls", "-l"], ["busybox", "ls", "-l"], ["sh", "-c", "cd / && ls -la"], ["/bin/ls", "-l"]],
)
def test_a_container_runs_a_command_however_spelled(command):
    class Ran:
        def commands(self):
            from workshop.meaning import simple_commands

            return simple_commands(command)

    assert declared._runs(Ran(), "ls -l")


@pytest.mark.parametrize(
    ("tag", "parts"),
    [
        ("alpine", ("docker.io", "library/alpine", "latest")),
        ("me/app:v1", ("docker.io", "me/app", "v1")),
        ("127.0.0.1:5000/me/app:v1", ("127.0.0.1:5000", "me/app", "v1")),
        ("localhost/app", ("localhost", "app", "latest")),
        ("registry.example.com/team/app:2", ("registry.example.com", "team/app", "2")),
    ],
)
def test_image_references_split_into_registry_repository_tag(tag, parts):
    assert declared.split_reference(tag) == parts


def test_a_sentence_is_filled_from_the_evidence():
    said = {"container": "abc123", "command": "cat /x"}
    assert declared.fill("{container} ran `{command}`.", said) == "abc123 ran `cat /x`."
    assert declared.fill("{container} and {missing}", said) == "abc123 and {missing}"
    assert declared.placeholders("{a} and {b}") == {"a", "b"}


# --- the runtime: mistake ids are data ---------------------------------------------------------


def _python_lab(tmp_path: Path, named: str):
    manifest = HEAD.replace('id = "tiny"', f'id = "tiny-{named}"')  # its own checks module
    manifest += 'check = "test_one"\n\n[[steps.mistakes]]\nid = "declared-one"\n'
    manifest += 'reproduce = ["docker container run alpine ls"]\n'
    labs = write(tmp_path, manifest)
    (labs / "tiny" / "checks.py").write_text(
        "from workshop.probes import missing\n\n\ndef test_one():\n"
        f'    missing("Not yet: run it.", mistake="{named}")\n'
    )
    (lab,) = load_labs(labs)
    return lab


@pytest.mark.parametrize("named", ["declared-one", "still-running"])
def test_a_python_check_names_a_declared_or_kit_id(tmp_path, named):
    from workshop import checks
    from workshop.state import Progress

    lab = _python_lab(tmp_path / named, named)
    verdict = checks.evaluate(lab, lab.steps[0], checks.Inputs(Progress()))
    assert (verdict.passed, verdict.message, verdict.mistake) == (False, "Not yet: run it.", named)


def test_a_python_check_naming_an_undeclared_id_is_a_kit_bug(tmp_path):
    from workshop import checks
    from workshop.errors import WorkshopError
    from workshop.state import Progress

    lab = _python_lab(tmp_path, "made-up")
    with pytest.raises(WorkshopError) as caught:
        checks.evaluate(lab, lab.steps[0], checks.Inputs(Progress()))
    assert str(caught.value) == (
        f"The check of step one named mistake 'made-up', which {lab.manifest} does not declare; "
        "this is a bug in the lab: please tell your instructor (`workshop lint` finds it)."
    )


def test_a_declared_step_before_the_workshop_began_says_so():
    from workshop import checks
    from workshop.state import Progress

    volumes = load_labs(FIXTURES)[0]
    verdict = checks.evaluate(volumes, volumes.steps[0], checks.Inputs(Progress()))
    assert (verdict.passed, verdict.mistake) == (False, "")
    assert verdict.message == "You have not begun the workshop yet: run `workshop next`."


def test_prove_names_an_unknown_lab(workshop):
    result = workshop("prove", "nope", "--labs", str(FIXTURES))
    assert (result.code, result.out) == (
        2,
        "Error: There is no lab 'nope'; `workshop labs` lists them.\n",
    )


def test_prove_solves_what_a_lab_builds_on_first_each_once():
    from types import SimpleNamespace

    from workshop.errors import WorkshopError
    from workshop.prove import chain

    def lab(ident, *on):
        return SimpleNamespace(id=ident, builds_on=on)

    base, middle, other = lab("base"), lab("middle", "base"), lab("other", "base")
    top = lab("top", "middle", "other")
    labs = [base, middle, other, top]
    assert [x.id for x in chain(labs, top)] == ["base", "middle", "other", "top"]
    assert [x.id for x in chain(labs, base)] == ["base"]
    loop = [lab("a", "b"), lab("b", "a")]
    with pytest.raises(WorkshopError, match="builds on itself through a -> b"):
        chain(loop, loop[0])
