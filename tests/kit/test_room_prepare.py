"""`workshop room prepare` from the stand-in registry as upstream (the same code as from Docker
Hub): images by digest into the store, the platform the upstream lacks said in one sentence,
wheels with a PEP 503 index; a second run fetches nothing."""

from __future__ import annotations

import json
import time

import pytest

from tests.kit.room_parts import (
    UPSTREAM,
    free_port,
    needs_registry,
    needs_upstream,
    run_workshop,
)
from workshop.needs import course_needs

pytestmark = [needs_registry, needs_upstream]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    store = tmp_path_factory.mktemp("room") / "store"
    code, out = run_workshop("room", "prepare", "--upstream", UPSTREAM, "--store", str(store))
    assert code == 0, out
    return store, out


def blob_times(store):
    return {p: p.stat().st_mtime_ns for p in (store / "registry").rglob("data")}


def test_prepare_records_each_image_by_the_upstreams_digest(prepared):
    from workshop.room import v2

    store, out = prepared
    room = json.loads((store / "room.json").read_text())
    assert room["upstream"] == UPSTREAM
    assert set(room["images"]) == set(course_needs().refs())
    with v2.Client(UPSTREAM) as upstream:
        for ref, entry in room["images"].items():
            name, tag = ref.split(":")
            served = upstream.manifest(f"library/{name}", tag)
            assert entry["digest"] == served.digest
            amd64 = entry["platforms"]["linux/amd64"]
            assert amd64["manifest"] == served.digest  # the stand-ins are single-platform
            assert amd64["config"] == served.json["config"]["digest"]
            for digest in [amd64["config"], *amd64["layers"]]:
                hexa = digest.split(":")[1]
                data = store / "registry/docker/registry/v2/blobs/sha256" / hexa[:2] / hexa
                assert (data / "data").is_file()
            assert entry["missing"] == ["linux/arm64"]
    # progress per image and layer, and the platform the upstream lacks in one sentence
    assert "alpine:latest: sha256:" in out
    assert "fetched in" in out
    line = (
        "alpine:latest: the upstream has no linux/arm64 image (it serves linux/amd64), so "
        "learners on linux/arm64 cannot pull it from the room."
    )
    assert line in out
    assert "Traceback" not in out


def test_prepare_downloads_wheels_for_the_images_python_and_indexes_them(prepared):
    from workshop.room.store import sha256_file

    store, _ = prepared
    room = json.loads((store / "room.json").read_text())
    files = room["wheels"]["files"]
    assert any(name.startswith("flask-3.1.3-") for name in files)
    assert any(name.startswith("gunicorn-27.0.1-") for name in files)
    for name, entry in files.items():
        assert sha256_file(store / "wheels" / name) == entry["sha256"]
    sets = room["wheels"]["sets"].values()
    # the python image's tag (3.12) and the Python its configuration declares (the stand-in
    # declares the 3.11 it runs), each for both platforms
    pythons = {s["python"] for s in sets}
    assert "3.12" in pythons and len(pythons) <= 2
    assert {(s["python"], s["platform"]) for s in sets} == {
        (python, platform) for python in pythons for platform in ("linux/amd64", "linux/arm64")
    }
    page = (store / "wheels/simple/flask/index.html").read_text()
    assert 'href="../../flask-3.1.3-py3-none-any.whl#sha256=' in page
    assert '<a href="flask/">' in (store / "wheels/simple/index.html").read_text()


def test_a_second_prepare_downloads_nothing(prepared):
    store, _ = prepared
    before = blob_times(store)
    wheels_before = {p.name: p.stat().st_mtime_ns for p in (store / "wheels").glob("*.whl")}
    started = time.monotonic()
    code, out = run_workshop("room", "prepare", "--upstream", UPSTREAM, "--store", str(store))
    took = time.monotonic() - started
    assert code == 0, out
    assert "this run fetched 0 blobs (0 B) and 0 wheels" in out
    assert "fetching" not in out
    assert blob_times(store) == before
    assert {p.name: p.stat().st_mtime_ns for p in (store / "wheels").glob("*.whl")} == (
        wheels_before
    )
    assert took < 15, f"a second prepare took {took:.1f} s"


def test_an_upstream_that_does_not_answer_is_one_sentence(tmp_path):
    port = free_port()
    code, out = run_workshop(
        "room", "prepare", "--upstream", f"http://127.0.0.1:{port}", "--store", str(tmp_path)
    )
    assert code == 1, out
    assert "Traceback" not in out
    assert out.count("Error:") == 1


def test_a_wrong_platform_is_one_sentence(tmp_path):
    code, out = run_workshop(
        "room", "prepare", "--upstream", UPSTREAM, "--platform", "amd64", "--store", str(tmp_path)
    )
    assert code == 1
    assert "'amd64' is not a platform: write it as OS/ARCH, e.g. linux/arm64." in out


def test_a_missing_registry_binary_says_how_to_install_it(tmp_path):
    code, out = run_workshop(
        "room",
        "prepare",
        "--upstream",
        UPSTREAM,
        "--store",
        str(tmp_path),
        env={"WORKSHOP_REGISTRY_BIN": "no-such-registry-binary"},
    )
    assert code == 1
    assert "`apt-get install docker-registry`" in out
    assert "registry:2" in out
    assert "Traceback" not in out


def test_an_image_the_upstream_lacks_is_listed_and_the_rest_fetched(tmp_path):
    labs = tmp_path / "labs"
    import shutil

    from tests.kit.room_parts import KIT_LABS

    shutil.copytree(KIT_LABS / "beginners", labs / "beginners")
    manifest = labs / "beginners" / "lab.toml"
    manifest.write_text(
        manifest.read_text().replace(
            'images = ["alpine:latest"]', 'images = ["alpine:latest", "kit-no-such-image:1"]'
        )
    )
    store = tmp_path / "store"
    code, out = run_workshop(
        "room",
        "prepare",
        "--upstream",
        "127.0.0.1:5000",
        "--store",
        str(store),
        env={"WORKSHOP_LABS": str(labs)},
    )
    assert code == 1, out
    assert "1 image(s) could not be fetched" in out
    assert "kit-no-such-image:1: the upstream does not serve it." in out
    room = json.loads((store / "room.json").read_text())
    assert list(room["images"]) == ["alpine:latest"]
    assert room["upstream"] == "http://127.0.0.1:5000"  # a loopback address is plain http


def test_upstream_addresses_are_normalised():
    from workshop.room.prepare import normalise_upstream

    assert normalise_upstream("127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert normalise_upstream("localhost:5000") == "http://localhost:5000"
    assert normalise_upstream("registry.example:443") == "https://registry.example:443"
    assert normalise_upstream("https://registry-1.docker.io") == "https://registry-1.docker.io"


def test_an_upstream_account_comes_from_the_environment_only(tmp_path, monkeypatch):
    from workshop.room.registry import Registry
    from workshop.room.store import Store

    monkeypatch.setenv("WORKSHOP_UPSTREAM_USER", "ada")
    monkeypatch.setenv("WORKSHOP_UPSTREAM_PASSWORD", "s3cret")
    proxy = Registry(Store(tmp_path), upstream="https://registry-1.docker.io").configuration()
    assert proxy["proxy"] == {
        "remoteurl": "https://registry-1.docker.io",
        "username": "ada",
        "password": "s3cret",
    }
    plain = Registry(Store(tmp_path), readonly=True).configuration()
    assert "proxy" not in plain
    assert plain["storage"]["maintenance"]["readonly"] == {"enabled": True}


def test_an_upstream_that_does_not_answer_says_why(tmp_path):
    """An https address on a plain-HTTP registry: the TLS failure is in the sentence."""
    from tests.kit.room_parts import stub_http

    with stub_http(lambda handler: handler.reply(200, b"{}")) as base:
        upstream = base.replace("http://", "https://")
        code, out = run_workshop(
            "room", "prepare", "--upstream", upstream, "--store", str(tmp_path)
        )
    assert code == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    assert (
        f"The upstream registry {upstream} does not answer ([SSL: WRONG_VERSION_NUMBER]" in out
    ), out
    assert "check the address (--upstream URL)" in out


def test_an_upstream_given_with_its_api_path_is_the_registry():
    from workshop.room.prepare import normalise_upstream

    assert normalise_upstream("https://registry.example/v2/") == "https://registry.example"
    assert normalise_upstream("https://registry.example/v2") == "https://registry.example"
    assert normalise_upstream("127.0.0.1:5000/v2/") == "http://127.0.0.1:5000"
    assert normalise_upstream("https://registry.example/v2mirror") == (
        "https://registry.example/v2mirror"
    )


def tiny_wheel(name: str = "tinykit", version: str = "1.0") -> tuple[str, bytes]:
    """A pure-Python wheel made by hand: (file name, bytes)."""
    import io
    import zipfile

    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": "",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return f"{name}-{version}-py3-none-any.whl", data.getvalue()


def test_wheels_are_recorded_from_a_store_path_with_a_space(tmp_path):
    """macOS's default store is under ~/Library/Application Support: pip's "Saved" lines name
    paths with a space, and every wheel is still recorded (and indexed)."""
    import threading

    from tests.kit.room_parts import hand_store
    from workshop.room import wheels
    from workshop.room.serve import index_server
    from workshop.room.store import Store

    name, data = tiny_wheel()
    source = hand_store(tmp_path / "source", refs=(), wheels={name: data})
    server = index_server(source, "127.0.0.1", free_port())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = Store(tmp_path / "Application Support" / "workshop room").make()
        room = store.read()
        requirements = tmp_path / "requirements.txt"
        requirements.write_text("tinykit==1.0\n")
        fetched = wheels.fetch(
            store,
            room,
            [("requirements.txt", requirements)],
            ["3.12"],
            ["linux/amd64"],
            say=lambda _: None,
            index=f"http://127.0.0.1:{server.server_address[1]}/simple/",
        )
    finally:
        server.shutdown()
        server.server_close()
    assert fetched == 1
    assert list(room["wheels"]["files"]) == [name]
    assert [s["files"] for s in room["wheels"]["sets"].values()] == [[name]]
    assert f'href="../../{name}#sha256=' in (store.wheels / "simple/tinykit/index.html").read_text()
