"""The kit's durable record of what it has seen on the engine, so no evidence is lost.

The engine keeps only its last 256 events, in memory, and forgets them when it restarts; a
container run with `--rm` leaves nothing to inspect. Each time the kit looks (every `workshop`
command that checks, and `workshop watch` continuously), it appends to a journal in the state
folder what it saw since it last looked: the engine's events (containers, images, volumes,
networks, swarm services and nodes), the inspect data of the learner's containers as they are
now (nearly all of it: mounts, networks, ports, labels, env, restart policy, health state; see
`container_summary`), and the images it met. Checks then judge from the journal as well as
from the engine, so a pull that has left the engine's ring, or a container that was removed
after the kit saw it, still counts.

One journal per engine (engines are told apart by their ID), as JSON lines, appended under a
file lock; a line cut short by a crash is skipped when reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# A mark in every command the kit itself runs inside a container (through testinfra): its own
# looks leave exec events too, which must never count as the learner's.
KIT_MARK = "workshop-kit-look"

# The events worth keeping: every kind a lab may make (containers, images, volumes, networks,
# swarm services and nodes). Others (exec_create/exec_die, health_status, ...) are noise for the
# checks, and the healthcheck alone would fill the journal.
CONTAINER_ACTIONS = {
    "create", "start", "restart", "die", "destroy", "exec_start", "attach", "rename", "kill",
    "stop", "pause", "unpause", "oom", "update",
}  # fmt: skip
IMAGE_ACTIONS = {"pull", "tag", "untag", "delete", "import", "load", "create", "push", "save"}
VOLUME_ACTIONS = {"create", "destroy", "mount", "unmount"}
NETWORK_ACTIONS = {"create", "destroy", "remove", "connect", "disconnect"}
SWARM_ACTIONS = {"create", "update", "remove"}  # services and nodes
ACTIONS = {
    "container": CONTAINER_ACTIONS,
    "image": IMAGE_ACTIONS,
    "volume": VOLUME_ACTIONS,
    "network": NETWORK_ACTIONS,
    "service": SWARM_ACTIONS,
    "node": SWARM_ACTIONS,
}
KINDS = tuple(ACTIONS)  # for the engine's `events(filters={"type": KINDS})`
# Every container joins and leaves one of these: its `connect`/`disconnect` says nothing the
# container's own events do not (its networks are in its inspect data).
DEFAULT_NETWORKS = {"bridge", "host", "none"}


def kept(event: dict) -> bool:
    """An event worth keeping (what the learner made, not the kit's own looks)."""
    kind = event.get("Type")
    action = event.get("Action", "")
    verb = action.split(":", 1)[0]
    if verb not in ACTIONS.get(kind, ()):
        return False
    if kind == "container":
        return KIT_MARK not in action
    if kind == "network" and verb in ("connect", "disconnect"):
        name = ((event.get("Actor") or {}).get("Attributes") or {}).get("name", "")
        return name not in DEFAULT_NETWORKS
    return True


def healthcheck_command(test: list[str]) -> str:
    """The command line an `exec_start` event shows for a HEALTHCHECK's `Test`."""
    if test[0] == "CMD-SHELL":
        return " ".join(["/bin/sh", "-c", *test[1:]])
    return " ".join(test[1:])


def is_healthcheck(summary: dict, event: Event) -> bool:
    """An `exec_start` the engine ran for the container's HEALTHCHECK, not the learner: the one
    healthcheck filter, for the feed and for the checks' look at the engine's log."""
    if event.verb != "exec_start":
        return False
    test = ((summary.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE" and healthcheck_command(test) == event.command


@dataclass(frozen=True)
class Event:
    """One engine event, as the kit keeps it."""

    kind: str  # "container", "image", "volume", "network", "service" or "node"
    action: str  # "create", "die", "exec_start: ls -l", "pull", "tag", "mount", ...
    actor: str  # the thing's id (a pull: the reference pulled; a volume: its name)
    time: int  # nanoseconds since the epoch, the engine's clock
    attrs: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def verb(self) -> str:
        return self.action.split(":", 1)[0]

    @property
    def command(self) -> str:
        """What an `exec_start` ran, as the engine wrote it (arguments joined by spaces)."""
        return self.action.partition(":")[2].strip()

    @property
    def key(self) -> tuple:
        return (self.kind, self.action, self.actor, self.time)

    @classmethod
    def from_engine(cls, raw: dict) -> Event:
        actor = raw.get("Actor") or {}
        return cls(
            kind=raw.get("Type", ""),
            action=raw.get("Action", ""),
            actor=actor.get("ID", ""),
            time=int(raw.get("timeNano") or int(raw.get("time", 0)) * 10**9),
            attrs={k: str(v) for k, v in (actor.get("Attributes") or {}).items()},
        )

    def to_json(self) -> dict:
        return {"k": "event", "type": self.kind, "action": self.action, "id": self.actor,
                "time": self.time, "attrs": self.attrs}  # fmt: skip


# What `docker container inspect` says that no check asks and that only grows the journal: host
# paths of the engine's own files, the storage driver's layer paths, the ids of running execs,
# and the healthcheck's log (a new entry every interval: the container would be rewritten each
# time). Everything else is kept, so a check may ask any of it after the container is gone.
NOISE = ("ResolvConfPath", "HostnamePath", "HostsPath", "LogPath", "GraphDriver", "ExecIDs",
         "MountLabel", "ProcessLabel", "AppArmorProfile", "SizeRw", "SizeRootFs")  # fmt: skip
HOST_NOISE = ("MaskedPaths", "ReadonlyPaths")
NETWORK_NOISE = (
    "SandboxID", "SandboxKey", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen",
    "SecondaryIPAddresses", "SecondaryIPv6Addresses",
)  # fmt: skip


def _pruned(value):
    """Without empty values (None, "", [], {}): the engine lists every option, set or not."""
    if isinstance(value, dict):
        kept_ = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept_.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def container_summary(attrs: dict) -> dict:
    """`docker container inspect` as the journal keeps it: all of it (config, command, env,
    labels, mounts, networks, ports, restart policy, health state, exit code, ...) except the
    noisy parts above; empty host and network options are left out. The keys the checks have
    always read (`Config.Image`, `State.Status`, ...) are always there."""
    summary = {key: value for key, value in attrs.items() if key not in NOISE}
    summary.setdefault("Id", "")
    summary.setdefault("Name", "")
    summary.setdefault("Created", "")
    summary.setdefault("Image", "")
    summary["Config"] = dict(attrs.get("Config") or {})
    state = dict(attrs.get("State") or {})
    state.pop("Pid", None)  # changes with each start; says nothing a check needs
    health = state.get("Health")
    if isinstance(health, dict):
        state["Health"] = {"Status": health.get("Status", "")}
    summary["State"] = state
    host = {k: v for k, v in (attrs.get("HostConfig") or {}).items() if k not in HOST_NOISE}
    summary["HostConfig"] = _pruned(host)
    network = attrs.get("NetworkSettings") or {}
    network = {k: v for k, v in network.items() if k not in NETWORK_NOISE}
    summary["NetworkSettings"] = {"Ports": network.get("Ports"), **_pruned(network)}
    summary["Mounts"] = list(attrs.get("Mounts") or [])
    return summary


def image_summary(attrs: dict, history: list[dict] | None = None) -> dict:
    """The parts of `docker image inspect` the checks read; with `history` (`docker image
    history`), when each build step was made and by what, which outlive the image."""
    config = attrs.get("Config") or {}
    summary = {
        "Id": attrs.get("Id", ""),
        "RepoTags": attrs.get("RepoTags") or [],
        "Created": attrs.get("Created", ""),
        "Config": {"Labels": config.get("Labels") or {}, "Cmd": config.get("Cmd")},
        "RootFS": {"Layers": (attrs.get("RootFS") or {}).get("Layers") or []},
    }
    if history is not None:
        summary["Steps"] = [
            [int(step.get("Created") or 0), (step.get("CreatedBy") or "")[:120]] for step in history
        ]
    return summary


@dataclass
class Record:
    """Everything a journal holds, read back."""

    events: list[Event] = field(default_factory=list)
    containers: dict[str, dict] = field(default_factory=dict)  # id -> newest summary seen
    images: dict[str, dict] = field(default_factory=dict)  # id -> newest summary seen
    sightings: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)
    # (when, image id, its tags then): every time the kit met an image
    snapshots: list[dict] = field(default_factory=list)  # {"time", "why", "tags": {tag: id}}
    cursor: int = 0  # events up to here (ns, engine clock) have been read

    def add(self, line: dict) -> None:
        kind = line.get("k")
        if kind == "event":
            self.events.append(
                Event(
                    line["type"],
                    line["action"],
                    line["id"],
                    int(line["time"]),
                    dict(line.get("attrs") or {}),
                )
            )
        elif kind == "container":
            self.containers[line["attrs"]["Id"]] = line["attrs"]
        elif kind == "image":
            attrs = line["attrs"]
            self.images[attrs["Id"]] = attrs
            tags = tuple(attrs.get("RepoTags") or [])
            self.sightings.append((int(line.get("seen") or 0), attrs["Id"], tags))
        elif kind == "snapshot":
            self.snapshots.append(line)
        elif kind == "cursor":
            self.cursor = max(self.cursor, int(line["time"]))

    def finish(self) -> None:
        unique = {event.key: event for event in self.events}
        self.events = sorted(unique.values(), key=lambda e: e.time)


def _engine_key(engine_id: str) -> str:
    return hashlib.sha256(engine_id.encode()).hexdigest()[:16]


class Journal:
    """The journal of one engine in the state folder `directory`."""

    def __init__(self, directory: Path, engine_id: str):
        self.directory = directory
        self.path = directory / f"journal-{_engine_key(engine_id)}.jsonl"
        self._written: dict[str, str] = {}  # id -> the json last written (or read) for it

    def read(self) -> Record:
        record = Record()
        try:
            handle = open(self.path, encoding="utf-8")  # noqa: SIM115
        except FileNotFoundError:
            return record
        except OSError:
            return record  # unreadable: the kit still judges from the engine itself
        with handle:
            for text in handle:
                try:
                    line = json.loads(text)
                    record.add(line)
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash, or damaged: skip it
                if line.get("k") in ("container", "image"):
                    self._written[line["attrs"]["Id"]] = _canonical(line["attrs"])
        record.finish()
        return record

    def unchanged(self, attrs: dict) -> bool:
        return self._written.get(attrs["Id"]) == _canonical(attrs)

    def append(self, lines: Iterable[dict]) -> None:
        """Add lines at the end; two commands writing at once do not interleave."""
        data = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        if not data:
            return
        for line in lines:
            if line.get("k") in ("container", "image"):
                self._written[line["attrs"]["Id"]] = _canonical(line["attrs"])
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with _locked(self.path.with_suffix(".lock")):
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, data.encode("utf-8"))
                finally:
                    os.close(fd)
        except OSError:
            return  # a read-only state folder: the kit judges from the engine alone


def _canonical(attrs: dict) -> str:
    return json.dumps(attrs, sort_keys=True, separators=(",", ":"))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    from workshop.state import held

    with open(path, "a+") as handle, held(handle):
        yield
