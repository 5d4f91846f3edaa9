"""Another upstream: a registry of the test's own whose alpine is a multi-platform index
(linux/amd64 and linux/arm64/v8, made from the stand-in's layer with two configs), served by
the distribution registry on a free port. prepare keeps the index digest and both platforms;
a platform the index lacks is one sentence; a second run fetches nothing; the bundle carries
both; room check serves both; the learner's engine loads its own platform with the source's
image ID."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from tests.kit.room_parts import (
    UPSTREAM,
    LearnerEngine,
    generations,
    needs_dockerd,
    needs_registry,
    needs_upstream,
    run_workshop,
    serving,
)

pytestmark = [needs_registry, needs_upstream]
LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(base: str, repo: str, data: bytes) -> str:
    digest = digest_of(data)
    started = requests.post(f"{base}/v2/{repo}/blobs/uploads/", timeout=30)
    assert started.status_code == 202, started.text
    where = started.headers["Location"]
    where = where if where.startswith("http") else base + where
    done = requests.put(
        where + ("&" if "?" in where else "?") + "digest=" + digest,
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert done.status_code == 201, done.text
    return digest


def push_manifest(base: str, repo: str, ref: str, body: dict, media_type: str) -> str:
    data = json.dumps(body).encode()
    done = requests.put(
        f"{base}/v2/{repo}/manifests/{ref}",
        data=data,
        headers={"Content-Type": media_type},
        timeout=30,
    )
    assert done.status_code == 201, done.text
    return digest_of(data)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """Our own registry, holding library/alpine:latest as an index of two platforms."""
    from workshop.room import v2
    from workshop.room.registry import Registry
    from workshop.room.store import Store

    with v2.Client(UPSTREAM) as standin:
        top = standin.manifest("library/alpine", "latest")
        config = json.loads(standin.blob("library/alpine", top.json["config"]["digest"]))
        layer_descriptor = top.json["layers"][0]
        layer = standin.blob("library/alpine", layer_descriptor["digest"])
    own = Store(tmp_path_factory.mktemp("upstream") / "store")
    with Registry(own) as registry:
        base = registry.url
        push_blob(base, "library/alpine", layer)
        manifests = []
        for arch, variant in (("amd64", None), ("arm64", "v8")):
            body = dict(config, architecture=arch)
            if variant:
                body["variant"] = variant
            raw = json.dumps(body).encode()
            config_digest = push_blob(base, "library/alpine", raw)
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(raw),
                    "digest": config_digest,
                },
                "layers": [layer_descriptor],
            }
            data = json.dumps(manifest).encode()
            push_manifest(base, "library/alpine", digest_of(data), manifest, MANIFEST)
            platform = {"architecture": arch, "os": "linux"}
            if variant:
                platform["variant"] = variant
            manifests.append(
                {
                    "mediaType": MANIFEST,
                    "size": len(data),
                    "digest": digest_of(data),
                    "platform": platform,
                    "config": config_digest,
                }
            )
        index = {
            "schemaVersion": 2,
            "mediaType": LIST,
            "manifests": [{k: v for k, v in m.items() if k != "config"} for m in manifests],
        }
        index_digest = push_manifest(base, "library/alpine", "latest", index, LIST)
        yield {
            "url": base,
            "index": index_digest,
            "manifests": {m["platform"]["architecture"]: m for m in manifests},
        }


@pytest.fixture(scope="module")
def needs_file(tmp_path_factory):
    """A course of one lab that needs alpine only."""
    import shutil

    from tests.kit.room_parts import KIT_LABS

    labs = tmp_path_factory.mktemp("labs") / "labs"
    shutil.copytree(KIT_LABS / "beginners", labs / "beginners")
    return labs


@pytest.fixture(scope="module")
def prepared(upstream, needs_file, tmp_path_factory):
    store = tmp_path_factory.mktemp("room") / "store"
    code, out = run_workshop(
        "room",
        "prepare",
        "--upstream",
        upstream["url"],
        "--store",
        str(store),
        "--platform",
        "linux/amd64",
        "--platform",
        "linux/arm64",
        "--platform",
        "linux/s390x",
        env={"WORKSHOP_LABS": str(needs_file)},
    )
    assert code == 0, out
    return store, out


def test_prepare_keeps_the_index_and_each_platform(prepared, upstream):
    store, out = prepared
    entry = json.loads((store / "room.json").read_text())["images"]["alpine:latest"]
    assert entry["digest"] == upstream["index"]
    assert entry["media_type"] == LIST
    assert entry["platforms"]["linux/amd64"]["manifest"] == upstream["manifests"]["amd64"]["digest"]
    assert entry["platforms"]["linux/arm64"]["manifest"] == upstream["manifests"]["arm64"]["digest"]
    assert entry["platforms"]["linux/arm64"]["config"] == upstream["manifests"]["arm64"]["config"]
    assert entry["missing"] == ["linux/s390x"]
    assert (
        "alpine:latest: the upstream has no linux/s390x image (it serves linux/amd64, "
        "linux/arm64/v8), so learners on linux/s390x cannot pull it from the room." in out
    )


def test_a_second_prepare_from_it_fetches_nothing(prepared, upstream, needs_file):
    store, _ = prepared
    code, out = run_workshop(
        "room",
        "prepare",
        "--upstream",
        upstream["url"],
        "--store",
        str(store),
        env={"WORKSHOP_LABS": str(needs_file)},
    )
    assert code == 0, out
    assert "this run fetched 0 blobs (0 B) and 0 wheels" in out


def test_the_room_serves_both_platforms_and_a_bundle_carries_them(prepared, needs_file, tmp_path):
    store, _ = prepared
    env = {"WORKSHOP_LABS": str(needs_file)}
    bundle = tmp_path / "room.tar"
    assert run_workshop("bundle", "save", str(bundle), "--store", str(store))[0] == 0
    fresh = tmp_path / "fresh"
    code, out = run_workshop("bundle", "load", str(bundle), "--store", str(fresh), "--no-engine")
    assert code == 0, out
    with serving(fresh) as (_, mirror, index):
        code, out = run_workshop(
            "room", "check", "--store", str(fresh), "--mirror", mirror, "--index", index, env=env
        )
    assert code == 0, out
    assert "alpine:latest linux/amd64: served" in out
    assert "alpine:latest linux/arm64: served" in out


@needs_dockerd
@pytest.mark.engine
@pytest.mark.parametrize("generation", generations())
def test_the_learner_engine_loads_its_platform_with_the_source_id(
    prepared, upstream, tmp_path, generation
):
    store, _ = prepared
    bundle = tmp_path / "room.tar"
    assert run_workshop("bundle", "save", str(bundle), "--store", str(store))[0] == 0
    engine = LearnerEngine("http://127.0.0.1:9", generation).start()
    try:
        where = upstream["url"].split("://", 1)[1]
        source = engine.client.images.pull(f"{where}/library/alpine", tag="latest").id
        engine.client.images.remove(f"{where}/library/alpine:latest")
        code, out = run_workshop(
            "bundle",
            "load",
            str(bundle),
            "--store",
            str(tmp_path / "s"),
            env={"DOCKER_HOST": engine.host},
        )
        assert code == 0, out
        assert engine.client.images.get("alpine:latest").id == source
        if generation == 20:  # the ID is the amd64 config's digest
            assert source == upstream["manifests"]["amd64"]["config"]
        else:  # the containerd image store: the index digest
            assert source == upstream["index"]
    finally:
        engine.stop()
