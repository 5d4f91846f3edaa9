"""`workshop room prepare`: fill the store with every image and wheel the course needs.

Images go through the distribution registry itself, run as a pull-through cache of the
upstream on the store (`proxy: remoteurl`): the kit asks it, over the registry API, for each
image's index, each wanted platform's manifest and each blob, by digest, and the registry keeps
what it fetched in its own storage format. A blob the store already holds (and links in that
repository) is not asked for, so a second run fetches only the tags' current digests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workshop.room import v2, wheels
from workshop.room.registry import Registry
from workshop.room.store import RoomError, Store, now

DOCKER_HUB = "https://registry-1.docker.io"
DEFAULT_PLATFORMS = ("linux/amd64", "linux/arm64")


@dataclass
class Prepared:
    images: int = 0
    blobs_fetched: int = 0
    bytes_fetched: int = 0
    wheels_fetched: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # images that could not be fetched
    fetched: set[tuple[str, str]] = field(default_factory=set)  # (repository, digest) fetched


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def normalise_upstream(url: str) -> str:
    """127.0.0.1:5000 -> http://127.0.0.1:5000 (loopback), registry.example -> https://...;
    the API's path is the client's to add: https://registry.example/v2/ is the registry."""
    url = url.strip().rstrip("/")
    if url.endswith("/v2"):
        url = url[: -len("/v2")]
    if "://" not in url:
        host = url.split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        loopback = host in ("localhost", "::1") or host.startswith("127.")
        url = ("http://" if loopback else "https://") + url
    if not url.startswith(("http://", "https://")):
        raise RoomError(f"{url} is not a registry address: write it as https://HOST[:PORT].")
    return url


def check_platform(name: str) -> str:
    parts = name.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise RoomError(f"{name!r} is not a platform: write it as OS/ARCH, e.g. linux/arm64.")
    return name


def prepare(
    store: Store,
    upstream: str = DOCKER_HUB,
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
    say: Callable[[str], None] = print,
    needs=None,
    index: str | None = None,
    pythons: tuple[str, ...] = (),
) -> Prepared:
    """Fetch the course's images (by digest, for PLATFORMS) and wheels into STORE."""
    from workshop.needs import course_needs

    started = time.monotonic()
    upstream = normalise_upstream(upstream)
    platforms = tuple(check_platform(p) for p in platforms)
    needs = needs or course_needs()
    store.make()
    data = store.read()
    data.update(upstream=upstream, platforms=list(platforms))
    done = Prepared()
    with v2.Client(upstream, timeout=30) as direct:
        why = direct.unanswered()
        if why:
            raise RoomError(
                f"The upstream registry {upstream} does not answer ({why}): check the address "
                "(--upstream URL) and this machine's network."
            )
    with (
        Registry(store, upstream=upstream) as registry,
        v2.Client(registry.url, 600, name=f"The upstream {upstream}") as client,
    ):
        for need in needs.images:
            if not need.full.startswith("docker.io/"):
                done.notes.append(
                    f"{need.ref}: not a Docker Hub image; a registry mirror serves Docker "
                    "Hub's images only, so the room cannot serve it."
                )
                continue
            try:
                data["images"][need.ref] = _image(store, client, need, platforms, say, done)
            except RoomError as exc:  # the others are still worth fetching
                done.failed.append(str(exc))
                continue
            store.write(data)  # what is fetched so far is kept if a later image fails
            done.images += 1
    store.forget_schedule()
    requirement_files = [
        (_label(package.requirements), package.requirements) for package in needs.packages
    ]
    if requirement_files:
        done.wheels_fetched = wheels.fetch(
            store,
            data,
            requirement_files,
            _pythons(store, data, needs, pythons),
            list(platforms),
            say,
            index=index,
        )
    data["pythons"] = _pythons(store, data, needs, pythons)
    data["prepared"] = now()
    store.write(data)
    done.seconds = time.monotonic() - started
    return done


def _pythons(store: Store, data: dict, needs, extra: tuple[str, ...]) -> list[str]:
    """The Pythons the course's builds run: each python image's tag (python:3.12-slim), the
    PYTHON_VERSION its configuration declares (as Docker's official images do), and any the
    instructor names (--python)."""
    found = set(wheels.pythons(needs.refs())) | set(extra)
    for ref, entry in data["images"].items():
        if ref.split("@", 1)[0].split(":", 1)[0].rsplit("/", 1)[-1] != "python":
            continue
        for held in entry.get("platforms", {}).values():
            raw = store.read_blob(held["config"])
            env = (json.loads(raw).get("config") or {}).get("Env") or [] if raw else []
            for item in env:
                if item.startswith("PYTHON_VERSION="):
                    found.add(".".join(item.split("=", 1)[1].split(".")[:2]))
    return sorted(found)


def _label(path: Path) -> str:
    from workshop import labs as labs_mod

    try:
        return str(path.relative_to(labs_mod.kit_root()))
    except (AttributeError, ValueError):
        return path.name


def _image(store, client, need, platforms, say, done: Prepared) -> dict:
    repository = need.repository
    top = client.manifest(repository, v2.reference(need))
    if top is None:
        raise RoomError(f"{need.ref}: the upstream does not serve it.")
    entry: dict = {
        "repository": repository,
        "tag": v2.reference(need),
        "digest": top.digest,
        "media_type": top.media_type,
        "platforms": {},
        "missing": [],
    }
    say(f"{need.ref}: {top.digest}")
    offered: dict[str, v2.Manifest] = {}
    if top.is_index:
        listed = top.json.get("manifests", [])
        names = [v2.platform_name(m.get("platform", {})) for m in listed]
        for wanted in platforms:
            chosen = next(
                (m for m in listed if v2.platform_matches(wanted, m.get("platform", {}))), None
            )
            if chosen is None:
                continue
            manifest = client.manifest(repository, chosen["digest"])
            if manifest is None:
                raise RoomError(f"{need.ref}: {wanted} is listed but its manifest is not served.")
            offered[wanted] = manifest
        available = [n for n in names if not n.startswith("unknown/")]
    else:
        config = top.json["config"]
        raw = (
            store.read_blob(config["digest"])
            if store.has_blob(repository, config["digest"], config.get("size"))
            else None
        )
        if raw is None:  # the image's platform is in its config: fetch it first
            raw = client.blob(repository, config["digest"])
            done.blobs_fetched += 1
            done.bytes_fetched += len(raw)
            done.fetched.add((repository, config["digest"]))
            _wait_stored(store, repository, config["digest"], config.get("size"), need.ref)
            say(
                f"  {need.ref}: config {config['digest'].split(':', 1)[1][:12]} "
                f"{human(len(raw))} fetched"
            )
        info = json.loads(raw)
        own = v2.platform_name(
            {
                "os": info.get("os", "linux"),
                "architecture": info.get("architecture"),
                "variant": info.get("variant"),
            }
        )
        available = [own]
        for wanted in platforms:
            if v2.platform_matches(
                wanted,
                {
                    "os": info.get("os", "linux"),
                    "architecture": info.get("architecture"),
                    "variant": info.get("variant"),
                },
            ):
                offered[wanted] = top
    for wanted in platforms:
        if wanted not in offered:
            entry["missing"].append(wanted)
            done.notes.append(
                f"{need.ref}: the upstream has no {wanted} image (it serves "
                f"{', '.join(available) or 'no platform'}), so learners on {wanted} cannot "
                "pull it from the room."
            )
    for wanted, manifest in offered.items():
        body = manifest.json
        blobs = [body["config"], *body.get("layers", [])]
        size = 0
        for blob in blobs:
            size += blob.get("size", 0)
            _blob(store, client, repository, blob, f"{need.ref} {wanted}", say, done)
        entry["platforms"][wanted] = {
            "manifest": manifest.digest,
            "config": body["config"]["digest"],
            "layers": [b["digest"] for b in body.get("layers", [])],
            "size": size,
        }
        say(f"{need.ref} {wanted}: {manifest.digest} ({len(blobs) - 1} layers, {human(size)})")
    return entry


def _blob(store, client, repository, blob, label, say, done: Prepared) -> None:
    digest, size = blob["digest"], blob.get("size")
    short = digest.split(":", 1)[1][:12]
    if (repository, digest) in done.fetched:
        return
    if store.has_blob(repository, digest, size):
        say(f"  {label}: {short} {human(size or 0)} already in the store")
        return
    started = time.monotonic()
    say(f"  {label}: {short} {human(size or 0)} fetching")
    got = 0
    marks = [size * n // 4 for n in (1, 2, 3)] if size and size > 20 * 10**6 else []
    for chunk in client.stream_blob(repository, digest):
        got += len(chunk)
        while marks and got >= marks[0]:  # a large layer: a line at each quarter
            marks.pop(0)
            say(f"  {label}: {short} {human(got)} of {human(size)}")
    done.blobs_fetched += 1
    done.bytes_fetched += got
    done.fetched.add((repository, digest))
    _wait_stored(store, repository, digest, size, label)
    say(f"  {label}: {short} {human(got)} fetched in {time.monotonic() - started:.1f} s")


def _wait_stored(store, repository, digest, size, label) -> None:
    """distribution 2.8's pull-through cache stores a blob in the background, after it has
    served it: wait until the store holds it (and the repository links it)."""
    deadline = time.monotonic() + 120 + (size or 0) / 1e6
    while not store.has_blob(repository, digest, size):
        if time.monotonic() > deadline:
            raise RoomError(
                f"{label}: blob {digest} was served but the registry did not store it "
                f"(its log: {store.logs / 'registry.log'})."
            )
        time.sleep(0.05)
