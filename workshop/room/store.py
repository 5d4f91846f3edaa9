"""The room store: one folder holding what the room serves.

STORE/registry/   a CNCF distribution registry's filesystem storage root
STORE/wheels/     wheel files, and simple/ (a static PEP 503 index generated from them)
STORE/room.json   what it holds: each image (digest, platforms), each wheel (sha256), the
                  upstream, when
STORE/logs/       the registry's log (not bundled)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

from workshop.errors import WorkshopError

FORMAT = 1
ENV = "WORKSHOP_ROOM_STORE"


class RoomError(WorkshopError):
    """The room cannot do what was asked; the message says why and what to do."""


class NewerStore(RoomError):
    """room.json was written by a newer kit (a higher format)."""


def shape_problem(data) -> str:
    """What makes DATA (a room.json) other than a room description this kit reads; "" if
    nothing: each image has its repository, digest and platforms, the wheels are tables."""
    if not isinstance(data, dict):
        return "it is not a JSON object"
    if not isinstance(data.get("format", FORMAT), int):
        return f"its format {data['format']!r} is not a number"
    images = data.get("images", {})
    if not isinstance(images, dict):
        return '"images" is not a table of images'
    for ref, entry in images.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("repository"), str)
            and isinstance(entry.get("digest"), str)
            and isinstance(entry.get("platforms"), dict)
            and all(
                isinstance(held, dict) and isinstance(held.get("layers", []), list)
                for held in entry["platforms"].values()
            )
        ):
            return f"the image {ref} has no repository, digest or platforms"
    wheels = data.get("wheels", {})
    if not (
        isinstance(wheels, dict)
        and isinstance(wheels.get("files", {}), dict)
        and isinstance(wheels.get("sets", {}), dict)
    ):
        return '"wheels" is not a table of wheel files and sets'
    return ""


def default_root() -> Path:
    """WORKSHOP_ROOM_STORE, else the user data folder's workshop/room."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("workshop", appauthor=False)) / "room"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Store:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root).expanduser() if root else default_root()

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def wheels(self) -> Path:
        return self.root / "wheels"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def manifest_path(self) -> Path:
        return self.root / "room.json"

    def make(self) -> Store:
        for folder in (self.registry, self.wheels, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    # --- room.json --------------------------------------------------------------------------
    def read(self) -> dict:
        """room.json, or an empty description when there is none yet."""
        try:
            data = json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return {"format": FORMAT, "images": {}, "wheels": {"files": {}, "sets": {}}}
        except ValueError as exc:
            raise RoomError(
                f"{self.manifest_path} is not valid JSON ({exc}): run `workshop room prepare` "
                "again, or load a bundle."
            ) from None
        if (
            isinstance(data, dict)
            and isinstance(data.get("format"), int)
            and data["format"] > FORMAT
        ):
            raise NewerStore(
                f"{self.manifest_path} was written by a newer kit (format {data['format']}): "
                "upgrade the kit."
            )
        problem = shape_problem(data)
        if problem:
            raise RoomError(
                f"{self.manifest_path} is not a room description this kit reads ({problem}): "
                "run `workshop room prepare` again, or load a bundle."
            )
        data.setdefault("images", {})
        data.setdefault("wheels", {}).setdefault("files", {})
        data["wheels"].setdefault("sets", {})
        return data

    def write(self, data: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.manifest_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(partial, self.manifest_path)

    def holds_anything(self) -> bool:
        data = self.read()
        return bool(data["images"] or data["wheels"]["files"])

    # --- the registry's storage -------------------------------------------------------------
    @property
    def v2(self) -> Path:
        return self.registry / "docker" / "registry" / "v2"

    def blob_path(self, digest: str) -> Path:
        algorithm, hexa = digest.split(":", 1)
        return self.v2 / "blobs" / algorithm / hexa[:2] / hexa / "data"

    def has_blob(self, repository: str, digest: str, size: int | None = None) -> bool:
        """The registry serves this blob in this repository without fetching it: the data is
        stored and the repository links it (a layer, or a manifest revision)."""
        path = self.blob_path(digest)
        try:
            if size is not None and path.stat().st_size != size:
                return False
        except FileNotFoundError:
            return False
        algorithm, hexa = digest.split(":", 1)
        repo = self.v2 / "repositories" / repository
        return (
            any(
                (repo / kind / algorithm / hexa / "link").exists()
                for kind in ("_layers", "_manifests/revisions")
            )
            and path.exists()
        )

    def read_blob(self, digest: str) -> bytes | None:
        with contextlib.suppress(FileNotFoundError):
            return self.blob_path(digest).read_bytes()
        return None

    def forget_schedule(self) -> None:
        """The pull-through registry schedules what it fetched for removal after 7 days
        (scheduler-state.json); the room keeps what it prepared: drop the schedule."""
        with contextlib.suppress(FileNotFoundError):
            (self.registry / "scheduler-state.json").unlink()

    def size(self) -> int:
        total = 0
        for folder in (self.registry, self.wheels):
            for path in folder.rglob("*"):
                if path.is_file():
                    total += path.stat().st_size
        return total
