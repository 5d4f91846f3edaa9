"""`workshop prove` on the real engine, on fixture labs written only with declarations (and on
labs broken on purpose): the claims it makes, the exit code, and that it leaves the engine and the
learner's state folder as they were (only what it made is removed)."""

from __future__ import annotations

import http.server
import shutil
import threading
import uuid
from pathlib import Path

import pytest

from tests.kit.conftest import LABELS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "labs"

pytestmark = [pytest.mark.engine, pytest.mark.destructive]


def lines(result) -> list[str]:
    """The claims prove printed, one per line (a long one is wrapped, its rest indented)."""
    claims: list[str] = []
    for line in result.out.splitlines():
        if line.startswith(" ") and claims:
            claims[-1] += " " + line.strip()
        elif line.strip():
            claims.append(line)
    return claims


def copy(tmp_path: Path, lab: str, new_id: str | None = None) -> Path:
    """The fixture lab copied into a labs folder of its own (under `new_id` if given)."""
    folder = tmp_path / "labs" / (new_id or lab)
    shutil.copytree(FIXTURES / lab, folder)
    if new_id:
        manifest = folder / "lab.toml"
        manifest.write_text(manifest.read_text().replace(f'id = "{lab}"', f'id = "{new_id}"', 1))
    return tmp_path / "labs"


def test_the_volumes_lab_proves_itself_and_leaves_only_what_was_there(
    workshop, home, engine, leave_no_trace
):
    # someone else's container from the lab's image, and their own volume: prove leaves them
    theirs = engine.containers.create("alpine", ["true"], labels=LABELS)
    their_volume = engine.volumes.create(f"kit-prove-theirs-{uuid.uuid4().hex[:8]}")
    try:
        result = workshop("prove", "volumes", "--labs", str(FIXTURES))
        assert result.code == 0, result
        said = lines(result)
        assert said[0] == "✔ no step passes on an untouched engine"
        assert said[1] == (
            "✔ make-volume: not done before its solution (There is no volume kit-notes yet: run "
            "`docker volume create kit-notes`.)"
        )
        assert said[2] == "✔ make-volume: passes after its solution"
        assert said[4].startswith("✔ write-note: names wrote-without-volume when it is made: ")
        assert said[7].startswith("✔ read-note: names read-without-volume when it is made: ")
        assert "without the volume, so it found no note (exit code 1)" in said[7]
        assert said[-1] == "✔ Lab volumes is proven: 9 claims hold."
        assert len(said) == 10
        # what it made is gone; what was there stays; the learner's state folder is untouched
        assert not engine.volumes.list(filters={"name": "kit-notes"})
        assert not engine.containers.list(all=True, filters={"volume": "kit-notes"})
        theirs.reload()
        their_volume.reload()
        assert not home.exists()
    finally:
        their_volume.remove()
        theirs.remove(force=True)


def test_the_webpage_lab_proves_itself(workshop, engine, leave_no_trace):
    result = workshop("prove", "webpage", "--labs", str(FIXTURES))
    assert result.code == 0, result
    said = lines(result)
    assert said[2].startswith("✔ serve: names port-not-published when it is made: ")
    assert said[4] == (
        "✔ page: not done before its solution (GET http://127.0.0.1:18089/ answered without "
        '“Hello from the kit” in its body: run `docker container exec kit-web sh -c "echo '
        "'<h1>Hello from the kit</h1>' > index.html\"`.)"
    )
    assert said[5].startswith("✔ page: names page-in-new-container when it is made: You wrote ")
    assert said[-1] == "✔ Lab webpage is proven: 7 claims hold."
    assert not engine.containers.list(all=True, filters={"name": "kit-web"})


def test_a_lab_copied_under_another_id_proves_itself(workshop, tmp_path, leave_no_trace):
    labs = copy(tmp_path, "volumes", "notes")
    result = workshop("prove", "notes", "--labs", str(labs))
    assert result.code == 0, result
    assert lines(result)[-1] == "✔ Lab notes is proven: 9 claims hold."


def test_a_reproducer_that_does_not_make_its_mistake_fails_the_proof(
    workshop, tmp_path, leave_no_trace
):
    labs = copy(tmp_path, "volumes")
    manifest = labs / "volumes" / "lab.toml"
    manifest.write_text(
        manifest.read_text().replace(
            'reproduce = ["docker container run alpine cat /notes/todo.txt"]',
            'reproduce = ["docker volume ls"]',
        )
    )
    result = workshop("prove", "volumes", "--labs", str(labs))
    assert result.code == 1, result
    said = lines(result)
    assert said[7] == (
        "✘ read-note: after the reproducer of read-without-volume, the check names not-done (No "
        "container from alpine has run `cat /notes/todo.txt` since you began: run `docker "
        "container run -v kit-notes:/notes alpine cat /notes/todo.txt`.)"
    )
    assert said[8] == "✔ read-note: passes after its solution"
    assert said[-1] == (
        "✘ Lab volumes is not proven: fix what the lines marked ✘ say, then prove it again."
    )


@pytest.fixture
def served():
    """Something already answering on a loopback port before any lab begins."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def always(tmp_path: Path, port: int, extra: str = "") -> Path:
    """A lab whose one step is done on any engine where something answers on `port`."""
    lab = tmp_path / "labs" / "always"
    (lab / "steps").mkdir(parents=True)
    (lab / "steps" / "one.md").write_text("# One\n\n`docker version`\n")
    (lab / "lab.toml").write_text(
        f"""\
format_version = 2
id = "always"
title = "Always done"
images = []

[[steps]]
id = "always-one"
title = "One"
instructions = "steps/one.md"
hint = "Nothing to do."
solution = ["docker version"]
{extra}
[steps.expect]
http = {{ port = {port}, body = "hello" }}
"""
    )
    return tmp_path / "labs"


def test_a_step_declared_done_untouched_proves_itself(workshop, tmp_path, served):
    labs = always(tmp_path, served, 'done_untouched = "the server answering is the set-up"\n')
    result = workshop("prove", "always", "--labs", str(labs))
    assert result.code == 0, result
    assert lines(result) == [
        "✔ no step passes on an untouched engine (but those declared `done_untouched`)",
        "✔ always-one: done on an untouched engine, as it declares: the server answering is the "
        "set-up",
        "✔ always-one: passes after its solution",
        "✔ Lab always is proven: 3 claims hold.",
    ]


def test_a_check_that_passes_untouched_fails_the_proof(workshop, tmp_path, served):
    always(tmp_path, served)
    result = workshop("prove", "always", "--labs", str(tmp_path / "labs"))
    assert result.code == 1, result
    assert lines(result)[:3] == [
        "✘ step(s) always-one pass on an untouched engine: a check must ask for something the "
        "learner did since the lab began",
        "✘ always-one: passes before its solution ran",
        "✔ always-one: passes after its solution",
    ]


SINK = """\
format_version = 2
id = "sink"
title = "Every other noun"
images = ["alpine"]
builds = ["{name}:v1", "{registry}:v1"]
networks = ["{name}"]

[[steps]]
id = "sink-pull"
title = "Pull"
instructions = "steps/text.md"
hint = "Pull."
solution = ["docker image pull alpine"]
[steps.expect]
image = {{ tag = "alpine:latest", since = "pulled" }}

[[steps]]
id = "sink-build"
title = "Build"
instructions = "steps/text.md"
hint = "Build."
solution = ["docker image build -t {name}:v1 hello"]
[steps.expect]
image = {{ tag = "{name}:v1", since = "built" }}

[[steps]]
id = "sink-network"
title = "Network"
instructions = "steps/text.md"
hint = "Network."
solution = ["docker network create {name}"]
[steps.expect]
network = {{ name = "{name}", driver = "bridge" }}

[[steps]]
id = "sink-replicas"
title = "Three"
instructions = "steps/text.md"
hint = "Three."
solution = [
  "docker container run -d --network {name} {name}:v1",
  "docker container run -d --network {name} {name}:v1",
  "docker container run -d --network {name} {name}:v1",
]
[steps.expect]
running = {{ image = "{name}", count = 3 }}
[[steps.mistakes]]
id = "one-replica"
says = "Only {{count}} container(s) from {{image}} run: start three."
when = {{ running = {{ image = "{name}", count = 1 }} }}
reproduce = ["docker container run -d {name}:v1"]

[[steps]]
id = "sink-exec"
title = "Exec"
instructions = "steps/text.md"
hint = "Exec."
[steps.expect]
container = {{ image = "{name}", exec = "ls", running = true }}
[[steps.solution]]
run = "docker container exec <ID> ls /"
where = {{ ID = "docker container ls -q --filter ancestor={name}:v1" }}

[[steps]]
id = "sink-shell"
title = "A shell"
instructions = "steps/text.md"
hint = "-it"
solution = [{{ run = "docker container run -it alpine /bin/sh", type = ["ls", "exit"] }}]
[steps.expect]
container = {{ image = "alpine", ran = "sh", interactive = true }}
[[steps.mistakes]]
id = "shell-without-it"
says = "Your shell {{container}} had no terminal, so it ended at once: add -it."
when = {{ container = {{ image = "alpine", ran = "sh", interactive = false }} }}
reproduce = ["docker container run alpine /bin/sh"]

[[steps]]
id = "sink-push"
title = "Push"
instructions = "steps/text.md"
hint = "Push."
solution = ["docker image tag {name}:v1 {registry}:v1", "docker image push {registry}:v1"]
[steps.expect]
pushed = {{ tag = "{registry}:v1" }}
"""


def test_every_other_noun_proves_itself(workshop, tmp_path, engine, leave_no_trace):
    """image (pulled, built), network, running, exec, an interactive shell (typed into through
    a pseudo-terminal) and pushed (to the local registry)."""
    name = f"kit-sink-{uuid.uuid4().hex[:8]}"
    registry = f"127.0.0.1:5000/{name}/hello"
    lab = tmp_path / "labs" / "sink"
    (lab / "steps").mkdir(parents=True)
    text = SINK.format(name=name, registry=registry)
    (lab / "lab.toml").write_text(text)
    (lab / "steps" / "text.md").write_text("# Every other noun\n")
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "Dockerfile").write_text('FROM alpine\nCMD ["sleep", "300"]\n')
    # the author's own earlier image under the tag the lab builds: prove puts the tag back
    alpine = engine.images.get("alpine:latest")
    alpine.tag(name, "v1")
    try:
        result = workshop("prove", "sink", "--labs", str(tmp_path / "labs"))
        assert engine.images.get(f"{name}:v1").id == alpine.id
    finally:
        engine.images.remove(f"{name}:v1")
    assert result.code == 0, result
    said = lines(result)
    assert "✔ sink-pull: passes after its solution" in said
    one = f"✔ sink-replicas: names one-replica when it is made: Only 1 container(s) from {name} run"
    assert f"{one}: start three." in said
    assert "✔ sink-push: passes after its solution" in said
    shell = "✔ sink-shell: names shell-without-it when it is made: Your shell "
    assert any(line.startswith(shell) and line.endswith(": add -it.") for line in said)
    assert said[-1] == "✔ Lab sink is proven: 17 claims hold."  # 1 + 7 steps x 2 + 2 mistakes
    assert not engine.images.list(name=name)
    assert not engine.networks.list(names=[name])
    assert not engine.containers.list(all=True, filters={"ancestor": f"{name}:v1"})


HATCH = """\
format_version = 2
id = "hatch"
title = "A Python check beside declarations"
images = ["alpine"]

[[steps]]
id = "hatch-echo"
title = "Say two words"
instructions = "steps/echo.md"
hint = "Give echo two words."
check = "test_two_words"
solution = ["docker container run alpine echo hello there"]

[[steps.mistakes]]
id = "one-word"
reproduce = ["docker container run alpine echo hello"]
"""

HATCH_CHECKS = """\
from workshop.declared import holds
from workshop.probes import Learner, missing


def test_two_words(learner: Learner):
    if holds(learner, container={"image": "alpine", "ran": "echo hello there"}):
        return
    said = holds(learner, container={"image": "alpine", "ran": "echo"})
    if said:
        missing(f"Your container {said.said['container']} said one word: say two.", "one-word")
    missing("No container from alpine has said anything: run `docker container run alpine "
            "echo hello there`.", "not-done")
"""


def test_a_python_check_uses_the_same_vocabulary_and_proves_itself(
    workshop, tmp_path, leave_no_trace
):
    lab = tmp_path / "labs" / "hatch"
    (lab / "steps").mkdir(parents=True)
    (lab / "lab.toml").write_text(HATCH)
    (lab / "checks.py").write_text(HATCH_CHECKS)
    (lab / "steps" / "echo.md").write_text("`docker container run alpine echo hello there`\n")
    assert workshop("lint", str(tmp_path / "labs")).code == 0
    result = workshop("prove", "hatch", "--labs", str(tmp_path / "labs"))
    assert result.code == 0, result
    said = lines(result)
    assert said[2].startswith("✔ hatch-echo: names one-word when it is made: Your container ")
    assert said[-1] == "✔ Lab hatch is proven: 4 claims hold."
