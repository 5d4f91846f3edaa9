"""Following the engine as it happens, for `workshop watch`.

A `Feed` is a thread that reads the engine's event stream (docker-py `events`, one long HTTP
request: nothing runs while nothing happens) and does two things with each event:

- it keeps it in the kit's journal at once, with the inspect data of each new container taken
  the moment it is created, and its state updated as it starts and ends: a container run with
  `--rm` is then known, command and exit code, after the engine has removed it, and no event is
  lost to the engine's short in-memory log;
- it tells the watch loop (`wake`) when the event is the learner's doing: the kit's own looks
  inside containers (marked with `KIT_MARK`) and healthchecks are left out, so checking never
  triggers more checking; a volume, network, service or node event wakes it when the labs
  declare that name (`Lab.volumes`, `networks`, `services`, `stacks`: see `Wakes`).

`seeing()` runs a feed for as long as a block runs (while `workshop solve` and `goto` type a
step's solution): what those commands make, a `--rm` container included, is journaled the
moment it is made, so the check that follows sees it.

For a step whose evidence is in a container's output rather than in the engine's events (a
request the learner sent to a service shows only in its access log), the feed also follows the
output of the lab's running containers (`follow_logs`), ignoring lines the kit's own requests
cause.

When the engine stops answering (restarted, stopped, the laptop slept), the feed says so, tries
again every second or two, and on reconnecting reads the events it missed from where it left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from workshop.journal import KINDS, Event, Journal, container_summary, is_healthcheck, kept

KIT_TRACE = "workshop-kit"  # in the kit's own exec commands and in its requests' User-Agent
RETRY = (0.5, 1.0, 2.0)  # seconds between attempts to reach an engine that stopped answering

# What the feed tells the loop
ACTIVITY, DOWN, BACK = "activity", "down", "back"


@dataclass(frozen=True)
class Wakes:
    """Which volume, network and swarm events are the labs' (and so wake the loop): those that
    name a volume, network or service a lab declares, or belong to a stack (compose project)
    one declares (`STACK_name`). Container and image events always wake it."""

    volumes: frozenset[str] = frozenset()
    networks: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    stacks: frozenset[str] = frozenset()

    @classmethod
    def of(cls, labs: Iterable) -> Wakes:
        def every(kind: str) -> frozenset[str]:
            return frozenset(name for lab in labs for name in getattr(lab, kind, ()))

        return cls(every("volumes"), every("networks"), every("services"), every("stacks"))

    def __call__(self, event: Event) -> bool:
        if event.kind in ("container", "image"):
            return True
        if event.kind == "node":
            return bool(self.services or self.stacks)  # `docker swarm init`, for a swarm lab
        name = event.attrs.get("name") or event.actor
        declared = {"volume": self.volumes, "network": self.networks, "service": self.services}
        if name in declared.get(event.kind, ()):
            return True
        namespace = event.attrs.get("com.docker.stack.namespace", "")
        return namespace in self.stacks or any(name.startswith(f"{s}_") for s in self.stacks)


def _iso(nanoseconds: int) -> str:
    return datetime.fromtimestamp(nanoseconds / 1e9, UTC).isoformat().replace("+00:00", "Z")


class Feed(threading.Thread):
    """The engine's events, journaled as they come; `wake(kind, event)` for the loop."""

    def __init__(
        self,
        journal_dir,
        wake: Callable[[str, Event | None], None],
        wakes: Callable[[Event], bool] = Wakes(),
    ):
        super().__init__(name="workshop-feed", daemon=True)
        self.journal_dir = journal_dir
        self.wake = wake
        self.wakes = wakes
        self.connected = threading.Event()  # the event stream is open
        self.last_ns = 0  # the newest event read (ns, engine clock)
        self.stopping = threading.Event()
        self.since: float | None = None  # engine time (s) to read from on (re)connecting
        self.summaries: dict[str, dict] = {}  # container id -> what the journal holds of it
        self._stream = None
        self._lock = threading.Lock()
        self._logs: dict[str, object] = {}  # container id -> its followed log stream
        self._log_images: tuple[str, ...] = ()
        self._asked = False  # the loop asked for a new connection
        self.engine = None
        self.journal: Journal | None = None

    # -- the loop's controls ----------------------------------------------------------------

    def stop(self) -> None:
        self.stopping.set()
        self._close_stream()
        self.follow_logs(())

    def reconnect(self) -> None:
        """Drop the connection and make a new one (after the laptop slept, say); the loop is
        told the engine is down only if it does not answer again."""
        self._asked = True
        self._close_stream()

    def follow_logs(self, images: tuple[str, ...]) -> None:
        """Also wake the loop when a running container of these images prints (none: stop)."""
        with self._lock:
            self._log_images = tuple(images)
            for ident in list(self._logs):
                if not images:
                    self._stop_log(ident)
        if images and self.engine is not None:
            self._follow_running()

    # -- the thread -------------------------------------------------------------------------

    def run(self) -> None:
        attempt = 0
        down = False
        while not self.stopping.is_set():
            try:
                self._connect()
                if down:
                    self.wake(BACK, None)
                    down = False
                attempt = 0
                self._read()
            except Exception:  # the engine went away: docker-py, requests, urllib3, OSError
                pass
            if self.stopping.is_set():
                return
            if self._asked:  # we hung up ourselves: try again at once, quietly
                self._asked = False
                continue
            if not down:
                down = True
                self.wake(DOWN, None)
            self.stopping.wait(RETRY[min(attempt, len(RETRY) - 1)])
            attempt += 1

    def _connect(self) -> None:
        from workshop.engine import client, parse_time

        self.engine = engine = client()
        info = engine.info()
        self.journal = Journal(self.journal_dir, info.get("ID") or "")
        if self.since is None:
            self.since = parse_time(info["SystemTime"]).timestamp()
        stream = engine.api.events(since=self.since, filters={"type": list(KINDS)}, decode=True)
        with self._lock:
            self._stream = stream
        self.connected.set()
        if self.stopping.is_set():
            self._close_stream()
        if self._log_images:
            self._follow_running()

    def _read(self) -> None:
        for raw in self._stream:
            event = Event.from_engine(raw)
            self.since = max(self.since or 0, event.time / 1e9)
            if self._learners(raw, event) and self.wakes(event):
                self.wake(ACTIVITY, event)
            self.last_ns = max(self.last_ns, event.time)
            if self.stopping.is_set():
                return
        raise ConnectionError("the engine closed its event stream")

    def _close_stream(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    # -- one event --------------------------------------------------------------------------

    def _learners(self, raw: dict, event: Event) -> bool:
        """Journal the event; True when it is the learner's doing (worth a new check)."""
        if not kept(raw):
            return False
        lines: list[dict] = []
        if event.kind == "container":
            summary = self.summaries.get(event.actor)
            if summary is None or event.verb == "create":
                summary = self._inspect(event.actor)  # new, or first met: as it is now
                changed = summary is not None
                if changed:
                    self.summaries[event.actor] = summary
            else:
                changed = self._update(summary, event)
            if summary is not None and is_healthcheck(summary, event):
                return False
            if changed:
                lines.append({"k": "container", "attrs": summary})
            if event.verb == "start" and self._log_images:
                self._follow(event.actor, summary)
        lines.append(event.to_json())
        if self.journal is not None:
            self.journal.append(lines)
        return True

    def _update(self, summary: dict, event: Event) -> bool:
        """Keep a container's state as its events tell it (a `--rm` container cannot be
        inspected once it ended); True if the summary changed."""
        state = summary["State"]
        if event.verb in ("start", "restart", "unpause"):
            state.update(Status="running", Running=True)
            if event.verb != "unpause":
                state["StartedAt"] = _iso(event.time)
        elif event.verb == "die":
            code = event.attrs.get("exitCode", "")
            state.update(Status="exited", Running=False, FinishedAt=_iso(event.time))
            if code.lstrip("-").isdigit():
                state["ExitCode"] = int(code)
            with self._lock:
                self._stop_log(event.actor)
        elif event.verb == "pause":
            state["Status"] = "paused"
        elif event.verb == "rename":
            summary["Name"] = "/" + event.attrs.get("name", summary["Name"].lstrip("/"))
        else:
            return False
        return True

    def _inspect(self, ident: str) -> dict | None:
        try:
            return container_summary(self.engine.api.inspect_container(ident))
        except Exception:  # removed already, or the engine is going away
            return None

    # -- logs, for steps whose evidence is a container's output ------------------------------

    def _follow_running(self) -> None:
        from workshop.meaning import same_repo

        try:
            running = self.engine.api.containers(filters={"status": "running"})
        except Exception:
            return
        for listed in running:
            if any(same_repo(listed.get("Image", ""), image) for image in self._log_images):
                self._follow(listed["Id"], None)

    def _follow(self, ident: str, summary: dict | None) -> None:
        from workshop.meaning import same_repo

        if summary is not None:
            image = (summary.get("Config") or {}).get("Image") or ""
            if not any(same_repo(image, wanted) for wanted in self._log_images):
                return
        with self._lock:
            if ident in self._logs:
                return
            self._logs[ident] = None
        threading.Thread(
            target=self._read_log, args=(ident,), name=f"workshop-log-{ident[:12]}", daemon=True
        ).start()

    def _read_log(self, ident: str) -> None:
        try:
            stream = self.engine.api.logs(ident, stream=True, follow=True, tail=0)
        except Exception:
            with self._lock:
                self._logs.pop(ident, None)
            return
        with self._lock:
            if ident not in self._logs:
                stream.close()
                return
            self._logs[ident] = stream
        try:
            for chunk in stream:
                text = chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                if KIT_TRACE not in text:
                    self.wake(ACTIVITY, None)
        except Exception:
            pass
        finally:
            with self._lock:
                if self._logs.get(ident) is stream:
                    self._logs.pop(ident, None)

    def _stop_log(self, ident: str) -> None:
        """Close a followed log (the caller holds the lock)."""
        stream = self._logs.pop(ident, None)
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()


@contextlib.contextmanager
def seeing(journal_dir: Path, settle: float = 5.0) -> Iterator[Feed]:
    """Journal everything the engine does while the block runs (what `solve` and `goto` run
    themselves, a `--rm` container with its mounts and networks included). On leaving, waits
    (up to `settle` seconds) until the feed has read every event the engine logged meanwhile;
    an engine that does not answer leaves the block to run unseen, as it would have anyway."""
    down = threading.Event()
    feed = Feed(journal_dir, lambda kind, _: down.set() if kind == DOWN else None)
    feed.start()
    deadline = time.monotonic() + settle
    while not (feed.connected.wait(0.05) or down.is_set()) and time.monotonic() < deadline:
        pass
    try:
        yield feed
    finally:
        with contextlib.suppress(Exception):
            _drain(feed, settle)
        feed.stop()


def _drain(feed: Feed, settle: float) -> None:
    """Wait until the feed has read the newest event the engine logged up to now."""
    from workshop.engine import parse_time

    engine = feed.engine
    if engine is None or feed.since is None:
        return
    now = parse_time(engine.info()["SystemTime"]).timestamp()
    newest = 0
    for raw in engine.api.events(
        since=feed.since, until=now, filters={"type": list(KINDS)}, decode=True
    ):
        newest = max(newest, Event.from_engine(raw).time)
    deadline = time.monotonic() + settle
    while feed.last_ns < newest and time.monotonic() < deadline and feed.is_alive():
        time.sleep(0.02)
