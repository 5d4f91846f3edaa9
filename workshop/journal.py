"""The kit's durable record of what it has seen on the engine, so no evidence is lost.

The engine keeps only its last 256 events, in memory, and forgets them when it restarts; a
container run with `--rm` leaves nothing to inspect. Each time the kit looks (every `workshop`
command that checks, and `workshop watch` continuously), it appends to a journal in the state
folder what it saw since it last looked: the engine's events, the inspect data of the learner's
containers as they are now, and the images it met. Checks then judge from the journal as well as
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

# The events worth keeping. Others (network, exec_create/exec_die, health_status, ...) are noise
# for the checks, and the healthcheck alone would fill the journal.
CONTAINER_ACTIONS = {
    "create", "start", "restart", "die", "destroy", "exec_start", "attach", "rename", "kill",
    "stop", "pause", "unpause",
}  # fmt: skip
IMAGE_ACTIONS = {"pull", "tag", "untag", "delete", "import", "load", "create", "push"}


def kept(event: dict) -> bool:
    """An event worth keeping (the learner's containers and images, not the kit's own looks)."""
    kind = event.get("Type")
    action = event.get("Action", "")
    if kind == "container":
        verb = action.split(":", 1)[0]
        return verb in CONTAINER_ACTIONS and KIT_MARK not in action
    return kind == "image" and action in IMAGE_ACTIONS


@dataclass(frozen=True)
class Event:
    """One engine event, as the kit keeps it."""

    kind: str  # "container" or "image"
    action: str  # "create", "die", "exec_start: ls -l", "pull", "tag", ...
    actor: str  # the container's or image's id (for a pull: the reference pulled)
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


def container_summary(attrs: dict) -> dict:
    """The parts of `docker container inspect` the checks read, small enough to keep."""
    config = attrs.get("Config") or {}
    state = attrs.get("State") or {}
    host = attrs.get("HostConfig") or {}
    network = attrs.get("NetworkSettings") or {}
    return {
        "Id": attrs.get("Id", ""),
        "Name": attrs.get("Name", ""),
        "Created": attrs.get("Created", ""),
        "Image": attrs.get("Image", ""),
        "Config": {
            key: config.get(key)
            for key in ("Image", "Cmd", "Entrypoint", "Tty", "OpenStdin", "Healthcheck", "User")
        },
        "State": {
            key: state.get(key)
            for key in ("Status", "Running", "ExitCode", "Error", "StartedAt", "FinishedAt")
        },
        "HostConfig": {
            "AutoRemove": host.get("AutoRemove"),
            "PortBindings": host.get("PortBindings"),
        },
        "NetworkSettings": {"Ports": network.get("Ports")},
    }


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
