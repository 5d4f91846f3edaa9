"""`workshop room check`: the room's own health, before the learners arrive.

The mirror answers; it serves every image the course needs for each platform the store holds
(its manifest and every blob); the index answers and each requirements file resolves from it
alone (pip download, isolated from the machine's pip settings, for each Python and platform);
the store's disk has room.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workshop.room import v2, wheels
from workshop.room.store import RoomError, Store

MIN_FREE = 2 * 10**9  # bytes free on the store's disk: a few images more, the registry's log


@dataclass
class Health:
    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check(
    store: Store,
    mirror: str = "http://127.0.0.1:5000",
    index: str = "http://127.0.0.1:3141/simple/",
    platforms: tuple[str, ...] = (),
    needs=None,
) -> Health:
    from workshop.needs import course_needs

    needs = needs or course_needs()
    health = Health()
    data = store.read()
    with v2.Client(mirror, timeout=30) as client:
        if not client.ping():
            health.missing.append(
                f"the mirror {mirror} does not answer (`workshop room serve-images` serves it)"
            )
        else:
            health.ok.append(f"the mirror {mirror} answers")
            for need in needs.images:
                _image(client, need, data, platforms, health)
    if not index.endswith("/"):
        index += "/"
    _index(index, needs, data, platforms, health)
    free = shutil.disk_usage(store.root if store.root.exists() else Path.home()).free
    if free < MIN_FREE:
        health.missing.append(
            f"only {free / 1e9:.1f} GB free on the store's disk "
            f"({store.root}); keep at least {MIN_FREE / 1e9:.0f} GB"
        )
    else:
        health.ok.append(f"{free / 1e9:.1f} GB free on the store's disk")
    return health


def _wanted(need, data, platforms) -> list[str]:
    if platforms:
        return list(platforms)
    entry = data["images"].get(need.ref, {})
    return sorted(entry.get("platforms", {})) or list(data.get("platforms") or ["linux/amd64"])


def _image(client, need, data, platforms, health: Health) -> None:
    try:
        top = client.manifest(need.repository, v2.reference(need))
    except RoomError as exc:
        health.missing.append(f"{need.ref}: {exc}")
        return
    if top is None:
        health.missing.append(f"{need.ref}: the mirror does not serve it")
        return
    entry = data["images"].get(need.ref)
    if entry and entry.get("digest") != top.digest:
        health.notes.append(
            f"{need.ref}: the mirror serves {top.digest}, the store recorded "
            f"{entry.get('digest')} (the tag moved upstream?)"
        )
    for wanted in _wanted(need, data, platforms):
        try:  # one platform the mirror fails on is one line: the others are still looked at
            manifest, absent = _platform(client, need, top, wanted)
        except RoomError as exc:
            health.missing.append(f"{need.ref} {wanted}: {exc}")
            continue
        if manifest is None:
            health.missing.append(f"{need.ref}: {wanted} is not served")
            continue
        if absent:
            health.missing.append(
                f"{need.ref} {wanted}: {len(absent)} blob(s) not served ({absent[0]})"
            )
        else:
            health.ok.append(f"{need.ref} {wanted}: served ({manifest.digest[:19]})")
    missing = (data["images"].get(need.ref) or {}).get("missing") or []
    for name in missing:
        if not platforms:
            health.notes.append(
                f"{need.ref}: the upstream had no {name} image when the room was prepared"
            )


def _platform(client, need, top, wanted: str):
    """(The manifest the mirror serves for WANTED or None, the blobs of it it does not serve)."""
    manifest = top
    if top.is_index:
        chosen = next(
            (
                m
                for m in top.json.get("manifests", [])
                if v2.platform_matches(wanted, m.get("platform", {}))
            ),
            None,
        )
        manifest = chosen and client.manifest(need.repository, chosen["digest"])
    else:
        info = json.loads(client.blob(need.repository, top.json["config"]["digest"]))
        if not v2.platform_matches(wanted, info):
            manifest = None
    if manifest is None:
        return None, []
    body = manifest.json
    absent = [
        b["digest"]
        for b in [body["config"], *body.get("layers", [])]
        if not client.has_blob(need.repository, b["digest"])
    ]
    return manifest, absent


def _index(index, needs, data, platforms, health: Health) -> None:
    import requests

    try:
        answered = requests.get(index, timeout=10).status_code == 200
    except requests.RequestException:
        answered = False
    if not answered:
        health.missing.append(
            f"the package index {index} does not answer (`workshop room serve-images` serves it)"
        )
        return
    health.ok.append(f"the package index {index} answers")
    pythons = data.get("pythons") or wheels.pythons(needs.refs())
    targets = list(platforms) or list(data.get("platforms") or ["linux/amd64"])
    for package in needs.packages:
        for python in pythons:
            for platform in targets:
                with tempfile.TemporaryDirectory(prefix="room-check-") as scratch:
                    try:
                        names, _ = wheels.pip_download(
                            package.requirements,
                            Path(scratch),
                            python,
                            platform,
                            index=index,
                            isolated=True,
                        )
                    except RoomError as exc:
                        health.missing.append(f"{package.requirements.name}: {exc}")
                        continue
                health.ok.append(
                    f"{package.requirements.name} Python {python} {platform}: "
                    f"{len(names)} wheels resolve from the index"
                )
