"""Checks for the Ship it lab (labs/shipit): one function per step, read-only on the engine and
the registry.

They judge outcomes, not what was typed: what the learner's registry holds (its v2 API, by
digest), what the engine's swarm runs (services, their tasks and the tasks' health), and what the
load balancer logged (lb_log.py: which replica answered each request, and whether any failed).
Which service is the lab's is read from what it runs, not from its name: the app is the service
running `mysfits` from the registry on port 5001 (127.0.0.1 or localhost), the load balancer the
service publishing port 8090.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from workshop.declared import registry_digest, split_reference
from workshop.labs import shown_path
from workshop.probes import Image, Learner, missing, short

from . import swarm
from .lb_log import requests

KIT = Path(__file__).resolve().parents[2]
REGISTRY_PORT = 5001
HOSTS = (f"127.0.0.1:{REGISTRY_PORT}", f"localhost:{REGISTRY_PORT}")
REPO = "mysfits"
BUILD = "mythicalmysfits/service"
LB_PORT = 8090
STACK = "shipit"
SETTLE = 90  # seconds a check waits for a deploy, update or rollback that is still moving
# replicas made within this many seconds of each other were made together: one made after its
# predecessor turned healthy comes two seconds later at least (the stack file's health interval)
GRADUAL = 1.5

STACK_FILE = shown_path(KIT, "labs/shipit/stack.yml")
RUN_REGISTRY = f"docker container run -d -p {REGISTRY_PORT}:5000 --name registry registry:2"
DEPLOY = f"docker stack deploy -c {STACK_FILE} {STACK}"
ASK = "sh -c 'for i in $(seq 12); do curl -sI localhost:8090/mysfits; sleep 1; done'"
SET_VERSION = f"python3 {shown_path(KIT, 'labs/shipit/set_version.py')}"


def tag(version: str) -> str:
    return f"{HOSTS[0]}/{REPO}:{version}"


def _tag_and_push(version: str) -> str:
    return f"`docker image tag {BUILD} {tag(version)}`, then `docker image push {tag(version)}`"


# --- what the registry holds ---------------------------------------------------------------------


def _digest(version: str, mistake: str = "not-done") -> str | None:
    """The digest the registry holds under mysfits:VERSION; None if it has none. A registry that
    does not answer ends the check (with `mistake`: step 1 names it)."""
    digest, error = registry_digest(tag(version))
    if error:
        missing(
            f"No registry answers on port {REGISTRY_PORT} ({error}): run `{RUN_REGISTRY}` (or "
            "`docker container start registry` if you stopped it).",
            mistake,
        )
    return digest


def _ours(reference: str) -> bool:
    """A reference to the lab's repository on the learner's registry (127.0.0.1 or localhost)."""
    host, repo, _ = split_reference(reference)
    return host in HOSTS and repo == REPO


def _pushed_digests(image_attrs: dict) -> set[str]:
    """The digests under which this engine pushed (or pulled) the image to the lab's registry."""
    found = set()
    for entry in image_attrs.get("RepoDigests") or []:
        name, _, digest = entry.partition("@")
        if _ours(f"{name}:x"):
            found.add(digest)
    return found


def _names(digest: str) -> set[str]:
    """Every id a local image holding the registry's `digest` may have: the manifest's digest
    itself (the containerd image store names an image by it), and the digest of the image
    configuration it lists (the classic store's image id)."""
    import json
    import urllib.request

    found = {digest}
    url = f"http://{HOSTS[0]}/v2/{REPO}/manifests/{digest}"
    accept = (
        "application/vnd.oci.image.index.v1+json, "
        "application/vnd.docker.distribution.manifest.list.v2+json, "
        "application/vnd.oci.image.manifest.v1+json, "
        "application/vnd.docker.distribution.manifest.v2+json"
    )
    try:
        request = urllib.request.Request(url, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=5) as answer:
            manifest = json.loads(answer.read(1 << 20))
        for entry in manifest.get("manifests") or []:  # an index: each image in it
            found.add(entry.get("digest", ""))
            if (entry.get("platform") or {}).get("os") == "unknown":
                continue  # an attestation, not an image
            sub = urllib.request.Request(
                f"http://{HOSTS[0]}/v2/{REPO}/manifests/{entry['digest']}",
                headers={"Accept": accept},
            )
            with urllib.request.urlopen(sub, timeout=5) as answer:
                found.add((json.loads(answer.read(1 << 20)).get("config") or {}).get("digest"))
        if manifest.get("config"):
            found.add(manifest["config"].get("digest"))
    except (OSError, ValueError, KeyError):
        pass
    return {name for name in found if name}


def _holds(image: Image, digest: str) -> bool:
    """Is `image` what the registry holds under `digest`?"""
    return digest in _pushed_digests(image.attrs) or image.id in _names(digest)


def _image_with_digest(learner: Learner, digest: str) -> Image | None:
    from workshop.probes import image_named

    ids = _names(digest)
    for summary in learner.engine.api.images():
        if digest in _pushed_digests(summary) or summary["Id"] in ids:
            return image_named(learner.engine, summary["Id"])
    return None


def _wrong_port_tags(learner: Learner) -> list[str]:
    """Tags for the registry on port 5000 (AirPlay's on a Mac) put on an image since the
    learner began."""
    return [
        t
        for host in ("localhost:5000", "127.0.0.1:5000")
        for t in learner.tags_of(f"{host}/{REPO}")
        if _new_tag(learner, t)
    ]


REGISTRY_IMAGES = ("registry", "distribution/distribution")  # registry:2, :3, and the CNCF one
STANDIN = "io.workshop.standin"  # the kit's offline stand-in for registry:2 is labelled so


def _registries(learner: Learner) -> list[tuple[str, int | None]]:
    """(name, host port) of each registry container running since the learner began, whatever
    image it came from (registry:2, registry:3, distribution/distribution, the kit's stand-in):
    the host port its port 5000 is published on (another it publishes, else None)."""
    from workshop.declared import host_ports
    from workshop.meaning import same_repo

    found = []
    for container in learner.containers():
        stand_in = container.labels.get(STANDIN, "")
        if not container.running or not (
            any(same_repo(container.image, name) for name in REGISTRY_IMAGES)
            or any(same_repo(stand_in, name) for name in REGISTRY_IMAGES)
        ):
            continue
        inside = [p for p in container.ports.get("5000/tcp", []) if p.isdigit()]
        ports = sorted(int(p) for p in inside) or sorted(host_ports(container))
        found.append((container.name or container.short_id, ports[0] if ports else None))
    return found


def _registry_elsewhere(learner: Learner) -> tuple[str, int | None] | None:
    """A registry container of the learner's that does not publish the lab's port (and none
    that does)."""
    found = _registries(learner)
    if any(port == REGISTRY_PORT for _, port in found):
        return None
    return found[-1] if found else None


def _move_registry(name: str, port: int | None) -> str:
    where = f"listens on port {port}" if port else "publishes no port"
    return (
        f"your registry (container {name}) {where}, and the lab (its tags and stack file) uses "
        f"port {REGISTRY_PORT}: run it there (`docker container rm -f -v {name}`, then "
        f"`{RUN_REGISTRY}`)"
    )


def _new_tag(learner: Learner, reference: str) -> bool:
    image = learner.image(reference)
    if image is None:
        return False
    start = learner.at_start(reference)
    if start is None:  # no snapshot when the learner began: the engine's tag events say
        return image.id in learner.tagged_since(reference)
    return start != image.id


# --- step 1: a registry, and version 1 in it -----------------------------------------------------


def test_pushed_v1(learner: Learner):
    wrong = _wrong_port_tags(learner)
    digest, error = registry_digest(tag("v1"))
    if (error or digest is None) and wrong:
        found = _registries(learner)
        elsewhere = _registry_elsewhere(learner)
        if elsewhere:
            where = f"{_move_registry(*elsewhere)}, then tag your image {tag('v1')} and push it"
        elif found:
            where = (
                f"your registry listens on {REGISTRY_PORT} (on a Mac, port 5000 is AirPlay's): "
                f"tag it {tag('v1')} and push that"
            )
        else:
            where = (
                f"no registry of yours runs yet: run it on port {REGISTRY_PORT} "
                f"(`{RUN_REGISTRY}`), then tag your image {tag('v1')} and push it"
            )
        missing(
            f"Your image is tagged {wrong[0]}: that name sends the push to port 5000, and "
            f"{where}: {_tag_and_push('v1')}.",
            "pushed-to-port-5000",
        )
    if error and (elsewhere := _registry_elsewhere(learner)):
        missing(
            f"No registry answers on port {REGISTRY_PORT}: {_move_registry(*elsewhere)}; then "
            f"{_tag_and_push('v1')}.",
            "registry-on-other-port",
        )
    digest = _digest("v1", "registry-not-running")
    if digest is None:
        missing(
            f"The registry on port {REGISTRY_PORT} has no {REPO}:v1 yet: tag your newest build "
            f"and push it: {_tag_and_push('v1')}.",
            "not-done",
        )
    newest = learner.image(BUILD)
    if newest is None:
        missing(
            f"There is no image {BUILD} on this engine: build it as in the Mysfits lab (`docker "
            f"image build -t {BUILD} {shown_path(KIT, 'images/mysfits')}`), then "
            f"{_tag_and_push('v1')}.",
            "not-done",
        )
    if _holds(newest, digest):
        return
    pushed = _image_with_digest(learner, digest)
    if pushed is not None and pushed.id != newest.id:
        if _newest_when_pushed(learner, newest):
            return  # a later build came after the push (v2, in step 3): v1 stays version 1
        missing(
            f"The registry's {REPO}:v1 is your image {pushed.short_id} (made "
            f"{_when(pushed.created)}), not your newest build of {BUILD} ({newest.short_id}, "
            f"made {_when(newest.created)}): tag the newest and push it again: "
            f"{_tag_and_push('v1')}.",
            "pushed-old-build",
        )
    missing(
        f"The registry's {REPO}:v1 ({short(digest)}) is not an image this engine pushed (an "
        f"earlier registry's storage, or another machine's push): {_tag_and_push('v1')}.",
        "push-outdated",
    )


def _newest_when_pushed(learner: Learner, newest: Image) -> bool:
    """Was the registry's v1 the newest build when it was pushed? The engine's push events say
    when v1 was last pushed: a build made after that came later (step 3's v2). Without them, the
    newest build pushed under another version says the learner moved on."""
    pushes = [
        event.time
        for event in learner.events("image", "push")
        if any(
            _ours(name) and _version(name) == "v1"
            for name in (event.actor, event.attrs.get("name", ""))
        )
    ]
    if pushes and newest.created:
        return newest.created.timestamp() * 1e9 > max(pushes)
    return bool(_pushed_digests(newest.attrs))


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S") if moment else "at an unknown time"


# --- the services --------------------------------------------------------------------------------


def _swarm_active(learner: Learner) -> None:
    state = swarm.node_state(learner.engine)
    if state == "worker":
        missing(
            "This engine is a swarm worker, not a manager: services are made on a manager; "
            "run the lab on the manager, or `docker swarm leave` and `docker swarm init "
            "--advertise-addr 127.0.0.1` here.",
            "not-done",
        )
    if state != "active":
        missing(
            f"This engine is not in a swarm (`docker info` says Swarm: {state}): run `docker "
            f"swarm init --advertise-addr 127.0.0.1`, then `{DEPLOY}`.",
            "not-done",
        )


def _made_services(learner: Learner) -> list[swarm.Service]:
    found = []
    for made in learner.services():
        if made.gone:
            continue
        svc = swarm.service(learner.engine, made.id)
        if svc is not None:
            found.append(svc)
    return found


def _app(learner: Learner, wait: float = SETTLE) -> swarm.Service:
    _swarm_active(learner)
    apps = [s for s in _made_services(learner) if _ours(s.image)]
    if not apps:
        missing(
            f"No service runs {REPO} from your registry yet: run `{DEPLOY}` (it runs "
            f"{tag('v1')}, as {STACK_FILE} says).",
            "not-done",
        )
    return swarm.settle(learner.engine, apps[-1], wait)


def _lb(learner: Learner) -> swarm.Service | None:
    found = [s for s in _made_services(learner) if any(p == LB_PORT for p, _ in s.ports)]
    return found[-1] if found else None


def _version(svc_image: str) -> str:
    return split_reference(svc_image)[2]


def _problems(tasks: list[swarm.Task]) -> str:
    """Why each failed task failed, from its own error, and from its health check when it was
    running or failed by it (a replaced container reads unhealthy too, once stopped)."""
    said: dict[tuple[str, str, str], list[str]] = {}  # tasks that failed alike, said once
    for task in tasks:
        why = task.error or task.message or task.state
        if task.health_output:
            why += f"; its health check said: {task.health_output[:160]}"
        elif task.health == "unhealthy":
            why += "; its health check failed"
        said.setdefault((task.image, task.state, why), []).append(task.short_id)
    return "; ".join(
        f"task {', '.join(ids)} ({image}) {state}: {why}"
        for (image, state, why), ids in said.items()
    )


def _failed(tasks: list[swarm.Task]) -> list[swarm.Task]:
    return [t for t in tasks if t.state in ("failed", "rejected") or t.health == "unhealthy"]


def _image_ids(learner: Learner, digest: str) -> set[str]:
    """The ids a local image holding the registry's `digest` has (see `_names`), and those of
    the local images this engine pushed or pulled under it."""
    ids = _names(digest)
    for summary in learner.engine.api.images():
        if digest in _pushed_digests(summary):
            ids.add(summary["Id"])
    return ids


def _on(task: swarm.Task, digest: str, ids: set[str]) -> bool:
    """Does the task run the image the registry holds under `digest`? By the digest its service
    pinned, or, for a service deployed without one (`--resolve-image never`), by its
    container's image."""
    return task.digest == digest or (not task.digest and task.image_id in ids)


def _runs(learner: Learner, app: swarm.Service, digest: str) -> bool:
    """Does the service run `digest`: pinned to it, or, unpinned, with every running task's
    container on it?"""
    if not digest:
        return False
    if app.digest:
        return app.digest == digest
    ids = _image_ids(learner, digest)
    running = [t for t in swarm.tasks(learner.engine, app) if t.desired == "running"]
    return bool(running) and all(_on(t, digest, ids) for t in running)


def _up(learner: Learner, svc: swarm.Service, digest: str) -> tuple[list, list]:
    """(its running healthy tasks on `digest`, its tasks that failed)."""
    tasks = swarm.tasks(learner.engine, svc)
    ids = _image_ids(learner, digest) if not svc.digest else set()
    up = [t for t in tasks if t.up and _on(t, digest, ids)]
    return up, _failed(tasks)


def _require_replicas(
    learner: Learner, app: swarm.Service, version: str, digest: str, one: str = "not-done"
) -> list:
    """Its replicas on `digest`, running and healthy: two or more, all it asks for (`one`: the
    id step 2 names a single replica with)."""
    if app.replicas is not None and app.replicas < 2:
        missing(
            f"Your service {app.name} asks for {app.replicas} replica: one copy cannot share the "
            "load, and an update would have to stop it: set `replicas: 3` in the stack file and "
            f"deploy it again (`{DEPLOY}`), or `docker service scale {app.name}=3`.",
            one,
        )
    up, failed = _up(learner, app, digest)
    wanted = app.replicas or len(up)
    if len(up) < max(wanted, 2):
        why = f": {_problems(failed)}" if failed else ""
        missing(
            f"{len(up)} of {wanted} replicas of {app.name} run {version} and are healthy{why}; "
            f"`docker service ps --no-trunc {app.name}` shows each one: fix what it says, then "
            f"`{DEPLOY}` again.",
            "not-done",
        )
    return up


def _lb_requests(learner: Learner, lb: swarm.Service):
    """Every request the load balancer logged, from each of its containers the engine keeps."""
    found = []
    for task in swarm.tasks(learner.engine, lb):
        if task.container_id:
            found += requests(swarm.logs(learner.engine, task.container_id))
    return sorted(found, key=lambda r: r.time)


def _require_lb(learner: Learner, app: swarm.Service, apart: str = "not-done") -> swarm.Service:
    lb = _lb(learner)
    if lb is None:
        missing(
            f"No service publishes port {LB_PORT}, where the load balancer should answer: "
            f"deploy the whole stack: `{DEPLOY}`.",
            "not-done",
        )
    if not lb.networks & app.networks:
        missing(
            f"Your load balancer {lb.name} publishes port {LB_PORT}, but it is not on a network "
            f"of {app.name}, so it cannot reach a replica: put both on the same overlay network "
            f"(`networks: [front]` for each in the stack file) and run `{DEPLOY}` again.",
            apart,
        )
    return lb


# --- step 2: replicas behind the load balancer ---------------------------------------------------


def test_replicas(learner: Learner):
    app = _app(learner)
    v1 = _digest("v1")
    if v1 is None:
        missing(f"The registry has no {REPO}:v1: push it first: {_tag_and_push('v1')}.", "not-done")
    if not _runs(learner, app, v1):
        missing(
            f"Your service {app.name} runs {app.image}"
            f"{'@' + short(app.digest) if app.digest else ''}, not the v1 you pushed "
            f"({short(v1)}): put {tag('v1')} in {STACK_FILE} and run `{DEPLOY}`.",
            "not-done",
        )
    up = _require_replicas(learner, app, "v1", v1, one="one-replica")
    lb = _require_lb(learner, app, apart="lb-not-on-network")
    names = {t.hostname for t in up}
    answered = {r.served_by for r in _lb_requests(learner, lb) if r.served_by in names}
    if len(answered) < 2:
        missing(
            f"Requests through port {LB_PORT} were answered by {len(answered)} of your "
            f"{len(up)} replicas so far: ask the load balancer a few times, a second apart "
            f"(`{ASK}`), and look at X-Served-By.",
            "not-done",
        )


# --- step 3: the rolling update to v2 ------------------------------------------------------------


def _stale(app: swarm.Service) -> None:
    """The service pins a digest its tag no longer names: the tag was pushed again after the
    deploy, and a service never looks again by itself."""
    if not app.digest or not _ours(app.image):
        return
    now, error = registry_digest(app.image)
    if error or now is None or now == app.digest:
        return
    version = _version(app.image)
    if version == "v2":  # the version this step asks for, pushed again after its deploy
        fix = (
            f"deploy it again, with v2 in the stack file (`{SET_VERSION} v2`, then `{DEPLOY}`): "
            "a deploy asks the registry again what v2 names (or give the new build a tag of its "
            "own, such as v2.1, and deploy that)"
        )
    else:
        fix = (
            f"Give each version a tag of its own (v2), put it in the stack file and deploy it: "
            f"`{SET_VERSION} v2`, then `{DEPLOY}`"
        )
    missing(
        f"Your service {app.name} still runs {app.image} as it was when you deployed "
        f"({short(app.digest)}); the registry's {version} now names a later push "
        f"({short(now)}): a service keeps the digest it resolved until it is deployed again. "
        f"{fix[0].upper()}{fix[1:]}.",
        "stale-tag",
    )


def _failed_between(learner, lb, start: datetime | None, end: datetime | None) -> list:
    if start is None:
        return []
    # nginx logs whole seconds: widen the window to them
    start = start.replace(microsecond=0)
    end = (end or datetime.now().astimezone()) + timedelta(seconds=1)
    return [r for r in _lb_requests(learner, lb) if r.failed and start <= r.time <= end]


def _said(failed: list) -> str:
    first = failed[0]
    return (
        f"{len(failed)} request(s) through the load balancer failed, the first at "
        f"{_when(first.time)} (status {first.status}, `{first.request}`, replica "
        f"{first.upstream or 'none'})"
    )


def test_rolling_update(learner: Learner):
    app = _app(learner)
    _stale(app)
    v1, v2 = _digest("v1"), _digest("v2")
    if v2 is None:
        missing(
            f"The registry has no {REPO}:v2 yet: change the data (`python3 "
            f"{shown_path(KIT, 'labs/mysfits/add_mysfit.py')}`), rebuild {BUILD}, then "
            f"{_tag_and_push('v2')}.",
            "not-done",
        )
    if v2 == v1:
        missing(
            f"Your {REPO}:v2 is the same image as v1: change the data first (`python3 "
            f"{shown_path(KIT, 'labs/mysfits/add_mysfit.py')}`), rebuild {BUILD}, then "
            f"{_tag_and_push('v2')}.",
            "not-done",
        )
    tasks = swarm.tasks(learner.engine, app)
    tried = [t for t in tasks if t.digest == v2 or (_ours(t.image) and _version(t.image) == "v2")]
    failed = _failed(tried)
    if not _runs(learner, app, v2) and (failed or app.update_state.startswith("rollback")):
        back = " and was rolled back" if app.update_state.startswith("rollback") else ""
        why = f": {_problems(failed)}" if failed else f" ({app.update_message})"
        missing(
            f"The update of {app.name} to v2 failed{back}{why}. Fix v2 (`docker service ps "
            f"--no-trunc {app.name}` shows each task), build it and push it again "
            f"({_tag_and_push('v2')}), then run `{DEPLOY}` again.",
            "update-rolled-back",
        )
    if not _runs(learner, app, v2):
        missing(
            f"Your service {app.name} runs {app.image}, not v2 ({short(v2)}): put v2 in the "
            f"stack file (`{SET_VERSION} v2`) and run `{DEPLOY}`.",
            "not-done",
        )
    if app.update_state not in ("completed", ""):
        why = f": {_problems(failed)}" if failed else ""
        missing(
            f"The update of {app.name} to v2 is {app.update_state.replace('_', ' ')} "
            f"({app.update_message}){why}; `docker service ps --no-trunc {app.name}` shows "
            f"why; fix it and run `{DEPLOY}` again.",
            "not-done",
        )
    up = _require_replicas(learner, app, "v2", v2)
    # updated, not made anew: v1 replicas shut down, and v2 ones made after them (the task
    # history says so; the service's update status is erased by any later change of its spec)
    ids = _image_ids(learner, v1) if v1 else set()
    replaced = [t for t in tasks if _on(t, v1, ids) and t.desired == "shutdown" and t.created]
    first = min((t.created for t in replaced), default=None)
    ids = _image_ids(learner, v2) if not app.digest else set()
    rolled = [t for t in tasks if _on(t, v2, ids) and first and t.created and t.created > first]
    if not replaced or not rolled:
        missing(
            f"Your service {app.name} was made anew with v2, not updated: a rolling update "
            f"replaces the replicas of a running service one by one. Deploy v1 again "
            f"(`{SET_VERSION} v1`, `{DEPLOY}`), then v2 the same way.",
            "not-done",
        )
    lb = _require_lb(learner, app)
    # while it rolled: from the first v2 replica made (or v1 one stopped) to the last v1 stopped
    stopped = [t.changed for t in replaced if t.changed]
    began = min([t.created for t in rolled] + stopped)
    failed = _failed_between(learner, lb, began, max(stopped, default=None))
    if failed:
        missing(
            f"{_said(failed)} while v2 rolled out: keep `order: start-first` and the health "
            f"check in the stack file, so a replica stops only once its successor is healthy; "
            f"roll out again from v1 (`{SET_VERSION} v1`, `{DEPLOY}`, then v2).",
            "requests-failed",
        )
    _require_gradual(app, up, rolled)


def _require_gradual(app: swarm.Service, up: list, rolled: list) -> None:
    """The update replaced a few replicas at a time, each healthy before the next: the running
    v2 replicas have a health check (without one, Swarm counts a replica started as soon as its
    process runs), and the first v2 replicas were not all made together."""
    again = f"roll out again from v1 (`{SET_VERSION} v1`, `{DEPLOY}`, then v2)"
    unchecked = [t for t in up if not t.health]
    if unchecked:
        missing(
            f"{len(unchecked)} of your {len(up)} v2 replicas of {app.name} have no health check, "
            "so Swarm took each one for started as soon as its process ran, before it could "
            "answer, and went on to the next: keep the `healthcheck:` of the stack file (no "
            "`disable: true`; `docker service update --no-healthcheck` turns it off too), then "
            f"{again}.",
            "no-health-check",
        )
    wanted = app.replicas or len(up)
    first = [t.created for t in rolled if t.created][:wanted]
    if wanted < 2 or len(first) < wanted or (first[-1] - first[0]).total_seconds() > GRADUAL:
        return
    said = ""
    if app.parallelism is not None and (app.parallelism == 0 or app.parallelism >= wanted):
        said = f"; its update_config says parallelism {app.parallelism}"
        said += ", which means all at once" if app.parallelism == 0 else ""
    missing(
        f"Swarm replaced all {wanted} replicas of {app.name} at once (their v2 replicas were "
        f"made within {GRADUAL:g} s of each other{said}): a rolling update replaces a few at a "
        "time, each one healthy before the next, while the others serve. Keep `parallelism: 1` "
        f"under update_config in the stack file, then {again}.",
        "all-at-once",
    )


# --- step 4: a broken v3, rolled back ------------------------------------------------------------


def test_rollback(learner: Learner):
    app = _app(learner)
    v2, v3 = _digest("v2"), _digest("v3")
    rollback = f"docker service rollback {app.name}"
    if v3 is None:
        missing(
            f"The registry has no {REPO}:v3 yet: `docker image build -t {tag('v3')} "
            f"{shown_path(KIT, 'labs/shipit/v3')}`, then `docker image push {tag('v3')}`.",
            "not-done",
        )
    tasks = swarm.tasks(learner.engine, app)
    tried = [t for t in tasks if t.digest == v3]
    if not tried and app.digest != v3:
        missing(
            f"Your service {app.name} has not tried v3 yet: `{SET_VERSION} v3`, then `docker "
            f"stack deploy -c {STACK_FILE} {STACK}`.",
            "not-done",
        )
    on_v3 = [t for t in tasks if t.digest == v3 and t.desired == "running"]
    failing = _failed(tried)
    why = f" ({_problems(failing)})" if failing else ""
    if app.update_state == "paused":
        on_v2 = [t for t in tasks if t.digest == v2 and t.up]
        mixed = " with mixed versions" if on_v3 else ""
        missing(
            f"The update of {app.name} to v3 paused{mixed}: {len(on_v2)} replica(s) run v2, "
            f"{len(on_v3)} v3, and v3 failed{why}: roll back with `{rollback}`, then put v2 "
            f"back in the stack file (`{SET_VERSION} v2`).",
            "update-paused",
        )
    if app.digest == v3 or on_v3:
        missing(
            f"Version 3 is still what {app.name} runs ({len(on_v3)} replica(s) on v3 now, "
            f"failing their health check{why}): roll back with `{rollback}`, then put v2 back "
            f"in the stack file (`{SET_VERSION} v2`).",
            "v3-still-running",
        )
    if not _runs(learner, app, v2 or ""):
        missing(
            f"Your service {app.name} runs {app.image}, not v2 ({short(v2 or '')}): put v2 in "
            f"the stack file (`{SET_VERSION} v2`) and run `{DEPLOY}`.",
            "not-done",
        )
    _require_replicas(learner, app, "v2", v2)
    lb = _require_lb(learner, app)
    began = min((t.created for t in tried if t.created), default=None)
    failed = _failed_between(learner, lb, began, app.update_completed)
    if failed:
        missing(
            f"{_said(failed)} while v3 was tried and taken back: keep `order: start-first` in "
            f"update_config and rollback_config, so the v2 replicas keep serving until a v3 one "
            f"is healthy; deploy v3 again (`{SET_VERSION} v3`, `docker stack deploy -c "
            f"{STACK_FILE} {STACK}`).",
            "rollback-requests-failed",
        )


# --- step 5: clean up what the lab made, and only that -------------------------------------------


SERVICES = ("mysfits", "lb")  # the stack file's services: deployed as STACK_mysfits, STACK_lb
TASK_OF = "com.docker.swarm.service.name"  # a replica's container names its service so


def _lab_service(name: str) -> bool:
    """A service of the lab's stack: `shipit_...`, or the stack file deployed under another
    stack name (`ship_mysfits`)."""
    stack, _, service = name.rpartition("_")
    return bool(stack) and (stack == STACK or service in SERVICES)


def _live_services(learner: Learner) -> dict[str, str]:
    """The engine's services now: name -> its stack ("" if none)."""
    import docker.errors

    try:
        listed = learner.engine.api.services()
    except docker.errors.APIError:  # no swarm any more: its services went with it
        return {}
    return {
        (s.get("Spec") or {}).get("Name", ""): ((s.get("Spec") or {}).get("Labels") or {}).get(
            "com.docker.stack.namespace", ""
        )
        for s in listed
    }


def _removed_others(learner: Learner, made: list, live: dict[str, str]) -> tuple[list[str], str]:
    """Services someone else had (there when the learner began) that are gone now: from the
    snapshot the kit took then and the engine's services now; with no such snapshot (an older
    kit's journal), the removals the kit saw, of services not made since the learner began.
    Those the learner made meanwhile (`docker service create`) are theirs to remove. With them,
    what the kit knows of them."""
    at_start = learner.services_at_start()
    if at_start is not None:
        gone = sorted(n for n in at_start if n not in live and not _lab_service(n))
        return gone, "there before you began"
    ours = {m.name for m in made}
    removed = {e.attrs.get("name") or e.actor for e in learner.events("service", "remove")}
    gone = sorted(n for n in removed if n not in ours and not _lab_service(n))
    return gone, "which the kit did not see you make"


def test_cleanup(learner: Learner):
    made = learner.services()
    live = _live_services(learner)
    # the lab's stack ran: the kit saw its services made, or their replicas' containers (kept in
    # its journal after they are removed: the engine's short event log may have forgotten the
    # services' own events), or they are still here
    ran = {m.name for m in made if _lab_service(m.name) or m.project == STACK}
    ran |= {c.labels.get(TASK_OF, "") for c in learner.containers(gone=True)}
    ran |= set(live)
    if not any(_lab_service(name) for name in ran):
        missing(
            f"The lab's stack has not run yet, so there is nothing to clean up: do the earlier "
            f"steps first (`{DEPLOY}`).",
            "not-done",
        )
    others, known = _removed_others(learner, made, live)
    if others:
        missing(
            f"{'Service' if len(others) == 1 else 'Services'} {', '.join(others)} "
            f"{'is' if len(others) == 1 else 'are'} gone, {known}, and not part of the lab's stack "
            f"({STACK}): cleaning up is `docker stack rm {STACK}`, nothing more; make "
            f"{others[0]} again if someone needs it.",
            "cleanup-removed-other-service",
        )
    tags = {t.rsplit(":", 1)[1] for host in HOSTS for t in learner.tags_of(f"{host}/{REPO}")}
    lost = [f"{HOSTS[0]}/{REPO}:{version}" for version in ("v1", "v2") if version not in tags]
    if learner.image(BUILD) is None:
        lost.append(BUILD)
    if lost:
        gone = ", ".join(lost)
        missing(
            f"The images are gone ({gone}): cleaning up removes what runs, not what you built; "
            f"build and tag them again as in the earlier steps, and next time leave `docker "
            f"image rm` out.",
            "cleanup-removed-images",
        )
    services = sorted(n for n, stack in live.items() if _lab_service(n) or stack == STACK)
    registries = {name for name, _ in _registries(learner)} | {
        c.name or c.short_id
        for c in learner.containers()
        if c.running and REGISTRY_PORT in _ports(c)
    }
    left = [f"service {name}" for name in services]
    left += [f"container {name}" for name in sorted(registries)]
    if left:
        stacks = sorted({live[name] or name.rpartition("_")[0] for name in services})
        fixes = [f"`docker stack rm {stack}`" for stack in stacks]
        fixes += [f"`docker container rm -f -v {name}`" for name in sorted(registries)]
        missing(
            f"Still here: {', '.join(left)}: run {' and '.join(fixes)}.", "cleanup-left-running"
        )


def _ports(container) -> set[int]:
    from workshop.declared import host_ports

    return host_ports(container)
