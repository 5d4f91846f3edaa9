"""The command line on a fixture curriculum: exit codes, one-sentence errors, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import click
import pytest
from click.testing import CliRunner

from tests.kit import curriculum
from tests.kit.fixtures import KIT, ROBOT
from workshop.cli import cli
from workshop.errors import Exit


@pytest.fixture
def demo(tmp_path, monkeypatch, workshop):
    labs = curriculum.write(tmp_path)
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return tmp_path


def _every_command(group, path=()):
    """Each command under `group` with the words that invoke it, subcommands of groups too."""
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _every_command(command, (*path, name))


def test_every_command_has_help_with_an_example():
    walked = dict(_every_command(cli))
    assert ("classroom", "serve") in walked and ("classroom", "export") in walked
    for words, command in walked.items():
        name = " ".join(words)
        assert command.help and "Example: workshop" in command.help, name
        assert command.short_help and command.short_help.endswith("."), name
        result = CliRunner().invoke(cli, [*words, "--help"])
        assert result.exit_code == 0, name
        assert command.help.split("\n", 1)[0].strip() in " ".join(result.output.split()), name


def test_only_the_cli_imports_click():
    import pathlib

    import workshop

    package = pathlib.Path(workshop.__file__).parent
    importing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.parent.name != "cli"
        and any(
            line.startswith(("import click", "from click"))
            for line in (s.strip() for s in path.read_text(encoding="utf-8").splitlines())
        )
    ]
    assert importing == []


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("workshop, version ")


def test_status_json_has_exactly_the_documented_shape(demo, workshop):
    result = workshop("status", "--json")
    assert result.code == 0, result
    assert json.loads(result.out) == {
        "labs": [
            {
                "id": "demo",
                "title": "Demo lab",
                "steps": [
                    {"id": "first", "title": "First step", "state": "current"},
                    {"id": "second", "title": "Second step", "state": "todo"},
                ],
            }
        ]
    }


@pytest.mark.engine
def test_next_shows_checks_records_and_moves_on(demo, workshop):
    shown = workshop("next")
    assert shown.code == 0 and "step 1 of 2: first" in shown.out, shown
    undone = workshop("next")
    assert undone.code == Exit.NOT_DONE, undone
    assert "Step first is not done yet: The first flag is missing" in undone.out
    (demo / "flags" / "first").touch()
    (demo / "flags" / "second").touch()
    ahead = workshop("next")
    assert ahead.code == 0, ahead
    assert "Step first is done." in ahead.out and "Step second is done." in ahead.out
    assert "Every lab is done" in ahead.out
    states = [s["state"] for s in json.loads(workshop("status", "--json").out)["labs"][0]["steps"]]
    assert states == ["done", "done"]


@pytest.mark.engine
def test_solve_prints_each_command_then_runs_it(demo, workshop):
    result = workshop("solve", "first")
    assert result.code == 0, result
    assert f"$ touch {demo}/flags/first" in result.out and "Step first is done." in result.out
    assert (demo / "flags" / "first").exists()


@pytest.mark.engine
def test_goto_catches_up_on_earlier_steps(demo, workshop):
    result = workshop("goto", "second")
    assert result.code == 0, result
    assert "Catching up: demo/first" in result.out and "step 2 of 2: second" in result.out
    assert not (demo / "flags" / "second").exists()


def test_hint_shows_the_current_steps_hint(demo, workshop):
    result = workshop("hint")
    assert result.code == 0 and "Touch the first flag." in result.out, result


def test_an_unknown_step_is_a_usage_error_with_suggestions(demo, workshop):
    result = workshop("check", "frist")
    assert result.code == Exit.USAGE, result
    assert "There is no step 'frist'. Did you mean first?" in result.out
    assert "Traceback" not in result.out


def test_a_malformed_lab_file_names_file_and_line(demo, workshop):
    manifest = demo / "labs" / "demo" / "lab.toml"
    text = manifest.read_text()
    line = text.splitlines().index('hint = "Touch the second flag."') + 1
    manifest.write_text(text.replace('hint = "Touch the second flag."', "hint = "))
    result = workshop("status")
    assert result.code == Exit.ERROR, result
    assert f"{manifest}:{line}: not valid TOML" in result.out and "Traceback" not in result.out


def test_a_step_missing_its_hint_names_file_and_step_line(demo, workshop):
    manifest = demo / "labs" / "demo" / "lab.toml"
    text = manifest.read_text()
    line = text.splitlines().index('id = "second"')  # its [[steps]] header, just above
    manifest.write_text(text.replace('hint = "Touch the second flag."\n', ""))
    result = workshop("status")
    assert result.code == Exit.ERROR
    assert f"{manifest}:{line}: step 'second' needs `hint`" in result.out


def test_a_newer_lab_format_asks_to_upgrade_the_kit(demo, workshop):
    manifest = demo / "labs" / "demo" / "lab.toml"
    manifest.write_text(manifest.read_text().replace("format_version = 2", "format_version = 9"))
    result = workshop("next")
    assert result.code == Exit.ERROR and "upgrade the kit" in result.out, result


def test_a_corrupt_progress_file_is_kept_as_a_backup(demo, workshop, home):
    home.mkdir()
    (home / "progress.json").write_text('{"labs": {"demo": {"started_at": "2026-')
    result = workshop("status")
    assert result.code == Exit.ERROR, result
    assert "was damaged" in result.out and "Traceback" not in result.out
    backups = list(home.glob("progress.json.damaged-*"))
    assert len(backups) == 1 and backups[0].read_text().startswith('{"labs"')
    assert workshop("status").code == 0  # and the kit starts afresh


def test_no_engine_is_one_sentence_with_the_fix(demo, workshop):
    result = workshop("solve", "first", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == Exit.ERROR, result
    assert (
        "No Docker engine answers at unix:///nonexistent/docker.sock (from DOCKER_HOST)"
        in result.out
    )
    assert "Traceback" not in result.out
    doctor = workshop("doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert doctor.code == Exit.ERROR and "FAIL" in doctor.out and "Traceback" not in doctor.out


def test_next_shows_the_first_step_even_with_no_engine(demo, workshop):
    nowhere = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = workshop("next", env=nowhere)
    assert result.code == 0 and "step 1 of 2: first" in result.out, result
    again = workshop("next", env=nowhere)  # now it checks, and says why it cannot
    assert again.code == Exit.ERROR and "No Docker engine answers" in again.out, again


@pytest.mark.engine
def test_once_the_engine_answers_next_checks_the_step_it_showed(demo, workshop):
    workshop("next", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    (demo / "flags" / "first").touch()
    result = workshop("next")
    assert result.code == 0 and "Step first is done." in result.out, result


def test_reset_without_a_terminal_asks_for_yes(demo, workshop):
    result = workshop("reset")
    assert result.code == Exit.ERROR and "pass --yes" in result.out, result


def test_ctrl_c_while_a_dataclass_is_defined_still_exits_130(tmp_path):
    """A Ctrl-C inside an `exec` of source text (a module that defines a dataclass, imported
    mid-command) is caught by the boundary: the process ends with 130, not killed by SIGINT
    (as `python -m workshop` would be)."""
    (tmp_path / "interrupted.py").write_text(
        "from workshop.cli._shared import boundary\n"
        "boundary(lambda: exec('raise KeyboardInterrupt'))()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(KIT)])}
    done = subprocess.run(
        [sys.executable, "-m", "interrupted"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == Exit.INTERRUPTED, (done.returncode, done.stderr)
    assert "Interrupted." in done.stderr and "Traceback" not in done.stderr


@pytest.mark.engine
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_ctrl_c_mid_solve_says_so_and_loses_nothing(demo, workshop, home):
    import pexpect

    (demo / "flags" / "first").touch()
    workshop("next")
    assert workshop("next").code == 0  # first recorded done
    manifest = demo / "labs" / "demo" / "lab.toml"
    manifest.write_text(
        manifest.read_text().replace(
            f'solution = ["touch {demo}/flags/second"]', 'solution = ["sleep 30"]'
        )
    )
    recorded = (home / "progress.json").read_text()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "workshop", "solve", "second"],
        env=workshop.env,
        encoding="utf-8",
        timeout=20,
    )
    child.expect_exact("$ sleep 30")
    time.sleep(0.5)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == Exit.INTERRUPTED
    assert "Interrupted. Every step recorded so far is kept" in child.before
    assert "Traceback" not in child.before
    assert (home / "progress.json").read_text() == recorded
    assert os.kill  # the progress file above is byte for byte what it was
    assert signal.SIGINT


def test_show_repeats_the_current_steps_text_and_takes_numbers(demo, workshop):
    result = workshop("show", "2")
    assert result.code == 0 and "step 2 of 2: second" in result.out, result
    assert workshop("show", "FIRST").code == 0
    assert "has steps 1 to 2, not 7" in workshop("show", "7").out


def _interrupt_an_interactive_solution(demo, workshop, while_it_runs=lambda: None) -> int:
    """`workshop solve` of a step whose solution is an interactive shell; Ctrl-C in the middle
    (after `while_it_runs()`). Returns its exit status."""
    import subprocess

    import pexpect

    subprocess.run(["docker", "image", "pull", "-q", "alpine"], check=True, capture_output=True)
    manifest = demo / "labs" / "demo" / "lab.toml"
    text = manifest.read_text().replace(
        f'solution = ["touch {demo}/flags/second"]',
        'solution = [{ run = "docker container run -it alpine /bin/sh", '
        'type = ["sleep 60", "exit"] }]',
    )
    manifest.write_text(text)
    (demo / "labs" / "demo" / "steps" / "second.md").write_text(
        "Run `docker container run -it alpine /bin/sh`, then `sleep 60` and `exit`.\n"
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "workshop", "solve", "second"],
        env=workshop.env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("$ docker container run -it alpine /bin/sh\r\n")  # as the lab shows it
    child.expect_exact("sleep 60")
    while_it_runs()
    time.sleep(1)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def _robots_shells(engine, **filters) -> list[dict]:
    """The robot's `/bin/sh` containers (not docker's `ancestor` filter: while others' tests run,
    the alpine tag may be away for a moment)."""
    return [
        c
        for c in engine.api.containers(all=True, filters={**ROBOT, **filters})
        if c["Image"] == "alpine" and c["Command"] == "/bin/sh"
    ]


@pytest.mark.engine
@pytest.mark.destructive
@pytest.mark.usefixtures("leave_no_trace")
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_ctrl_c_in_an_interactive_solution_stops_the_container_it_started(demo, workshop, engine):
    assert _interrupt_an_interactive_solution(demo, workshop) == Exit.INTERRUPTED
    assert _robots_shells(engine, status="running") == []
    assert len(_robots_shells(engine)) == 1  # stopped, not removed


@pytest.mark.engine
@pytest.mark.destructive
@pytest.mark.usefixtures("leave_no_trace")
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_ctrl_c_in_an_interactive_solution_leaves_other_shells_running(demo, workshop, engine):
    """A learner's own interactive container, started while the solution ran, runs on."""
    theirs = []

    def a_learner_starts_a_shell():  # no selftest label: as a learner's own would be
        theirs.append(
            engine.containers.run("alpine", ["/bin/sh"], tty=True, stdin_open=True, detach=True)
        )

    try:
        code = _interrupt_an_interactive_solution(demo, workshop, a_learner_starts_a_shell)
        assert code == Exit.INTERRUPTED
        assert _robots_shells(engine, status="running") == []
        theirs[0].reload()
        assert theirs[0].status == "running"
    finally:
        for container in theirs:
            container.remove(force=True)  # the test made it: the test removes it


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("refused", "The Docker engine refused a request (conflict: name in use)"),
        ("gone", "No Docker engine answers at"),
    ],
)
def test_an_engine_fault_mid_command_is_one_sentence(fault, words, capsys, monkeypatch):
    import docker.errors
    import requests

    from workshop import cli as cli_module

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setattr(cli_module, "_course", lambda: None)

    @cli_module._boundary
    def command():
        if fault == "refused":
            raise docker.errors.APIError("409", explanation="conflict: name in use")
        raise requests.exceptions.ConnectionError(FileNotFoundError(2, "No such file"))

    from workshop.engine import target

    target.cache_clear()
    with pytest.raises(SystemExit) as exited:
        command()
    target.cache_clear()
    assert exited.value.code == Exit.ERROR
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_the_command_list_is_not_cut_off_at_80_columns(workshop):
    result = workshop("--help", env={"COLUMNS": "80"})
    assert result.code == 0, result
    listed = result.out.split("Commands:\n", 1)[1].splitlines()
    assert len(listed) == len(cli.commands) and not any("..." in line for line in listed), result
    for line in listed:
        name, summary = line.split(maxsplit=1)
        assert summary == cli.commands[name].short_help and summary.endswith("."), line


@pytest.mark.parametrize("name", ["check", "show", "solve", "goto"])
def test_step_forms_are_documented(name):
    said = " ".join(CliRunner().invoke(cli, [name, "--help"]).output.split())
    for form in ("a step id such as run-ls", "lab/id to name the lab too", "(any case)"):
        assert form in said, name
    assert "number in the current lab, such as 3" in said, name


def everything_done(home):
    from workshop.state import LabProgress, Store

    with Store(home).update() as progress:
        progress.labs["demo"] = LabProgress(
            started_at="2026-11-24T15:00:00+00:00",
            done={"first": "2026-11-24T15:01:00+00:00", "second": "2026-11-24T15:02:00+00:00"},
            finished_at="2026-11-24T15:02:00+00:00",
        )
    return (home / "progress.json").read_bytes()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("hint", "Every step of every lab is done: no hint needed."),
        ("show", "Every step of every lab is done: `workshop show STEP` shows any step again."),
        ("check", "Every step of every lab is done: there is no current step to check."),
    ],
)
def test_when_everything_is_done_hint_show_and_check_say_so(demo, workshop, home, command, words):
    recorded = everything_done(home)
    result = workshop(command, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == 0 and result.out == f"✔ {words}\n", result
    assert (home / "progress.json").read_bytes() == recorded


NOWHERE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
LOOKS = [("show",), ("show", "2"), ("status",), ("status", "--json"), ("labs",), ("hint",)]


def test_looking_records_nothing_for_a_new_learner(demo, workshop, home):
    for args in [*LOOKS, ("check", "first"), ("check",)]:
        workshop(*args, env=NOWHERE)
        assert not (home / "progress.json").exists(), args


def test_looking_changes_no_progress(demo, workshop, home):
    from workshop.state import LabProgress, Store

    with Store(home).update() as progress:
        progress.labs["demo"] = LabProgress(
            started_at="2026-11-24T15:00:00+00:00", done={"first": "2026-11-24T15:01:00+00:00"}
        )
    recorded = (home / "progress.json").read_bytes()
    for args in LOOKS:
        assert workshop(*args, env=NOWHERE).code == 0, args
        assert (home / "progress.json").read_bytes() == recorded, args


@pytest.mark.engine
def test_check_changes_no_progress_of_a_started_lab(demo, workshop, home):
    assert workshop("next").code == 0  # shows the first step and starts the lab
    recorded = (home / "progress.json").read_bytes()
    (demo / "flags" / "first").touch()
    for args in (("check",), ("check", "first"), ("check", "second")):
        workshop(*args)
        assert (home / "progress.json").read_bytes() == recorded, args


@pytest.mark.engine
def test_check_records_nothing_for_a_new_learner_even_with_an_engine(demo, workshop, home):
    workshop("check", "first")
    assert not (home / "progress.json").exists()


@pytest.mark.engine
def test_reset_restores_a_kit_file_the_learner_deleted(demo, workshop):
    """A lab asks the learner to edit a kit file, and they delete it (its folder too): reset
    restores it from git. There is no copy to keep, and reset does not fail over it."""
    import shutil
    import subprocess

    manifest = demo / "labs" / "demo" / "lab.toml"
    text = manifest.read_text().replace("images = []", 'images = []\nedits = ["data/notes.json"]')
    manifest.write_text(text)
    data = demo / "data" / "notes.json"
    data.parent.mkdir()
    data.write_text('[{"name": "Twilight Glitter"}]\n')
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "data/notes.json"],
        ["git", "-c", "user.name=robot", "-c", "user.email=robot@example.invalid", "commit",
         "-q", "-m", "the kit"],
    ):  # fmt: skip
        subprocess.run(command, cwd=demo, check=True, capture_output=True)
    original = data.read_bytes()
    assert workshop("next").code == 0  # the learner starts the lab
    shutil.rmtree(data.parent)

    dry = " ".join(workshop("reset", "--dry-run").out.split())
    assert "would restore data/notes.json, which you deleted" in dry, dry
    done = workshop("reset", "--yes")
    assert done.code == 0 and "Progress reset" in done.out, done
    assert data.read_bytes() == original
    assert list(data.parent.iterdir()) == [data]  # no copy of a file that was not there


@pytest.mark.engine
def test_reset_of_a_kit_that_is_no_git_clone_restores_nothing_and_succeeds(demo, workshop):
    """A kit from a zip has no git: its edited files cannot be restored, so reset lists none
    (outside a repository `git diff` would call every file changed) and resets progress."""
    manifest = demo / "labs" / "demo" / "lab.toml"
    text = manifest.read_text().replace("images = []", 'images = []\nedits = ["data/notes.json"]')
    manifest.write_text(text)
    data = demo / "data" / "notes.json"
    data.parent.mkdir()
    data.write_text("[]\n")
    assert workshop("next").code == 0  # the learner starts the lab
    data.write_text('[{"name": "Mine"}]\n')
    done = workshop("reset", "--yes")
    assert done.code == 0 and "Progress reset" in done.out, done
    assert "restore" not in done.out and data.read_text() == '[{"name": "Mine"}]\n'


# -- for instructors' scripts: JSON shapes and exit statuses ---------------------------------------


def test_labs_json_has_exactly_the_documented_shape(demo, workshop):
    from workshop.version import VERSION

    result = workshop("labs", "--json")
    assert result.code == 0, result
    shown = json.loads(result.out)
    # the release, and the commit (", modified" while a test edits a kit file: not compared)
    assert shown["kit"].split(" ")[0] == VERSION
    assert shown == {
        "kit": shown["kit"],
        "labs": [
            {
                "id": "demo",
                "title": "Demo lab",
                "summary": "",
                "folder": str(demo / "labs" / "demo"),
                "steps": ["first", "second"],
                "done": 0,
                "total": 2,
                "working_copy": {},
            }
        ],
    }


def test_doctor_json_says_not_ready_with_exit_1_and_the_documented_keys(workshop):
    result = workshop("doctor", "--json", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.code == Exit.ERROR, result
    shown = json.loads(result.out)
    assert set(shown) == {"ready", "kit", "findings", "facts"}
    assert shown["ready"] is False
    assert set(shown["facts"]) == {
        "engine", "builder", "context", "disk_free_gb", "lab_images", "registry", "pull"
    }  # fmt: skip
    assert all(set(f) == {"status", "topic", "detail"} for f in shown["findings"])
    failed = [f for f in shown["findings"] if f["status"] == "fail"]
    assert failed and "/nonexistent/docker.sock" in failed[0]["detail"]


def test_help_lists_the_exit_statuses_beyond_0_and_1():
    top = CliRunner().invoke(cli, ["--help"]).output
    for code, meaning in (("2", "usage error"), ("3", "not done yet"), ("130", "interrupted")):
        assert any(line.split()[:1] == [code] and meaning in line for line in top.splitlines()), (
            code,
            top,
        )
    for command in ("next", "check"):
        text = CliRunner().invoke(cli, [command, "--help"]).output
        assert "Exit status:" in text and "3 not done yet" in " ".join(text.split()), command
    doctor = " ".join(CliRunner().invoke(cli, ["doctor", "--help"]).output.split())
    assert "1 not ready" in doctor and "130 interrupted" in doctor


def test_version_names_the_commit_of_a_clone():
    import subprocess

    from tests.kit.conftest import KIT

    head = subprocess.run(
        ["git", "-C", str(KIT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output.startswith(f"workshop, version 0.2.0 (git {head}")


def test_export_with_no_store_says_so_and_makes_none(workshop, home):
    result = workshop("classroom", "export", "--json")
    assert result.code == Exit.ERROR, result
    assert "There is no classroom store at" in result.out and "Traceback" not in result.out
    assert not (home / "classroom.sqlite3").exists()
    elsewhere = home.parent / "room.sqlite3"
    result = workshop("classroom", "export", "--db", f"sqlite:///{elsewhere}")
    assert result.code == Exit.ERROR and f"no classroom store at {elsewhere}" in result.out
    assert not elsewhere.exists()


def test_help_imports_no_heavy_module():
    """`workshop --help` stays instant: the commands import docker, pytest, the Markdown parser
    and the kit's own engine-side modules only when they run."""
    import subprocess

    heavy = ["docker", "requests", "pytest", "markdown_it", "workshop.course", "workshop.engine"]
    script = (
        "import sys\n"
        "from workshop.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='workshop')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
