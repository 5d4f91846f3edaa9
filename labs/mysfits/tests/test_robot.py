"""The robot learner: walks the Mythical Mysfits lab on the real engine, typing each step's
solution exactly as the lab shows it, and proves each check both ways. Then it makes the common
mistakes and reads what the checks say about them.

The lab has the learner edit the kit's images/mysfits/mysfits.json. The robot does that in a
scratch clone of the kit (its labs, checks and images, committed to a fresh git repository, as a
learner's clone is), never in this working tree, where someone may be committing meanwhile; each
test puts the clone's file back, in a `finally`. `no_trace` removes what each test made (its
containers, its builds, tagged or left untagged, and its tags: the robot's docker labels and logs
them), and, for the module, the build cache and the python base image if it pulled it; a
learner's containers and images made meanwhile stay.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.kit.fixtures import KIT, ROBOT, TRACE, lab_of, no_trace
from workshop.labs import Command
from workshop.solve import run_command

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

LAB = lab_of(__file__)
IMAGE = "mythicalmysfits/service"
BASE = "python:3.12-slim"
CACHE = "workshop-selftest/mysfits-cache:latest"  # keeps the legacy builder's cache warm
BUILD = "docker image build -t mythicalmysfits/service images/mysfits"
RUN = "docker container run -d --name mysfits -p 8080:8080 mythicalmysfits/service"
PORT = 8080


class Robot:
    """Types commands as a learner would, from the root of their clone of the kit."""

    def __init__(self, root: Path, workshop):
        self.root = root
        self.data = root / "images" / "mysfits" / "mysfits.json"
        self.workshop = workshop

    def type_(self, run: str, check=True) -> str:
        out = io.StringIO()
        try:
            with contextlib.chdir(self.root):
                run_command(Command(run=run), out)
        except Exception:
            if check:
                raise
        return out.getvalue()

    def type_solution(self, step_id: str) -> str:
        out = io.StringIO()
        with contextlib.chdir(self.root):
            for command in LAB.step(step_id).solution:
                run_command(command, out)
        return out.getvalue()

    def reach(self, step_id: str) -> None:
        """Start the lab and do every step before `step_id`, as the lab shows it."""
        self.workshop("next")  # begins the workshop; nothing is built yet
        for step in LAB.steps:
            if step.id == step_id:
                return
            self.type_solution(step.id)
            done(self.workshop("check", step.id), step.id)

    def add_mysfit(self) -> None:
        """The first command of the rebuild step's solution: it adds a mysfit to the data."""
        with contextlib.chdir(self.root):
            run_command(LAB.step("rebuild").solution[0], io.StringIO())


def not_done(result, step: str) -> str:
    assert result.code == 3, f"step {step} should not be done yet, got {result}"
    return " ".join(result.out.split())


def done(result, step: str) -> None:
    assert result.code == 0, f"step {step} should pass: {result}"


def wait_until_stopped(engine, name: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while engine.api.inspect_container(name)["State"]["Running"]:
        assert time.monotonic() < deadline, f"{name} is still running after {seconds} s"
        time.sleep(0.2)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT leftovers
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A learner's clone of the kit: its labs, checks and images, committed to a new repository
    (the rebuild check compares mysfits.json with the clone's committed one)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the rebuild step compares with the committed data")
    root = tmp_path_factory.mktemp("clone")
    for part in ("labs", "images", "tests/checks", "scripts"):
        shutil.copytree(KIT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=robot", "-c", "user.email=robot@example.invalid", "commit",
         "-q", "-m", "the kit"],
    ):  # fmt: skip
        subprocess.run(command, cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture(scope="module")
def ready(engine):
    """The engine is fit for the robot: port 8080, the name `mysfits` and the image name are
    free, and the base image is there (pulled from the mirror if needed). Afterwards, what the
    module made is removed: the build cache, and the base image if it pulled it."""
    import docker.errors

    if not port_is_free(PORT):
        pytest.skip(f"host port {PORT} is taken here, and the lab publishes the service on it")
    if engine.api.containers(all=True, filters={"name": "^/mysfits$"}):
        pytest.skip("a container named mysfits already exists on this engine")
    if engine.api.images(name=IMAGE):
        pytest.skip(f"{IMAGE} already exists on this engine: the robot would move its tag")
    with no_trace(engine):
        try:
            engine.images.get(BASE)
        except docker.errors.ImageNotFound:
            engine.images.pull(BASE)
            TRACE.record("pull", BASE)
        yield


@pytest.fixture(scope="module")
def cache(ready, clone):
    """One real build of images/mysfits, kept under another tag: the tests' own builds of the
    unchanged folder then come from the cache in a fraction of a second."""
    subprocess.run(
        ["docker", "image", "build", "-q", "--force-rm", "-t", CACHE, "images/mysfits"],
        cwd=clone,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def robot(engine, ready, clone, workshop):
    """A fresh learner in the clone. Afterwards: the clone's data file put back, and what the
    test made removed: containers, tags, and the images its builds made, tagged or not."""
    workshop.env["WORKSHOP_LABS"] = str(clone / "labs")
    robot = Robot(clone, workshop)
    data = robot.data.read_bytes()
    try:
        with no_trace(engine):
            yield robot
    finally:
        robot.data.write_bytes(data)


# --- the whole lab, each check both ways ---------------------------------------------------------


def test_robot_walks_the_lab_and_every_check_fails_before_and_passes_after(robot, engine):
    said = {}
    robot.workshop("next")  # the learner begins the workshop
    for step in LAB.steps:
        said[step.id] = not_done(robot.workshop("check", step.id), step.id)
        robot.type_solution(step.id)
        done(robot.workshop("check", step.id), step.id)

    assert f"run `{BUILD}`" in said["build"]
    assert f"No container from {IMAGE} runs yet: run `{RUN}`" in said["run"]
    assert "run `curl localhost:8080/mysfits` in a terminal on your host" in said["call"]
    assert "is still the kit's original" in said["rebuild"]
    assert "`docker container stop mysfits`" in said["cleanup"]
    assert engine.images.get(IMAGE)  # the lab keeps its image


def test_the_build_streams_to_the_terminal_as_it_happens(robot):
    """`workshop solve build` hands its output to docker: each line of the build arrives as
    docker writes it, not all at once at the end (the pip install step takes seconds)."""
    arrivals = []
    with subprocess.Popen(
        [str(KIT / ".venv" / "bin" / "workshop"), "solve", "build"],
        cwd=robot.root,
        env=robot.workshop.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        for line in process.stdout:
            arrivals.append((time.monotonic(), line))
    text = "".join(line for _, line in arrivals)
    assert process.returncode == 0, text
    assert text.startswith(f"$ {BUILD}\n") and "Step build is done." in text
    buildkit = any(line.startswith("#1 ") for _, line in arrivals)
    _the_text_quotes_this_builder_right(text, buildkit)
    starts = ("#1 ",) if buildkit else ("Step 1/",)
    ends = (" naming to ",) if buildkit else ("Successfully tagged",)
    first = next(t for t, line in arrivals if line.startswith(starts))
    tagged = next(t for t, line in arrivals if any(end in line for end in ends))
    if "Successfully installed" not in text:
        pytest.skip("the build came from the cache: too quick to tell streaming from buffering")
    assert tagged - first > 0.5, "the build's lines all arrived at once"


def _the_text_quotes_this_builder_right(output: str, buildkit: bool) -> None:
    """The build step's text quotes both builders' numbered steps (`[2/6] RUN groupadd`,
    `Step 1/12`); the ones of the builder at work must be what it printed."""
    text = " ".join(LAB.step("build").instructions.split())
    if buildkit:
        quoted = re.findall(r"\[\d+/\d+\] [A-Z]+", text)
        assert quoted, "the build step's text quotes none of BuildKit's numbered steps"
        for fragment in quoted:
            assert fragment in output, f"the text quotes `{fragment}`; the build never printed it"
        return
    quoted = {int(total) for total in re.findall(r"Step \d+/(\d+)", text)}
    printed = {int(total) for total in re.findall(r"^Step \d+/(\d+) :", output, re.M)}
    # the suite's docker shim adds one LABEL instruction (its mark) at the end of the build
    added = 1 if "LABEL io.workshop.selftest" in output else 0
    assert quoted and printed == {total + added for total in quoted}, (quoted, printed)


# --- step build: mistakes ------------------------------------------------------------------------


def test_built_under_another_name_is_named(robot, cache):
    robot.workshop("next")
    robot.type_("docker image build -t mysfits images/mysfits")
    said = not_done(robot.workshop("check", "build"), "build")
    assert "You built the service as mysfits:latest" in said
    assert f"run `{BUILD}`" in said and "docker image tag mysfits:latest" in said


def test_built_with_another_tag_is_named(robot, cache):
    robot.workshop("next")
    robot.type_("docker image build -t mythicalmysfits/service:v1 images/mysfits")
    said = not_done(robot.workshop("check", "build"), "build")
    assert "You built mythicalmysfits/service:v1, but the lab uses" in said
    assert f"run `{BUILD}` as written" in said


def test_built_from_another_folder_is_named(robot, cache, tmp_path):
    classic = tmp_path / "classic"
    classic.mkdir()
    (classic / "mysfits_api.py").write_text("print('hello')\n")
    (classic / "Dockerfile").write_text(
        'FROM python:3.12-slim\nCOPY . /app\nCMD ["python", "/app/mysfits_api.py"]\n'
    )
    robot.workshop("next")
    robot.type_(f"docker image build -t mythicalmysfits/service {classic}")
    said = not_done(robot.workshop("check", "build"), "build")
    assert "was not built from images/mysfits: its CMD is `python /app/mysfits_api.py`" in said
    assert f"`{BUILD}`" in said and "build context" in said


def test_an_image_built_before_the_lab_counts_once_built_again(robot, cache):
    robot.type_(BUILD)  # before the learner begins the workshop
    time.sleep(0.05)
    robot.workshop("next")
    said = not_done(robot.workshop("check", "build"), "build")
    assert "was built before you began the workshop" in said
    robot.type_(BUILD)  # every step from the cache: the same image, tagged again now
    done(robot.workshop("check", "build"), "build")


# --- step run: mistakes --------------------------------------------------------------------------


def test_run_without_publishing_the_port_is_named(robot, cache):
    robot.reach("run")
    robot.type_("docker container run -d --name mysfits mythicalmysfits/service")
    said = not_done(robot.workshop("check", "run"), "run")
    assert "its port 8080 is not published" in said
    assert "publish the port with -p 8080:8080" in said
    assert f"`docker container rm -f mysfits`, then `{RUN}`" in said


def test_run_with_another_name_or_none_passes_and_is_called_by_it(robot, engine, cache):
    """The lab names the container mysfits, but the step is the running service: any name
    will do, and later advice uses the container's own name."""
    robot.reach("run")
    robot.type_("docker container run -d -p 8080:8080 mythicalmysfits/service")
    done(robot.workshop("check", "run"), "run")
    said = not_done(robot.workshop("check", "call"), "call")
    running = engine.api.containers(filters={**ROBOT, "ancestor": IMAGE})
    name = running[0]["Names"][0].lstrip("/")
    assert f"docker container logs {name}" in said, said


def test_a_server_bound_to_loopback_is_named(robot, cache):
    robot.reach("run")
    robot.type_(
        "docker container run -d --name mysfits -p 8080:8080 mythicalmysfits/service gunicorn "
        "--config /app/gunicorn.conf.py --bind 127.0.0.1:8080 'app:create_app()'"
    )
    said = not_done(robot.workshop("check", "run"), "run")
    assert "listens on 127.0.0.1:8080, the container's own loopback" in said
    assert "It must listen on 0.0.0.0:8080" in said


def test_a_container_that_stopped_shows_why(robot, engine, cache):
    robot.reach("run")
    robot.type_(
        "docker container run -d --name mysfits -p 8080:8080 mythicalmysfits/service gunicorn "
        "--config /app/gunicorn.conf.py 'app:nothing()'"
    )
    wait_until_stopped(engine, "mysfits")
    said = not_done(robot.workshop("check", "run"), "run")
    assert "stopped with exit code" in said
    assert "its log ends with: Failed to find attribute 'nothing' in 'app'." in said
    assert "put nothing after the image name" in said
    assert f"`docker container rm mysfits`, then `{RUN}`" in said


# --- step call: mistakes -------------------------------------------------------------------------


def test_calling_the_root_path_only_is_named(robot, cache):
    robot.reach("call")
    robot.type_("curl localhost:8080/")
    said = not_done(robot.workshop("check", "call"), "call")
    assert "at / (its health page)" in said and "run `curl localhost:8080/mysfits`" in said


def test_calling_a_misspelled_path_is_named(robot, cache):
    robot.reach("call")
    robot.type_("curl localhost:8080/mysfit")
    said = not_done(robot.workshop("check", "call"), "call")
    assert "You asked for /mysfit, which answered 404 Not Found" in said
    assert "the path is /mysfits (plural, lowercase)" in said


# --- step rebuild: mistakes ----------------------------------------------------------------------


def test_data_changed_but_not_rebuilt_is_named(robot, cache):
    robot.reach("rebuild")
    robot.add_mysfit()
    robot.type_("docker container rm -f mysfits")
    robot.type_(RUN)
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert "still holds the kit's original mysfits.json" in said
    assert f"Rebuild with `{BUILD}`" in said


def test_rebuilt_but_not_replaced_is_named(robot, cache):
    robot.reach("rebuild")
    robot.add_mysfit()
    robot.type_(BUILD)
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert "Container mysfits still runs the image you built before" in said
    assert f"Replace it: `docker container rm -f mysfits`, then `{RUN}`" in said


def test_invalid_json_is_named_with_its_line(robot, engine, cache):
    robot.reach("rebuild")
    text = robot.data.read_text(encoding="utf-8")
    broken = text.replace("  },\n  {", "  }\n  {", 1)  # a comma forgotten between two entries
    assert broken != text
    robot.data.write_text(broken, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as error:
        json.loads(broken)
    robot.type_(BUILD)
    robot.type_("docker container rm -f mysfits")
    robot.type_(RUN)
    wait_until_stopped(engine, "mysfits")  # the service cannot read its data: it stops
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert (
        f"images/mysfits/mysfits.json is not valid JSON: line {error.value.lineno}, column "
        f"{error.value.colno}: Expecting ',' delimiter (usually a missing comma" in said
    )


def test_a_rebuild_that_reran_pip_install_is_named(robot, cache):
    robot.reach("rebuild")
    robot.add_mysfit()
    robot.type_("docker image build --no-cache -t mythicalmysfits/service images/mysfits")
    robot.type_("docker container rm -f mysfits")
    robot.type_(RUN)
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert "its pip install layer was made anew" in said
    assert "with --no-cache" in said


# --- step cleanup: mistakes ----------------------------------------------------------------------


def test_stopped_but_not_removed_is_named(robot, cache):
    robot.reach("call")
    robot.type_("docker container stop mysfits")
    said = not_done(robot.workshop("check", "cleanup"), "cleanup")
    assert "Container mysfits is stopped but not removed" in said
    assert "`docker container rm mysfits`" in said


def test_removing_the_image_too_is_named(robot, cache):
    robot.reach("call")
    robot.type_("docker container stop mysfits")
    robot.type_("docker container rm mysfits")
    robot.type_("docker image rm mythicalmysfits/service")
    said = not_done(robot.workshop("check", "cleanup"), "cleanup")
    assert "The image mythicalmysfits/service:latest is gone too" in said
    assert f"Build it again: `{BUILD}`" in said


def test_the_robot_edits_its_clone_not_this_working_tree(robot):
    """The lab's edit lands in the clone: this working tree's mysfits.json stays as it was."""
    robot.add_mysfit()
    mine = KIT / "images" / "mysfits" / "mysfits.json"
    assert robot.data.read_bytes() != mine.read_bytes()


# --- an offline room: the build reaches the room's package index --------------------------------


@pytest.fixture
def room_index(engine, tmp_path):
    """The room's package index as an offline room serves it: a static PEP 503 folder of the
    wheels images/mysfits/requirements.txt needs (downloaded here once), served by
    `python -m http.server` on the engine's bridge gateway, which the build's RUN steps reach.
    Yields (its URL, the file its requests are logged to)."""
    import sys

    gateway = engine.networks.get("bridge").attrs["IPAM"]["Config"][0].get("Gateway")
    if not gateway:
        pytest.skip("the engine's bridge network has no gateway address to serve the index on")
    files = tmp_path / "files"
    downloaded = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "-d", str(files), "-r",
         str(KIT / "images" / "mysfits" / "requirements.txt")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if downloaded.returncode != 0:
        pytest.skip(f"cannot download the wheels to serve (no PyPI here?): {downloaded.stderr}")
    simple = tmp_path / "simple"
    by_project: dict[str, list[str]] = {}
    for wheel in sorted(p.name for p in files.iterdir()):
        name = re.sub(r"[-_.]+", "-", wheel.split("-")[0]).lower()
        by_project.setdefault(name, []).append(wheel)
    for name, wheels in by_project.items():
        (simple / name).mkdir(parents=True)
        links = "".join(f'<a href="../../files/{w}">{w}</a>\n' for w in wheels)
        (simple / name / "index.html").write_text(
            f"<!DOCTYPE html><html><body>{links}</body></html>"
        )
    with socket.socket() as probe:
        probe.bind((gateway, 0))
        port = probe.getsockname()[1]
    log = tmp_path / "index.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", gateway],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as knock:
                if knock.connect_ex((gateway, port)) == 0:
                    break
            assert time.monotonic() < deadline, "the index did not start"
            time.sleep(0.1)
        yield f"http://{gateway}:{port}/simple/", log
    finally:
        server.terminate()
        server.wait(10)


def test_an_offline_rooms_build_through_its_index_is_a_correct_build(robot, room_index):
    """In an offline room, the build step shows `--build-arg PIP_INDEX_URL=...` (and the http
    index's trusted host); that build installs from the room's index and every check of the lab
    accepts it as the build, and the rebuild that reuses its pip layer as the rebuild."""
    url, log = room_index
    host = url.split("//")[1].split(":")[0]
    offline = {"WORKSHOP_INDEX": url}
    build = (
        f"docker image build --build-arg PIP_INDEX_URL={url} --build-arg PIP_TRUSTED_HOST={host} "
        f"-t {IMAGE} images/mysfits"
    )
    assert f"$ {build}\n" in robot.workshop("show", "build", env=offline).out
    assert f"$ {BUILD}\n" in robot.workshop("show", "build").out  # online: as it always was
    robot.workshop("next")
    said = not_done(robot.workshop("check", "build", env=offline), "build")
    assert f"run `{build}`" in said
    robot.type_(build)
    assert "GET /simple/flask/" in log.read_text(), "pip did not ask the room's index"
    done(robot.workshop("check", "build", env=offline), "build")
    for step in ("run", "call"):
        robot.type_solution(step)
        done(robot.workshop("check", step, env=offline), step)
    robot.add_mysfit()
    robot.type_(build)  # the rebuild, with the same arguments: pip's layer from the cache
    robot.type_("docker container rm -f mysfits")
    robot.type_(RUN)
    done(robot.workshop("check", "rebuild", env=offline), "rebuild")
