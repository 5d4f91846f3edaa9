"""The room served to a learner's engine: `workshop room serve-images` (offline, from a store
prepared from the stand-in registry) is the only mirror of a second dockerd (Debian's 20.10,
own data root, socket and no bridge); it pulls alpine from the room, with 127.0.0.1:5000 not
configured anywhere; the index answers `pip download` of the pinned requirements; `room check`
says ready or lists what is missing; a bundle loaded into that engine keeps the image IDs; the
server stops cleanly on SIGTERM and Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kit.room_parts import (
    UPSTREAM,
    LearnerEngine,
    clean_env,
    free_port,
    generations,
    needs_dockerd,
    needs_registry,
    needs_upstream,
    run_workshop,
    serving,
)
from workshop.needs import course_needs

pytestmark = [needs_registry, needs_upstream, needs_dockerd, pytest.mark.engine]
KIT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("room") / "store"
    # the python stand-in's Python is Debian's 3.11 whatever its tag says: wheels for it too
    code, out = run_workshop(
        "room", "prepare", "--upstream", UPSTREAM, "--store", str(root), "--python", "3.11"
    )
    assert code == 0, out
    assert "Python 3.11 linux/amd64" in out
    return root


@pytest.fixture(scope="module")
def room(store):
    with serving(store) as (process, mirror, index):
        yield process, mirror, index


@pytest.fixture(scope="module", params=generations())
def learner(room, request):
    _, mirror, _ = room
    engine = LearnerEngine(mirror, request.param).start()
    yield engine
    engine.stop()


def drop(client, *refs):
    for ref in refs:
        with contextlib.suppress(Exception):  # not there
            client.images.remove(ref, force=True)


def test_the_learner_engine_pulls_alpine_from_the_room(room, learner, store):
    _, mirror, _ = room
    info = learner.client.info()
    assert info["RegistryConfig"]["Mirrors"] == [mirror + "/"]
    assert "127.0.0.1:5000" not in json.dumps(info["RegistryConfig"])
    drop(learner.client, "alpine:latest")
    image = learner.client.images.pull("alpine", tag="latest")
    entry = json.loads((store / "room.json").read_text())["images"]["alpine:latest"]
    if learner.generation == 20:  # the ID is the config's digest
        assert image.id == entry["platforms"]["linux/amd64"]["config"]
    else:  # the containerd image store: the digest it was pulled by
        assert image.id == entry["digest"]
    drop(learner.client, "alpine:latest")


def pip_download(index: str, dest: Path, *what: str) -> None:
    """`pip download` from the room's index only (no cache, no other index): it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "download", "--no-cache-dir",
         "--index-url", index, "--dest", str(dest), *what],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_index_answers_pip_download_of_the_pinned_requirements(room, tmp_path):
    _, _, index = room
    requirements = KIT / "images/mysfits/requirements.txt"
    pip_download(index, tmp_path, "--only-binary", ":all:", "--python-version", "3.12",
                 "-r", str(requirements))  # fmt: skip
    assert (tmp_path / "flask-3.1.3-py3-none-any.whl").is_file()
    pip_download(index, tmp_path / "one", "--no-deps", "flask")


def test_room_check_says_ready(room, store):
    _, mirror, index = room
    code, out = run_workshop(
        "room", "check", "--store", str(store), "--mirror", mirror, "--index", index
    )
    assert code == 0, out
    assert "The room is ready." in out
    assert "alpine:latest linux/amd64: served" in out
    assert "requirements.txt Python 3.12 linux/arm64: 9 wheels resolve from the index" in out


def test_room_check_lists_what_is_missing(store, tmp_path):
    from workshop.needs import CourseNeeds, ImageNeed
    from workshop.room.prepare import prepare
    from workshop.room.store import Store

    only_alpine = Store(tmp_path / "alpine-only")
    needs = CourseNeeds(
        images=(ImageNeed("alpine:latest", ("beginners",)),), packages=(), disk_gb=0
    )
    prepare(
        only_alpine, upstream=UPSTREAM, platforms=("linux/amd64",), say=lambda _: None, needs=needs
    )
    with serving(only_alpine.root) as (_, mirror, index):
        code, out = run_workshop(
            "room", "check", "--store", str(store), "--mirror", mirror, "--index", index
        )
        assert code == 1, out
        assert "The room is not ready" in out
        assert "python:3.12-slim: the mirror does not serve it" in out
        assert "requirements.txt: pip could not download" in out
        code, out = run_workshop(
            "room",
            "check",
            "--store",
            str(store),
            "--mirror",
            mirror,
            "--index",
            index,
            "--platform",
            "linux/arm64",
        )
        assert code == 1
        assert "alpine:latest: linux/arm64 is not served" in out
    down = f"http://127.0.0.1:{free_port()}"
    code, out = run_workshop(
        "room", "check", "--store", str(store), "--mirror", down, "--index", down + "/simple/"
    )
    assert code == 1
    assert f"the mirror {down} does not answer" in out
    assert f"the package index {down}/simple/ does not answer" in out
    assert "Traceback" not in out


def test_a_bundle_round_trip_keeps_image_ids(store, learner, tmp_path):
    client = learner.client
    source = {}
    refs = course_needs().refs()  # every image the course needs: the store holds them all
    for ref in refs:
        name, tag = ref.split(":")
        image = client.images.pull(f"127.0.0.1:5000/library/{name}", tag=tag)
        source[ref] = image.id
        drop(client, f"127.0.0.1:5000/library/{name}:{tag}", ref)
    bundle = tmp_path / "room.tar"
    code, out = run_workshop("bundle", "save", str(bundle), "--store", str(store))
    assert code == 0, out
    fresh = tmp_path / "fresh"
    code, out = run_workshop(
        "bundle", "load", str(bundle), "--store", str(fresh), env={"DOCKER_HOST": learner.host}
    )
    assert code == 0, out
    assert f"{len(refs)} images loaded into the engine." in out
    before = json.loads((store / "room.json").read_text())["images"]
    assert json.loads((fresh / "room.json").read_text())["images"] == before
    for ref, image_id in source.items():
        assert client.images.get(ref).id == image_id
    tags = [tag for image in client.images.list() for tag in image.tags]
    assert sorted(tags) == sorted(refs)
    drop(client, *source)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_serve_images_stops_cleanly(store, how):
    with serving(store) as (process, mirror, _):
        port = mirror.rsplit(":", 1)[1]
        children = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and f"registry-{port}.json" in _cmdline(p)
        ]
        assert children, "no registry child found"
        os.kill(process.pid, how)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, out + err
    assert "Traceback" not in err + out
    assert "Stopped the room's mirror and index." in out
    # what a learner sets, exactly
    hostport = mirror.split("://")[1]
    assert f'{{"registry-mirrors": ["{mirror}"], "insecure-registries": ["{hostport}"]}}' in out
    assert "Docker Desktop: Settings → Docker Engine" in out
    assert f"--mirror {mirror} --index http://127.0.0.1:" in out
    time.sleep(0.2)
    assert not any(c.exists() and f"registry-{port}.json" in _cmdline(c) for c in children)


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_serve_images_offline_with_an_empty_store_is_one_sentence(tmp_path):
    code, out = run_workshop(
        "room",
        "serve-images",
        "--store",
        str(tmp_path / "empty"),
        "--registry-port",
        str(free_port()),
    )
    assert code == 1
    assert "holds no images: run `workshop room prepare`" in out


def test_serve_images_without_the_registry_binary_says_how_to_install_it(store):
    code, out = run_workshop(
        "room",
        "serve-images",
        "--store",
        str(store),
        "--host",
        "127.0.0.1",
        "--registry-port",
        str(free_port()),
        "--index-port",
        str(free_port()),
        env={"WORKSHOP_REGISTRY_BIN": "no-such-binary"},
    )
    assert code == 1
    assert "`apt-get install docker-registry`" in out
    assert "Traceback" not in out


@pytest.mark.parametrize("generation", generations()[:1])
def test_online_the_room_pulls_through_and_keeps_what_it_fetched(tmp_path, generation):
    store = tmp_path / "online"
    with serving(store, "--online", "--upstream", UPSTREAM) as (process, mirror, _):
        engine = LearnerEngine(mirror, generation).start()
        try:
            image = engine.client.images.pull("alpine", tag="latest")
        finally:
            engine.stop()
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, out + err
    assert "online: pulling through from http://127.0.0.1:5000" in out
    hexa = image.id.split(":")[1]  # 20.10: the config blob
    assert (store / "registry/docker/registry/v2/blobs/sha256" / hexa[:2] / hexa / "data").is_file()
    assert not (store / "registry/scheduler-state.json").exists()


@pytest.mark.parametrize("which", ["--registry-port", "--index-port"])
def test_a_taken_port_is_one_sentence(store, which):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        ports = {"--registry-port": str(free_port()), "--index-port": str(free_port())}
        ports[which] = port
        code, out = run_workshop(
            "room",
            "serve-images",
            "--store",
            str(store),
            "--host",
            "127.0.0.1",
            *[x for pair in ports.items() for x in pair],
            timeout=60,
        )
    assert code == 1, out
    assert "Traceback" not in out
    assert out.count("Error:") == 1
    assert port in out


def test_a_build_installs_the_requirements_from_the_rooms_index(room, learner, tmp_path):
    """FROM python:3.12-slim through the room's mirror, and `pip install -r requirements.txt`
    from the room's index only (the build shares the host's network: the learner's engine
    here has no bridge)."""
    if learner.generation != 20:
        pytest.skip("one engine is enough to prove the index serves a build")
    _, _, index = room
    context = tmp_path / "context"
    context.mkdir()
    (context / "requirements.txt").write_text((KIT / "images/mysfits/requirements.txt").read_text())
    (context / "Dockerfile").write_text(
        "FROM python:3.12-slim\n"
        "ARG PIP_INDEX_URL\nARG PIP_TRUSTED_HOST\n"
        "COPY requirements.txt /tmp/\n"
        "RUN pip install --no-cache-dir -r /tmp/requirements.txt && pip download --no-deps "
        "--dest /tmp/w flask==3.1.3 && ls /tmp/w\n"
    )
    tag = f"workshop-room-selftest:{os.getpid()}"
    try:
        output = []
        for chunk in learner.client.api.build(
            path=str(context),
            tag=tag,
            network_mode="host",
            rm=True,
            forcerm=True,
            buildargs={"PIP_INDEX_URL": index, "PIP_TRUSTED_HOST": "127.0.0.1"},
            decode=True,
        ):
            output.append(chunk.get("stream", "") + chunk.get("error", ""))
        text = "".join(output)
        assert "Successfully built" in text, text
        assert f"Looking in indexes: {index}" in text, text
        assert "flask-3.1.3-py3-none-any.whl" in text
    finally:
        drop(learner.client, tag, "python:3.12-slim")


def test_served_to_the_room_it_names_the_rooms_addresses(store):
    from workshop.classroom.addresses import machine_addresses

    found = machine_addresses()
    if not found:
        pytest.skip("this machine has no address a room could reach")
    registry_port, index_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workshop",
            "room",
            "serve-images",
            "--store",
            str(store),
            "--host",
            "0.0.0.0",
            "--registry-port",
            str(registry_port),
            "--index-port",
            str(index_port),
        ],
        env={**clean_env(), "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops both."):
                break
        out = "".join(lines)
        mirror = f"http://{found[0]}:{registry_port}"
        held = len(course_needs().refs())
        assert f"Room mirror (offline: the {held} images in the store): {mirror}" in out, out
        assert f'"insecure-registries": ["{found[0]}:{registry_port}"]' in out
        assert f"PIP_INDEX_URL=http://{found[0]}:{index_port}/simple/" in out
        assert "127.0.0.1" not in out
    finally:
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=30)
    assert process.returncode == 0, rest + err
    assert "Traceback" not in err


@pytest.mark.parametrize("which", ["--registry-port", "--index-port"])
def test_a_port_another_registry_answers_on_is_one_sentence(tmp_path, which):
    """Another server that answers /v2/ (someone's registry) holds the port: serve-images says
    so before it starts, instead of taking that server's answers for its own registry's, telling
    the learners to use it, and then finding its registry gone."""
    from tests.kit.room_parts import hand_store, stub_http

    store = hand_store(tmp_path / "store")
    with stub_http(lambda handler: handler.reply(200, b"{}")) as other:
        port = other.rsplit(":", 1)[1]
        ports = {"--registry-port": str(free_port()), "--index-port": str(free_port())}
        ports[which] = port
        code, out = run_workshop(
            "room", "serve-images", "--store", str(store.root), "--host", "127.0.0.1",
            *[x for pair in ports.items() for x in pair], timeout=60,
        )  # fmt: skip
    assert code == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    assert (
        f"Port {port} on 127.0.0.1 is taken (Address already in use): stop what listens there, "
        f"or choose another port with {which}." in " ".join(out.split())
    ), out
    assert "A learner's engine uses" not in out
