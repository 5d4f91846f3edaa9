"""`workshop doctor`: which engine the kit talks to and why, and whether it is fit for the labs."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from workshop import engine as engine_module
from workshop.errors import WorkshopError

OK, WARN, FAIL = "ok", "warn", "fail"
STANDIN_LABEL = "io.workshop.standin"


@dataclass(frozen=True)
class Finding:
    status: str
    topic: str
    detail: str


def diagnose() -> list[Finding]:
    found: list[Finding] = []
    try:
        target = engine_module.discover()
    except WorkshopError as exc:
        return [Finding(FAIL, "engine", str(exc))]
    found.append(Finding(OK, "engine", f"{target.url} (from {target.source})"))
    docker_cli = shutil.which("docker")
    found.append(
        Finding(OK, "docker CLI", docker_cli)
        if docker_cli
        else Finding(FAIL, "docker CLI", "not on PATH: install it (Docker Desktop includes it)")
    )
    socket = target.socket_path
    if socket is not None:
        if not socket.exists():
            found.append(
                Finding(FAIL, "socket", f"{socket} does not exist: {engine_module.START_HINT}")
            )
        elif not os.access(socket, os.R_OK | os.W_OK):
            found.append(
                Finding(
                    FAIL,
                    "socket",
                    f"{socket} is not yours to open: `sudo usermod -aG docker $USER`, "
                    "then log out and in again",
                )
            )
        else:
            found.append(Finding(OK, "socket", f"{socket} is readable and writable"))
    try:
        engine = engine_module.client()
    except WorkshopError as exc:
        found.append(Finding(FAIL, "connection", str(exc)))
        return found
    version = engine.version()
    api = version.get("ApiVersion", "?")
    found.append(
        Finding(
            OK,
            "server",
            f"Docker {version.get('Version', '?')}, API {api} "
            f"(client library negotiated {engine.api.api_version})",
        )
    )
    info = engine.info()
    mirrors = info.get("RegistryConfig", {}).get("Mirrors") or []
    if mirrors:
        found.append(Finding(OK, "registry mirror", ", ".join(mirrors)))
    root = info.get("DockerRootDir", "")
    if root and os.path.isdir(root):
        free = shutil.disk_usage(root).free / 2**30
        status = OK if free >= 5 else WARN
        found.append(
            Finding(
                status,
                "free disk",
                f"{free:.1f} GiB free under {root}"
                + ("" if status == OK else ": the Mysfits lab needs about 1 GiB"),
            )
        )
    else:
        found.append(
            Finding(OK, "free disk", f"the engine keeps its data elsewhere ({root or 'VM'})")
        )
    for image in engine.images.list(filters={"label": STANDIN_LABEL}):
        tags = ", ".join(image.tags) or image.short_id
        found.append(
            Finding(
                WARN,
                "stand-in image",
                f"{tags} is a stand-in built offline for "
                f"{image.labels[STANDIN_LABEL]}, not the official image",
            )
        )
    return found
