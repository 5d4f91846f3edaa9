"""What the kit's own suite (and `make bench`) made on the engine, so that it removes exactly that.

The engine is shared: a learner (or another run of the suite) may make containers and images while
the robot works, and those are theirs. So the robot's docker carries a mark: `bin/docker`, first
on PATH, runs the real docker with `--label io.workshop.selftest=<session>` added to every
container the robot runs or creates and every image it builds, and logs every tag it applies,
every pull and every tag it removes. Containers the tests make with docker-py carry the same
label (`Trace.labels`); tags and images they make otherwise are logged (`Trace.record`).

`Trace.no_trace(engine)` then removes, on leaving its block, exactly:
- the containers carrying the session's label that were made inside the block (with their
  anonymous volumes);
- the images carrying the label (or logged by id) that were made inside the block, once the
  tags the robot gave them are gone; one that someone else has since tagged or built on (a
  learner's `FROM`) is left;
- the tags the log names that did not exist before the block (an image goes with its last tag,
  unless a container of someone else's uses it); a tag that existed before and that the robot
  moved or removed is put back on its old image;
- images the robot's commands pulled by themselves (`docker run` of an absent image, a build's
  `FROM`) that were absent before the block.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LABEL = "io.workshop.selftest"
SHIM = Path(__file__).resolve().parent / "bin"


def normal_tag(reference: str) -> str | None:
    """`nginx` -> `nginx:latest`, as the engine lists tags; None for a digest or an id."""
    if "@" in reference or reference.startswith("sha256:"):
        return None
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        reference = reference.removeprefix(prefix)
    last = reference.rsplit("/", 1)[-1]
    return reference if ":" in last else f"{reference}:latest"


@dataclass
class _Before:
    containers: set[str]
    images: set[str]
    tags: dict[str, str]  # tag -> image id
    offset: int  # where the log was


@dataclass
class Trace:
    """One session's mark: its label value and the log its docker shim writes."""

    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    folder: Path | None = None

    @property
    def labels(self) -> dict[str, str]:
        """Labels for what a test makes with docker-py (`containers.create(..., labels=...)`)."""
        return {LABEL: self.session}

    @property
    def selector(self) -> str:
        """The filter that finds what the robot made: `filters={"label": trace.selector}`."""
        return f"{LABEL}={self.session}"

    @property
    def log(self) -> Path:
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="workshop-selftest-"))
        return self.folder / "docker.log"

    def env(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """`environ` (os.environ by default) with the shim first on PATH."""
        environ = dict(os.environ if environ is None else environ)
        path = environ.get("PATH", os.defpath)
        real = shutil.which("docker", path=path)
        if real is None or Path(real).parent.resolve() == SHIM:
            return environ  # no docker at all (or the shim already leads): nothing to wrap
        self.log.touch()
        return {
            **environ,
            "PATH": f"{SHIM}{os.pathsep}{path}",
            "WORKSHOP_SELFTEST_DOCKER": real,
            "WORKSHOP_SELFTEST_ID": self.session,
            "WORKSHOP_SELFTEST_LOG": str(self.log),
        }

    @contextlib.contextmanager
    def on_path(self) -> Iterator[None]:
        """The shim first on PATH in this process (and so in its children) inside the block."""
        saved = dict(os.environ)
        os.environ.update(self.env())
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def close(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def record(self, what: str, reference: str) -> None:
        """Log what a test did with docker-py as the shim logs the robot's commands: "tag" (a
        tag it applied), "pull" (an image it pulled) or "untag" (a tag it removed); or "image",
        the id of an image it built without the label."""
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"{what} {reference}\n")

    def _entries(self, offset: int) -> list[tuple[str, str]]:
        try:
            with self.log.open("rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return []
        return [tuple(line.split(" ", 1)) for line in text.splitlines() if " " in line]

    def _offset(self) -> int:
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def containers(self, engine, **filters) -> list[dict]:
        """The robot's containers (summaries, newest first), with docker's other `filters`."""
        return engine.api.containers(all=True, filters={**filters, "label": self.selector})

    @contextlib.contextmanager
    def no_trace(self, engine) -> Iterator[None]:
        """On leaving: remove exactly what the robot made inside the block (see the module)."""
        before = _Before(
            containers={c["Id"] for c in engine.api.containers(all=True)},
            images={i["Id"] for i in engine.api.images(all=True)},
            tags=_tags(engine),
            offset=self._offset(),
        )
        try:
            yield
        finally:
            self._clean(engine, before)

    def _clean(self, engine, before: _Before) -> None:
        import docker.errors

        api = engine.api
        entries = self._entries(before.offset)
        pulled: set[str] = set()  # ids of images the robot's commands brought in by themselves
        mine = [c for c in self.containers(engine) if c["Id"] not in before.containers]
        for summary in mine:
            pulled.add(summary.get("ImageID", ""))
            with contextlib.suppress(docker.errors.APIError):  # e.g. already being removed
                api.remove_container(summary["Id"], force=True, v=True)
        _until_gone(engine, [summary["Id"] for summary in mine])  # they hold their images
        logged = {reference for what, reference in entries if what == "image"}
        built = [
            summary
            for summary in api.images(all=True)
            if summary["Id"] not in before.images
            and (summary["Id"] in logged or _label(summary) == self.session)
        ]
        for summary in built:  # the bases they were built from (a `FROM` the build pulled)
            with contextlib.suppress(docker.errors.APIError):
                pulled.update(step["Id"] for step in api.history(summary["Id"]))
        pulled -= before.images | {summary["Id"] for summary in built}

        named = [normal_tag(reference) for what, reference in entries if what != "image"]
        named += [tag for tag, image in _tags(engine).items() if image in pulled]
        restore = [t for t in dict.fromkeys(named) if t in before.tags]  # first: a tag removed
        drop = [t for t in dict.fromkeys(named) if t and t not in before.tags]  # may hold the image
        for tag in restore:
            _put_back(engine, tag, before.tags[tag])
        for tag in drop:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_image(tag)  # untags; the image goes with its last tag, if unused
        _remove_images(engine, [summary["Id"] for summary in built])


def _remove_images(engine, image_ids: list[str]) -> None:
    """Remove these images, children before parents (their untagged parents go with them); one
    that someone else has tagged, or built on, meanwhile stays."""
    import docker.errors

    pending = list(image_ids)
    while pending:
        left = []
        for image_id in pending:
            try:
                if _tagged(engine.api.inspect_image(image_id)):
                    continue  # a tag the robot did not apply: not ours to take
                engine.api.remove_image(image_id)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError:  # a child first, or someone else's child
                left.append(image_id)
        if len(left) == len(pending):
            return
        pending = left


def _tagged(attrs: dict) -> bool:
    return any(tag != "<none>:<none>" for tag in attrs.get("RepoTags") or [])


def _until_gone(engine, container_ids: list[str], seconds: float = 20) -> None:
    import docker.errors

    deadline = time.monotonic() + seconds
    for container_id in container_ids:
        while time.monotonic() < deadline:
            try:
                engine.api.inspect_container(container_id)
            except docker.errors.NotFound:
                break
            time.sleep(0.1)


def _label(summary: dict) -> str | None:
    return (summary.get("Labels") or {}).get(LABEL)


def _tags(engine) -> dict[str, str]:
    return {
        tag: summary["Id"]
        for summary in engine.api.images()
        for tag in summary.get("RepoTags") or []
        if tag != "<none>:<none>"
    }


def _put_back(engine, tag: str, image_id: str) -> None:
    """Point `tag` at `image_id` again (it was there before the robot moved or removed it)."""
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        if engine.api.inspect_image(tag)["Id"] == image_id:
            return
    repository, _, name = tag.rpartition(":")
    with contextlib.suppress(docker.errors.APIError):
        engine.api.tag(image_id, repository, name, force=True)
