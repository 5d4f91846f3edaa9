"""Nouns with predicates for step checks: what the learner made on the engine since they began.

Checks read like `assert container.runs("ls")`. Everything here only reads the engine (and
appends what it saw to the kit's journal, see `workshop.journal`). A check that finds a step
undone calls `missing(...)` with one sentence that names what is missing (or the mistake) and the
fix; the runner shows that sentence and nothing else.

Commands are compared by meaning, not spelling: `/bin/ls -la /`, `busybox ls -l` and
`sh -c "ls -l"` all run `ls` in long form (see `simple_commands`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property

from workshop import labs
from workshop.engine import Asked, parse_time
from workshop.journal import (
    KINDS,
    Event,
    Journal,
    Record,
    container_summary,
    image_summary,
    is_healthcheck,
    kept,
)
from workshop.meaning import (
    names_tag,
    program_name,
    repository_of,
    same_image,
    same_repo,
    simple_commands,
)

_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]")


class Missing(Exception):
    """A step is not done; the message is the one sentence the learner sees, and `mistake` the
    stable id of what the check recognised (unique within the lab; the classroom counts them)."""

    def __init__(self, sentence: str, mistake: str = ""):
        super().__init__(sentence)
        self.mistake = mistake


# The verdicts the kit says itself, for every lab (`Learner.attempts`, declared outcomes); a lab
# never declares them.
GENERIC_MISTAKES = labs.GENERIC_MISTAKES


def missing(sentence: str, mistake: str = ""):
    """End the current check with one sentence: what is missing (or the mistake), and the fix.
    `mistake` is its stable id, declared in the lab's manifest (`[[steps.mistakes]]`)."""
    __tracebackhide__ = True
    raise Missing(sentence, mistake)


def short(identifier: str) -> str:
    return identifier.removeprefix("sha256:")[:12]


# --- things the engine describes -------------------------------------------------------------


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
        return short(self.id)


class Container(_Inspected):
    """A container as `docker container inspect` sees it, or as the kit's journal last saw it
    before it was removed (`gone`)."""

    def __init__(self, engine, attrs: dict, gone: bool = False, exit_code: int | None = None):
        super().__init__(engine, attrs)
        self.gone = gone
        self._exit_code = exit_code

    @property
    def name(self) -> str:
        return self.attrs["Name"].lstrip("/")

    @property
    def image(self) -> str:
        """The image as the learner named it (`nginx`, `nginx:latest`, an ID, ...)."""
        return self.attrs["Config"]["Image"]

    @property
    def image_id(self) -> str:
        return self.attrs.get("Image", "")

    @property
    def command(self) -> list[str]:
        """What the container was told to run: entrypoint then command."""
        config = self.attrs["Config"]
        return list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])

    @property
    def shown(self) -> str:
        """The command as a learner would type it."""
        return shlex.join(self.command) if self.command else "(no command)"

    @property
    def created(self) -> datetime:
        return parse_time(self.attrs["Created"])

    @property
    def running(self) -> bool:
        return not self.gone and bool(self.attrs["State"]["Running"])

    @property
    def exit_code(self) -> int | None:
        if self.running:
            return None
        if self._exit_code is not None:
            return self._exit_code
        state = self.attrs["State"]
        if self.gone and state.get("Running"):
            return None  # seen running, then removed: how it ended is unknown
        if state.get("Status") == "created":
            return None
        return state.get("ExitCode")

    @property
    def never_started(self) -> bool:
        return self.attrs["State"].get("Status") == "created"

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

    @property
    def started_at(self) -> datetime | None:
        stamp = self.attrs["State"].get("StartedAt") or ""
        return None if not stamp or stamp.startswith("0001-") else parse_time(stamp)

    def commands(self) -> list[list[str]]:
        """The simple commands it ran (`simple_commands`)."""
        return simple_commands(self.command)

    def runs(self, program: str) -> list[list[str]]:
        """The argument lists with which it ran `program` (empty if it never did)."""
        return [command[1:] for command in self.commands() if command[0] == program]

    def ran(self, *argv: str) -> bool:
        """Ran exactly `argv` (spelled any way: `/bin/ls -l` is `ls -l`)."""
        return [program_name(argv[0]), *argv[1:]] in self.commands()

    @property
    def mounts(self) -> list[Mount]:
        """Its volumes and bind mounts, as made (kept for a `--rm` container too)."""
        return [Mount.of(raw) for raw in self.attrs.get("Mounts") or []]

    def mount_at(self, destination: str) -> Mount | None:
        """What is mounted at `destination` inside it (`/data`), if anything."""
        wanted = destination.rstrip("/") or "/"
        return next((m for m in self.mounts if m.destination == wanted), None)

    def uses_volume(self, name: str) -> bool:
        """The named volume `name` is mounted in it (anywhere)."""
        return any(m.type == "volume" and m.name == name for m in self.mounts)

    @property
    def networks(self) -> list[str]:
        """The names of the networks it is (or was) attached to (`bridge`, `mynet`, ...)."""
        networks = (self.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        if networks:
            return sorted(networks)
        mode = (self.attrs.get("HostConfig") or {}).get("NetworkMode") or ""
        return [] if mode in ("", "default") else [mode]

    @property
    def ports(self) -> dict[str, list[str]]:
        """Published ports: `{"80/tcp": ["8080"]}` (the host ports, as asked at create; an
        ephemeral `-p 80` shows "" until it runs)."""
        bindings = (self.attrs.get("HostConfig") or {}).get("PortBindings") or {}
        return {
            port: [b.get("HostPort", "") for b in hosts or []] for port, hosts in bindings.items()
        }

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.attrs["Config"].get("Labels") or {})

    @property
    def env(self) -> dict[str, str]:
        """Its environment (`-e`, and the image's ENV)."""
        pairs = (item.partition("=") for item in self.attrs["Config"].get("Env") or [])
        return {name: value for name, _, value in pairs}

    @property
    def restart_policy(self) -> str:
        """`no`, `always`, `unless-stopped` or `on-failure` ("" read as `no`)."""
        policy = (self.attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
        return policy.get("Name") or "no"

    @property
    def health(self) -> str:
        """`starting`, `healthy` or `unhealthy`; "" without a healthcheck."""
        return ((self.attrs["State"].get("Health") or {}).get("Status")) or ""

    @property
    def project(self) -> str:
        """The compose project or swarm stack it belongs to ("" if none)."""
        labels = self.labels
        return labels.get("com.docker.compose.project") or labels.get(
            "com.docker.stack.namespace", ""
        )

    def logs(self, tail: int | str = "all") -> str:
        """Its output (stdout and stderr), the last `tail` lines; "" if it is gone."""
        from docker.errors import NotFound

        if self.gone:
            return ""
        try:
            raw = self._engine.api.logs(self.id, stdout=True, stderr=True, tail=tail)
        except NotFound:
            return ""
        return raw.decode("utf-8", "replace")

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

        if self.gone:
            return []
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

    def read(self, path: str) -> bytes | None:
        """A file's bytes from the container's filesystem, running or stopped (`docker cp`);
        None if there is no such file or the container is gone."""
        import io
        import tarfile

        from docker.errors import NotFound

        if self.gone:
            return None
        try:
            stream, _ = self._engine.api.get_archive(self.id, path)
            data = b"".join(stream)
        except NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            handle = archive.extractfile(member) if member else None
            return handle.read() if handle else None

    def __repr__(self) -> str:
        return f"<Container {self.short_id} {self.image} {self.command}>"


@dataclass(frozen=True)
class Exec:
    """A command run with `docker container exec` (the engine joins its words with spaces)."""

    container_id: str
    command: str
    time: datetime


@dataclass(frozen=True)
class Mount:
    """One mount of a container: `type` is "volume", "bind" or "tmpfs"; `name` a volume's name."""

    type: str
    destination: str
    source: str = ""
    name: str = ""
    writable: bool = True

    @property
    def kind(self) -> str:
        """The same as `type`."""
        return self.type

    @property
    def read_only(self) -> bool:
        return not self.writable

    @classmethod
    def of(cls, raw: dict) -> Mount:
        return cls(
            type=raw.get("Type", ""),
            destination=(raw.get("Destination") or "").rstrip("/") or "/",
            source=raw.get("Source", ""),
            name=raw.get("Name", ""),
            writable=bool(raw.get("RW", True)),
        )


@dataclass(frozen=True)
class Made:
    """A volume, network or swarm service made since the learner began: as the engine shows
    it now, or (`gone`) as the journal's events recorded it before it was removed."""

    kind: str  # "volume", "network" or "service"
    name: str
    id: str
    created: datetime | None
    labels: dict
    gone: bool = False

    @property
    def project(self) -> str:
        """The compose project or swarm stack that made it ("" if none)."""
        return self.labels.get("com.docker.compose.project") or self.labels.get(
            "com.docker.stack.namespace", ""
        )


def _event_time(event: Event) -> datetime:
    return datetime.fromtimestamp(event.time / 1e9).astimezone()


class Learner:
    """What the learner did on the engine since `since` (when they began the workshop).

    The first question asked looks at the engine once: the containers made since, and the events
    since the kit last looked, all added to the journal; later questions read that record.
    """

    def __init__(
        self,
        engine,
        since: datetime,
        journal: Journal | None = None,
        info: dict | None = None,
        listing: Asked | None = None,
    ):
        self.engine = engine
        self.since = since
        self.journal = journal
        self._since_ns = int(since.timestamp() * 1e9)
        if info is not None:  # `docker info`, when the caller has just asked it
            self.__dict__["_info"] = info
        self._listing = listing  # the containers, asked for meanwhile (else asked at first look)

    # -- looking ------------------------------------------------------------------------------

    @cached_property
    def _info(self) -> dict:
        return self.engine.info()

    def engine_now(self) -> datetime:
        return parse_time(self._info["SystemTime"])

    @cached_property
    def _live(self) -> list[Container]:
        """The containers on the engine made since the start, oldest first."""
        self.record  # noqa: B018 -- one look at the engine sees containers and events together
        return self.__dict__["_live"]

    def _look_at_containers(self, record: Record, touched: set[str] | None) -> list[Container]:
        """Each container made since the start, inspected; or, if it is not running, the
        journal holds it and no event about it came since the journal's last look (`touched`
        lists those that did; None: inspect all), as the journal has it: a stopped container
        changes only by events."""
        from docker.errors import NotFound

        api = self.engine.api
        floor = int(self.since.timestamp())
        found = []
        listing, self._listing = self._listing, None
        for listed in listing.answer() if listing else api.containers(all=True):
            if listed["Created"] < floor:
                continue
            journaled = record.containers.get(listed["Id"])
            if (
                touched is not None
                and listed["Id"] not in touched
                and journaled is not None
                and "Mounts" in journaled  # kept whole (an older kit kept less)
                and journaled["State"].get("Status") == listed.get("State")
                and listed.get("State") != "running"  # live ports and health: always asked
            ):
                attrs = journaled
            else:
                try:
                    attrs = api.inspect_container(listed["Id"])
                except NotFound:  # gone since the listing (a `--rm` container that just exited)
                    continue
            container = Container(self.engine, attrs)
            if container.created >= self.since:
                found.append(container)
        found.sort(key=lambda c: c.created)
        return found

    @cached_property
    def record(self) -> Record:
        """The journal brought up to date with what the engine shows now."""
        record = self.journal.read() if self.journal else Record()
        now = int(self.engine_now().timestamp() * 1e9)
        start = max(record.cursor, self._since_ns)
        raws = list(
            self.engine.events(
                since=start / 1e9, until=now / 1e9, filters={"type": list(KINDS)}, decode=True
            )
        )
        touched = {(raw.get("Actor") or {}).get("ID") for raw in raws}
        live = self._look_at_containers(record, touched if record.cursor else None)
        self.__dict__["_live"] = live
        lines: list[dict] = []
        for container in live:
            summary = container_summary(container.attrs)
            record.containers[container.id] = summary
            if self.journal and not self.journal.unchanged(summary):
                lines.append({"k": "container", "attrs": summary})
        known = {event.key for event in record.events}
        fresh = []
        for raw in raws:
            event = Event.from_engine(raw)
            if event.key in known or not kept(raw):
                continue
            if is_healthcheck(record.containers.get(event.actor) or {}, event):
                continue
            known.add(event.key)
            fresh.append(event)
        record.events.extend(fresh)
        record.events.sort(key=lambda e: e.time)
        record.cursor = max(record.cursor, now)
        if self.journal:
            lines += [event.to_json() for event in fresh]
            lines.append({"k": "cursor", "time": now})
            self.journal.append(lines)
        return record

    def note_image(self, image: Image, history: bool = False) -> None:
        """Keep an image the checks met in the journal (its layers outlive its tag), with when
        the kit saw it under which tags; with `history`, its build steps' times too."""
        summary = image_summary(image.attrs, image.history if history else None)
        record = self.record
        now = int(self.engine_now().timestamp() * 1e9)
        record.images[image.id] = summary
        fresh = not any(ident == image.id and when >= self._since_ns
                        for when, ident, _ in record.sightings)  # fmt: skip
        record.sightings.append((now, image.id, tuple(image.tags)))
        if self.journal and (fresh or not self.journal.unchanged(summary)):
            self.journal.append([{"k": "image", "seen": now, "attrs": summary}])

    def new_since_start(self, image_id: str) -> bool:
        """The image was not on the engine when the workshop began, tagged or not (the kit's
        snapshot then says so)."""
        taken = self._snapshot_at_start
        if taken is None:
            return False
        return image_id not in (taken.get("tags") or {}).values() and image_id not in (
            taken.get("ids") or ()
        )

    def steps_of(self, image_id: str) -> list[tuple[int, str]]:
        """(when, made by) of each build step of an image, newest first: from the engine's
        history, or from the journal once the image is gone."""
        import docker.errors

        try:
            history = self.engine.api.history(image_id)
        except docker.errors.NotFound:
            summary = self.record.images.get(image_id) or {}
            return [(int(when), by) for when, by in summary.get("Steps") or []]
        return [(int(s.get("Created") or 0), s.get("CreatedBy") or "") for s in history]

    def seen_under(self, reference: str) -> set[str]:
        """Ids of images the kit saw carrying the tag `reference` since the workshop began."""
        return {
            ident
            for when, ident, tags in self.record.sightings
            if when >= self._since_ns and any(same_image(tag, reference) for tag in tags)
        }

    # -- containers -----------------------------------------------------------------------------

    def containers(self, image: str | None = None, gone: bool = False) -> list[Container]:
        """Containers made since the workshop began, oldest first: those on the engine, and
        with `gone` also those the kit saw before they were removed. `image` names a
        repository (`nginx`, any tag) or a tag (`example/web:latest`)."""
        found = list(self._live)
        if gone:
            live = {c.id for c in found}
            record = self.record
            for ident, summary in record.containers.items():
                if ident in live or parse_time(summary["Created"]) < self.since:
                    continue
                died = [e for e in record.events if e.actor == ident and e.verb == "die"]
                said = died[-1].attrs.get("exitCode", "") if died else ""
                code = int(said) if said.lstrip("-").isdigit() else None
                found.append(Container(self.engine, summary, gone=True, exit_code=code))
            found.sort(key=lambda c: c.created)
        if image is None:
            return found
        return [c for c in found if self.is_from(c, image)]

    def is_from(self, container: Container, image: str) -> bool:
        """Made from `image`, however the learner named it (tag, ID, digest)."""
        return same_repo(container.image, image) or container.image_id in self.image_ids(image)

    def image_ids(self, image: str) -> set[str]:
        """Ids the engine or the journal knows under `image` (a repository, or a tag)."""
        cache = self.__dict__.setdefault("_ids", {})
        if image not in cache:
            cache[image] = self._image_ids(image)
        return cache[image]

    def _image_ids(self, image: str) -> set[str]:
        ids = set()
        for summary in self.engine.api.images(name=repository_of(image)):
            if any(names_tag(tag, image) for tag in summary.get("RepoTags") or []):
                ids.add(summary["Id"])
        for _, ident, tags in self.record.sightings:
            if any(names_tag(tag, image) for tag in tags):
                ids.add(ident)
        return ids

    def removed(self, image: str) -> list[Event]:
        """`destroy` events, since the workshop began, of containers from `image` (named by
        repository)."""
        return [
            event
            for event in self.events("container", "destroy")
            if same_repo(event.attrs.get("image", ""), image)
        ]

    def removed_unseen(self, image: str, after: datetime | None = None) -> list[Event]:
        """Those of `removed` the kit never saw while they existed: what they ran is unknown
        (a `--rm` run, say)."""
        seen = self.record.containers
        return [
            event
            for event in self.removed(image)
            if event.actor not in seen and (after is None or _event_time(event) >= after)
        ]

    def events(self, kind: str | None = None, verb: str | None = None) -> list[Event]:
        """Events since the workshop began, from the journal and the engine's log."""
        return [
            event
            for event in self.record.events
            if event.time >= self._since_ns
            and (kind is None or event.kind == kind)
            and (verb is None or event.verb == verb)
        ]

    def events_of(self, container: Container, verb: str) -> list[datetime]:
        return [_event_time(e) for e in self.events("container", verb) if e.actor == container.id]

    def execs(self) -> list[Exec]:
        """Commands run with `docker container exec` since the workshop began (the kit's own
        looks and healthchecks left out)."""
        return [
            Exec(event.actor, event.command, _event_time(event))
            for event in self.events("container", "exec_start")
        ]

    # -- attempts: the kit's forensics, said once for every lab ---------------------------------

    def attempts(self, image: str, matching: Callable[[Container], bool] | None = None) -> Attempts:
        """The learner's attempts at a step: containers from `image` made since the workshop
        began (on the engine, and those the journal kept after they were removed, a `--rm` run
        seen by `watch`, `solve` or `goto` included), oldest first, that satisfy `matching` (a
        predicate on `Container`, such as `lambda c: c.runs("ls")`; every container if None).

        `attempts(...).done(fix)` returns the newest attempt that ran and exited 0, or ends the
        check with the kit's generic verdict on why there is none, with its id:
        `still-running`, `never-started`, `exited-nonzero`, `evidence-gone` (seen, then removed
        before the kit saw how it ended), `removed-unseen` (a container from `image` removed
        before the kit saw it at all: a `--rm` run with nothing watching), `engine-restarted`
        (no attempt, and the engine restarted since the learner began: its evidence is gone).
        With no attempt at all, `done` says `none` (the check's own sentence, with its id
        `mistake` if it names a mistake), or "No container from IMAGE has done it yet: FIX".
        The ids above are the kit's (labmodel: kit-generic), never declared by a lab.

            attempt = learner.attempts("alpine", lambda c: c.runs("ls")).done(
                "run `docker container run alpine ls -l`"
            )
        """
        found = [c for c in self.containers(image, gone=True) if matching is None or matching(c)]
        return Attempts(found, learner=self, image=image)

    def restarted(self) -> bool:
        """The engine restarted (or was replaced) since the learner began: events the journal
        read from the engine are no longer in the engine's in-memory log, which is not full (a
        full log forgets its oldest events by itself: then nothing is claimed)."""
        return self._forgot

    @cached_property
    def _forgot(self) -> bool:
        until = int(self.engine_now().timestamp()) - 1  # the engine reads whole seconds
        journaled = [e for e in self.record.events if self._since_ns <= e.time < until * 10**9]
        if not journaled:
            return False
        ring = [Event.from_engine(raw) for raw in self.engine.events(
            since=int(self.since.timestamp()), until=until, decode=True
        )]  # fmt: skip
        return forgotten(journaled, ring)

    # -- volumes, networks, services ------------------------------------------------------------

    def volumes(self) -> list[Made]:
        """Named volumes made since the workshop began, oldest first: those on the engine, and
        (`gone`) those the journal saw made and then removed."""
        live = []
        for raw in self.engine.api.volumes().get("Volumes") or []:
            live.append(_made("volume", raw["Name"], raw["Name"], raw.get("CreatedAt"), raw))
        return self._made_since("volume", live)

    def networks(self) -> list[Made]:
        """Networks made since the workshop began, oldest first (with the gone ones)."""
        live = [
            _made("network", raw["Name"], raw["Id"], raw.get("Created"), raw)
            for raw in self.engine.api.networks()
        ]
        return self._made_since("network", live)

    def services(self) -> list[Made]:
        """Swarm services made since the workshop began, oldest first (with the gone ones);
        none when the engine is not in a swarm."""
        import docker.errors

        try:
            listed = self.engine.api.services()
        except docker.errors.APIError:  # not a swarm manager
            listed = []
        live = [
            _made("service", (raw.get("Spec") or {}).get("Name", ""), raw["ID"],
                  raw.get("CreatedAt"), raw.get("Spec") or {})
            for raw in listed
        ]  # fmt: skip
        return self._made_since("service", live)

    def _made_since(self, kind: str, live: list[Made]) -> list[Made]:
        """Those of `live` made since the start (the engine's `create` event says so; its
        `CreatedAt` has whole seconds only), and those made since then and gone."""
        made = {}  # name -> when its create event came
        for event in self.events(kind, "create"):
            made.setdefault(event.attrs.get("name") or event.actor, _event_time(event))
        found = []
        for thing in live:
            when = made.pop(thing.name, None)
            if when is not None:
                found.append(replace(thing, created=when))
            elif thing.created is not None and thing.created > self.since:
                found.append(thing)
        found += [Made(kind, name, name, when, {}, gone=True) for name, when in made.items()]
        found.sort(key=lambda m: m.created)
        return found

    # -- images ---------------------------------------------------------------------------------

    def image(self, reference: str) -> Image | None:
        """The image with that exact tag, or None."""
        found = image_named(self.engine, reference)
        if found is not None:
            self.note_image(found)
        return found

    def tags_of(self, repository: str) -> list[str]:
        """Every local tag of `repository` (`nginx:1.27`, ...)."""
        return sorted(
            tag
            for summary in self.engine.api.images(name=repository)
            for tag in summary.get("RepoTags") or []
            if repository_of(tag) == repository_of(repository)
        )

    def pulled(self, reference: str) -> bool:
        """A pull of `reference` (any spelling, the tag defaulting to latest) since the start."""
        return any(
            same_image(event.actor, reference) or same_image(event.attrs.get("name", ""), reference)
            for event in self.events("image", "pull")
        )

    def tagged_since(self, reference: str) -> set[str]:
        """Ids of images the engine put `reference` on since the workshop began (a build's
        `-t`, or `docker image tag`)."""
        return {
            event.actor
            for event in self.events("image", "tag")
            if same_image(event.attrs.get("name", ""), reference)
        }

    def at_start(self, reference: str) -> str | None:
        """The image id `reference` named when the workshop began ("" if it named nothing);
        None if the kit took no snapshot then."""
        tags = self._tags_at_start
        if tags is None:
            return None
        return next((ident for tag, ident in tags.items() if same_image(tag, reference)), "")

    def services_at_start(self) -> list[str] | None:
        """The names of the swarm services there when the workshop began (someone else's); None
        if the kit's snapshot then did not list them (an older kit, or a swarm worker)."""
        taken = self._snapshot_at_start
        if taken is None or "services" not in taken:
            return None
        return list(taken["services"])

    @cached_property
    def _snapshot_at_start(self) -> dict | None:
        """The snapshot taken when the workshop began; None if none was taken then (an earlier
        workshop's snapshots are older)."""
        near = [s for s in self.record.snapshots if abs(s.get("time", 0) - self._since_ns) < 5e9]
        if not near:
            return None
        return min(near, key=lambda s: abs(s.get("time", 0) - self._since_ns))

    @cached_property
    def _tags_at_start(self) -> dict[str, str] | None:
        """Tag -> image id, as the snapshot taken when the workshop began has them; None if
        none was taken then."""
        taken = self._snapshot_at_start
        return None if taken is None else dict(taken.get("tags") or {})


RING = 256  # the engine keeps its last 256 events in memory


def forgotten(journaled: list[Event], ring: list[Event]) -> bool:
    """The engine forgot events it once logged: some of `journaled` (read from it earlier, and
    kept) are older than everything in `ring` (its in-memory log now, since the same moment)
    and absent from it, though the log is not full. Only a restart empties it like that."""
    if len(ring) >= RING:
        return False  # a full log drops its oldest events by itself
    remembered = {event.key for event in ring}
    oldest = min((event.time for event in ring), default=None)
    return any(e.key not in remembered and (oldest is None or e.time < oldest) for e in journaled)


def _made(kind: str, name: str, ident: str, created: str | None, raw: dict) -> Made:
    when = parse_time(created) if created and not created.startswith("0001-") else None
    return Made(kind, name, ident, when, dict(raw.get("Labels") or {}))


class Attempts(list):
    """Containers that tried a step, oldest first (see `Learner.attempts`)."""

    def __init__(self, found: list[Container], learner: Learner, image: str):
        super().__init__(found)
        self.learner = learner
        self.image = image

    @property
    def succeeded(self) -> list[Container]:
        """Those that ran and exited 0."""
        return [c for c in self if c.exit_code == 0 and not c.never_started]

    def done(self, fix: str, none: str = "", mistake: str = "") -> Container:
        """The newest attempt that exited 0; else the kit's generic verdict (see
        `Learner.attempts`), each sentence ending with `fix`. With no attempt at all, `none`
        (or a sentence of the kit's) with `mistake`, the lab's own id if it names one (by
        default none: the step is simply not done yet)."""
        __tracebackhide__ = True
        if self.succeeded:
            return self.succeeded[-1]
        if self:
            verdict(self[-1], fix)
        if self.learner.removed_unseen(self.image):
            missing(
                f"A container from {self.image} was removed (run with `--rm`?) before the kit "
                "saw what it ran, so it cannot count; keep `workshop watch` open while you work, "
                f"or leave out `--rm`: {fix}.",
                mistake="removed-unseen",
            )
        if self.learner.restarted():
            missing(
                "The Docker engine restarted since you began, and what you ran before is gone "
                f"with it (the kit has no record of it): {fix}.",
                mistake="engine-restarted",
            )
        missing(none or f"No container from {self.image} has done it yet: {fix}.", mistake)


def verdict(container: Container, fix: str) -> None:
    """End the check with why `container` does not count as having done its step (still
    running, never started, exited non-zero, or removed before the kit saw how it ended);
    return if it ran and exited 0."""
    __tracebackhide__ = True
    which = f"{container.short_id} ({container.image}: {container.shown})"
    if container.running:
        missing(
            f"Container {which} is still running; the step needs it to finish: wait for it or "
            f"stop it (`docker container stop {container.short_id}`), then {fix}.",
            mistake="still-running",
        )
    if container.never_started:
        missing(
            f"Container {which} was created but never started: start it "
            f"(`docker container start -a {container.short_id}`), or {fix}.",
            mistake="never-started",
        )
    code = container.exit_code
    if code is None:
        missing(
            f"Container {which} was removed before the kit saw how it ended: {fix}.",
            mistake="evidence-gone",
        )
    if code != 0:
        logs = "" if container.gone else f" (`docker container logs {container.short_id}`)"
        missing(
            f"Container {which} exited with code {code}, so it failed: read its output{logs}, "
            f"then {fix}.",
            mistake="exited-nonzero",
        )


def snapshot(engine) -> dict:
    """Every local tag and the image it names, and every image's id (an untagged earlier build
    too), and the names of the swarm's services (none out of a swarm; left out on a worker,
    which cannot list them), as a journal line (taken when a lab starts)."""
    summaries = engine.api.images()
    tags = {
        tag: summary["Id"]
        for summary in summaries
        for tag in summary.get("RepoTags") or []
        if tag != "<none>:<none>"
    }
    line = {"k": "snapshot", "tags": tags, "ids": sorted({summary["Id"] for summary in summaries})}
    services = _service_names(engine)
    if services is not None:
        line["services"] = services
    return line


def _service_names(engine) -> list[str] | None:
    import docker.errors

    try:
        return sorted((s.get("Spec") or {}).get("Name", "") for s in engine.api.services())
    except docker.errors.APIError:  # not a manager: out of a swarm there are none
        swarm = engine.info().get("Swarm") or {}
        return None if swarm.get("LocalNodeState") == "active" else []


# --- Images ----------------------------------------------------------------------------------


class Image(_Inspected):
    """An image as `docker image inspect` sees it."""

    @property
    def tags(self) -> list[str]:
        return list(self.attrs.get("RepoTags") or [])

    @property
    def created(self) -> datetime:
        return parse_time(self.attrs["Created"])

    @property
    def config(self) -> dict:
        return self.attrs.get("Config") or {}

    @property
    def last_tagged(self) -> datetime | None:
        """When any tag last moved onto this image (not per tag: checks do not rely on it)."""
        stamp = (self.attrs.get("Metadata") or {}).get("LastTagTime") or ""
        return None if not stamp or stamp.startswith("0001-") else parse_time(stamp)

    def built_since(self, since: datetime) -> bool:
        """Built, or tagged (a build served from the cache), at or after `since`: what `reset`
        takes as a lab's build."""
        return self.created >= since or (self.last_tagged is not None and self.last_tagged >= since)

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

    @cached_property
    def history(self) -> list[dict]:
        """Its build steps, newest first (`docker image history`)."""
        return self._engine.api.history(self.id)

    def __repr__(self) -> str:
        return f"<Image {self.short_id} {self.tags}>"


def image_named(engine, reference: str) -> Image | None:
    """The image with that exact tag (`name:tag`), or None."""
    import docker.errors

    try:
        return Image(engine, engine.api.inspect_image(reference))
    except docker.errors.ImageNotFound:
        return None


def images_labelled(engine, label: str, value: str) -> list[Image]:
    """Local images carrying `label=value` (tagged, or left untagged by a rebuild), oldest
    first."""
    import docker.errors

    found = []
    for summary in engine.api.images(filters={"label": f"{label}={value}"}):
        try:
            found.append(Image(engine, engine.api.inspect_image(summary["Id"])))
        except docker.errors.ImageNotFound:  # removed while we looked
            continue
    found.sort(key=lambda image: image.created)
    return found


# --- Volumes, networks and mounts (nouns for declared checks and Python checks alike) ---------


def mounts(container: Container) -> list[Mount]:
    """The container's mounts, as the engine (or the kit's journal) describes them."""
    return container.mounts


class Volume:
    """A named volume as `docker volume inspect` sees it."""

    def __init__(self, attrs: dict):
        self.attrs = attrs

    @property
    def name(self) -> str:
        return self.attrs.get("Name") or ""

    @property
    def driver(self) -> str:
        return self.attrs.get("Driver") or ""

    @property
    def created(self) -> datetime | None:
        stamp = self.attrs.get("CreatedAt") or ""
        return parse_time(stamp) if stamp else None

    def made_since(self, since: datetime) -> bool:
        """Made at or after `since` (the engine keeps a volume's time to the second)."""
        return self.created is not None and self.created >= since.replace(microsecond=0)

    def __repr__(self) -> str:
        return f"<Volume {self.name}>"


class Network(_Inspected):
    """A network as `docker network inspect` sees it."""

    @property
    def name(self) -> str:
        return self.attrs.get("Name") or ""

    @property
    def driver(self) -> str:
        return self.attrs.get("Driver") or ""

    @property
    def created(self) -> datetime | None:
        stamp = self.attrs.get("Created") or ""
        return None if not stamp or stamp.startswith("0001-") else parse_time(stamp)

    def made_since(self, since: datetime) -> bool:
        return self.created is not None and self.created >= since

    def __repr__(self) -> str:
        return f"<Network {self.short_id} {self.name}>"


def volume_named(engine, name: str) -> Volume | None:
    """The named volume, or None."""
    import docker.errors

    try:
        return Volume(engine.api.inspect_volume(name))
    except docker.errors.NotFound:
        return None


def network_named(engine, name: str) -> Network | None:
    """The network with exactly that name (not an id prefix), or None."""
    import docker.errors

    try:
        attrs = engine.api.inspect_network(name)
    except docker.errors.NotFound:
        return None
    return Network(engine, attrs) if attrs.get("Name") == name else None
