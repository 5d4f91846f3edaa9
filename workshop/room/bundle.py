"""`workshop bundle save FILE` / `load FILE`: the whole store as one tar file.

The first member, workshop-bundle.json, lists every other member in order with its size and
sha256. `load` reads the file as a stream, writes each member into a staging folder beside the
store while hashing it, and refuses the bundle (one sentence, nothing loaded) at the first member
that is not the next one listed, has another size or hash, is not a plain file, or names a path
outside the store; and when the file ends early or holds more. Only a bundle read whole and
found as listed is moved into the store. The manifest also names the kit that made the bundle
and the course's images then; `load` says which of this course's images the bundle lacks.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from workshop.errors import WorkshopError
from workshop.room.store import NewerStore, RoomError, Store, now, shape_problem

MANIFEST = "workshop-bundle.json"
FORMAT = "workshop-bundle/1"
TOP = ("room.json", "registry", "wheels")
_BLOB = re.compile(r"^registry/docker/registry/v2/blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})/data$")


class BundleRefused(RoomError):
    pass


class FarEngine(RoomError):
    """The engine cannot reach this machine's loopback, where the store would be served to it."""


def _course() -> list[str] | None:
    """The images this kit's course needs (None when its labs cannot be read)."""
    from workshop.needs import course_needs

    try:
        return course_needs().refs()
    except WorkshopError:
        return None


def _human(size: float) -> str:
    from workshop.room.prepare import human

    return human(size)


def _members(store: Store) -> list[Path]:
    """The store's files worth carrying: room.json, registry/ (not its upload scratch or the
    pull-through schedule), wheels/."""
    found = []
    if store.manifest_path.exists():
        found.append(store.manifest_path)
    for folder in (store.registry, store.wheels):
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(store.root).as_posix()
            if "/_uploads/" in relative or relative.endswith("scheduler-state.json"):
                continue
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save(store: Store, target: Path, say=print) -> tuple[int, int]:
    """Write the store as one tar file at TARGET; return (members, bytes)."""
    data = store.read()
    if not (data["images"] or data["wheels"]["files"]):
        raise RoomError(
            f"The room store {store.root} holds nothing: run `workshop room prepare` first."
        )
    paths = _members(store)
    listing = []
    for path in paths:
        listing.append(
            {
                "name": path.relative_to(store.root).as_posix(),
                "size": path.stat().st_size,
                "sha256": _hash(path),
            }
        )
    from workshop.version import kit_version

    manifest = json.dumps(
        {
            "format": FORMAT,
            "created": now(),
            "kit": kit_version(),
            "course": _course(),
            "images": sorted(data["images"]),
            "members": listing,
        },
        indent=1,
    ).encode()
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            info.mtime = int(os.path.getmtime(store.manifest_path)) if paths else 0
            tar.addfile(info, _Bytes(manifest))
            for path, entry in zip(paths, listing, strict=True):
                info = tarfile.TarInfo(entry["name"])
                info.size = entry["size"]
                info.mtime = int(path.stat().st_mtime)
                info.mode = 0o644
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
        os.replace(partial, target)
    except BaseException as exc:  # a half-written bundle is no bundle: leave none behind
        with contextlib.suppress(OSError):
            partial.unlink()
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            size = sum(entry["size"] for entry in listing)
            why = (
                f"{target} would be larger than its file system takes for one file "
                "(FAT32 takes 4 GB): format the disk as exFAT or ext4"
                if exc.errno == errno.EFBIG
                else f"no space left on the disk holding {target}: free {_human(size)} there"
            )
            raise RoomError(f"Nothing was saved: {why}, or save the bundle elsewhere.") from None
        raise
    say(
        f"Saved {len(listing)} files ({len(data['images'])} images, "
        f"{len(data['wheels']['files'])} wheels) to {target}."
    )
    return len(listing), target.stat().st_size


class _Bytes:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return (
        bool(name)
        and not path.is_absolute()
        and "\\" not in name
        and ".." not in path.parts
        and path.parts[0] in TOP
        and (name == "room.json" or len(path.parts) > 1)
        and name != MANIFEST
    )


@dataclass
class Loaded:
    members: int = 0
    bytes: int = 0
    images: dict = field(default_factory=dict)
    room: dict = field(default_factory=dict)  # the bundle's room.json, as Store.read gives it
    kit: str = ""  # the kit that made the bundle (older bundles do not say)


def _unwritable(exc: OSError, where: Path) -> RoomError:
    """A write into the store failed: the disk or the folder, never the bundle."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return RoomError(
            f"There is no space left on the disk holding {where}: nothing was loaded; free some "
            "space there, or load the bundle into another folder with --store."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RoomError(
            f"The folder {where} is not writable ({exc.strerror}): nothing was loaded; load the "
            "bundle into a folder of yours with --store."
        )
    return RoomError(
        f"Cannot write into {where} ({exc.strerror or exc}): nothing was loaded; check its disk, "
        "or load the bundle into another folder with --store."
    )


def verify_into(source: Path, staging: Path) -> Loaded:
    """Read the bundle SOURCE whole into STAGING, checking each member against the manifest;
    raise BundleRefused with one sentence at the first difference."""
    name = Path(source).name
    try:
        handle = open(source, "rb")  # noqa: SIM115  (closed below, whatever happens)
    except OSError as exc:
        raise RoomError(f"{source}: {exc.strerror}.") from None
    with handle:
        try:
            tar = tarfile.open(fileobj=handle, mode="r|")  # noqa: SIM115  (a stream on handle)
        except tarfile.TarError:
            raise BundleRefused(f"{name} is not a workshop bundle (not a tar file).") from None
        try:
            return _read(tar, name, staging)
        except (tarfile.TarError, EOFError, OSError) as exc:
            if isinstance(exc, BundleRefused):
                raise
            raise BundleRefused(
                f"{name} is truncated or damaged ({exc}): nothing was loaded; copy it again."
            ) from None


def _read(tar, name: str, staging: Path) -> Loaded:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile() or first.size > 64 << 20:
        raise BundleRefused(f"{name} is not a workshop bundle (it does not begin with {MANIFEST}).")
    try:
        manifest = json.loads(tar.extractfile(first).read())
        members = manifest["members"]
        assert manifest["format"] == FORMAT and isinstance(members, list)
        for entry in members:
            assert isinstance(entry["name"], str) and isinstance(entry["size"], int)
            assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
    except (ValueError, KeyError, TypeError, AssertionError):
        raise BundleRefused(
            f"{name} is not a workshop bundle this kit reads (its {MANIFEST} is not "
            f"{FORMAT}): upgrade the kit, or make the bundle again."
        ) from None
    names = [entry["name"] for entry in members]
    for entry in members:
        if not _safe(entry["name"]):
            raise BundleRefused(
                f"{name} names a file outside the room store ({entry['name']!r}): refused."
            )
    if len(set(names)) != len(names):
        raise BundleRefused(f"{name} lists a file twice: refused.")
    done = Loaded()
    index = -1
    while (member := tar.next()) is not None:
        index += 1
        if index >= len(members):
            raise BundleRefused(
                f"{name} holds a file its manifest does not list ({member.name!r}): refused."
            )
        expected = members[index]
        if member.name != expected["name"]:
            raise BundleRefused(
                f"{name} is not as its manifest lists it (file {index + 2} should be "
                f"{expected['name']}): refused."
            )
        if not member.isfile():
            raise BundleRefused(f"{name}: {member.name!r} is not a plain file: refused.")
        if member.size != expected["size"]:
            raise BundleRefused(
                f"{name}: {member.name} is {member.size} bytes, its manifest says "
                f"{expected['size']}: refused."
            )
        blob = _BLOB.match(member.name)
        if blob and blob[1] != expected["sha256"]:
            raise BundleRefused(f"{name}: {member.name} is not the blob its path names: refused.")
        target = staging / member.name
        digest = hashlib.sha256()
        got = 0
        source = tar.extractfile(member)
        try:  # the bundle's side fails as truncated or damaged; this side is the disk's
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "wb")  # noqa: SIM115  (closed below: its close writes too)
        except OSError as exc:
            raise _unwritable(exc, staging.parent) from None
        try:
            for chunk in iter(functools.partial(source.read, 1 << 20), b""):
                digest.update(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _unwritable(exc, staging.parent) from None
                got += len(chunk)
        finally:
            try:
                out.close()
            except OSError as exc:
                raise _unwritable(exc, staging.parent) from None
        if got != expected["size"]:
            raise BundleRefused(f"{name} is truncated (it ends inside {member.name}): refused.")
        if digest.hexdigest() != expected["sha256"]:
            raise BundleRefused(
                f"{name}: {member.name} has been altered (its sha256 is not the manifest's): "
                "refused."
            )
        done.members += 1
        done.bytes += got
    if done.members != len(members):
        raise BundleRefused(
            f"{name} is truncated ({done.members} of {len(members)} files): nothing was loaded; "
            "copy it again."
        )
    done.room = _described(staging, name)
    done.images = done.room["images"]
    done.kit = manifest.get("kit") if isinstance(manifest.get("kit"), str) else ""
    return done


def _described(staging: Path, name: str) -> dict:
    """The bundle's room.json read as the store will read it, so that a bundle this kit cannot
    use is refused before anything is moved (not loaded, to fail every room command after)."""
    try:
        raw = json.loads((staging / "room.json").read_text())
    except FileNotFoundError:
        raw = {}
    except ValueError:
        raise BundleRefused(f"{name}: its room.json is not JSON: refused.") from None
    try:
        return Store(staging).read()
    except NewerStore:
        raise BundleRefused(
            f"{name} was made by a newer kit (its room.json is format {raw['format']}): nothing "
            "was loaded; upgrade the kit, then load it again."
        ) from None
    except RoomError:
        raise BundleRefused(
            f"{name}: its room.json does not describe a room ({shape_problem(raw)}): nothing was "
            "loaded; make the bundle again with `workshop bundle save`."
        ) from None


def _lacking(staged: Store, store: Store, room: dict) -> str:
    """The first thing room.json lists that neither the bundle nor the store has: a blob, the
    repository's link to it (a layer, a manifest revision) or its tag, which the registry needs
    to serve it; a wheel."""

    def held(relative: str) -> bool:
        return any((where.v2 / relative).is_file() for where in (staged, store))

    for ref, entry in room["images"].items():
        repository = f"repositories/{entry['repository']}"
        tag = entry.get("tag") or ""
        tagged = tag and not tag.startswith("sha256:")
        if tagged and not held(f"{repository}/_manifests/tags/{tag}/current/link"):
            return f"{ref}: the tag {tag} in {entry['repository']}"
        wanted = [entry["digest"]]
        for platform, about in entry["platforms"].items():
            wanted += [about.get("manifest"), about.get("config"), *about.get("layers", [])]
            for digest in wanted:
                if not (isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest)):
                    return f"{ref} {platform}: {digest!r} is not a digest"
                if not (staged.blob_path(digest).is_file() or store.blob_path(digest).is_file()):
                    return f"{ref} {platform}: blob {digest[:19]}"
                hexa = digest.split(":", 1)[1]
                if not any(
                    held(f"{repository}/{kind}/sha256/{hexa}/link")
                    for kind in ("_layers", "_manifests/revisions")
                ):
                    return f"{ref} {platform}: the link to {digest[:19]} in {entry['repository']}"
    for wheel in room["wheels"]["files"]:
        if not ((staged.wheels / wheel).is_file() or (store.wheels / wheel).is_file()):
            return f"the wheel {wheel}"
    return ""


def _has_room(store: Store, source: Path) -> None:
    """The bundle is staged beside the store, then moved: its disk must hold the whole file."""
    try:
        needed = source.stat().st_size
    except OSError:
        return  # verify_into says why it cannot be read
    folder = store.root
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise RoomError(
            f"The disk holding {store.root} has {_human(free)} free and {source.name} needs "
            f"{_human(needed)}: free some space there, or load it into another folder with --store."
        )


def load(store: Store, source: Path, say=print) -> Loaded:
    """Verify the whole bundle, then (only then) move it into the store."""
    from workshop.room.wheels import write_index

    source = Path(source)
    _has_room(store, source)
    made = not store.root.exists()
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=store.root))
    except OSError as exc:
        if made:
            with contextlib.suppress(OSError):
                store.root.rmdir()
        raise _unwritable(exc, store.root) from None
    try:
        loaded = verify_into(source, staging)
        lacking = _lacking(Store(staging), store, loaded.room)
        if lacking:
            raise BundleRefused(
                f"{Path(source).name} does not hold what its room.json lists ({lacking}): "
                "refused; make the bundle again with `workshop bundle save`."
            )
        old = store.read()
        for path in sorted(staging.rglob("*")):
            if path.is_file() and path.name != "room.json":
                target = store.root / path.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
        new = loaded.room
        merged = {**old, **{k: v for k, v in new.items() if k not in ("images", "wheels")}}
        merged["images"] = {**old["images"], **new.get("images", {})}
        wheels = new.get("wheels", {})
        merged["wheels"] = {
            "files": {**old["wheels"]["files"], **wheels.get("files", {})},
            "sets": {**old["wheels"]["sets"], **wheels.get("sets", {})},
        }
        merged["loaded"] = {"from": Path(source).name, "at": now()}
        store.write(merged)
        store.make()
        if any(store.wheels.glob("*.whl")):  # the index lists the wheels held, not the bundle's
            write_index(store.wheels)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
            if made:
                store.root.rmdir()  # refused: leave no trace of a store that was not there
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    done = f"Verified and loaded {loaded.members} files ({len(loaded.images)} images) into "
    done += str(store.root)
    lacks = [ref for ref in _course() or [] if ref not in loaded.images]
    if lacks:
        made_by = f"; it was made by kit {loaded.kit}" if loaded.kit else ""
        done += (
            f"; the bundle lacks {len(lacks)} of this course's images ({', '.join(lacks)}): "
            f"`workshop room prepare` fetches them{made_by}"
        )
    say(done + ".")
    return loaded


def into_engine(store: Store, say=print, client=None) -> dict[str, str]:
    """Load the store's images into the local engine, for the engine's platform, as the names
    learners type, by serving the store on a free loopback port and pulling each by digest.
    Return {image: image id}."""
    from workshop.room.registry import Registry

    if client is None:
        import docker

        client = docker.from_env()
    version = client.version()
    platform = f"{version.get('Os', 'linux')}/{version.get('Arch', 'amd64')}"
    far = far_engine(client)
    if far:
        raise FarEngine(
            f"The Docker engine is {far}, so it cannot pull from this machine's loopback: the "
            f"images are in the room store only; serve them with `workshop room serve-images` "
            "and set its mirror in the engine's daemon.json, as it prints."
        )
    data = store.read()
    ids: dict[str, str] = {}
    with Registry(store, readonly=True) as registry:
        where = registry.url.split("://", 1)[1]
        for ref, entry in data["images"].items():
            if platform not in entry.get("platforms", {}):
                say(f"{ref}: the bundle has no {platform} image for this engine: not loaded.")
                continue
            source = f"{where}/{entry['repository']}"
            for item in client.api.pull(source, tag=entry["digest"], stream=True, decode=True):
                if item.get("error"):
                    raise RoomError(
                        f"The engine could not load {ref} from the room store ({item['error']}): "
                        "the store holds it; `workshop room serve-images` serves it instead."
                    )
            pulled = f"{source}@{entry['digest']}"
            image = client.images.get(pulled)
            if "@" in ref:  # pinned by digest: a name with a digest cannot be a tag
                ids[ref] = image.id
                say(f"{ref}: loaded into the engine as {pulled} ({image.id[:19]})")
                continue
            last = ref.rsplit("/", 1)[-1]
            repository, tag = ref.rsplit(":", 1) if ":" in last else (ref, "latest")
            image.tag(repository, tag)
            with contextlib.suppress(Exception):
                client.images.remove(pulled)
            ids[ref] = client.images.get(ref).id
            say(f"{ref}: loaded into the engine ({ids[ref][:19]})")
    return ids


def far_engine(client) -> str:
    """Why the engine cannot reach this machine's loopback (a remote engine, Docker Desktop's
    virtual machine, a rootless engine's own network namespace); "" when it can."""
    from urllib.parse import urlsplit

    base = client.api.base_url
    if not (
        base == "http+docker://localhost"  # a unix socket (DOCKER_HOST or the context's)
        or urlsplit(base).hostname in ("127.0.0.1", "localhost", "::1")
    ):
        return f"remote ({os.environ.get('DOCKER_HOST') or 'the docker context names it'})"
    info = client.info()
    if "Docker Desktop" in (info.get("OperatingSystem") or ""):
        return "Docker Desktop's, in a virtual machine"
    if any("rootless" in option for option in info.get("SecurityOptions") or []):
        return "rootless, in a network of its own"
    return ""
