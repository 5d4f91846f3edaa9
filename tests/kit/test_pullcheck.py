"""Doctor's readiness for fetching: against a real registry mirror (Debian's `docker-registry`,
the CNCF distribution registry, on a free loopback port with its storage in tmp, holding a copy
of the local stand-in mirror's alpine), and a real PEP 503 index (`python -m http.server` on a
folder of project pages). Up and down, present, pullable and missing, and an engine that does
not pull through the room's mirror (the shared engine's is 127.0.0.1:5000, not ours)."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workshop import pullcheck
from workshop.doctor import FAIL, OK, WARN
from workshop.needs import CourseNeeds, ImageNeed, PackageNeed, course_needs
from workshop.roomurls import Room

STANDIN = "http://127.0.0.1:5000"  # the local stand-in mirror scripts/engine serves
PINS = {"flask": "3.1.3", "flask-cors": "6.0.5", "gunicorn": "27.0.1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _get(url: str, accept: str = "") -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read(), answer.headers.get("Content-Type", "")


def _put_blob(base: str, repository: str, digest: str, data: bytes) -> None:
    started = urllib.request.Request(
        f"{base}/v2/{repository}/blobs/uploads/", method="POST", data=b""
    )
    with urllib.request.urlopen(started, timeout=30) as answer:
        location = answer.headers["Location"]
    if location.startswith("/"):
        location = base + location
    joiner = "&" if "?" in location else "?"
    put = urllib.request.Request(
        f"{location}{joiner}digest={digest}",
        method="PUT",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    urllib.request.urlopen(put, timeout=60).close()


def copy_image(source: str, target: str, repository: str, reference: str) -> None:
    """Copy a manifest (an index with its platforms' manifests) and its blobs between two
    registries over the distribution API."""
    body, kind = _get(f"{source}/v2/{repository}/manifests/{reference}", pullcheck.MANIFESTS)
    manifest = json.loads(body)
    for child in manifest.get("manifests", []):
        copy_image(source, target, repository, child["digest"])
    for blob in [manifest.get("config"), *manifest.get("layers", [])]:
        if blob:
            data, _ = _get(f"{source}/v2/{repository}/blobs/{blob['digest']}")
            _put_blob(target, repository, blob["digest"], data)
    put = urllib.request.Request(
        f"{target}/v2/{repository}/manifests/{reference}",
        method="PUT",
        data=body,
        headers={"Content-Type": kind.split(";")[0]},
    )
    urllib.request.urlopen(put, timeout=30).close()


class Registry:
    """Debian's docker-registry with a config of our own: loopback, storage in tmp, no auth."""

    def __init__(self, root: Path):
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Registry:
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
            "http:\n"
            f"  addr: 127.0.0.1:{self.port}\n"
        )
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        wait_for(f"{self.url}/v2/")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A room's mirror holding alpine:latest (copied from the stand-in mirror), not python."""
    if shutil.which("docker-registry") is None:
        pytest.skip("needs Debian's docker-registry (apt-get install docker-registry)")
    try:
        _get(f"{STANDIN}/v2/library/alpine/manifests/latest", pullcheck.MANIFESTS)
    except OSError:
        pytest.skip(f"the stand-in mirror {STANDIN} holds no alpine: run `make engine`")
    registry = Registry(tmp_path_factory.mktemp("mirror")).start()
    try:
        copy_image(STANDIN, registry.url, "library/alpine", "latest")
        yield registry
    finally:
        registry.stop()


def write_index(root: Path, pins: dict[str, str], files: dict | None = None) -> Path:
    """A static PEP 503 index: /simple/<project>/ lists each pinned file (a wheel for any
    platform, or the files `files` names for the project)."""
    simple = root / "simple"
    for name, version in pins.items():
        page = simple / pullcheck.canonical(name)
        page.mkdir(parents=True)
        listed = (files or {}).get(name) or [f"{name.replace('-', '_')}-{version}-py3-none-any.whl"]
        links = "".join(
            f'<a href="../../files/{file}#sha256={hashlib.sha256(file.encode()).hexdigest()}">'
            f"{file}</a>"
            for file in listed
        )
        page.joinpath("index.html").write_text(f"<!DOCTYPE html><html><body>{links}</body></html>")
    return simple


@pytest.fixture
def index(tmp_path):
    """`python -m http.server` on a folder: yields a function that serves `pins` as an index."""
    started: list[subprocess.Popen] = []

    def serve(pins: dict[str, str], files: dict | None = None) -> str:
        root = tmp_path / f"index{len(started)}"
        write_index(root, pins, files)
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}/simple/"
        wait_for(url)
        return url

    yield serve
    for process in started:
        process.terminate()
        process.wait(10)


def closed_port_url(path: str = "") -> str:
    return f"http://127.0.0.1:{free_port()}{path}"


def using(mirror_url: str) -> dict:
    """`docker info` of an engine that pulls through `mirror_url` (loopback: insecure allowed)."""
    return {
        "RegistryConfig": {
            "Mirrors": [mirror_url + "/"],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {},
        }
    }


def by_topic(found) -> dict:
    out: dict = {}
    for finding in found:
        out.setdefault(finding.topic, []).append(finding)
    return out


@pytest.fixture
def online(monkeypatch):
    """Docker Hub and PyPI as this test says (never the internet's)."""
    monkeypatch.delenv("WORKSHOP_REGISTRY", raising=False)

    def point(hub: str, pypi: str) -> None:
        monkeypatch.setattr(pullcheck, "HUB", hub)
        monkeypatch.setattr(pullcheck, "PYPI", pypi)

    return point


# --- against a real mirror and index ----------------------------------------------------------


def test_an_image_on_the_mirror_is_pullable_one_not_there_is_missing(mirror, index):
    needs = course_needs()
    room = Room(mirror.url, index(PINS))
    absent = {need.ref: False for need in needs.images}
    found, pull = pullcheck.examine(room, using(mirror.url), absent, needs)
    topics = by_topic(found)
    assert topics["room mirror"][0].status == OK
    alpine = topics["image alpine:latest"][0]
    assert (alpine.status, alpine.detail) == (
        OK,
        f"not here yet; pullable from the room's mirror {mirror.url}",
    )
    python = topics["image python:3.12-slim"][0]
    assert python.status == FAIL
    assert f"the room's mirror {mirror.url} does not have it" in python.detail
    assert "workshop room check" in python.detail
    assert pull.can is False
    # the mirror holds only alpine: every other image the course needs is named
    assert pull.because == [
        f"{need.ref}: not on the room's mirror {mirror.url}"
        for need in needs.images
        if need.ref != "alpine:latest"
    ]
    assert topics["package index"][0].status == OK


def test_images_here_already_need_no_mirror_answer(mirror, index):
    needs = course_needs()
    present = {need.ref: True for need in needs.images}
    found, pull = pullcheck.examine(
        Room(mirror.url, index(PINS)), using(mirror.url), present, needs
    )
    assert [f.detail for f in found if f.topic.startswith("image ")] == ["here already"] * len(
        needs.images
    )
    assert pull.can is True and pull.because == []


def test_a_mirror_that_is_down_says_it_does_not_answer_never_missing(index):
    needs = course_needs()
    down = closed_port_url()
    absent = {need.ref: False for need in needs.images}
    found, pull = pullcheck.examine(Room(down, index(PINS)), using(down), absent, needs)
    said = [f for f in found if f.topic == "room mirror" and f.status == FAIL]
    assert len(said) == 1
    assert f"the room's mirror {down} does not answer from this machine" in said[0].detail
    assert "join the room's network" in said[0].detail
    assert not any("does not have" in f.detail or "missing" in f.detail for f in found)
    assert pull.can is False and "does not answer" in pull.because[0]


@pytest.mark.engine
def test_the_engine_not_using_the_mirror_names_the_fix(mirror, engine):
    """The shared engine pulls through the stand-in mirror 127.0.0.1:5000, not ours."""
    info = engine.info()
    needs = course_needs()
    present = {need.ref: need.ref == "alpine:latest" for need in needs.images}  # some to pull
    found, pull = pullcheck.examine(Room(mirror.url, ""), info, present, needs, "Docker Engine")
    said = next(f for f in found if f.topic == "room mirror")
    host = mirror.url.removeprefix("http://")
    assert said.status == FAIL
    assert f"your engine does not pull through the room's mirror {mirror.url}" in said.detail
    assert f'"registry-mirrors": ["{mirror.url}"]' in said.detail
    assert f'"insecure-registries": ["{host}"]' in said.detail
    assert "/etc/docker/daemon.json" in said.detail and "restart docker" in said.detail
    assert "Settings → Docker Engine" in said.detail
    assert pull.can is False


def test_docker_desktop_is_told_its_settings_page():
    detail = pullcheck.mirror_fix("http://10.0.0.5:5000", "Docker Desktop")
    assert detail.startswith("in Docker Desktop, open Settings → Docker Engine, add ")
    assert '"insecure-registries": ["10.0.0.5:5000"]' in detail and "daemon.json" not in detail
    # an https mirror needs no insecure line
    assert "insecure" not in pullcheck.mirror_fix("https://mirror.example:5000", "Docker Engine")


def test_the_engines_mirror_is_compared_normalised():
    info = {"RegistryConfig": {"Mirrors": ["HTTP://127.0.0.1:5000/"]}}
    assert pullcheck.uses_mirror(info, "http://127.0.0.1:5000")
    assert not pullcheck.uses_mirror(info, "http://127.0.0.1:5001")
    assert pullcheck.uses_mirror(
        {"RegistryConfig": {"Mirrors": ["https://m.example/"]}}, "https://m.example:443"
    )


def test_an_http_mirror_the_engine_may_not_use_insecurely_is_said():
    info = {
        "RegistryConfig": {
            "Mirrors": ["http://10.0.0.5:5000/"],
            "InsecureRegistryCIDRs": ["127.0.0.0/8"],
            "IndexConfigs": {},
        }
    }
    assert not pullcheck.insecure_ok(info, "http://10.0.0.5:5000")
    info["RegistryConfig"]["IndexConfigs"]["10.0.0.5:5000"] = {"Secure": False}
    assert pullcheck.insecure_ok(info, "http://10.0.0.5:5000")


def test_an_engine_not_using_the_mirror_with_every_image_here_is_ready(index):
    """After `workshop bundle load` the engine has every image: the mirror is only for later."""
    from tests.kit.hub import registry

    needs = course_needs()
    present = {need.ref: True for need in needs.images}
    elsewhere = {"RegistryConfig": {"Mirrors": [], "IndexConfigs": {}}}
    with registry({}) as (url, _):  # a room's mirror that answers (and holds nothing)
        found, pull = pullcheck.examine(Room(url, index(PINS)), elsewhere, present, needs)
        said = next(f for f in found if f.topic == "room mirror")
        assert said.status == WARN
        assert said.detail.startswith(
            f"your engine does not pull through the room's mirror {url}, but every image "
            "the labs need is here already: ready (to pull through the room later: add "
        )
        assert not any(f.status == FAIL for f in found)
        assert pull.can is True and pull.because == []
        # one image missing: the engine cannot get it, a failure as before
        present["python:3.12-slim"] = False
        found, pull = pullcheck.examine(Room(url, index(PINS)), elsewhere, present, needs)
    said = next(f for f in found if f.topic == "room mirror")
    assert said.status == FAIL and "so pulls go to Docker Hub" in said.detail
    assert pull.can is False
    assert pull.because[0] == f"engine does not use the room's mirror {url}"


def test_a_mirror_that_is_down_with_every_image_here_is_ready(index):
    needs = course_needs()
    down = closed_port_url()
    present = {need.ref: True for need in needs.images}
    found, pull = pullcheck.examine(Room(down, index(PINS)), using(down), present, needs)
    said = [f for f in found if f.topic == "room mirror" and f.status != OK]
    assert [f.status for f in said] == [WARN]
    assert said[0].detail.startswith(f"the room's mirror {down} does not answer from this machine")
    assert "but every image the labs need is here already: ready" in said[0].detail
    assert pull.can is True


def _manifest_body(architecture: str) -> tuple[str, bytes]:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": "sha256:" + hashlib.sha256(architecture.encode()).hexdigest(),
                "size": 2,
            },
            "layers": [],
        }
    ).encode()
    return "sha256:" + hashlib.sha256(body).hexdigest(), body


def an_amd64_only_store() -> tuple[dict, str]:
    """What a room store prepared for linux/amd64 only serves of alpine:latest: the tag's index
    lists every platform upstream has (and an attestation), but only amd64's manifest is there."""
    amd64, amd64_body = _manifest_body("amd64")
    arm64, _ = _manifest_body("arm64")
    kind = "application/vnd.oci.image.manifest.v1+json"
    listed = [
        (amd64, {"os": "linux", "architecture": "amd64"}),
        (arm64, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
        ("sha256:" + "0" * 64, {"os": "unknown", "architecture": "unknown"}),  # an attestation
    ]
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": kind, "digest": digest, "size": 1, "platform": platform}
            for digest, platform in listed
        ],
    }
    files = {
        "/v2/library/alpine/manifests/latest": (
            "application/vnd.oci.image.index.v1+json",
            json.dumps(index).encode(),
        ),
        f"/v2/library/alpine/manifests/{amd64}": (kind, amd64_body),
    }
    return files, arm64


ALPINE_ONLY = CourseNeeds(
    images=(ImageNeed("alpine:latest", ("beginners",)),), packages=(), disk_gb=0
)


def test_a_mirror_without_the_engines_platform_says_so_with_the_fix():
    """A HEAD of the tag says 200 on any platform; the pull on an arm64 laptop would fail in
    class. The index is read (the room's mirror has no pull limit) and the arm64 manifest asked."""
    from tests.kit.hub import registry

    files, arm64 = an_amd64_only_store()
    with registry(files) as (url, seen):
        arm = {**using(url), "OSType": "linux", "Architecture": "aarch64"}
        found, pull = pullcheck.examine(Room(url, ""), arm, {"alpine:latest": False}, ALPINE_ONLY)
        said = by_topic(found)["image alpine:latest"][0]
        assert (said.status, said.detail) == (
            FAIL,
            "not here, and the room's mirror has no copy of it for your engine's linux/arm64 "
            "(it holds linux/amd64): ask your instructor to prepare linux/arm64 too "
            "(`workshop room prepare --platform linux/amd64 --platform linux/arm64`)",
        )
        assert pull.can is False
        assert pull.because == [f"alpine:latest: no linux/arm64 copy on the room's mirror {url}"]
        assert ("HEAD", f"/v2/library/alpine/manifests/{arm64}") in seen
        # an amd64 engine pulls it from the same mirror
        amd = {**using(url), "OSType": "linux", "Architecture": "x86_64"}
        found, pull = pullcheck.examine(Room(url, ""), amd, {"alpine:latest": False}, ALPINE_ONLY)
        said = by_topic(found)["image alpine:latest"][0]
        assert (said.status, said.detail) == (
            OK,
            f"not here yet; pullable from the room's mirror {url}",
        )
        assert pull.can is True


def test_a_one_platform_image_of_another_platform_is_a_note():
    """An image of one platform (linux/amd64), no index, as the stand-in mirror's alpine is: an
    arm64 engine pulls it, and runs it only under emulation."""
    from tests.kit.hub import registry

    config = json.dumps({"os": "linux", "architecture": "amd64"}).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": config_digest, "size": len(config)},
            "layers": [],
        }
    ).encode()
    files = {
        "/v2/library/alpine/manifests/latest": (
            "application/vnd.docker.distribution.manifest.v2+json",
            manifest,
        ),
        f"/v2/library/alpine/blobs/{config_digest}": ("application/octet-stream", config),
    }
    with registry(files) as (url, _):
        arm = {**using(url), "OSType": "linux", "Architecture": "aarch64"}
        found, pull = pullcheck.examine(Room(url, ""), arm, {"alpine:latest": False}, ALPINE_ONLY)
        amd = {**using(url), "OSType": "linux", "Architecture": "x86_64"}
        on_amd64, _ = pullcheck.examine(Room(url, ""), amd, {"alpine:latest": False}, ALPINE_ONLY)
    said = by_topic(found)["image alpine:latest"][0]
    assert said.status == WARN
    assert said.detail == (
        f"not here; the room's mirror {url} holds it for linux/amd64 only (one image, no "
        "other platform), not for your engine's linux/arm64: it runs only if your engine "
        "emulates linux/amd64 (Docker Desktop does)"
    )
    assert pull.can is True
    assert by_topic(on_amd64)["image alpine:latest"][0].status == OK


def test_the_engines_platform_is_named_as_images_name_it():
    assert pullcheck.engine_platform({"OSType": "linux", "Architecture": "aarch64"}) == (
        "linux/arm64"
    )
    assert pullcheck.engine_platform({"OSType": "linux", "Architecture": "x86_64"}) == (
        "linux/amd64"
    )
    # `docker version` names Go's arch; the kernel's says the arm variant
    info = {"OSType": "linux", "Architecture": "armv7l"}
    assert pullcheck.engine_platform(info, {"Os": "linux", "Arch": "arm"}) == "linux/arm/v7"
    assert pullcheck.engine_platform({}, {"Os": "linux", "Arch": "arm64"}) == "linux/arm64"
    assert pullcheck.engine_platform({}) == ""


def test_an_index_missing_a_package_or_a_version_names_it(mirror, index):
    needs = course_needs()
    present = {need.ref: True for need in needs.images}
    partial = index({"flask": PINS["flask"], "flask-cors": "6.0.4"})  # no gunicorn; another cors
    found, pull = pullcheck.examine(Room(mirror.url, partial), using(mirror.url), present, needs)
    said = next(f for f in found if f.topic == "package index")
    assert said.status == FAIL
    assert f"the room's package index {partial} has no flask-cors==6.0.5, gunicorn==27.0.1" in (
        said.detail
    )
    assert pull.can is False


MARKUPSAFE = [  # as the room's index holds it when prepared for linux/amd64 only (no source)
    "MarkupSafe-3.0.2-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "MarkupSafe-3.0.2-cp312-cp312-musllinux_1_2_x86_64.whl",
]


def test_an_index_without_a_wheel_for_the_engines_platform_names_it(monkeypatch, index, tmp_path):
    """markupsafe has compiled parts: an index with its x86_64 wheels only cannot serve an arm64
    engine's build, though it holds markupsafe==3.0.2."""
    monkeypatch.setenv("WORKSHOP_REGISTRY", "off")  # nothing asked of Docker Hub
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("flask==3.1.3\nmarkupsafe==3.0.2\n")
    needs = CourseNeeds(
        images=(ImageNeed("python:3.12-slim", ("mysfits",)),),
        packages=(PackageNeed(requirements, ("mysfits",)),),
        disk_gb=0,
    )
    url = index({"flask": "3.1.3", "markupsafe": "3.0.2"}, {"markupsafe": MARKUPSAFE})
    here = {"python:3.12-slim": True}
    arm = {"RegistryConfig": {}, "OSType": "linux", "Architecture": "aarch64"}
    found, pull = pullcheck.examine(Room("", url), arm, here, needs)
    said = by_topic(found)["package index"]
    assert [(f.status, f.detail) for f in said] == [
        (
            FAIL,
            f"the room's package index {url} has no wheel of markupsafe==3.0.2 for Python 3.12 "
            "on linux/arm64, nor its source: the image builds' pip install will fail on your "
            "engine; ask your instructor to prepare linux/arm64 too (`workshop room prepare "
            "--platform linux/amd64 --platform linux/arm64`)",
        ),
        (
            OK,
            f"the room's package index {url} has flask==3.1.3; a wheel for Python 3.12 on "
            "linux/arm64 of flask==3.1.3 (the pinned requirements only, not what they depend on)",
        ),
    ]
    assert pull.can is False
    assert pull.because == [
        "the room's package index has no wheel of markupsafe==3.0.2 for Python 3.12 on linux/arm64"
    ]
    amd = {**arm, "Architecture": "x86_64"}
    found, pull = pullcheck.examine(Room("", url), amd, here, needs)
    assert [(f.status, f.detail) for f in by_topic(found)["package index"]] == [
        (
            OK,
            f"the room's package index {url} has flask==3.1.3, markupsafe==3.0.2; a wheel for "
            "Python 3.12 on linux/amd64 of each (the pinned requirements only, not what they "
            "depend on)",
        )
    ]
    assert pull.can is True


def test_a_wheel_fits_by_its_file_names_tags():
    fit = pullcheck.wheel_fit
    with_source = [*MARKUPSAFE, "markupsafe-3.0.2.tar.gz"]
    # PyPI has its source too: pip builds it on arm64, a note
    assert fit(with_source, "MarkupSafe", "3.0.2", "linux/arm64", ["3.12"]) == (
        "source",
        {"x86_64"},
    )
    assert fit(with_source, "markupsafe", "3.0.2", "linux/amd64", ["3.12"])[0] == "wheel"
    assert fit(with_source, "markupsafe", "3.0.2", "linux/amd64", ["3.13"])[0] == "source"
    assert fit(MARKUPSAFE, "markupsafe", "3.0.2", "linux/amd64", ["3.12", "3.13"])[0] == "none"
    # the stable ABI from 3.8 on; glibc newer than the images' Debian 12 (2.36) is not theirs
    abi3 = ["x-1.0-cp38-abi3-manylinux_2_28_aarch64.whl"]
    assert fit(abi3, "x", "1.0", "linux/arm64", ["3.12"])[0] == "wheel"
    newer = ["x-1.0-cp38-abi3-manylinux_2_39_aarch64.whl"]
    assert fit(newer, "x", "1.0", "linux/arm64", ["3.12"])[0] == "none"
    assert fit(["x-1.0-py3-none-any.whl"], "x", "1.0", "linux/arm/v7", [])[0] == "wheel"
    assert pullcheck.course_pythons(["python:3.12-slim", "alpine:latest", "python"]) == ["3.12"]


def test_an_index_that_is_down_is_said_with_its_fix(mirror):
    needs = course_needs()
    present = {need.ref: True for need in needs.images}
    down = closed_port_url("/simple/")
    found, pull = pullcheck.examine(Room(mirror.url, down), using(mirror.url), present, needs)
    said = next(f for f in found if f.topic == "package index")
    assert said.status == FAIL
    assert said.detail.startswith(f"the room's package index {down} does not answer")
    assert "Connection refused" in said.detail
    assert pull.can is False


# --- online: Docker Hub and PyPI, and no network ------------------------------------------------


def test_no_network_says_cannot_check_never_missing(online, index):
    online(closed_port_url(), closed_port_url("/simple/"))
    needs = course_needs()
    absent = {need.ref: False for need in needs.images}
    found, pull = pullcheck.examine(Room(), {"RegistryConfig": {}}, absent, needs)
    topics = by_topic(found)
    cannot = topics["images"][0]
    assert cannot.status == WARN
    refs = ", ".join(need.ref for need in needs.images)
    assert cannot.detail.startswith(f"cannot check whether {refs} can be")
    assert topics["Docker Hub pulls"][0].detail.startswith("cannot check the anonymous pulls")
    assert topics["package index"][0].status == WARN
    assert not any(f.status == FAIL for f in found)
    assert not any("missing" in f.detail or "does not have" in f.detail for f in found)
    assert pull.can is None


def test_online_the_hub_is_asked_with_a_head_and_an_anonymous_token(online, index, tmp_path):
    """A registry that wants a bearer token, as Docker Hub does (a stand-in on loopback): the
    manifest is asked with HEAD (no pull spent), the rate-limit headers are read."""
    from tests.kit.hub import hub

    with hub() as (url, seen):
        online(url, index(PINS))
        needs = course_needs()
        absent = {need.ref: False for need in needs.images}
        found, pull = pullcheck.examine(Room(), {"RegistryConfig": {}}, absent, needs)
    topics = by_topic(found)
    assert topics["image alpine:latest"][0].detail == "not here yet; pullable from Docker Hub"
    assert topics["image python:3.12-slim"][0].status == FAIL
    rate = topics["Docker Hub pulls"][0]
    assert rate.status == OK
    assert rate.detail == (
        f"76 of 100 anonymous pulls left for this address in 6 h; the labs need {len(needs.images)}"
    )
    assert {method for method, path in seen if "/manifests/" in path} == {"HEAD"}
    assert ("GET", "/token") in {(m, p.split("?")[0]) for m, p in seen}
    assert pull.can is False


# --- pure logic --------------------------------------------------------------------------------


def test_the_rate_limit_headers_are_read():
    headers = {"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "3;w=21600"}
    assert pullcheck.parse_ratelimit(headers) == (3, 100)
    assert pullcheck.window_hours(headers) == 6
    assert pullcheck.parse_ratelimit({}) is None
    assert pullcheck.parse_ratelimit({"ratelimit-limit": "100;w=21600"}) is None


def test_few_pulls_left_warns_none_left_fails():
    assert pullcheck.rate_finding((50, 100), 2, 6).status == OK
    low = pullcheck.rate_finding((1, 100), 2, 6)
    assert low.status == WARN
    assert low.detail.startswith(
        "1 of 100 anonymous pulls left for this address in 6 h, and the labs need 2"
    )
    assert pullcheck.rate_finding((0, 100), 2).status == FAIL
    assert pullcheck.rate_finding(None, 2).detail == (
        "no anonymous pull limit reported for this address"
    )


def test_pins_and_index_files_are_matched_as_pep_503_names():
    assert pullcheck.pins(
        ["Flask==3.1.3", "flask-cors [x] == 6.0.5 ; python_version>'3'", "x>=1"]
    ) == [
        ("Flask", "3.1.3"),
        ("flask-cors", "6.0.5"),
    ]
    files = pullcheck.file_names(
        '<a href="/f/flask_cors-6.0.5-py3-none-any.whl#sha256=00">x</a>'
        '<a href="Flask-Cors-6.0.4.tar.gz">y</a>'
    )
    assert files == ["flask_cors-6.0.5-py3-none-any.whl", "Flask-Cors-6.0.4.tar.gz"]
    assert pullcheck.holds(files, "Flask-CORS", "6.0.5")
    assert pullcheck.holds(files, "flask.cors", "6.0.4")
    assert not pullcheck.holds(files, "flask-cors", "6.0.3")


def test_docker_desktops_free_disk_is_said_not_checked(tmp_path):
    """Docker Desktop's data is in its virtual machine, and `docker info` says nothing of its
    free disk: the kit says it did not check, and where the learner looks; a note only when
    the labs need much."""
    from workshop.doctor import DISK_MUCH_GB, disk_finding

    # the host may have a /var/lib/docker of its own: it is not Docker Desktop's disk
    desktop = {"DockerRootDir": str(tmp_path), "OperatingSystem": "Docker Desktop"}
    said, free = disk_finding(desktop, "Docker Desktop", 2)
    assert free is None
    assert said.detail == (
        "not checked: Docker Desktop keeps the engine's data in its virtual machine, and "
        "`docker info` does not say how much disk is free there; the labs need about 2 GiB in "
        "all: see Docker Desktop → Settings → Resources → Disk usage limit"
    )
    assert said.status == OK
    assert disk_finding(desktop, "Docker Desktop", DISK_MUCH_GB + 5)[0].status == WARN
    # an engine whose data this machine does not see (a VM, another host)
    podman = {"DockerRootDir": str(tmp_path / "not-here")}
    said, free = disk_finding(podman, "Podman", 20)
    assert said.status == WARN and free is None
    assert said.detail.startswith(f"not checked: the engine keeps its data in {tmp_path}/not-here")
    assert said.detail.endswith(f"run `podman machine ssh df -h {tmp_path}/not-here`")
    # a local engine's disk is measured, as before
    said, free = disk_finding({"DockerRootDir": str(tmp_path)}, "Docker Engine", 0)
    assert free is not None and said.detail.startswith(f"{free:.1f} GiB free under {tmp_path}")


# --- `workshop doctor` itself, on the shared engine --------------------------------------------


@pytest.mark.engine
def test_doctor_json_carries_the_findings_and_the_pull_fact(mirror, index, workshop):
    shown = workshop("doctor", "--json", "--mirror", mirror.url, "--index", index(PINS))
    data = json.loads(shown.out)
    said = next(f for f in data["findings"] if f["topic"] == "room mirror")
    assert f'"registry-mirrors": ["{mirror.url}"]' in said["detail"]
    pull = data["facts"]["pull"]
    if all(data["facts"]["lab_images"].values()):  # others use the shared engine too
        # the engine does not pull through our mirror, but needs not to: a note, ready
        assert said["status"] == "warn" and pull["can"] is True, shown
        return
    assert shown.code == 1, shown  # the engine does not pull through our mirror
    assert said["status"] == "fail"
    assert pull["can"] is False
    assert pull["because"][0] == f"engine does not use the room's mirror {mirror.url}"
    # images the shared engine lacks now (others use it too) are the mirror's: only python's
    others = {need.ref for need in course_needs().images} - {"alpine:latest"}
    assert set(pull["because"][1:]) <= {
        f"{ref}: not on the room's mirror {mirror.url}" for ref in others
    }


@pytest.mark.engine
def test_doctor_with_the_engines_own_mirror_as_the_rooms_is_ready_to_pull(index, workshop):
    """The shared engine pulls through the stand-in mirror: as the room's, it is used."""
    shown = workshop("doctor", "--mirror", STANDIN, "--index", index(PINS))
    assert f"ok   room mirror: your engine pulls through the room's mirror {STANDIN}" in shown.out
    assert "ok   package index: the room's package index" in shown.out


@pytest.mark.engine
def test_doctor_takes_the_room_from_the_environment_and_refuses_a_bad_one(workshop):
    shown = workshop("doctor", env={"WORKSHOP_MIRROR": "ftp://10.0.0.5"})
    assert shown.code == 2
    assert "WORKSHOP_MIRROR 'ftp://10.0.0.5' is not an address learners can reach" in shown.out


def test_a_mirror_that_hangs_is_bounded_in_time(monkeypatch, index):
    """A server that takes the connection and never answers: doctor waits its deadline, no more."""
    monkeypatch.setattr(pullcheck, "TIMEOUT", 0.5)
    monkeypatch.setattr(pullcheck, "DEADLINE", 1.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # never accepted: connections wait in the backlog, no byte comes back
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        needs = course_needs()
        absent = {need.ref: False for need in needs.images}
        began = time.monotonic()
        found, pull = pullcheck.examine(Room(url, index(PINS)), using(url), absent, needs)
        took = time.monotonic() - began
    assert took < 2.0, took
    said = next(f for f in found if f.topic == "room mirror" and f.status == FAIL)
    assert f"the room's mirror {url} does not answer from this machine (" in said.detail
    assert pull.can is False


def test_an_index_given_as_the_mirror_is_said(index):
    wrong = index(PINS).removesuffix("/simple/")  # http.server: 404 at /v2/
    needs = course_needs()
    present = {need.ref: False for need in needs.images}
    found, pull = pullcheck.examine(Room(wrong, ""), using(wrong), present, needs)
    said = next(f for f in found if f.topic == "room mirror" and f.status == FAIL)
    assert "HTTP 404 at /v2/: is it the registry's address?" in said.detail
    assert pull.can is False


def test_engines_configured_other_ways_are_told_their_own_fix():
    rootless = pullcheck.mirror_fix("http://10.0.0.5:5000", "Docker Engine", rootless=True)
    assert "~/.config/docker/daemon.json" in rootless and "systemctl --user restart docker" in (
        rootless
    )
    podman = pullcheck.mirror_fix("http://10.0.0.5:5000", "Podman")
    assert "/etc/containers/registries.conf" in podman
    assert 'location = "10.0.0.5:5000" insecure = true' in podman
    assert pullcheck.rootless({"SecurityOptions": ["name=seccomp", "name=rootless"]})
    # an engine that lists its Docker Hub mirrors only under IndexConfigs (Podman's API does)
    info = {"RegistryConfig": {"IndexConfigs": {"docker.io": {"Mirrors": ["10.0.0.5:5000"]}}}}
    assert pullcheck.uses_mirror(info, "https://10.0.0.5:5000")
