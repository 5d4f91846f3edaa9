"""The kit installed as Python tools install it, and the README's first command.

A fresh clone of this repository (with the uncommitted work laid over) is installed with plain
`pip install` (not editable) into a venv outside the clone, and its commands are run from another
folder: the labs come with the package, the learner gets a working copy of the files a lab builds
or edits, and the step texts show where it is. The learner's venv is measured. `make setup` and
`make start` run in clones: a too-old Python is refused in one sentence with nothing left behind,
a half-made .venv is made again, and `make start` exits 0 on a second run too, so
`. .venv/bin/activate` after it always runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kit.conftest import KIT
from tests.kit.fixtures import needs_lab
from workshop.labs import load_labs

# what only the instructor's server, the PostgreSQL store or the kit's own tests need
NOT_FOR_LEARNERS = {
    "starlette",
    "uvicorn",
    "httptools",
    "uvloop",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
    "playwright",
    "flask",
    "gunicorn",
    "ruff",
}
LEARNER_MB = 100


def _run(args, cwd, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _clone(into: Path) -> Path:
    """A fresh clone of the kit, with the work not yet committed laid over it (the suite tests
    the tree it runs from): tracked changes as a patch, new files copied."""
    done = _run(["git", "clone", "--quiet", str(KIT), str(into)], cwd=into.parent)
    assert done.returncode == 0, done.stderr
    patch = subprocess.run(
        ["git", "-C", str(KIT), "diff", "HEAD", "--binary"], capture_output=True, check=True
    ).stdout
    if patch:
        applied = subprocess.run(["git", "-C", str(into), "apply"], input=patch, check=False)
        assert applied.returncode == 0
    untracked = _run(["git", "ls-files", "--others", "--exclude-standard", "-z"], KIT).stdout
    for name in filter(None, untracked.split("\0")):
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(KIT / name, into / name)
    return into


def _uncommitted() -> bool:
    return bool(_run(["git", "status", "--porcelain", "--untracked-files=no"], KIT).stdout.strip())


def _size_mb(folder: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total / 1e6


@dataclass
class Installed:
    clone: Path
    venv: Path
    elsewhere: Path  # the folder commands run from: neither the clone nor the venv
    env: dict[str, str]
    work: Path  # where the learner's working copies should appear (~/workshop-kit)
    install_seconds: float

    def workshop(self, *args: str) -> subprocess.CompletedProcess:
        return _run([str(self.venv / "bin" / "workshop"), *args], self.elsewhere, self.env)

    def python(self, code: str) -> subprocess.CompletedProcess:
        return _run([str(self.venv / "bin" / "python"), "-c", code], self.elsewhere, self.env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    import time

    root = tmp_path_factory.mktemp("installed")
    clone = _clone(root / "clone")
    venv = root / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], root).returncode == 0
    started = time.monotonic()
    done = _run(
        [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "-c", str(clone / "constraints.txt"), str(clone),
        ],
        root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    learner_home = root / "learner"
    learner_home.mkdir()
    env = {
        **os.environ,
        "HOME": str(learner_home),  # the working folder's default is ~/workshop-kit
        "WORKSHOP_HOME": str(root / "state"),
        "COLUMNS": "200",
        "NO_COLOR": "1",
    }
    for name in ("WORKSHOP_LABS", "WORKSHOP_WORKDIR", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    return Installed(
        clone, venv, elsewhere, env, learner_home / "workshop-kit", time.monotonic() - started
    )


@pytest.mark.slow
def test_the_learners_install_holds_only_what_a_learner_needs(installed):
    listed = _run(
        [str(installed.venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        installed.elsewhere,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "docker-workshop-kit" in names
    assert {"click", "docker", "pytest", "pytest-testinfra", "markdown-it-py"} <= names
    assert not names & NOT_FOR_LEARNERS, sorted(names & NOT_FOR_LEARNERS)
    size = _size_mb(installed.venv)
    print(
        f"learner venv: {size:.1f} MB, {len(names)} packages, installed in "
        f"{installed.install_seconds:.1f} s"
    )
    assert size <= LEARNER_MB, f"{size:.1f} MB"


@pytest.mark.slow
@needs_lab("beginners", "mysfits")
def test_commands_work_from_any_folder(installed):
    head = _run(["git", "rev-parse", "--short", "HEAD"], installed.clone).stdout.strip()
    version = installed.workshop("--version")
    assert version.returncode == 0, version.stderr
    modified = ", modified" if _uncommitted() else ""  # the clone has the same changes
    assert version.stdout.strip() == f"workshop, version 0.2.0 (git {head}{modified})"

    listed = installed.workshop("labs", "--json")
    assert listed.returncode == 0, listed.stderr
    labs = json.loads(listed.stdout)
    kit = load_labs()  # the clone's labs: the installed kit carries every one of them
    assert [lab["id"] for lab in labs["labs"]] == [lab.id for lab in kit]
    site = installed.venv / "lib"
    assert all(Path(lab["folder"]).is_relative_to(site) for lab in labs["labs"])
    for lab in labs["labs"]:  # each working copy is in the learner's working folder
        for relative, where in lab["working_copy"].items():
            assert where == str(installed.work / relative), (lab["id"], relative, where)

    linted = installed.workshop("lint")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    steps = sum(len(lab.steps) for lab in kit)
    assert f"{len(kit)} lab(s), {steps} steps: all sound." in linted.stdout


@pytest.mark.slow
@needs_lab("mysfits")
def test_the_learner_gets_a_working_copy_and_the_steps_show_its_path(installed):
    shown = installed.workshop("show", "build")
    assert shown.returncode == 0, shown.stderr
    context = installed.work / "images" / "mysfits"
    assert f"docker image build -t mythicalmysfits/service {context}" in shown.stdout
    assert " images/mysfits`" not in shown.stdout  # no path that does not hold from here
    for name in ("Dockerfile", ".dockerignore", "app.py", "mysfits.json", "requirements.txt"):
        assert (context / name).is_file(), name
    assert not (context / "__pycache__").exists()  # what pip compiled is not the learner's
    original = (installed.clone / "images" / "mysfits" / "mysfits.json").read_bytes()
    assert (context / "mysfits.json").read_bytes() == original

    rebuild = installed.workshop("show", "rebuild")
    helper = installed.work / "labs" / "mysfits" / "add_mysfit.py"
    assert f"python3 {helper}" in rebuild.stdout
    added = _run([sys.executable, str(helper)], installed.elsewhere, installed.env)
    assert added.returncode == 0, added.stderr
    edited = json.loads((context / "mysfits.json").read_text())
    assert len(edited) == len(json.loads(original)) + 1
    assert edited[-1]["name"] == "Quillby"  # labs/mysfits/quillby.json, from the working copy

    # `workshop reset` restores the learner's edited working copy from the kit's own, keeping
    # the learner's version beside it (the engine part of reset is proved elsewhere)
    restored = installed.python(
        "from workshop import reset\n"
        "from workshop.labs import find_lab, load_labs\n"
        "doomed = reset._edits(find_lab(load_labs(), 'mysfits'))\n"
        "print([d.description for d in doomed])\n"
        "assert reset.apply(None, doomed) == []\n"
    )
    assert restored.returncode == 0, restored.stderr
    assert f"your edits to {context / 'mysfits.json'}" in restored.stdout
    assert (context / "mysfits.json").read_bytes() == original
    kept = list(context.glob("mysfits.json.before-reset-*"))
    assert len(kept) == 1 and len(json.loads(kept[0].read_text())) == len(edited)


@pytest.mark.slow
def test_the_server_and_export_say_what_is_missing(installed):
    served = installed.workshop("classroom", "serve")
    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    lines = served.stderr.strip().splitlines()
    assert len(lines) == 1, served.stderr
    assert "pip install 'docker-workshop-kit[classroom]'" in lines[0]
    assert "make classroom" in lines[0]

    exported = installed.workshop("classroom", "export")
    assert exported.returncode == 1, exported.stdout
    store = Path(installed.env["WORKSHOP_HOME"]) / "classroom.sqlite3"
    assert exported.stderr.strip() == (
        f"Error: There is no classroom store at {store}: `workshop classroom serve` makes one; "
        "pass --db with the URL the server used."
    )
    assert not store.exists()


@pytest.mark.slow
@pytest.mark.engine
@needs_lab("mysfits")
def test_next_and_a_check_run_from_the_installed_package(installed):
    first = installed.workshop("next")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "step 1 of " in first.stdout  # the first lab's first step, shown
    # a Mysfits check, loaded from the package, judges the working copy and names its path
    checked = installed.workshop("check", "build")
    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "Traceback" not in checked.stdout + checked.stderr
    assert str(installed.work / "images" / "mysfits") in checked.stdout
    # a solution runs from the installed package too (in the working folder)
    solved = installed.workshop("solve", "engine")
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "$ docker version" in solved.stdout and "Step engine is done." in solved.stdout


# -- make setup / make start, in clones -----------------------------------------------------------

# make's own line when a recipe fails (`make[1]: ***` when make runs under make, as selftest does)
MAKE_ERROR = re.compile(r"^make(\[\d+\])?: \*\*\*")

OLD_PYTHON = """#!/bin/sh
# stands in for a Python older than the kit needs: answers every question with its version
echo "Python 3.9.18"
"""


def test_an_old_python_is_refused_in_one_sentence_leaving_nothing(tmp_path):
    copy = _clone(tmp_path / "clone")
    fake = tmp_path / "python3.9"
    fake.write_text(OLD_PYTHON)
    fake.chmod(0o755)
    for half_made in (False, True):
        if half_made:  # an earlier attempt stopped after making the folder: no success mark
            (copy / ".venv" / "bin").mkdir(parents=True)
        done = _run(["make", "setup", f"PYTHON={fake}"], copy)
        assert done.returncode != 0
        said = [line for line in done.stderr.splitlines() if not MAKE_ERROR.match(line)]
        assert said == [
            f"setup: the kit needs Python 3.11 or newer, but {fake} is 3.9: install a newer one "
            "(python.org, Homebrew, or your package manager), then run `make setup "
            "PYTHON=python3.11`."
        ], done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        assert not (copy / ".venv").exists()


@pytest.mark.slow
def test_make_start_twice_exits_0_so_activation_always_runs(tmp_path):
    copy = _clone(tmp_path / "clone")
    # an earlier `make setup` that stopped half-way: a venv with no success mark
    assert _run([sys.executable, "-m", "venv", str(copy / ".venv")], copy).returncode == 0
    (copy / ".venv" / "left-by-a-failed-attempt").touch()
    env = {
        **os.environ,
        "WORKSHOP_HOME": str(tmp_path / "state"),
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",  # the second run finds no engine
        "NO_COLOR": "1",
    }
    env.pop("VIRTUAL_ENV", None)
    line = "make start && . .venv/bin/activate && command -v workshop"
    first = _run(["bash", "-c", line], copy, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "was left half-made by an earlier attempt; making it again" in first.stdout
    assert not (copy / ".venv" / "left-by-a-failed-attempt").exists()
    assert "step 1 of " in first.stdout  # the first lab's first step, shown
    assert first.stdout.strip().endswith(f"{copy}/.venv/bin/workshop")

    second = _run(["bash", "-c", line], copy, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "no-engine.sock" in second.stdout + second.stderr  # the problem is shown
    assert not any(MAKE_ERROR.match(line) for line in second.stderr.splitlines())
    assert second.stdout.strip().endswith(f"{copy}/.venv/bin/workshop")
    names = {
        p["name"].lower()
        for p in json.loads(
            _run(
                [str(copy / ".venv/bin/python"), "-m", "pip", "list", "--format", "json"], copy
            ).stdout
        )
    }
    assert not names & NOT_FOR_LEARNERS  # `make setup` is the learner's set too


@pytest.mark.slow
def test_the_classroom_extra_serves_from_an_installed_wheel(installed, tmp_path):
    import signal
    import time
    import urllib.request

    from tests.classroom.support import free_port

    venv = tmp_path / "instructor"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    done = _run(
        [
            str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check", "-c", str(installed.clone / "constraints.txt"),
            f"{installed.clone}[classroom]",
        ],
        tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(venv / "bin" / "workshop"), "classroom", "serve", "--port", str(port),
             "--db", f"sqlite:///{tmp_path / 'room.sqlite3'}"],
            cwd=installed.elsewhere, env=installed.env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "workshop join" not in log.read_text() and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        page = ""
        while not page and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = answer.read().decode()
            except OSError:
                time.sleep(0.2)
        assert "<html" in page.lower(), log.read_text()  # the dashboard, from package data
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=20)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()
