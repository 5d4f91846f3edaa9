"""`workshop reset`: remove only what the labs created, then start the learner afresh.

What the labs created: containers from a lab's images created after the learner started that lab,
and images a lab builds that were built after it started. Nothing else is ever removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from workshop.engine import parse_time
from workshop.labs import Lab
from workshop.probes import Learner, _same_image
from workshop.state import Progress


@dataclass(frozen=True)
class Doomed:
    kind: str  # "container" or "image"
    id: str
    description: str


def plan(engine, labs: list[Lab], progress: Progress) -> list[Doomed]:
    doomed: list[Doomed] = []
    for lab in labs:
        started = progress.lab(lab.id)
        if started is None or not started.started_at:
            continue
        since = parse_time(started.started_at)
        names = lab.images + lab.builds
        for container in Learner(engine, since).containers():
            ours = any(_same_image(container.image, name) for name in names)
            if ours and all(d.id != container.id for d in doomed):
                status = container.attrs["State"].get("Status", "")
                state = f"exited {container.exit_code}" if status == "exited" else status
                doomed.append(
                    Doomed(
                        "container",
                        container.id,
                        f"container {container.short_id} {container.name} ({container.image}: "
                        f"{' '.join(container.command)}; {state})",
                    )
                )
        for name in lab.builds:
            built = engine.images.list(name=name.split(":")[0])
            # Earlier builds the learner's rebuilds left untagged (<none>): dangling images made
            # since the start that carry exactly the labels of the lab's image.
            signatures = [image.labels for image in built if image.labels]
            earlier = [
                image
                for image in engine.images.list(filters={"dangling": True})
                if image.labels and image.labels in signatures
            ]
            for image in built + earlier:
                if parse_time(image.attrs["Created"]) >= since and all(
                    d.id != image.id for d in doomed
                ):
                    tags = ", ".join(image.tags) or f"{image.short_id} (an earlier build)"
                    doomed.append(
                        Doomed("image", image.id, f"image {tags} (built by lab {lab.id})")
                    )
    return doomed


def apply(engine, doomed: list[Doomed]) -> list[str]:
    """Remove containers first (images in use cannot go); returns problems, if any."""
    import docker.errors

    problems = []
    for item in sorted(doomed, key=lambda d: d.kind != "container"):
        try:
            if item.kind == "container":
                engine.api.remove_container(item.id, force=True)
            else:
                engine.images.remove(item.id, force=False)
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            problems.append(f"{item.description}: {exc.explanation or exc}")
    return problems
