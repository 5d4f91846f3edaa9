"""`workshop bundle save/load`: one tar file, checksum manifest first; a round trip keeps every
digest; a truncated, altered, reordered, extended, path-escaping or foreign file is refused in
one sentence and loads nothing."""

from __future__ import annotations

import copy
import gzip
import io
import json
import tarfile

import pytest

from tests.kit.room_parts import UPSTREAM, needs_registry, needs_upstream, run_workshop

pytestmark = [needs_registry, needs_upstream]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A store holding alpine only (and one wheel-less index), and its bundle."""
    from workshop.needs import CourseNeeds, ImageNeed
    from workshop.room.prepare import prepare
    from workshop.room.store import Store

    root = tmp_path_factory.mktemp("small")
    store = Store(root / "store")
    needs = CourseNeeds(
        images=(ImageNeed("alpine:latest", ("beginners",)),), packages=(), disk_gb=0
    )
    prepare(store, upstream=UPSTREAM, platforms=("linux/amd64",), say=lambda _: None, needs=needs)
    bundle = root / "small.tar"
    code, out = run_workshop("bundle", "save", str(bundle), "--store", str(store.root))
    assert code == 0, out
    return store.root, bundle


def members(bundle) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(bundle) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else b"") for m in tar.getmembers()]


def write(path, entries) -> None:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            info = copy.copy(info)
            if info.isfile():
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


def named(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def refused(bundle, tmp_path, sentence: str) -> None:
    target = tmp_path / "fresh"
    code, out = run_workshop("bundle", "load", str(bundle), "--store", str(target), "--no-engine")
    assert code == 1, out
    assert "Traceback" not in out
    assert out.count("Error:") == 1, out
    assert sentence in out, out
    assert not target.exists(), "a refused bundle left a store behind"


def test_the_manifest_comes_first_and_lists_every_member(small):
    _, bundle = small
    entries = members(bundle)
    assert entries[0][0].name == "workshop-bundle.json"
    manifest = json.loads(entries[0][1])
    assert [m["name"] for m in manifest["members"]] == [info.name for info, _ in entries[1:]]
    assert "room.json" in [m["name"] for m in manifest["members"]]


def test_a_round_trip_keeps_every_digest(small, tmp_path):
    store, bundle = small
    fresh = tmp_path / "fresh"
    code, out = run_workshop("bundle", "load", str(bundle), "--store", str(fresh), "--no-engine")
    assert code == 0, out
    before = json.loads((store / "room.json").read_text())
    after = json.loads((fresh / "room.json").read_text())
    assert after["images"] == before["images"]
    ours = {
        p.relative_to(store): p.read_bytes()
        for p in (store / "registry").rglob("*")
        if p.is_file() and "_uploads" not in p.parts and p.name != "scheduler-state.json"
    }
    theirs = {
        p.relative_to(fresh): p.read_bytes() for p in (fresh / "registry").rglob("*") if p.is_file()
    }
    assert ours == theirs


@pytest.mark.parametrize("where", [0.5, 0.9, "last-member", "one-block"])
def test_a_truncated_bundle_loads_nothing(small, tmp_path, where):
    _, bundle = small
    data = bundle.read_bytes()
    if where == "last-member":  # ends cleanly before the last member
        entries = members(bundle)
        write(tmp_path / "cut.tar", entries[:-1])
        broken = tmp_path / "cut.tar"
        sentence = "is truncated"
    else:
        cut = 512 if where == "one-block" else int(len(data) * where)
        broken = tmp_path / "cut.tar"
        broken.write_bytes(data[:cut])
        sentence = "is truncated"
    refused(broken, tmp_path, sentence)


def test_an_altered_layer_loads_nothing(small, tmp_path):
    _, bundle = small
    entries = members(bundle)
    at = max(range(len(entries)), key=lambda i: len(entries[i][1]))  # the layer
    info, data = entries[at]
    entries[at] = (info, data[:100] + bytes([data[100] ^ 1]) + data[101:])
    write(tmp_path / "altered.tar", entries)
    refused(tmp_path / "altered.tar", tmp_path, "has been altered")


def test_an_altered_byte_anywhere_in_the_file_loads_nothing(small, tmp_path):
    _, bundle = small
    data = bytearray(bundle.read_bytes())
    data[len(data) // 3] ^= 0x40
    (tmp_path / "flipped.tar").write_bytes(bytes(data))
    target = tmp_path / "fresh"
    code, out = run_workshop(
        "bundle", "load", str(tmp_path / "flipped.tar"), "--store", str(target), "--no-engine"
    )
    assert code == 1 and "Traceback" not in out and not target.exists(), out


def test_an_altered_room_json_loads_nothing(small, tmp_path):
    _, bundle = small
    entries = members(bundle)
    at = next(i for i, (info, _) in enumerate(entries) if info.name == "room.json")
    info, data = entries[at]
    entries[at] = (info, data.replace(b"linux/amd64", b"linux/amd65"))
    write(tmp_path / "altered.tar", entries)
    refused(tmp_path / "altered.tar", tmp_path, "room.json has been altered")


def test_reordered_members_load_nothing(small, tmp_path):
    _, bundle = small
    entries = members(bundle)
    entries[1], entries[2] = entries[2], entries[1]
    write(tmp_path / "reordered.tar", entries)
    refused(tmp_path / "reordered.tar", tmp_path, "is not as its manifest lists it")


def test_an_extra_member_loads_nothing(small, tmp_path):
    _, bundle = small
    entries = [*members(bundle), (named("wheels/extra-1.0-py3-none-any.whl"), b"x")]
    write(tmp_path / "extra.tar", entries)
    refused(tmp_path / "extra.tar", tmp_path, "holds a file its manifest does not list")


@pytest.mark.parametrize("evil", ["../evil", "/etc/evil", "registry/../../evil", "other/x"])
def test_a_path_outside_the_store_loads_nothing(small, tmp_path, evil):
    _, bundle = small
    entries = members(bundle)
    manifest = json.loads(entries[0][1])
    manifest["members"].append({"name": evil, "size": 1, "sha256": "0" * 64})
    entries[0] = (entries[0][0], json.dumps(manifest).encode())
    write(tmp_path / "evil.tar", [*entries, (named(evil), b"x")])
    refused(tmp_path / "evil.tar", tmp_path, "names a file outside the room store")
    assert not (tmp_path / "evil").exists()


def test_a_link_member_loads_nothing(small, tmp_path):
    _, bundle = small
    entries = members(bundle)
    manifest = json.loads(entries[0][1])
    manifest["members"].append({"name": "wheels/link", "size": 0, "sha256": "0" * 64})
    entries[0] = (entries[0][0], json.dumps(manifest).encode())
    link = tarfile.TarInfo("wheels/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    write(tmp_path / "link.tar", [*entries, (link, b"")])
    refused(tmp_path / "link.tar", tmp_path, "is not a plain file")


@pytest.mark.parametrize("kind", ["random", "empty", "gzip", "other-tar", "docker-save-like"])
def test_a_foreign_file_loads_nothing(small, tmp_path, kind):
    _, bundle = small
    foreign = tmp_path / "foreign.tar"
    if kind == "random":
        foreign.write_bytes(bytes(range(256)) * 40)
    elif kind == "empty":
        foreign.write_bytes(b"")
    elif kind == "gzip":
        foreign.write_bytes(gzip.compress(bundle.read_bytes()))
    elif kind == "other-tar":
        write(foreign, [(named("README"), b"hello"), (named("room.json"), b"{}")])
    else:
        write(foreign, [(named("manifest.json"), b"[]"), (named("repositories"), b"{}")])
    refused(foreign, tmp_path, "is not a workshop bundle")


def test_loading_into_an_existing_store_keeps_what_it_held(small, tmp_path):
    _, bundle = small
    fresh = tmp_path / "fresh"
    (fresh / "wheels").mkdir(parents=True)
    (fresh / "wheels" / "mine-1.0-py3-none-any.whl").write_bytes(b"mine")
    code, out = run_workshop("bundle", "load", str(bundle), "--store", str(fresh), "--no-engine")
    assert code == 0, out
    assert (fresh / "wheels" / "mine-1.0-py3-none-any.whl").read_bytes() == b"mine"
    assert "alpine:latest" in json.loads((fresh / "room.json").read_text())["images"]


def test_saving_an_empty_store_is_one_sentence(tmp_path):
    code, out = run_workshop(
        "bundle", "save", str(tmp_path / "b.tar"), "--store", str(tmp_path / "none")
    )
    assert code == 1
    assert "holds nothing: run `workshop room prepare` first." in out


def test_a_bundle_missing_a_layer_its_room_json_lists_loads_nothing(small, tmp_path):
    _, bundle = small
    entries = members(bundle)
    manifest = json.loads(entries[0][1])
    at = max(range(1, len(entries)), key=lambda i: len(entries[i][1]))  # the layer
    gone = entries[at][0].name
    manifest["members"] = [m for m in manifest["members"] if m["name"] != gone]
    entries[0] = (entries[0][0], json.dumps(manifest).encode())
    del entries[at]
    write(tmp_path / "lacking.tar", entries)
    refused(tmp_path / "lacking.tar", tmp_path, "does not hold what its room.json lists")
