"""Nouns with predicates for step checks: what the learner made on the engine since they started.

Checks read like `assert container.ran("ls", "-l")`. Everything here only reads the engine.
A check that finds a step undone calls `missing(...)` with one sentence that names what is
missing (or the mistake) and the fix; the runner shows that sentence and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from workshop.engine import parse_time

_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


class Missing(Exception):
    """A step is not done; the message is the one sentence the learner sees."""


def missing(sentence: str):
    """End the current check with one sentence: what is missing (or the mistake), and the fix."""
    __tracebackhide__ = True
    raise Missing(sentence)


def short(container_id: str) -> str:
    return container_id[:12]


class Container:
    """A container as `docker container inspect` sees it."""

    def __init__(self, engine, attrs: dict):
        self._engine = engine
        self.attrs = attrs

    @property
    def id(self) -> str:
        return self.attrs["Id"]

    @property
    def short_id(self) -> str:
        return short(self.id)

    @property
    def name(self) -> str:
        return self.attrs["Name"].lstrip("/")

    @property
    def image(self) -> str:
        """The image as the learner named it (`alpine`, `alpine:latest`, ...)."""
        return self.attrs["Config"]["Image"]

    @property
    def command(self) -> list[str]:
        """What the container was told to run: entrypoint then command."""
        config = self.attrs["Config"]
        return list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])

    @property
    def created(self) -> datetime:
        return parse_time(self.attrs["Created"])

    @property
    def running(self) -> bool:
        return bool(self.attrs["State"]["Running"])

    @property
    def exit_code(self) -> int | None:
        return None if self.running else self.attrs["State"]["ExitCode"]

    @property
    def tty(self) -> bool:
        return bool(self.attrs["Config"].get("Tty"))

    @property
    def stdin_open(self) -> bool:
        return bool(self.attrs["Config"].get("OpenStdin"))

    @property
    def interactive(self) -> bool:
        """Started with `-it`: input kept open and a terminal attached."""
        return self.tty and self.stdin_open

    def ran(self, *argv: str) -> bool:
        return self.command == list(argv)

    def ran_program(self, program: str) -> bool:
        """Ran `program`, written as `ls` or as `/bin/ls`."""
        return bool(self.command) and self.command[0].rsplit("/", 1)[-1] == program

    @property
    def windows_path_in_command(self) -> str | None:
        """A command rewritten by Git Bash on Windows (`/bin/sh` -> `C:/Program Files/Git/...`)."""
        if self.command and _WINDOWS_PATH.match(self.command[0]):
            return self.command[0]
        return None

    @cached_property
    def changes(self) -> list[dict]:
        """The container's filesystem changes (`docker container diff`)."""
        return self._engine.api.diff(self.id) or []

    def added(self, filename: str) -> str | None:
        """The path of an added file called `filename`, if the container has one."""
        for change in self.changes:
            if change["Kind"] == 1 and change["Path"].rsplit("/", 1)[-1] == filename:
                return change["Path"]
        return None

    def __repr__(self) -> str:
        return f"<Container {self.short_id} {self.image} {self.command}>"


@dataclass(frozen=True)
class Exec:
    container_id: str
    argv: list[str]
    time: datetime


class Learner:
    """What the learner did on the engine since `since` (when they started the lab)."""

    def __init__(self, engine, since: datetime):
        self.engine = engine
        self.since = since

    def containers(self, image: str | None = None) -> list[Container]:
        """Containers made since the lab started, oldest first; `image` as the learner named it."""
        api = self.engine.api
        floor = int(self.since.timestamp())
        found = []
        for summary in api.containers(all=True):
            if summary["Created"] < floor:
                continue
            attrs = api.inspect_container(summary["Id"])
            container = Container(self.engine, attrs)
            if container.created < self.since:
                continue
            if image is not None and not _same_image(container.image, image):
                continue
            found.append(container)
        found.sort(key=lambda c: c.created)
        return found

    def image(self, reference: str):
        """The image with that exact tag, or None."""
        import docker.errors

        try:
            return self.engine.images.get(reference)
        except docker.errors.ImageNotFound:
            return None

    def tags_of(self, repository: str) -> list[str]:
        """Every local tag of `repository` (`alpine:3.20`, ...)."""
        return sorted(
            tag
            for image in self.engine.images.list(name=repository)
            for tag in image.tags
            if tag.rsplit(":", 1)[0] == repository
        )

    def events(self, **filters) -> list[dict]:
        """The engine's recent events since the lab started (kept in memory by the engine)."""
        until = self.engine_now()  # a future `until` would make the engine wait for it
        return list(
            self.engine.events(
                since=self.since.timestamp(), until=until.timestamp(), filters=filters, decode=True
            )
        )

    def engine_now(self) -> datetime:
        from workshop.engine import engine_time

        return engine_time(self.engine)

    def execs(self) -> list[Exec]:
        """Commands run with `docker container exec` since the lab started."""
        found = []
        for event in self.events(type="container", event="exec_start"):
            _, _, command = event.get("Action", "").partition(":")
            found.append(
                Exec(
                    container_id=event["Actor"]["ID"],
                    argv=command.split(),
                    time=datetime.fromtimestamp(event["timeNano"] / 1e9).astimezone(),
                )
            )
        return found

    def removed(self, image: str) -> list[str]:
        """Ids of containers from `image` that were created and then removed since the start."""
        return [
            event["Actor"]["ID"]
            for event in self.events(type="container", event="destroy")
            if _same_image(event["Actor"].get("Attributes", {}).get("image", ""), image)
        ]


def _same_image(named: str, wanted: str) -> bool:
    """`alpine`, `alpine:latest` and `docker.io/library/alpine` all name alpine:latest."""
    return _normal(named) == _normal(wanted)


def _normal(reference: str) -> str:
    name = reference.split("@", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        name = name.removeprefix(prefix)
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"
