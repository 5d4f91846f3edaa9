"""The lab's view of Swarm: its services and their tasks, as the engine describes them (read
only, through docker-py's low-level API). What a service runs is judged by digest: a service
pins the digest its tag named when it was deployed (`127.0.0.1:5001/mysfits:v1@sha256:...`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

import docker.errors

from workshop.engine import parse_time

# task states on their way to running, and the update states that are still moving
STARTING = {"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
MOVING = {"updating", "rollback_started"}


def node_state(engine) -> str:
    """`active` when this engine is in a swarm (and can manage it), else what `docker info`
    says (`inactive`, `pending`, `locked`, `error`), or `worker` for a node that is no manager."""
    swarm = engine.info().get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state == "active" and not swarm.get("ControlAvailable"):
        return "worker"
    return state


def split_image(spec_image: str) -> tuple[str, str]:
    """(`127.0.0.1:5001/mysfits:v1`, `sha256:...`) of a service's image; digest "" if unpinned."""
    name, _, digest = spec_image.partition("@")
    return name, digest


@dataclass
class Task:
    id: str
    slot: int
    image: str  # the reference, without its digest
    digest: str
    state: str  # the task's current state: running, starting, failed, shutdown, ...
    desired: str  # what Swarm wants of it: running, shutdown
    error: str
    message: str
    container_id: str
    created: datetime | None
    changed: datetime | None = None  # when it reached its current state (a shutdown's time)
    image_id: str = ""  # the image its container runs (an unpinned service's tasks have no digest)
    # healthy, unhealthy, starting, or "": kept only for a task running or failed, or stopped
    # after failing its checks again and again (the engine marks every stopped container
    # unhealthy, a replaced healthy one too), its container here
    health: str = ""
    health_output: str = ""  # the last health check's output

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def up(self) -> bool:
        """Running now, and healthy if the image has a health check."""
        return self.state == "running" and self.desired == "running" and self.health != "unhealthy"

    @property
    def hostname(self) -> str:
        return self.container_id[:12]


@dataclass
class Service:
    id: str
    name: str
    image: str
    digest: str
    replicas: int | None  # None: a global service
    networks: set[str]  # network ids
    ports: list[tuple[int, str]]  # (published port, mode: host or ingress)
    endpoint_mode: str
    update_state: str  # "" when never updated
    update_message: str
    update_started: datetime | None
    update_completed: datetime | None
    created: datetime | None
    labels: dict = field(default_factory=dict)
    # how many replicas an update replaces at a time (0: all at once); None: the engine's own
    # default (one), as a service made without an update config has
    parallelism: int | None = None

    @property
    def stack(self) -> str:
        return self.labels.get("com.docker.stack.namespace", "")


def service(engine, ident: str) -> Service | None:
    try:
        raw = engine.api.inspect_service(ident)
    except docker.errors.NotFound:
        return None
    spec = raw.get("Spec") or {}
    template = spec.get("TaskTemplate") or {}
    image, digest = split_image((template.get("ContainerSpec") or {}).get("Image", ""))
    mode = spec.get("Mode") or {}
    replicas = (mode.get("Replicated") or {}).get("Replicas") if "Replicated" in mode else None
    networks = {n.get("Target", "") for n in template.get("Networks") or spec.get("Networks") or []}
    endpoint = spec.get("EndpointSpec") or {}
    ports = [
        (int(p["PublishedPort"]), p.get("PublishMode", "ingress"))
        for p in endpoint.get("Ports") or []
        if p.get("PublishedPort")
    ]
    status = raw.get("UpdateStatus") or {}
    return Service(
        id=raw["ID"],
        name=spec.get("Name", ""),
        image=image,
        digest=digest,
        replicas=replicas,
        networks=networks,
        ports=ports,
        endpoint_mode=endpoint.get("Mode", "vip"),
        update_state=status.get("State", ""),
        update_message=status.get("Message", ""),
        update_started=_time(status.get("StartedAt")),
        update_completed=_time(status.get("CompletedAt")),
        created=_time(raw.get("CreatedAt")),
        labels=spec.get("Labels") or {},
        parallelism=(
            spec["UpdateConfig"].get("Parallelism", 0) if "UpdateConfig" in spec else None
        ),
    )


def _time(stamp: str | None) -> datetime | None:
    if not stamp or stamp.startswith("0001-"):
        return None
    return parse_time(stamp)


def tasks(engine, svc: Service) -> list[Task]:
    """Every task of the service the engine still keeps (the running ones and their history),
    oldest first, with the health of their containers when these are still here."""
    found = []
    for raw in engine.api.tasks(filters={"service": svc.id}):
        spec = (raw.get("Spec") or {}).get("ContainerSpec") or {}
        status = raw.get("Status") or {}
        image, digest = split_image(spec.get("Image", ""))
        container_id = (status.get("ContainerStatus") or {}).get("ContainerID", "")
        task = Task(
            id=raw["ID"],
            slot=raw.get("Slot") or 0,
            image=image,
            digest=digest,
            state=status.get("State", ""),
            desired=raw.get("DesiredState", ""),
            error=status.get("Err", ""),
            message=status.get("Message", ""),
            container_id=container_id,
            created=_time(raw.get("CreatedAt")),
            changed=_time(status.get("Timestamp")),
        )
        if container_id:
            task.image_id, health, output, streak = _container(engine, container_id)
            # a stopped task's container reads unhealthy whatever it was; one that failed its
            # checks again and again before it stopped did fail them (Docker 26 ends such a
            # task `complete`; a healthy one stopped has at most the probe its stop cut short)
            if task.state in ("running", "failed") or streak >= 2:
                task.health, task.health_output = health, output
        found.append(task)
    found.sort(key=lambda t: t.created or datetime.min.astimezone())
    return found


def _container(engine, container_id: str) -> tuple[str, str, str, int]:
    """(its image id, its health, its last health check's output, how many checks in a row
    failed last) of a task's container."""
    try:
        attrs = engine.api.inspect_container(container_id)
    except docker.errors.NotFound:
        return "", "", "", 0
    health = (attrs.get("State") or {}).get("Health") or {}
    log = health.get("Log") or []
    # the last line says it best (a Python traceback ends with the error itself)
    lines = [line.strip() for line in (log[-1].get("Output") or "").splitlines()] if log else []
    output = next((line for line in reversed(lines) if line), "")
    streak = health.get("FailingStreak") or 0
    return attrs.get("Image", ""), health.get("Status", ""), output, streak


def settle(engine, svc: Service, seconds: float) -> Service:
    """The service once its update (or rollback) stops moving and its tasks have started, or
    after `seconds`: a check judges a deploy the learner just made, not its first second. A
    deploy returns before Swarm has begun (no task yet, or the update not yet marked as under
    way): the tasks Swarm wants running are not yet all on the service's image, nor as many as it
    asks for, until Swarm has acted (a paused update stays so: it is judged as it is)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        wanted = [t for t in tasks(engine, svc) if t.desired == "running"]
        moving = svc.update_state in MOVING
        starting = any(t.state in STARTING for t in wanted)
        behind = "paused" not in svc.update_state and (
            any((t.image, t.digest) != (svc.image, svc.digest) for t in wanted)
            or len(wanted) < (svc.replicas or 0)
        )
        if not moving and not starting and not behind:
            break
        time.sleep(1)
        svc = service(engine, svc.id) or svc
    return svc


def logs(engine, container_id: str) -> str:
    try:
        return engine.api.logs(container_id, stdout=True, stderr=False).decode("utf-8", "replace")
    except docker.errors.NotFound:
        return ""
