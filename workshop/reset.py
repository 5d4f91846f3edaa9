"""`workshop reset`: undo only what the labs did, then start the learner afresh.

What the labs did: containers made from a lab's images since the learner started that lab; the
lab's tags on images it built since then, and its earlier builds those tags left untagged; the
volumes, networks and swarm services a lab declares by name (`volumes`, `networks`, `services`),
the swarm services that run one of its images (made with `docker service create`), and what
belongs to the stacks (compose projects) it declares (`stacks`: their containers, services,
networks and volumes), made while the lab ran (a service's task containers go with their
service, and only with it); and kit files a lab asks the learner to
edit (restored from git in a clone, from the installed kit's own copy into the learner's
working copy otherwise; the learner's version kept beside). Nothing else is ever removed. Nothing
is removed at all without being listed first.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from workshop.engine import parse_time
from workshop.errors import WorkshopError
from workshop.labs import Lab
from workshop.meaning import same_repo
from workshop.probes import Image, Learner, same_image
from workshop.state import Progress, Store

# services hold containers, containers hold images, networks and volumes: first
ORDER = {
    "service": 0, "container": 1, "config": 2, "network": 3, "volume": 4, "swarm": 5, "tag": 6,
    "image": 7, "edit": 8,
}  # fmt: skip
# a swarm service's tasks leave its overlay network a moment after the service is removed
NETWORK_PATIENCE = 20.0
PROJECT_LABELS = ("com.docker.compose.project", "com.docker.stack.namespace")
SERVICE_LABEL = "com.docker.swarm.service.id"


@dataclass(frozen=True)
class Doomed:
    kind: str  # "container", "tag" (a lab's tag: the image goes if no other tag holds it),
    #            "image" (an untagged earlier build, by id), "service", "config" (a swarm
    #            config of a stack), "network", "volume" (by id or name), "swarm" (the swarm
    #            the lab made: the engine leaves it) or "edit" (a kit file to restore)
    id: str
    description: str
    source: str = ""  # an edit in an installed kit's working copy: the original to copy back


def _since(progress: Progress, lab: Lab):
    """When the learner started the lab; work done ahead of it counts from the workshop's
    beginning (the learner built a later lab's image while still in an earlier lab)."""
    started = progress.lab(lab.id)
    stamp = started.started_at if started and started.started_at else progress.began()
    return parse_time(stamp) if stamp else None


def _until(progress: Progress, lab: Lab):
    known = progress.lab(lab.id)
    finished = known.finished_at if known else ""
    return parse_time(finished) if finished else None


def _in_stacks(labels: dict, name: str, lab: Lab) -> bool:
    """Part of a stack (compose project) the lab declares: by label, or by the name compose and
    `docker stack` give what they make (`STACK_name`)."""
    if any(labels.get(key) in lab.stacks for key in PROJECT_LABELS):
        return True
    return any(name.startswith(f"{stack}_") for stack in lab.stacks)


def _while(made, since, until) -> bool:
    return made is not None and made >= since and (until is None or made <= until)


def _containers(engine, lab: Lab, since, until, leaving: set[str]) -> list[Doomed]:
    """The lab's containers. A swarm service's task is one only when its service goes too
    (`leaving`: the ids of the services reset removes) or is gone already (a stopped task left
    behind holds its image): removed while its service stands, the swarm would only start
    another, and the service may be someone else's."""
    names = lab.images + lab.builds
    standing = _service_ids(engine)
    doomed = []
    for container in Learner(engine, since).containers():
        if until is not None and container.created > until:
            continue  # made after the lab was finished: the learner's own
        service = container.labels.get(SERVICE_LABEL)
        if service in standing and service not in leaving:
            continue
        stacked = any(container.labels.get(key) in lab.stacks for key in PROJECT_LABELS)
        if stacked or any(same_image(container.image, name) for name in names):
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
    return doomed


def _images(engine, lab: Lab, since) -> list[Doomed]:
    doomed = []
    for name in lab.builds:
        built = [  # built since the start, or tagged since (a build served from the cache)
            image
            for image in engine.images.list(name=name.split(":")[0])
            if Image(engine, image.attrs).built_since(since)
        ]
        for image in built:
            mine = [tag for tag in image.tags if same_image(tag, name)]
            others = [tag for tag in image.tags if tag not in mine]
            keeps = f" (the image stays: it is also {', '.join(others)})" if others else ""
            doomed += [
                Doomed("tag", tag, f"image {tag}, built by lab {lab.id}{keeps}") for tag in mine
            ]
        # Earlier builds the learner's rebuilds left untagged (<none>): dangling images made
        # since the start that carry exactly the labels of the lab's image, and are not built
        # on it (an image built `FROM` the lab's image inherits its labels too).
        signatures = [image.labels for image in built if image.labels]
        lab_built = [Image(engine, image.attrs) for image in built]
        for image in engine.images.list(filters={"dangling": True}):
            if (
                image.labels
                and image.labels in signatures
                and (parse_time(image.attrs["Created"]) >= since)
                and not any(_built_on(engine, Image(engine, image.attrs), b) for b in lab_built)
            ):
                doomed.append(
                    Doomed(
                        "image",
                        image.id,
                        f"image {image.short_id.removeprefix('sha256:')} (an earlier build of "
                        f"{name})",
                    )
                )
    return doomed


def _made(engine, lab: Lab, since, until) -> list[Doomed]:
    """The lab's volumes, networks and services (by name, or in its stacks), made while it ran."""
    if not (lab.volumes or lab.networks or lab.services or lab.stacks):
        return []
    learner = Learner(engine, since)
    doomed = []
    wanted = (
        ("service", learner.services, lab.services),
        ("network", learner.networks, lab.networks),
        ("volume", learner.volumes, lab.volumes),
    )
    from_lab_images = _services_of_lab_images(engine, lab)
    for kind, listed, names in wanted:
        for made in listed():
            if made.gone or not _while(made.created, since, until):
                continue
            if (
                made.name in names
                or _in_stacks(made.labels, made.name, lab)
                or (kind == "service" and made.id in from_lab_images)
            ):
                ident = made.name if kind == "volume" else made.id
                doomed.append(Doomed(kind, ident, f"{kind} {made.name}, made by lab {lab.id}"))
    services = {d.id for d in doomed if d.kind == "service"}
    swarm = _swarm(engine, lab, since, until, services)
    return doomed + _configs(engine, lab, since, until) + swarm


def _service_ids(engine) -> set[str]:
    """The ids of the swarm services the engine runs now (none out of a swarm)."""
    import docker.errors

    try:
        return {raw["ID"] for raw in engine.api.services()}
    except docker.errors.APIError:  # not a swarm manager
        return set()


def _service_image(raw: dict) -> str:
    spec = (raw.get("Spec") or {}).get("TaskTemplate") or {}
    return (spec.get("ContainerSpec") or {}).get("Image") or ""


def _services_of_lab_images(engine, lab: Lab) -> set[str]:
    """The ids of the swarm services that run one of the lab's images (a learner may make the
    lab's services with `docker service create` rather than its stack): made while the lab ran,
    they are the lab's, as its containers are."""
    import docker.errors

    if not (lab.services or lab.stacks):
        return set()
    try:
        listed = engine.api.services()
    except docker.errors.APIError:  # not in a swarm
        return set()
    names = lab.images + lab.builds
    return {
        raw["ID"] for raw in listed if any(same_repo(_service_image(raw), name) for name in names)
    }


def _stamp(value: str | None):
    return parse_time(value) if value else None


def _swarm_attrs(engine) -> dict | None:
    """The swarm this engine manages (`docker swarm inspect`), or None."""
    import docker.errors

    try:
        return engine.api.inspect_swarm()
    except docker.errors.APIError:  # not in a swarm, or not a manager
        return None


def _configs(engine, lab: Lab, since, until) -> list[Doomed]:
    """Swarm configs of the lab's stacks (`docker stack deploy` makes one per `configs:` entry),
    made while the lab ran."""
    if not lab.stacks or _swarm_attrs(engine) is None:
        return []
    doomed = []
    for raw in engine.api.configs():
        spec = raw.get("Spec") or {}
        name = spec.get("Name", "")
        if _in_stacks(spec.get("Labels") or {}, name, lab) and _while(
            _stamp(raw.get("CreatedAt")), since, until
        ):
            doomed.append(Doomed("config", raw["ID"], f"config {name}, made by lab {lab.id}"))
    return doomed


def _swarm(engine, lab: Lab, since, until, services: set[str]) -> list[Doomed]:
    """The swarm itself, when it was made while a lab with services or stacks ran (`docker swarm
    init`) and runs no service but the lab's (`services`, their ids): reset leaves it. A swarm
    that was there before the lab is the learner's, and stays."""
    if not (lab.services or lab.stacks):
        return []
    attrs = _swarm_attrs(engine)
    if attrs is None or not _while(_stamp(attrs.get("CreatedAt")), since, until):
        return []
    for service in engine.api.services():
        if service["ID"] not in services:
            return []  # the learner runs a service of their own in it: the swarm stays
    said = f"the swarm made by lab {lab.id} (the engine leaves it)"
    return [Doomed("swarm", attrs.get("ID", "swarm"), said)]


def remove_network(engine, ident: str, patience: float = NETWORK_PATIENCE) -> None:
    """Remove a network, waiting a little while containers still leave it (a removed swarm
    service's tasks do, a moment after)."""
    import docker.errors

    deadline = time.monotonic() + patience
    while True:
        try:
            engine.api.remove_network(ident)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if "not a swarm manager" in str(exc) or "not found" in str(exc):
                return  # an overlay network, gone with the swarm the engine left, or with the
                # stack removed meanwhile (the engine says so with another status than 404)
            if "active endpoints" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def leave_swarm(engine) -> None:
    """Leave the swarm, and remove the bridge the engine made for its containers
    (docker_gwbridge, made with the swarm or after it) when no container uses it any more."""
    import docker.errors

    made = _stamp((_swarm_attrs(engine) or {}).get("CreatedAt"))
    engine.swarm.leave(force=True)
    try:
        attrs = engine.api.inspect_network("docker_gwbridge")
    except docker.errors.NotFound:
        return
    created = _stamp(attrs.get("Created"))
    if made is None or created is None or created < made - timedelta(seconds=5):
        return  # it was there before this swarm: not the lab's
    if not attrs.get("Containers"):
        with contextlib.suppress(docker.errors.APIError):
            engine.api.remove_network(attrs["Id"])


def _built_on(engine, image: Image, base: Image) -> bool:
    """`image` was built on `base` (`FROM` it, directly or not). An earlier build of the lab's
    image has as many filesystem layers as a build of its Dockerfile and shares only the lower
    ones; an image built on one has all of its layers and more. An image that adds no layer
    (only `ENV`, `CMD`, ...) is told by its history, where the legacy builder names its parents."""
    import docker.errors

    if len(image.layers) > len(base.layers) and image.layers[: len(base.layers)] == base.layers:
        return True
    try:
        steps = engine.api.history(image.id)
    except docker.errors.NotFound:
        return False
    return any(step.get("Id") == base.id for step in steps[1:])


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True, stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except OSError:  # no git (the kit came as a zip): nothing can be restored
        return None


def _edits_of_copy(lab: Lab) -> list[Doomed]:
    """An installed kit: the learner's working copies that differ from the kit's originals."""
    doomed = []
    for relative in lab.edits:
        original, path = lab.paths.root / relative, lab.paths.path(relative)
        if path == original or not original.is_file():
            continue  # not a working copy: nothing of the learner's to restore
        if path.is_file() and path.read_bytes() == original.read_bytes():
            continue
        if path.exists():
            said = f"your edits to {path} (kept as a copy)"
        else:
            said = f"{path}, which you deleted"
        doomed.append(Doomed("edit", str(path), said, source=str(original)))
    return doomed


def _edits(lab: Lab) -> list[Doomed]:
    if lab.paths.separate:
        return _edits_of_copy(lab)
    doomed = []
    for relative in lab.edits:
        tracked = _git(lab.root, "ls-files", "--error-unmatch", "--", relative)
        if tracked is None or tracked.returncode != 0:  # no git, not a clone, or not in it
            continue  # (outside a repository `git diff` compares files, and says 1 as well)
        changed = _git(lab.root, "diff", "--quiet", "HEAD", "--", relative)
        if changed is None or changed.returncode != 1:  # 0: unchanged
            continue
        path = lab.root / relative
        if path.exists():
            said = f"your edits to {relative} (kept as a copy)"
        else:
            said = f"{relative}, which you deleted"
        doomed.append(Doomed("edit", str(path), said))
    return doomed


def plan(engine, labs: list[Lab], progress: Progress) -> list[Doomed]:
    doomed: list[Doomed] = []
    for lab in labs:
        since = _since(progress, lab)
        if since is None:
            continue
        until = _until(progress, lab)
        made = _made(engine, lab, since, until)
        leaving = {item.id for item in made if item.kind == "service"}
        found = (
            _containers(engine, lab, since, until, leaving)
            + made
            + _images(engine, lab, since)
            + _edits(lab)
        )
        for item in found:
            if all(d.id != item.id for d in doomed):
                doomed.append(item)
    return doomed


def apply(engine, doomed: list[Doomed]) -> list[str]:
    """Undo each item, containers first; returns what could not be undone, if anything."""
    import docker.errors

    problems = []
    going: list[str] = []  # containers the engine was already removing (a removed service's)
    for item in sorted(doomed, key=lambda d: ORDER[d.kind]):
        if going and ORDER[item.kind] > ORDER["container"]:
            _gone(engine, going)  # what they hold (networks, images) is free once they are gone
            going = []
        try:
            if item.kind == "container":  # with its anonymous volumes (a registry's storage)
                engine.api.remove_container(item.id, force=True, v=True)
            elif item.kind == "service":
                engine.api.remove_service(item.id)
            elif item.kind == "network":
                remove_network(engine, item.id)
            elif item.kind == "config":
                engine.api.remove_config(item.id)
            elif item.kind == "swarm":
                leave_swarm(engine)
            elif item.kind == "volume":
                engine.api.remove_volume(item.id)
            elif item.kind in ("tag", "image"):
                engine.images.remove(item.id, force=False)
            else:
                path = Path(item.id)
                if path.exists():  # the learner may have deleted it: then there is nothing to keep
                    stamp = time.strftime("%Y%m%d-%H%M%S")
                    copy = path.with_name(f"{path.name}.before-reset-{stamp}")
                    copy.write_bytes(path.read_bytes())
                if item.source:  # an installed kit: the original is the package's copy
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(Path(item.source).read_bytes())
                    continue
                folder = path.parent
                while not folder.exists():  # its folder may be gone too
                    folder = folder.parent
                restored = _git(folder, "checkout", "HEAD", "--", str(path.relative_to(folder)))
                if restored is None or restored.returncode != 0:
                    problems.append(f"{item.description}: git could not restore it")
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as exc:
            if item.kind == "container" and "already in progress" in str(exc):
                going.append(item.id)  # a swarm task its removed service takes with it
                continue
            problems.append(f"{item.description}: {exc.explanation or exc}")
        except OSError as exc:
            problems.append(f"{item.description}: {exc.strerror}")
    _gone(engine, going)
    return problems


def _gone(engine, containers: list[str], patience: float = NETWORK_PATIENCE) -> None:
    """Wait, a little, until the engine has finished removing `containers`: reset says they are
    removed, and the learner's next command (removing an image they held) must find it so."""
    import docker.errors

    deadline = time.monotonic() + patience
    for ident in containers:
        while time.monotonic() < deadline:
            try:
                engine.api.inspect_container(ident)
            except docker.errors.NotFound:
                break
            time.sleep(0.25)


def reset(
    labs: list[Lab],
    store: Store,
    confirm: Callable[[], bool],
    say: Callable[[str, str], None],
    dry_run: bool = False,
) -> None:
    """`workshop reset`: list what the labs did (`plan`), then, unless `dry_run` and once
    `confirm()` agrees, undo it (`apply`) and reset the learner's progress (its old file kept as
    a backup). `say(text, kind)` is told each line: kind "item" for what is undone, "problem"
    for what could not be, "note" for the rest. Raises WorkshopError when something could not
    be undone, leaving the progress as it was so that a second reset lists and retries it."""
    from workshop.engine import client

    engine = client()
    doomed = plan(engine, labs, store.read())
    if not doomed:
        say("The labs created nothing that is still on the engine.", "note")
    for item in doomed:
        verb = "restore" if item.kind == "edit" else "remove"
        say(f"would {verb} {item.description}" if dry_run else f"{verb} {item.description}", "item")
    if dry_run:
        return
    if not confirm():
        say("Nothing removed.", "note")
        return
    problems = apply(engine, doomed)
    for problem in problems:
        say(f"Could not undo {problem}", "problem")
    if problems:
        raise WorkshopError(
            "Progress was not reset, so that `workshop reset` can list and retry what is left; "
            "fix the problems above (a container of yours may be using a lab image) and run it "
            "again."
        )
    backup = store.reset()
    if backup:
        say(f"Progress reset; the old file is kept as {backup}.", "note")
