"""The kit's own verdicts for a declared container outcome, on the real engine: still running,
never started, exited non-zero, removed before the kit saw it, and done, each about the newest
attempt, with the id the classroom counts and the sentence the learner reads."""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from workshop import checks
from workshop.course import Course
from workshop.labs import load_labs
from workshop.state import Store

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

MANIFEST = """\
format_version = 2
id = "verdicts"
title = "Verdicts"
images = ["alpine"]

[[steps]]
id = "list-long"
title = "List in long form"
instructions = "steps/one.md"
hint = "ls -l"
solution = ["docker container run alpine ls -l"]

[steps.expect]
container = { image = "alpine", ran = "ls -l" }
"""


def begin(tmp_path, manifest: str):
    folder = tmp_path / "labs" / "verdicts"
    (folder / "steps").mkdir(parents=True)
    (folder / "lab.toml").write_text(manifest)
    (folder / "steps" / "one.md").write_text("`docker container run alpine ls -l`\n")
    (loaded,) = load_labs(tmp_path / "labs")
    Course(labs=[loaded], store=Store()).start(loaded)
    return loaded


@pytest.fixture
def lab(tmp_path, home):
    return begin(tmp_path, MANIFEST)


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def verdict(lab):
    found = checks.evaluate(lab, lab.steps[0], checks.Inputs(Store().read()))
    return found.passed, found.mistake, re.sub(r"\b[0-9a-f]{12}\b", "ID", found.message)


def test_each_attempt_gets_the_kit_verdict_newest_first(lab, leave_no_trace):
    fix = "run `docker container run alpine ls -l`"
    assert verdict(lab) == (
        False,
        "not-done",
        f"No container from alpine has run `ls -l` since you began: {fix}.",
    )
    docker("container", "run", "alpine", "ls", "-l", "/nowhere")
    assert verdict(lab) == (
        False,
        "exited-nonzero",
        "Your container ID (`ls -l /nowhere`) exited with code 1, not 0 (`docker container logs "
        f"ID` shows what it said): {fix}.",
    )
    docker("container", "create", "alpine", "ls", "-l")
    assert verdict(lab) == (
        False,
        "never-started",
        f"Container ID was created but never started: {fix}.",
    )
    docker("container", "run", "-d", "alpine", "sh", "-c", "sleep 30; ls -l")
    assert verdict(lab) == (
        False,
        "still-running",
        "Your container ID (`sh -c 'sleep 30; ls -l'`) is still running: wait for it to finish, "
        "or run `docker container run alpine ls -l` again.",
    )
    docker("container", "run", "--rm", "alpine", "ls", "-l")
    assert verdict(lab) == (
        False,
        "removed-unseen",
        "Container ID from alpine was removed (`--rm`, or `docker container rm`) before the kit "
        "could see what it ran: a removed container leaves nothing to inspect. Run `docker "
        "container run alpine ls -l` again, without --rm.",
    )
    docker("container", "run", "alpine", "/bin/ls", "-la", "/")
    assert verdict(lab) == (True, "", "")


VOLUME = f"kit-verdicts-{uuid.uuid4().hex[:8]}"
NOTE = f"""\
format_version = 2
id = "verdicts"
title = "Verdicts"
images = ["alpine"]
volumes = ["{VOLUME}"]

[[steps]]
id = "note"
title = "A note in a volume"
instructions = "steps/one.md"
hint = "-v"
solution = ['docker container run -v {VOLUME}:/notes alpine sh -c "echo milk > /notes/todo.txt"']

[steps.expect.file]
image = "alpine"
path = "/notes/todo.txt"
contains = "milk"
mount = {{ volume = "{VOLUME}" }}
"""


def test_a_file_outcome_says_removed_then_wrong_content(tmp_path, home, engine, leave_no_trace):
    lab = begin(tmp_path, NOTE)
    fix = f'`docker container run -v {VOLUME}:/notes alpine sh -c "echo milk > /notes/todo.txt"`'
    try:
        docker("container", "run", "--rm", "-v", f"{VOLUME}:/notes", "alpine", "sh", "-c",
               "echo milk > /notes/todo.txt")  # fmt: skip
        assert verdict(lab) == (
            False,
            "removed-unseen",
            "Your container ID from alpine was removed (`--rm`, or `docker container rm`) before "
            "the kit could read /notes/todo.txt in it (the volume keeps the file, but the kit "
            f"reads it through a container): run {fix} again, without --rm.",
        )
        docker("container", "run", "-v", f"{VOLUME}:/notes", "alpine", "sh", "-c",
               "echo eggs > /notes/todo.txt")  # fmt: skip
        assert verdict(lab) == (
            False,
            "wrong-content",
            f"/notes/todo.txt in your container ID does not contain “milk”: run {fix}.",
        )
        docker("container", "run", "-v", f"{VOLUME}:/notes", "alpine", "sh", "-c",
               "echo milk > /notes/todo.txt")  # fmt: skip
        assert verdict(lab) == (True, "", "")
    finally:
        for container in engine.containers.list(all=True, filters={"volume": VOLUME}):
            container.remove(force=True)
        engine.volumes.get(VOLUME).remove()
