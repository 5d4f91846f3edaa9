"""`workshop doctor`: which engine the kit talks to and why, and whether it is fit for the labs."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def _same_engine_as_cli(docker_cli: str, target) -> Finding:
    """Your `docker` commands (and testinfra, which runs them) must reach the kit's engine."""
    if target.source == "DOCKER_HOST":
        return Finding(OK, "docker CLI", f"{docker_cli}, also following DOCKER_HOST")
    try:
        shown = subprocess.run(
            [docker_cli, "context", "inspect", "--format", "{{.Name}} {{.Endpoints.docker.Host}}"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Finding(WARN, "docker CLI", f"{docker_cli} did not say its context ({exc})")
    name, _, host = shown.stdout.strip().partition(" ")
    if shown.returncode != 0 or not host:
        return Finding(WARN, "docker CLI", f"{docker_cli} (its context could not be read)")
    if host != target.url:
        return Finding(
            FAIL,
            "docker CLI",
            f"your docker commands go to {host} (context {name}) but the kit "
            f"talks to {target.url}: run `docker context use {name}` or unset DOCKER_CONTEXT",
        )
    return Finding(OK, "docker CLI", f"{docker_cli}, context {name}: the same engine")


def diagnose() -> list[Finding]:
    found: list[Finding] = []
    try:
        target = engine_module.discover()
    except WorkshopError as exc:
        return [Finding(FAIL, "engine", str(exc))]
    found.append(Finding(OK, "engine", f"{target.url} (from {target.source})"))
    docker_cli = shutil.which("docker")
    if docker_cli:
        found.append(_same_engine_as_cli(docker_cli, target))
    else:
        found.append(
            Finding(FAIL, "docker CLI", "not on PATH: install it (Docker Desktop includes it)")
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
        original = image.labels[STANDIN_LABEL]
        if any(tag == original or tag == f"{original}:latest" for tag in image.tags):
            what = f"{tags} is a stand-in built offline by the kit, not the official image"
        else:
            what = f"{tags} is built on the kit's offline stand-in for {original}"
        found.append(Finding(WARN, "stand-in image", what))
    return found
