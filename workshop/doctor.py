"""`workshop doctor`: which engine the kit talks to and why, and whether it is fit for the labs.

`examine()` gives the findings the learner reads and the same facts as data (engine, builder,
context, disk, the labs' images, the registry), which joining a classroom sends as readiness.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from workshop import engine as engine_module
from workshop.errors import WorkshopError

OK, WARN, FAIL = "ok", "warn", "fail"
STANDIN_LABEL = "io.workshop.standin"
# the labs need this much disk (GiB): not knowing how much the engine has free is worth a note
DISK_MUCH_GB = 5.0


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


@dataclass
class Facts:
    """What the classroom's readiness view needs, as data (see `workshop.report.readiness`)."""

    engine: dict[str, str] = field(
        default_factory=lambda: {"version": "", "api": "", "os": "", "kind": ""}
    )
    builder: str = ""  # "buildkit", "legacy", or "" when no engine answered
    context: str = ""
    disk_free_gb: float | None = None
    lab_images: dict[str, bool] = field(default_factory=dict)
    registry: bool | None = None
    # can this learner fetch what the course needs: {"can": true|false|null, "because": [...]}
    pull: dict = field(default_factory=lambda: {"can": None, "because": []})

    def to_json(self) -> dict:
        return {
            "engine": dict(self.engine),
            "builder": self.builder,
            "context": self.context,
            "disk_free_gb": self.disk_free_gb,
            "lab_images": dict(self.lab_images),
            "registry": self.registry,
            "pull": {"can": self.pull.get("can"), "because": list(self.pull.get("because", []))},
        }


def diagnose() -> list[Finding]:
    return examine()[0]


def ready(findings: list[Finding]) -> bool:
    """Ready for the labs: no finding fails (notes allowed)."""
    return not any(f.status == FAIL for f in findings)


def to_json(findings: list[Finding], facts: Facts) -> dict:
    """The findings and facts as `workshop doctor --json` prints them."""
    from workshop.version import kit_version

    return {
        "ready": ready(findings),
        "kit": kit_version(),
        "findings": [{"status": f.status, "topic": f.topic, "detail": f.detail} for f in findings],
        "facts": facts.to_json(),
    }


def examine(room=None) -> tuple[list[Finding], Facts]:
    """The findings `workshop doctor` prints, and the facts behind them. `room`: where this
    learner fetches (`roomurls.Room`; default: the joined room's, or the environment's)."""
    facts = Facts()
    found: list[Finding] = []
    try:
        target = engine_module.discover()
    except WorkshopError as exc:
        return [Finding(FAIL, "engine", str(exc))], facts
    facts.context = _context_name(target)
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
        return found, facts
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
    facts.engine = {
        "version": str(version.get("Version", "")),
        "api": str(api),
        "os": f"{info.get('OperatingSystem', '?')} ({version.get('Os', '?')}/"
        f"{version.get('Arch', '?')})",
        "kind": _kind(info, version),
    }
    facts.builder = builder(str(version.get("Version", "")))
    mirrors = info.get("RegistryConfig", {}).get("Mirrors") or []
    if mirrors:
        found.append(Finding(OK, "registry mirror", ", ".join(mirrors)))
    needs = _course_needs()
    disk, facts.disk_free_gb = disk_finding(
        info, facts.engine["kind"], needs.disk_gb if needs else 0.0
    )
    found.append(disk)
    found += _lab_needs(engine, info, facts.engine["kind"])
    for image in engine.images.list(filters={"label": STANDIN_LABEL}):
        tags = ", ".join(image.tags) or image.short_id
        original = image.labels[STANDIN_LABEL]
        named = [tag for tag in image.tags if tag in (original, f"{original}:latest")]
        if named:  # its other tags (a learner's `docker tag`) are not the kit's stand-in
            what = f"{named[0]} is a stand-in built offline by the kit, not the official image"
        else:
            what = f"{tags} is built on the kit's offline stand-in for {original}"
        found.append(Finding(WARN, "stand-in image", what))
    facts.lab_images = _lab_images(engine)
    absent = [name for name, here in facts.lab_images.items() if not here]
    if absent:
        found.append(
            Finding(
                OK,
                "lab images",
                f"not here yet: {', '.join(absent)} (the labs pull them; on a slow network, "
                f"pull them beforehand: `docker image pull {absent[0]}`)",
            )
        )
    facts.registry, where = _registry(mirrors)
    if facts.registry is False:
        found.append(
            Finding(
                WARN,
                "registry",
                f"{where} does not answer from this machine: pulls may fail; check the network "
                "or the proxy settings (Docker Desktop: Settings, Resources, Proxies)",
            )
        )
    elif facts.registry:
        found.append(Finding(OK, "registry", f"{where} answers"))
    if needs is not None:
        from workshop import pullcheck, roomurls

        room = room if room is not None else roomurls.quietly()
        present = {need.ref: _has(engine, need.ref) for need in needs.images}
        fetching, pull = pullcheck.examine(
            room,
            info,
            present,
            needs,
            facts.engine["kind"],
            pullcheck.engine_platform(info, version),
        )
        found += fetching
        facts.pull = pull.to_json()
    return found, facts


def disk_finding(info: dict, kind: str, need_gb: float) -> tuple[Finding, float | None]:
    """The free disk where the engine keeps its data, and the GiB free (None: not known). Docker
    Desktop keeps it in its virtual machine, and any engine's data may be on a disk this machine
    does not see; `docker info` says how much is free of neither, so the kit says it did not
    check, and how to: a note when the labs need much (`DISK_MUCH_GB`)."""
    root = info.get("DockerRootDir", "")
    if kind != "Docker Desktop" and root and os.path.isdir(root):
        free = shutil.disk_usage(root).free / 2**30
        status = FAIL if free < need_gb else OK if free >= 5 else WARN
        detail = (
            f"{free:.1f} GiB free under {root}"
            + ("" if status == OK else _needing("disk_gb"))
            + (": free some (`docker system prune`)" if status == FAIL else "")
        )
        return Finding(status, "free disk", detail), round(free, 1)
    if kind == "Docker Desktop":
        where = "Docker Desktop keeps the engine's data in its virtual machine"
        how = "see Docker Desktop → Settings → Resources → Disk usage limit"
    elif root:
        where = f"the engine keeps its data in {root}, which this machine does not see"
        how = (
            f"run `podman machine ssh df -h {root}`"
            if kind == "Podman"
            else f"run `df -h {root}` on the machine the engine runs on"
        )
    else:
        where = "the engine does not say where it keeps its data"
        how = "check the free disk where the engine runs"
    needed = f"the labs need about {need_gb:g} GiB in all" if need_gb else "the labs say no size"
    status = WARN if need_gb >= DISK_MUCH_GB else OK
    detail = (
        f"not checked: {where}, and `docker info` does not say how much disk is free there; "
        f"{needed}: {how}"
    )
    return Finding(status, "free disk", detail), None


def _course_needs():
    """What the course fetches (`workshop.needs`), or None when the labs cannot be read."""
    from workshop.needs import course_needs

    try:
        return course_needs()
    except WorkshopError:
        return None


def _has(engine, ref: str) -> bool:
    from docker.errors import DockerException

    try:
        engine.images.get(ref)
    except DockerException:
        return False
    return True


def _context_name(target) -> str:
    """The docker context the kit follows: its name, or DOCKER_HOST when that is set."""
    if target.source == "DOCKER_HOST":
        return "DOCKER_HOST"
    return (
        target.source.removeprefix("context ")
        if target.source.startswith("context")
        else ("default")
    )


def _kind(info: dict, version: dict) -> str:
    components = " ".join(str(c.get("Name", "")) for c in version.get("Components") or [])
    if "Docker Desktop" in str(info.get("OperatingSystem", "")):
        return "Docker Desktop"
    if "Podman" in components:
        return "Podman"
    return "Docker Engine"


def builder(engine_version: str, env=None) -> str:
    """The builder `docker image build` uses: DOCKER_BUILDKIT decides when set, else BuildKit is
    the default from Docker 23 on."""
    env = os.environ if env is None else env
    chosen = env.get("DOCKER_BUILDKIT", "").strip().lower()
    if chosen in ("0", "false"):
        return "legacy"
    if chosen in ("1", "true"):
        return "buildkit"
    major = engine_version.split(".")[0]
    return "buildkit" if major.isdigit() and int(major) >= 23 else "legacy"


def _needing(key: str) -> str:
    """What the labs say they need of `key` (their manifests' `needs`), for a warning."""
    from workshop.labs import load_labs

    try:
        labs = load_labs()
    except WorkshopError:
        return ""
    said = [f"lab {lab.id} needs about {lab.needs[key]:g} GiB" for lab in labs if key in lab.needs]
    return f": {'; '.join(said)}" if said else ""


def lab_image_names() -> list[str]:
    """The images the labs pull or build FROM, as the course says (`workshop.needs`): not the
    ones they build, tag or push themselves."""
    from workshop.needs import course_needs

    try:
        return course_needs().refs()
    except WorkshopError:
        return []


def _lab_images(engine) -> dict[str, bool]:
    from docker.errors import ImageNotFound

    present = {}
    for name in lab_image_names():
        try:
            engine.images.get(name)
            present[name] = True
        except ImageNotFound:
            present[name] = False
    return present


def _registry(mirrors: list[str]) -> tuple[bool | None, str]:
    """Does the registry the engine pulls from answer (any HTTP answer to /v2/ counts)? The
    engine's first mirror if it has one, else Docker Hub; WORKSHOP_REGISTRY=URL asks another,
    WORKSHOP_REGISTRY=off asks none (None)."""
    import urllib.error
    import urllib.request

    chosen = os.environ.get("WORKSHOP_REGISTRY", "").strip()
    if chosen.lower() == "off":
        return None, ""
    base = (chosen or (mirrors[0] if mirrors else "https://registry-1.docker.io")).rstrip("/")
    try:
        urllib.request.urlopen(f"{base}/v2/", timeout=3).close()
    except urllib.error.HTTPError:
        return True, base  # 401 from Docker Hub: it answers
    except (OSError, ValueError):
        return False, base
    return True, base


def _lab_needs(engine, info: dict, kind: str = "Docker Engine") -> list[Finding]:
    """What the labs' manifests say they need of the engine beyond disk: a swarm (`needs.swarm`)
    and free host ports (`needs.ports`); one finding each, naming the labs."""
    from workshop.labs import load_labs

    try:
        labs = load_labs()
    except WorkshopError:
        return []
    found = []
    swarm_labs = [lab.id for lab in labs if lab.needs.get("swarm")]
    if swarm_labs:
        found.append(_swarm_finding(info.get("Swarm") or {}, ", ".join(swarm_labs), kind))
    ports: dict[int, list] = {}
    for lab in labs:
        for port in lab.ports:
            ports.setdefault(port, []).append(lab)
    if ports:
        found += _port_findings(engine, ports)
    return found


def _swarm_finding(swarm: dict, labs: str, kind: str = "Docker Engine") -> Finding:
    if kind == "Podman":
        return Finding(
            FAIL,
            "swarm",
            f"Podman has no swarm mode, and lab {labs} needs Docker's: run that lab on Docker "
            "Engine or Docker Desktop",
        )
    state = swarm.get("LocalNodeState") or "inactive"
    if state == "active" and swarm.get("ControlAvailable"):
        return Finding(OK, "swarm", f"active, and this engine manages it (lab {labs} needs one)")
    if state == "active":
        return Finding(
            FAIL,
            "swarm",
            f"this engine is a worker of another swarm, and lab {labs} makes services, which "
            "only a manager can: `docker swarm leave`, then the lab's `docker swarm init`",
        )
    if state == "inactive":
        return Finding(
            OK, "swarm", f"not active yet: lab {labs} makes one (`docker swarm init`, one command)"
        )
    return Finding(
        FAIL,
        "swarm",
        f"in state {state} (lab {labs} needs a swarm): `docker swarm leave --force`, then the "
        "lab's `docker swarm init`",
    )


def _port_findings(engine, ports: dict) -> list[Finding]:
    """Is each host port a lab publishes free, or held by one of the lab's own containers?"""
    import socket

    from workshop.declared import host_ports
    from workshop.meaning import same_repo

    holders = {}
    for container in engine.containers.list():
        for port in host_ports(container):
            holders.setdefault(port, container)
    found = []
    for port, labs in sorted(ports.items()):
        ids = ", ".join(lab.id for lab in labs)
        container = holders.get(port)
        if container is not None:
            image = (container.attrs.get("Config") or {}).get("Image", "")
            mine = any(same_repo(image, name) for lab in labs for name in lab.images + lab.builds)
            said = f"port {port}: held by container {container.name} ({image})"
            if mine:
                found.append(Finding(OK, "ports", f"{said}, one of lab {ids}'s own"))
            else:
                found.append(
                    Finding(
                        WARN,
                        "ports",
                        f"{said}, and lab {ids} publishes it: stop that container when you "
                        "reach the lab",
                    )
                )
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            taken = probe.connect_ex(("127.0.0.1", port)) == 0
        if taken:
            found.append(
                Finding(
                    WARN,
                    "ports",
                    f"port {port} is taken by a program on this machine, and lab {ids} "
                    f"publishes it: find it (`lsof -i :{port}` or `ss -ltnp`) and stop it (on a "
                    "Mac, port 5000 is AirPlay's)",
                )
            )
        else:
            found.append(Finding(OK, "ports", f"port {port} is free (lab {ids} publishes it)"))
    return found
