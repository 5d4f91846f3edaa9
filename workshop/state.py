"""The learner's progress: one JSON file in the state directory, written atomically under a lock.

The file records, per lab, when the learner started it (the engine's own clock, so checks count
only what was made since) and when each step was seen done. A damaged file is never emptied
silently: it is kept beside the new one as a backup and the learner is told.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workshop.errors import ProgressError

VERSION = 1
FILENAME = "progress.json"
MEMBERSHIP = "classroom.json"  # the classroom this learner joined (workshop.report)
OUTBOX = "outbox.jsonl"  # the reports queued for it


def home() -> Path:
    """WORKSHOP_HOME, else the platform's user state directory."""
    override = os.environ.get("WORKSHOP_HOME")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_state_dir("docker-workshop", appauthor=False))


def joined() -> bool:
    """This learner joined a classroom (then the commands report to it): a look at one file, so
    that a learner who did not never loads the reporting code."""
    return (home() / MEMBERSHIP).is_file()


def queued() -> bool:
    """Reports wait in the outbox, for the command to deliver."""
    return (home() / OUTBOX).is_file()


@dataclass
class LabProgress:
    started_at: str  # RFC 3339, the engine's clock; "" while no engine answered yet
    done: dict[str, str] = field(default_factory=dict)  # step id -> when it was seen done
    finished_at: str = ""  # the engine's clock when its last step was seen done


@dataclass
class Progress:
    labs: dict[str, LabProgress] = field(default_factory=dict)

    def lab(self, lab_id: str) -> LabProgress | None:
        return self.labs.get(lab_id)

    def began(self) -> str | None:
        """When the learner began the workshop: the earliest lab start (the engine's clock).
        What was made since is theirs to count, in any lab; what was there before is not."""
        starts = [lab.started_at for lab in self.labs.values() if lab.started_at]
        if not starts:
            return None
        from workshop.engine import parse_time

        return min(starts, key=parse_time)

    def is_done(self, lab_id: str, step_id: str) -> bool:
        lab = self.labs.get(lab_id)
        return bool(lab and step_id in lab.done)

    def to_json(self) -> dict:
        return {
            "version": VERSION,
            "labs": {
                lab_id: {
                    "started_at": lab.started_at,
                    "done": dict(lab.done),
                    "finished_at": lab.finished_at,
                }
                for lab_id, lab in self.labs.items()
            },
        }

    @classmethod
    def from_json(cls, data) -> Progress:
        if not isinstance(data, dict) or not isinstance(data.get("labs"), dict):
            raise ValueError("it has no `labs` table")
        version = data.get("version", VERSION)
        if not isinstance(version, int):
            raise ValueError("its version is not a number")
        if version > VERSION:
            raise ValueError(f"it was written by a newer kit (version {version})")
        labs = {}
        for lab_id, raw in data["labs"].items():
            if not isinstance(raw, dict) or not isinstance(raw.get("started_at"), str):
                raise ValueError(f"lab {lab_id!r} has no start time")
            from workshop.engine import parse_time

            for key in ("started_at", "finished_at"):
                stamp = raw.get(key) or ""
                if not isinstance(stamp, str) or (stamp and parse_time(stamp).tzinfo is None):
                    raise ValueError(f"lab {lab_id!r} has a {key} that is not a time with a zone")
            done = raw.get("done", {})
            if not isinstance(done, dict):
                raise ValueError(f"lab {lab_id!r} has a malformed `done` table")
            labs[lab_id] = LabProgress(
                raw["started_at"],
                {str(k): str(v) for k, v in done.items()},
                raw.get("finished_at") or "",
            )
        return cls(labs)


@contextlib.contextmanager
def held(handle) -> Iterator[None]:
    """An exclusive lock on an open file, for as long as the block runs (two commands at once
    wait for each other; on Windows, one learner, one terminal at a time: no lock)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


class Store:
    """Reads and updates the progress file in `directory`."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory or home()
        self.path = self.directory / FILENAME

    def read(self) -> Progress:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Progress()
        except OSError as exc:
            raise ProgressError(
                f"Cannot read your progress file {self.path} ({exc.strerror}): check its "
                "permissions, or set WORKSHOP_HOME to a folder you own."
            ) from None
        try:
            return Progress.from_json(json.loads(raw))
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            backup = self._keep_damaged()
            raise ProgressError(
                f"Your progress file {self.path} was damaged ({exc}); it is kept as {backup} "
                "and the kit starts afresh: run `workshop next`, or `workshop goto STEP` to "
                "catch up to where you were."
            ) from None

    def _keep_damaged(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{FILENAME}.damaged-{stamp}")
        n = 1
        while backup.exists():
            n += 1
            backup = self.path.with_name(f"{FILENAME}.damaged-{stamp}-{n}")
        os.replace(self.path, backup)
        return backup

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / "progress.lock", "a+")  # noqa: SIM115
        except OSError as exc:
            raise ProgressError(
                f"Cannot write to the state folder {self.directory} ({exc.strerror}): set "
                "WORKSHOP_HOME to a folder you own."
            ) from None
        with handle, held(handle):
            yield

    @contextlib.contextmanager
    def update(self) -> Iterator[Progress]:
        """Read, let the caller change, and write back; two commands at once do not race."""
        with self._lock():
            progress = self.read()
            before = progress.to_json()
            yield progress
            if progress.to_json() != before or not self.path.exists():
                self._write(progress)  # unchanged: not rewritten (`workshop watch` sees writes)

    def _write(self, progress: Progress) -> None:
        data = json.dumps(progress.to_json(), indent=2, sort_keys=True) + "\n"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".progress-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def reset(self) -> Path | None:
        """Start afresh, keeping the old file as a backup; returns the backup's path."""
        with self._lock():
            if not self.path.exists():
                return None
            backup = self.path.with_name(
                f"{FILENAME}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}"
            )
            os.replace(self.path, backup)
            return backup
