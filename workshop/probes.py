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


class _Inspected:
    """Something the engine describes with `docker ... inspect`: its attributes, read as is."""

    def __init__(self, engine, attrs: dict):
        self._engine = engine
        self.attrs = attrs

    @property
    def id(self) -> str:
        return self.attrs["Id"]

    @property
    def short_id(self) -> str:
        return short(self.id.removeprefix("sha256:"))


class Container(_Inspected):
    """A container as `docker container inspect` sees it."""

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
        """The container's filesystem changes (`docker container diff`); none if it is gone."""
        from docker.errors import NotFound

        try:
            return self._engine.api.diff(self.id) or []
        except NotFound:
            return []

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
        from docker.errors import NotFound

        api = self.engine.api
        floor = int(self.since.timestamp())
        found = []
        for summary in api.containers(all=True):
            if summary["Created"] < floor:
                continue
            try:
                attrs = api.inspect_container(summary["Id"])
            except NotFound:  # gone since the listing (a `--rm` container that just exited)
                continue
            container = Container(self.engine, attrs)
            if container.created < self.since:
                continue
            if image is not None and not same_image(container.image, image):
                continue
            found.append(container)
        found.sort(key=lambda c: c.created)
        return found

    def image(self, reference: str) -> Image | None:
        """The image with that exact tag, or None."""
        return image_named(self.engine, reference)

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

    def pulled(self, reference: str) -> bool:
        """The engine's event log shows a pull of `reference` since the lab started."""
        return any(
            same_image(event["Actor"]["ID"], reference)
            for event in self.events(type="image", event="pull")
        )

    def removed(self, image: str) -> list[str]:
        """Ids of containers from `image` that were created and then removed since the start."""
        return [
            event["Actor"]["ID"]
            for event in self.events(type="container", event="destroy")
            if same_image(event["Actor"].get("Attributes", {}).get("image", ""), image)
        ]


def same_image(named: str, wanted: str) -> bool:
    """`alpine`, `alpine:latest` and `docker.io/library/alpine` all name alpine:latest."""
    return _normal(named) == _normal(wanted)


def _normal(reference: str) -> str:
    name = reference.split("@", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        name = name.removeprefix(prefix)
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


# --- Images ----------------------------------------------------------------------------------

_NEVER = "0001-01-01T00:00:00Z"  # how the engine writes "never" (an image never tagged)


class Image(_Inspected):
    """An image as `docker image inspect` sees it."""

    @property
    def tags(self) -> list[str]:
        return list(self.attrs.get("RepoTags") or [])

    @property
    def created(self) -> datetime:
        return parse_time(self.attrs["Created"])

    @property
    def last_tagged(self) -> datetime | None:
        """When a tag last moved onto this image: `docker build -t` sets it, even when every
        step came from the cache and the image itself is an old one."""
        stamp = (self.attrs.get("Metadata") or {}).get("LastTagTime") or _NEVER
        return None if stamp.startswith("0001-") else parse_time(stamp)

    def built_since(self, since: datetime) -> bool:
        """Built, or rebuilt from the cache under its tag, at or after `since`."""
        return self.created >= since or (self.last_tagged is not None and self.last_tagged >= since)

    @property
    def config(self) -> dict:
        return self.attrs.get("Config") or {}

    @property
    def user(self) -> str:
        return self.config.get("User") or ""

    @property
    def runs_as_root(self) -> bool:
        """No USER, or a USER that is root by name or number."""
        name = self.user.split(":", 1)[0]
        return name in ("", "root", "0")

    @property
    def exposed_ports(self) -> set[str]:
        return set(self.config.get("ExposedPorts") or {})

    @property
    def cmd(self) -> list[str]:
        return list(self.config.get("Cmd") or [])

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("Labels") or {})

    @property
    def healthcheck(self) -> list[str]:
        return list((self.config.get("Healthcheck") or {}).get("Test") or [])

    @property
    def layers(self) -> list[str]:
        """The content digests of its filesystem layers, bottom first (`RootFS.Layers`)."""
        return list((self.attrs.get("RootFS") or {}).get("Layers") or [])

    def __repr__(self) -> str:
        return f"<Image {self.short_id} {self.tags}>"


def image_named(engine, reference: str) -> Image | None:
    """The image with that exact tag (`name:tag`), or None."""
    import docker.errors

    try:
        return Image(engine, engine.api.inspect_image(reference))
    except docker.errors.ImageNotFound:
        return None


def images_labelled(engine, label: str, value: str, intermediate: bool = False) -> list[Image]:
    """Local images carrying `label=value`, oldest first; `intermediate` adds the legacy
    builder's untagged step images (the build cache)."""
    import docker.errors

    found = []
    for summary in engine.api.images(all=intermediate, filters={"label": f"{label}={value}"}):
        try:
            found.append(Image(engine, engine.api.inspect_image(summary["Id"])))
        except docker.errors.ImageNotFound:  # removed while we looked
            continue
    found.sort(key=lambda image: image.created)
    return found
