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

from tests.kit.room_parts import UPSTREAM, needs_registry, run_workshop, upstream_serves
from workshop.needs import course_needs

pytestmark = [needs_registry]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A store holding alpine only (and one wheel-less index), and its bundle."""
    from workshop.needs import CourseNeeds, ImageNeed

    if not upstream_serves():  # the bundles made by hand below need no upstream
        pytest.skip("the stand-in registry on 127.0.0.1:5000 (scripts/engine up) does not serve")
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
    assert sentence in " ".join(out.split()), out  # as said, not as wrapped
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


# --- bundles made by hand: a store laid out as the registry does, no upstream needed ----------


def relisted(entries, **fields):
    """ENTRIES with their manifest (the first) listing the others as they are now, and FIELDS
    changed in it (None removes one)."""
    import hashlib

    manifest = json.loads(entries[0][1])
    manifest["members"] = [
        {"name": info.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for info, data in entries[1:]
    ]
    manifest.update(fields)
    manifest = {key: value for key, value in manifest.items() if value is not None}
    return [(entries[0][0], json.dumps(manifest).encode()), *entries[1:]]


@pytest.fixture
def hand(tmp_path):
    """A bundle of a hand-made store: alpine (one linux/amd64 image) and one wheel."""
    from tests.kit.room_parts import hand_store
    from tests.kit.test_room_prepare import tiny_wheel
    from workshop.room import bundle

    name, data = tiny_wheel()
    store = hand_store(tmp_path / "hand", refs=("alpine:latest",), wheels={name: data})
    bundle.save(store, tmp_path / "hand.tar", say=lambda _: None)
    return tmp_path / "hand.tar"


def with_room(bundle, change) -> list:
    """The bundle's members with CHANGE(room.json's data) applied, relisted."""
    entries = members(bundle)
    at = next(i for i, (info, _) in enumerate(entries) if info.name == "room.json")
    room = json.loads(entries[at][1])
    change(room)
    entries[at] = (entries[at][0], json.dumps(room).encode())
    return relisted(entries)


def test_a_bundle_from_a_newer_kit_loads_nothing(hand, tmp_path):
    write(tmp_path / "newer.tar", with_room(hand, lambda room: room.update(format=2)))
    refused(
        tmp_path / "newer.tar",
        tmp_path,
        "newer.tar was made by a newer kit (its room.json is format 2): nothing was loaded; "
        "upgrade the kit, then load it again.",
    )


def _listed(room):
    room["images"] = list(room["images"].values())


def _nameless(room):
    del room["images"]["alpine:latest"]["repository"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_listed, '"images" is not a table of images'),
        (_nameless, "the image alpine:latest has no repository, digest or platforms"),
    ],
)
def test_a_room_json_of_another_shape_loads_nothing(hand, tmp_path, change, problem):
    write(tmp_path / "shape.tar", with_room(hand, change))
    refused(
        tmp_path / "shape.tar",
        tmp_path,
        f"shape.tar: its room.json does not describe a room ({problem}): nothing was loaded; "
        "make the bundle again with `workshop bundle save`.",
    )


@pytest.mark.parametrize("gone", ["/_layers/", "/_manifests/tags/latest/current/", "wheels/tiny"])
def test_a_bundle_lacking_a_link_or_a_wheel_its_room_json_lists_loads_nothing(hand, tmp_path, gone):
    """The registry serves a blob only through the repository's link to it (and a tag through
    its tag link); pip installs only the wheels there: each is what the room.json lists."""
    entries = members(hand)
    kept = [entries[0], *[(i, d) for i, d in entries[1:] if gone not in i.name]]
    assert len(kept) < len(entries)
    write(tmp_path / "lacking.tar", relisted(kept))
    said = {
        "/_layers/": "(alpine:latest linux/amd64: the link to sha256:",
        "/_manifests/tags/latest/current/": "(alpine:latest: the tag latest in library/alpine)",
        "wheels/tiny": "(the wheel tinykit-1.0-py3-none-any.whl)",
    }
    refused(
        tmp_path / "lacking.tar", tmp_path, "does not hold what its room.json lists " + said[gone]
    )


def test_the_manifest_names_the_kit_and_load_says_which_course_images_it_lacks(hand, tmp_path):
    from workshop.version import kit_version

    entries = members(hand)
    manifest = json.loads(entries[0][1])
    assert manifest["kit"] == kit_version()
    assert manifest["course"] == course_needs().refs()
    lacking = [ref for ref in course_needs().refs() if ref != "alpine:latest"]
    assert lacking, "the course needs more than alpine"
    fresh = tmp_path / "fresh"
    code, out = run_workshop("bundle", "load", str(hand), "--store", str(fresh), "--no-engine")
    assert code == 0, out
    assert (
        f"; the bundle lacks {len(lacking)} of this course's images ({', '.join(lacking)}): "
        f"`workshop room prepare` fetches them; it was made by kit {kit_version()}."
        in " ".join(out.split())
    ), out
    # a bundle from before the kit said its version and course loads as it did
    write(tmp_path / "old.tar", relisted(entries, kit=None, course=None))
    code, out = run_workshop(
        "bundle", "load", str(tmp_path / "old.tar"), "--store", str(tmp_path / "old"), "--no-engine"
    )
    assert code == 0, out
    assert "the bundle lacks" in out and "made by kit" not in out


def test_loading_into_a_store_regenerates_its_package_index(hand, tmp_path):
    """The store's own wheels stay in its index beside the bundle's (the bundle's index pages
    list only its own)."""
    from tests.kit.room_parts import hand_store
    from tests.kit.test_room_prepare import tiny_wheel

    mine, data = tiny_wheel("mine", "2.0")
    fresh = hand_store(tmp_path / "fresh", refs=(), wheels={mine: data}).root
    code, out = run_workshop("bundle", "load", str(hand), "--store", str(fresh), "--no-engine")
    assert code == 0, out
    top = (fresh / "wheels/simple/index.html").read_text()
    assert '<a href="mine/">' in top and '<a href="tinykit/">' in top
    assert mine in (fresh / "wheels/simple/mine/index.html").read_text()
    assert set(json.loads((fresh / "room.json").read_text())["wheels"]["files"]) == {
        mine,
        "tinykit-1.0-py3-none-any.whl",
    }


def test_a_disk_that_refuses_a_write_is_said_so_not_a_damaged_bundle(hand, tmp_path):
    """A write that fails on the store's side (here a file size limit: EFBIG) is the disk's
    sentence, not "the bundle is truncated or damaged: copy it again"."""
    import resource
    import subprocess
    import sys

    from tests.kit.room_parts import clean_env

    fresh = tmp_path / "fresh"

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    done = subprocess.run(
        [sys.executable, "-m", "workshop", "bundle", "load", str(hand), "--store", str(fresh),
         "--no-engine"],
        env={**clean_env(), "COLUMNS": "200"}, capture_output=True, text=True,
        preexec_fn=small_files,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    assert "truncated or damaged" not in out
    said = " ".join(out.split())
    assert f"Cannot write into {fresh} (File too large): nothing was loaded; check its disk" in said
    assert not fresh.exists()


@pytest.fixture
def small_disk(tmp_path):
    """A file system of 256 kB of its own (a tmpfs, mounted by root), unmounted after."""
    import os
    import subprocess

    if os.geteuid() != 0:
        pytest.skip("a small disk of its own (a tmpfs) needs root")
    where = tmp_path / "small-disk"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "workshop-selftest", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"no tmpfs can be mounted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True)


@pytest.fixture
def big(tmp_path):
    """A bundle of a hand-made store with a 400 kB wheel: more than the small disk holds."""
    import os

    from tests.kit.room_parts import hand_store
    from workshop.room import bundle

    store = hand_store(tmp_path / "big", wheels={"big-1.0-py3-none-any.whl": os.urandom(400_000)})
    bundle.save(store, tmp_path / "big.tar", say=lambda _: None)
    return store


def test_a_bundle_larger_than_the_free_space_loads_nothing(big, small_disk):
    fresh = small_disk / "store"
    code, out = run_workshop(
        "bundle", "load", str(big.root.parent / "big.tar"), "--store", str(fresh), "--no-engine"
    )
    assert code == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    said = " ".join(out.split())
    assert f"The disk holding {fresh} has 262.1 kB free and big.tar needs " in said, out
    assert "free some space there, or load it into another folder with --store." in said
    assert not fresh.exists()


def test_a_save_onto_a_full_disk_leaves_no_partial_file(big, small_disk):
    target = small_disk / "room.tar"
    code, out = run_workshop("bundle", "save", str(target), "--store", str(big.root))
    assert code == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    said = " ".join(out.split())
    assert f"Nothing was saved: no space left on the disk holding {target}: free " in said, out
    assert "or save the bundle elsewhere." in said
    assert list(small_disk.iterdir()) == []


# --- into the engine: a stand-in engine API on a port of this machine -------------------------


def engine_answer(info: dict, pulled: list[dict], asked: list):
    """A Docker engine API that answers what `bundle load` asks: its version and info, a pull
    (the PULLED progress items, as the engine streams them); no image is ever there."""

    def answer(handler):
        path = handler.path.split("?", 1)[0]
        path = "/" + path.split("/", 2)[2] if path.startswith("/v1.") else path
        asked.append((handler.command, path))
        if path == "/_ping":
            handler.reply(200, b"OK", {"Api-Version": "1.41"})
        elif path == "/version":
            body = {"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Os": "linux", "Arch": "amd64"}
            handler.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        elif path == "/info":
            handler.reply(200, json.dumps(info).encode(), {"Content-Type": "application/json"})
        elif path == "/images/create":  # a stream, chunked as the engine sends it
            handler.protocol_version = "HTTP/1.1"
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.send_header("Connection", "close")
            handler.end_headers()
            for item in pulled:
                data = (json.dumps(item) + "\r\n").encode()
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            handler.wfile.write(b"0\r\n\r\n")
        else:
            name = path.split("/images/", 1)[-1]
            body = json.dumps({"message": f"No such image: {name}"}).encode()
            handler.reply(404, body, {"Content-Type": "application/json"})

    return answer


LINUX = {"OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "SecurityOptions": ["name=seccomp"]}


def test_an_error_in_the_engines_pull_is_its_sentence(hand, tmp_path):
    from tests.kit.room_parts import stub_http

    pulled = [
        {"status": "Pulling from library/alpine", "id": "latest"},
        {"errorDetail": {"message": "unknown blob"}, "error": "unknown blob"},
    ]
    asked = []
    fresh = tmp_path / "fresh"
    with stub_http(engine_answer(LINUX, pulled, asked)) as engine:
        code, out = run_workshop(
            "bundle", "load", str(hand), "--store", str(fresh),
            env={"DOCKER_HOST": engine.replace("http://", "tcp://")},
        )  # fmt: skip
    assert code == 1, out
    assert "Traceback" not in out and out.count("Error:") == 1, out
    assert "refused a request" not in out
    assert (
        "The engine could not load alpine:latest from the room store (unknown blob): the store "
        "holds it; `workshop room serve-images` serves it instead." in " ".join(out.split())
    ), out
    assert ("POST", "/images/create") in asked
    assert json.loads((fresh / "room.json").read_text())["images"]  # the store is loaded


@pytest.mark.parametrize("engine", ["Docker Desktop", "rootless", "remote"])
def test_an_engine_that_cannot_reach_this_machines_loopback_is_told_to_use_the_mirror(
    hand, tmp_path, engine
):
    """Docker Desktop's engine runs in a virtual machine, a rootless engine in a network of its
    own, a remote engine elsewhere: none reaches the registry the kit would serve the store on
    (127.0.0.1), so the kit says so instead of pulling."""
    from tests.kit.room_parts import stub_http
    from workshop.classroom.addresses import machine_addresses

    info = dict(LINUX)
    host = "127.0.0.1"
    if engine == "Docker Desktop":
        info["OperatingSystem"] = "Docker Desktop"
        said = "The Docker engine is Docker Desktop's, in a virtual machine, so it cannot pull"
    elif engine == "rootless":
        info["SecurityOptions"] = ["name=seccomp,profile=builtin", "name=rootless"]
        said = "The Docker engine is rootless, in a network of its own, so it cannot pull"
    else:
        found = machine_addresses()
        if not found:
            pytest.skip("this machine has no address but loopback")
        host = found[0]
        said = f"The Docker engine is remote (tcp://{host}:"
    asked = []
    fresh = tmp_path / "fresh"
    with stub_http(engine_answer(info, [], asked), host=host) as url:
        code, out = run_workshop(
            "bundle", "load", str(hand), "--store", str(fresh),
            env={"DOCKER_HOST": url.replace("http://", "tcp://")},
        )  # fmt: skip
    said_flat = " ".join(out.split())
    assert code == 0, out  # the store is loaded: the engine is a note
    assert "Traceback" not in out and "Error:" not in out, out
    assert said in said_flat, out
    assert (
        "the images are in the room store only; serve them with `workshop room serve-images` "
        "and set its mirror in the engine's daemon.json, as it prints." in said_flat
    ), out
    assert ("POST", "/images/create") not in asked
    assert "images loaded into the engine" not in out
