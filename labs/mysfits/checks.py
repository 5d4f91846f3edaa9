"""Checks for the Mythical Mysfits lab (labs/mysfits): one test per step, read-only on the engine.

The checks never create, start or remove a container. They read the engine (`docker inspect`,
`docker logs`, image history), look inside the learner's running container through testinfra's
docker backend (`docker exec` of `cat`/`grep`: no `ps`, `ss` or `netstat` in a slim image), and
the kit itself sends GET requests to the published port, on loopback only. When a step is not done
they name what is missing, or the mistake they recognise, with the fix.

How "built from images/mysfits" is proved, without a container: the image's configuration (CMD,
USER, EXPOSE, the OCI labels, HEALTHCHECK) must equal what images/mysfits/Dockerfile declares, as
the file is now. Once a container of it runs, its /app files are compared byte for byte with the
kit's (step `run`: app.py, requirements.txt, gunicorn.conf.py; step `rebuild`: mysfits.json).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from workshop.engine import parse_time
from workshop.labs import restore_command, room_text, shown_path, working_path
from workshop.probes import (
    Container,
    Image,
    Learner,
    Missing,
    image_named,
    images_labelled,
    missing,
)
from workshop.services import (
    Dockerfile,
    Inside,
    get_json,
    logs,
    published,
    published_ports,
)

from .gunicorn_log import access_log, log_gist

LAB = "mysfits"
IMAGE = "mythicalmysfits/service"
TAG = f"{IMAGE}:latest"
KIT = Path(__file__).resolve().parents[2]  # the kit these checks belong to
CONTEXT = working_path(KIT, "images/mysfits")  # the learner's working copy, if installed
DATA = CONTEXT / "mysfits.json"
PORT = 8080
TITLE = "org.opencontainers.image.title"  # the label that marks images built from images/mysfits
APP_FILES = ("app.py", "requirements.txt", "gunicorn.conf.py")
AGENT = "docker-workshop-kit-check"  # the kit's own requests say so, and are not the learner's
STARTING = 15  # seconds after a container starts during which the checks wait for its server

# an offline room's learners add the `--build-arg`s that reach its package index (online: none)
BUILD = room_text(
    "docker image build{room:pip-build-args} -t mythicalmysfits/service "
    + shown_path(KIT, "images/mysfits")
)
RUN = "docker container run -d --name mysfits -p 8080:8080 mythicalmysfits/service"
# what gives the learner the kit's own files back: git in a clone, a copy when installed
RESTORE_DOCKERFILE = restore_command(KIT, "images/mysfits/Dockerfile")
RESTORE_BUILD_FILES = restore_command(
    KIT, "images/mysfits/Dockerfile", "images/mysfits/requirements.txt"
)


def _dockerfile() -> Dockerfile:
    __tracebackhide__ = True
    try:
        return Dockerfile(CONTEXT / "Dockerfile")
    except OSError:
        missing(
            f"{shown_path(KIT, 'images/mysfits/Dockerfile')} is missing: restore it with "
            f"`{RESTORE_DOCKERFILE}`.",
            mistake="dockerfile-missing",
        )


def _replace(container: Container) -> str:
    return f"`docker container rm -f {container.name}`, then `{RUN}`"


# --- step build ---------------------------------------------------------------------------------


def test_build(learner: Learner):
    """Step `build`: mythicalmysfits/service:latest, built from images/mysfits since the
    workshop began (see `_built_in_workshop`); "from images/mysfits": its configuration equals
    what the Dockerfile there declares."""
    dockerfile = _dockerfile()
    image = image_named(learner.engine, TAG)
    if image is None:
        _no_image(learner, dockerfile)
    differences = dockerfile.differences(image)
    if differences:
        missing(
            f"{TAG} was not built from images/mysfits: {differences[0]}, as "
            "images/mysfits/Dockerfile declares. Build it from the kit's folder with "
            f"`{BUILD}`: the last argument is the build context, the folder whose Dockerfile and "
            "files Docker uses.",
            mistake="built-elsewhere",
        )
    learner.note_image(image, history=True)
    if not _built_in_workshop(learner, image):
        missing(
            f"{TAG} ({image.short_id}) was built before you began the workshop: build it again "
            f"now with `{BUILD}` (if every step comes from the cache, that is fine).",
            mistake="built-before-workshop",
        )
    if image.runs_as_root:
        missing(
            f"{TAG} runs as root: the Dockerfile's `USER mysfits` line is missing. Restore it "
            f"(`{RESTORE_DOCKERFILE}`), then build again with `{BUILD}`.",
            mistake="image-runs-as-root",
        )
    if f"{PORT}/tcp" not in image.exposed_ports:
        missing(
            f"{TAG} does not declare port {PORT} (`EXPOSE {PORT}` in the Dockerfile): restore the "
            f"Dockerfile (`{RESTORE_DOCKERFILE}`), then run `{BUILD}`.",
            mistake="port-not-exposed",
        )


def _built_in_workshop(learner: Learner, image: Image) -> bool:
    """Was `image` put under the lab's tag since the workshop began? It was created since; or
    the engine logged the tag moving onto it (a build's `-t`, or `docker image tag`: an
    unchanged Dockerfile builds entirely from the cache and yields the old image again); or
    the tag named nothing (or another image) when the workshop began; or the kit saw it under
    the tag earlier. (An image's Metadata.LastTagTime is no evidence: it is not per tag.)"""
    if image.created >= learner.since or image.id in learner.tagged_since(TAG):
        return True
    before = learner.at_start(TAG)
    return before is not None and before != image.id


def _no_image(learner: Learner, dockerfile: Dockerfile):
    __tracebackhide__ = True
    other_tags = learner.tags_of(IMAGE)
    if other_tags:
        missing(
            f"You built {', '.join(other_tags)}, but the lab uses {TAG} (with no tag, Docker "
            f"uses `latest`): run `{BUILD}` as written.",
            mistake="image-other-tag",
        )
    title = dockerfile.labels.get(TITLE, "mysfits")
    ours = [
        image
        for image in images_labelled(learner.engine, TITLE, title)
        if image.created >= learner.since
        or learner.new_since_start(image.id)
        or any(image.id in learner.tagged_since(tag) for tag in image.tags)
    ]
    present = {tag for image in ours for tag in image.tags}
    # the names the learner gave since the start (the engine logs each tag it applies); an image
    # from the cache may carry older names too
    applied = [
        event.attrs.get("name")
        for event in learner.events("image", "tag")
        if event.attrs.get(TITLE) == title
    ]
    named = [tag for tag in applied if tag in present] or sorted(present)
    if named:
        missing(
            f"You built the service as {named[-1]}, but the lab calls it {IMAGE}: run `{BUILD}` "
            f"(or give your image that name too: `docker image tag {named[-1]} {IMAGE}`).",
            mistake="image-other-name",
        )
    if ours:
        missing(
            f"You built the image without a name, so it is only <none> ({ours[-1].short_id}): "
            f"`-t` names it; run `{BUILD}`.",
            mistake="image-without-name",
        )
    missing(
        f"There is no image {TAG} yet: from the kit's folder, run `{BUILD}` (the last argument, "
        "images/mysfits, is the build context: the folder whose Dockerfile and files Docker uses).",
        mistake="image-not-built",
    )


# --- step run -----------------------------------------------------------------------------------


def _service(learner: Learner) -> Container:
    """The running container from the image (the one named mysfits, else the newest), or a
    failure that says why there is none."""
    __tracebackhide__ = True
    if image_named(learner.engine, TAG) is None:
        missing(
            f"There is no image {TAG}: do step build first, `{BUILD}`.", mistake="service-no-image"
        )
    runs = learner.containers(IMAGE)
    running = [c for c in runs if c.running]
    if running:  # the one called mysfits, as the lab names it, else the newest
        return next((c for c in running if c.name == "mysfits"), running[-1])
    if not runs:
        missing(f"No container from {IMAGE} runs yet: run `{RUN}`.", mistake="service-not-run")
    last = runs[-1]
    state = last.attrs["State"]
    name = last.name
    again = f"`docker container rm {name}`, then `{RUN}`"
    error = state.get("Error") or ""
    if "port is already allocated" in error or "address already in use" in error:
        missing(
            f"Docker could not start {name}: host port {PORT} is already taken by another "
            f"program or container (`docker container ls` shows containers): free it, "
            f"then {again}.",
            mistake="host-port-taken",
        )
    if error:
        missing(
            f"Docker could not start {name} ({error}): fix that, then {again}.",
            mistake="service-start-error",
        )
    if state.get("Status") == "created":
        missing(
            f"Container {name} was created but never started: `docker container start {name}`.",
            mistake="service-never-started",
        )
    gist = log_gist(logs(last, tail=60))
    said = f"; its log ends with: {gist.rstrip('.')}" if gist else " without a word in its log"
    image = image_named(learner.engine, TAG)
    if image is not None and last.command and last.command != image.cmd:
        cause = (
            f" It ran `{last.shown}` instead of the image's own command: put nothing "
            "after the image name."
        )
    else:
        cause = _data_cause(last) or (
            f" Fix that; if the fix is in images/mysfits, rebuild first (`{BUILD}`)."
        )
    missing(
        f"Your container {name} ({last.short_id}) stopped with exit code {last.exit_code}{said}."
        f"{cause} Then {again}.",
        mistake="service-stopped",
    )


def _data_cause(container: Container) -> str:
    """If the data the container's image holds is broken, say so (compared by content: the
    file in the image, read from the stopped container, against the kit's file now)."""
    inside = container.read("/app/mysfits.json")
    if inside is None:
        return ""
    try:
        json.loads(inside)
    except ValueError as exc:
        where = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else exc
        try:
            on_disk = DATA.read_bytes()
        except OSError:
            on_disk = None
        fixed = on_disk is not None and on_disk != inside and _valid_json(on_disk)
        return (
            f" The mysfits.json inside its image is not valid JSON ({where}), so the service "
            "cannot start"
            + (
                ": you have fixed the file since, and an image keeps the files it was built "
                f"with, so rebuild (`{BUILD}`)."
                if fixed
                else f": fix images/mysfits/mysfits.json, then rebuild (`{BUILD}`)."
            )
        )
    return ""


def _valid_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _host_port(container: Container) -> int:
    """The host port where the container's 8080 is published, or a failure naming the fix."""
    __tracebackhide__ = True
    bindings = published(container, f"{PORT}/tcp")
    ports = [int(port) for _, port in bindings if port.isdigit()]
    if ports:
        return ports[0]
    others = published_ports(container)
    if others:
        missing(
            f"Container {container.name} publishes its port {others[0]}, but the service listens "
            f"on {PORT} inside it: publish the port with -p {PORT}:{PORT} (host:container). "
            f"Replace the container: {_replace(container)}.",
            mistake="wrong-port-published",
        )
    missing(
        f"Container {container.name} runs, but its port {PORT} is not published, so nothing "
        f"outside the container can reach the service: publish the port with -p {PORT}:{PORT}. "
        f"Replace the container: {_replace(container)}.",
        mistake="port-not-published",
    )


def _recently_started(learner: Learner, container: Container) -> bool:
    from workshop.engine import parse_time

    started = parse_time(container.attrs["State"]["StartedAt"])
    return (learner.engine_now() - started).total_seconds() < STARTING


def _wait_until_listening(learner: Learner, container: Container, inside: Inside) -> list[str]:
    """The addresses the container listens on at 8080, waiting a little for a fresh server."""
    addresses = inside.listening_on(PORT)
    if addresses or not _recently_started(learner, container):
        return addresses
    deadline = time.monotonic() + 6
    while not addresses and time.monotonic() < deadline:
        time.sleep(0.3)
        addresses = inside.listening_on(PORT)
    return addresses


def test_run(learner: Learner):
    """Step `run`: a container from the image runs with 8080 published; inside it, gunicorn runs
    as a non-root user, listens on 0.0.0.0:8080, and serves the kit's own app files."""
    container = _service(learner)
    _host_port(container)
    name = container.name
    # Any name will do (the lab's is mysfits): every later check finds the container by its
    # image, and names it as it is called.
    inside = Inside(container)

    servers = inside.processes_named("gunicorn")
    if not servers:
        missing(
            f"No gunicorn runs in {name}: it runs `{' '.join(container.command)}`. Run the "
            f"image's own command (nothing after the image name): {_replace(container)}.",
            mistake="no-gunicorn",
        )
    if any(p.uid == 0 for p in servers):
        missing(
            f"gunicorn runs as root in {name}: a server that is broken into hands over the "
            f"whole container. Run it as the image's user, mysfits (no --user): "
            f"{_replace(container)}.",
            mistake="gunicorn-as-root",
        )

    addresses = _wait_until_listening(learner, container, inside)
    if not addresses:
        ports = sorted({port for _, port in inside.listening()})
        elsewhere = f" (it listens on {', '.join(map(str, ports))})" if ports else ""
        missing(
            f"Nothing listens on port {PORT} in {name}{elsewhere}: look at "
            f"`docker container logs {name}`, then {_replace(container)}.",
            mistake="nothing-listening",
        )
    if not any(a in ("0.0.0.0", "::") for a in addresses):
        missing(
            f"The server in {name} listens on {addresses[0]}:{PORT}, the container's own "
            "loopback: a published port forwards traffic to the container's network interface, "
            f"not to its 127.0.0.1, so nothing reaches it. It must listen on 0.0.0.0:{PORT} (every "
            "interface), as the image's gunicorn.conf.py says: put no command after the image "
            f"name. Replace the container: {_replace(container)}.",
            mistake="listens-on-loopback",
        )

    for filename in APP_FILES:
        if inside.read(f"/app/{filename}") != (CONTEXT / filename).read_bytes():
            missing(
                f"/app/{filename} in {name} is not the kit's images/mysfits/{filename}: the "
                f"image was built from other files. Rebuild with `{BUILD}`, then replace the "
                f"container: {_replace(container)}.",
                mistake="app-files-differ",
            )


# --- step call ----------------------------------------------------------------------------------


def _fetch(learner: Learner, container: Container, port: int) -> list[dict]:
    """The kit's own GET /mysfits through the published port (loopback only): the mysfits."""
    __tracebackhide__ = True
    url = f"http://127.0.0.1:{port}/mysfits"
    patience = time.monotonic() + (6 if _recently_started(learner, container) else 0)
    while True:
        try:
            status, body = get_json(url, AGENT)
            break
        except OSError as exc:
            if time.monotonic() < patience:
                time.sleep(0.3)
                continue
            reason = getattr(exc, "reason", None) or exc
            missing(
                f"The kit could not fetch {url} itself ({reason}): is {container.name} still "
                f"running and published on port {port}? `docker container ls` shows it.",
                mistake="fetch-failed",
            )
    if status != 200:
        missing(
            f"GET {url} answered {status}, not 200: look at `docker container logs "
            f"{container.name}`.",
            mistake="fetch-not-ok",
        )
    mysfits = body.get("mysfits") if isinstance(body, dict) else None
    if not isinstance(mysfits, list):
        missing(
            f"GET {url} did not answer with a JSON object holding a `mysfits` list: is the "
            f"image built from images/mysfits? Rebuild with `{BUILD}` and replace the container.",
            mistake="fetch-not-mysfits",
        )
    for n, item in enumerate(mysfits, start=1):
        lacking = [
            key
            for key in ("mysfitId", "name", "species")
            if not isinstance(item, dict) or not isinstance(item.get(key), str)
        ]
        if lacking:
            missing(
                f"Mysfit number {n} in the answer has no {lacking[0]} (a string): every entry in "
                "images/mysfits/mysfits.json needs mysfitId, name and species; fix the file, "
                f"rebuild with `{BUILD}` and replace the container.",
                mistake="mysfit-lacks-field",
            )
    return mysfits


def test_call(learner: Learner):
    """Step `call`: the container's access log shows GET /mysfits answered 200 to a client
    outside the container (not its 127.0.0.1 healthcheck, not the kit), and the kit's own GET
    gets the JSON list of mysfits."""
    container = _service(learner)
    port = _host_port(container)
    try:
        _called(learner, container, port)
    except Missing as exc:
        if port == PORT:
            raise
        wanted = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
        asked = [b.get("HostPort") for b in wanted.get(f"{PORT}/tcp") or []]
        how = (
            f"with `-p {PORT}` and no host port, Docker picked a free one"
            if not any(asked)
            else f"`-p {port}:{PORT}` publishes it there"
        )
        missing(
            f"{exc} (You published the service's port {PORT} on host port {port}: {how}. The "
            f"lab's text says 8080 because its command publishes `-p {PORT}:{PORT}`; use "
            f"{port}, or replace the container with the lab's command.)",
            mistake="called-on-other-port",
        )


def _called(learner: Learner, container: Container, port: int) -> None:
    call = f"curl localhost:{port}/mysfits"
    requests = [r for r in access_log(logs(container)) if AGENT not in r.agent]
    outside = [r for r in requests if not r.from_loopback]
    if not any(r.method == "GET" and r.path == "/mysfits" and r.status == 200 for r in outside):
        if outside:
            last = outside[-1]
            if last.path == "/":
                missing(
                    "Your request reached the service, but at / (its health page); the list of "
                    f"mysfits lives at /mysfits: run `{call}`.",
                    mistake="called-root-path",
                )
            if last.path != "/mysfits" and last.path.rstrip("/") == "/mysfits":
                missing(
                    f"You asked for {last.path}, which answered {last.status}: write the path "
                    f"without the slash at the end, /mysfits: run `{call}`.",
                    mistake="called-trailing-slash",
                )
            if last.status == 404:
                missing(
                    f"You asked for {last.path}, which answered 404 Not Found: the path is "
                    f"/mysfits (plural, lowercase): run `{call}`.",
                    mistake="called-not-found",
                )
            missing(
                f"Your request {last.method} {last.target} answered {last.status}; this step "
                f"wants GET /mysfits: run `{call}`.",
                mistake="called-other-request",
            )
        if any(r.path == "/mysfits" for r in requests):
            missing(
                "That GET /mysfits came from inside the container (127.0.0.1): call the service "
                f"from your own machine, through the published port: `{call}` in a terminal on "
                "your host.",
                mistake="called-from-inside",
            )
        missing(
            f"No request from your machine has reached {container.name} yet: run `{call}` in a "
            f"terminal on your host (`docker container logs {container.name}` shows each "
            "request as it arrives).",
            mistake="not-called",
        )
    _fetch(learner, container, port)


# --- step rebuild -------------------------------------------------------------------------------

JSON_HINTS = {
    "Expecting ',' delimiter": "usually a missing comma between two entries or two fields",
    "Expecting property name enclosed in double quotes": (
        "usually a comma after the last field or entry, or single quotes: JSON allows neither"
    ),
    "Expecting value": "usually a comma too many, or a value that is not quoted",
    "Extra data": "usually an entry pasted after the closing ]: it belongs inside the list",
}


def _data_on_disk() -> list[dict]:
    """images/mysfits/mysfits.json as the learner left it, or a failure that names the problem."""
    __tracebackhide__ = True
    try:
        text = DATA.read_text(encoding="utf-8")
    except OSError:
        missing(
            f"{shown_path(KIT, 'images/mysfits/mysfits.json')} is missing: restore it with "
            f"`{restore_command(KIT, 'images/mysfits/mysfits.json')}`, then add your mysfit "
            "again.",
            mistake="data-file-missing",
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = next((h for m, h in JSON_HINTS.items() if exc.msg.startswith(m)), "")
        missing(
            f"images/mysfits/mysfits.json is not valid JSON: line {exc.lineno}, column "
            f"{exc.colno}: {exc.msg}{f' ({hint})' if hint else ''}. A container built from it "
            f"stops at once: fix the file, run `{BUILD}`, then replace the container "
            f"(`docker container rm -f mysfits`, then `{RUN}`).",
            mistake="data-invalid-json",
        )
    if not isinstance(data, list) or not all(isinstance(m, dict) for m in data):
        missing(
            "images/mysfits/mysfits.json must stay one JSON list [ ... ] of objects { ... }: put "
            "your mysfit inside the list, after a comma.",
            mistake="data-not-list",
        )
    seen = set()
    for n, mysfit in enumerate(data, start=1):
        ident = mysfit.get("mysfitId")
        if not isinstance(ident, str) or not ident:
            missing(
                f"Mysfit number {n} in images/mysfits/mysfits.json has no mysfitId: give it one "
                "(any text no other mysfit uses).",
                mistake="mysfit-without-id",
            )
        if ident in seen:
            missing(
                f"Two mysfits in images/mysfits/mysfits.json share the mysfitId {ident!r}: the "
                "service refuses to start with duplicates; give yours an id of its own.",
                mistake="mysfit-duplicate-id",
            )
        seen.add(ident)
    return data


def _original_data() -> bytes | None:
    """The kit's own mysfits.json, from git; None where git or the clone's history is missing
    (the check then relies on the container serving the file as it is now)."""
    try:
        found = subprocess.run(
            ["git", "-C", str(CONTEXT), "show", "HEAD:./mysfits.json"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout if found.returncode == 0 else None


def _step_times(steps: list[tuple[int, str]]) -> tuple[int | None, int | None]:
    """(when pip install's step was made, when the app files' COPY was made) in an image's
    history: a step the builder took from its cache keeps the time it was first made."""
    pip = next((when for when, by in steps if "pip install" in by), None)
    app = next((when for when, by in steps if "COPY" in by), None)  # the last COPY: the app's
    return pip, app


def _earlier(learner: Learner, image: Image) -> tuple[bool, bool]:
    """(`image` was rebuilt reusing pip install's layer, it holds the only build of this
    workshop). Rebuilt: an earlier build of this workshop was made before `image`'s app files
    were copied (so it is another build), and pip install's step of `image` was made before that
    build, or before the workshop began (so the step was not run again: it came from the
    cache). Both builders keep a cached step's first
    time in the history; layer digests are no proof under BuildKit, which may export a cached
    step anew. Earlier builds are the engine's images from images/mysfits, and those the
    journal kept (with the containerd image store an untagged build is gone)."""
    pip, app = _step_times(learner.steps_of(image.id))
    if pip is None or app is None:
        return False, False
    title = _dockerfile().labels.get(TITLE, "mysfits")
    ours = learner.tagged_since(TAG) | learner.seen_under(TAG)
    candidates: dict[str, bool] = {}
    for other in images_labelled(learner.engine, TITLE, title):
        candidates[other.id] = other.created >= learner.since or other.id in ours
    for ident, summary in learner.record.images.items():
        labels = (summary.get("Config") or {}).get("Labels") or {}
        if ident not in candidates and labels.get(TITLE) == title:
            created = summary.get("Created") or ""
            recent = bool(created) and parse_time(created) >= learner.since
            candidates[ident] = recent or ident in ours
    began = int(learner.since.timestamp())
    others = False
    for ident, recent in candidates.items():
        if ident == image.id or not recent:
            continue
        others = True
        _, their_app = _step_times(learner.steps_of(ident))
        if their_app is not None and pip <= max(their_app, began) and their_app < app:
            return True, False
    return False, not others and pip < began


def test_rebuild(learner: Learner):
    """Step `rebuild`: the learner added a mysfit to images/mysfits/mysfits.json, rebuilt, and
    replaced the container: it runs the newest image, serves the file as it is now (more mysfits
    than the kit's original, which git keeps), and it was built after an earlier build of this
    workshop, reusing pip install's layer from the cache (see `_earlier`)."""
    current = _data_on_disk()
    original = _original_data()
    if original is not None:
        kit = json.loads(original)
        if current == kit:
            missing(
                "images/mysfits/mysfits.json is still the kit's original: add a mysfit of your "
                f"own to it (the step shows one to paste), then run `{BUILD}` and replace the "
                "container.",
                mistake="data-unchanged",
            )
        if len(current) <= len(kit):
            missing(
                f"mysfits.json has {len(current)} mysfits, no more than the kit's {len(kit)}: add "
                f"a new entry to the list, then run `{BUILD}` and replace the container.",
                mistake="data-no-new-mysfit",
            )
    image = image_named(learner.engine, TAG)
    if image is None:
        missing(f"There is no image {TAG}: run `{BUILD}`.", mistake="rebuild-no-image")
    container = _service(learner)
    if container.attrs["Image"] != image.id:
        old = container.attrs["Image"].removeprefix("sha256:")[:12]
        missing(
            f"Container {container.name} still runs the image you built before ({old}), not "
            f"the new {TAG} ({image.short_id}): a container keeps the image it was made from. "
            f"Replace it: {_replace(container)}.",
            mistake="runs-old-image",
        )
    learner.note_image(image, history=True)
    port = _host_port(container)
    served = Inside(container).read("/app/mysfits.json")
    if served != DATA.read_bytes():
        if original is not None and served == original:
            missing(
                f"{TAG} still holds the kit's original mysfits.json: an image is a snapshot of "
                f"the files at build time, so your edit is not in it. Rebuild with `{BUILD}`, "
                f"then replace the container: {_replace(container)}.",
                mistake="image-holds-original-data",
            )
        missing(
            f"images/mysfits/mysfits.json changed since {TAG} was built: rebuild with `{BUILD}`, "
            f"then replace the container: {_replace(container)}.",
            mistake="data-changed-since-build",
        )
    mysfits = _fetch(learner, container, port)
    if len(mysfits) != len(current):
        missing(
            f"The service serves {len(mysfits)} mysfits, but mysfits.json holds {len(current)}: "
            f"replace the container ({_replace(container)}).",
            mistake="serves-stale-count",
        )
    rebuilt, only = _earlier(learner, image)
    if rebuilt:
        return
    if only:
        missing(
            f"The build you ran already held your edit of mysfits.json, so there has been no "
            f"rebuild yet: change mysfits.json again (add another mysfit), run `{BUILD}` (the "
            "pip install step should come from the cache), then replace the container "
            f"({_replace(container)}).",
            mistake="no-rebuild-yet",
        )
    missing(
        f"Your image {image.short_id} holds your change, but its pip install layer was made "
        "anew instead of reused from your earlier build (a build with --no-cache, a changed "
        "requirements.txt or Dockerfile, or the earlier build removed), and reusing it is "
        "what this step shows. Restore the Dockerfile and requirements.txt if you changed "
        f"them (`{RESTORE_BUILD_FILES}`), "
        f"change mysfits.json again (add another mysfit), run `{BUILD}` without --no-cache, "
        f"then replace the container ({_replace(container)}).",
        mistake="pip-layer-not-reused",
    )


# --- step cleanup -------------------------------------------------------------------------------


def test_cleanup(learner: Learner):
    """Step `cleanup`: no container from the image made since the start remains (running or
    stopped), and the image stays. That there was something to clean up is seen in the engine's
    event log (a container of the image removed), or, once that short in-memory log has moved on,
    in the image the learner built in this lab."""
    left = learner.containers(IMAGE)
    running = [c for c in left if c.running]
    if running:
        name = running[-1].name
        missing(
            f"Container {name} is still running: stop it with `docker container stop {name}`, "
            f"then remove it with `docker container rm {name}`.",
            mistake="cleanup-still-running",
        )
    if left:
        names = " ".join(c.name for c in left)
        missing(
            f"Container {names} is stopped but not removed: a stopped container keeps its files "
            f"and its name until you remove it: `docker container rm {names}`.",
            mistake="cleanup-not-removed",
        )
    image = image_named(learner.engine, TAG)
    if image is None:
        missing(
            f"The image {TAG} is gone too: this step removes the container only, and the image "
            f"should stay (a new container starts from it in a second). Build it again: `{BUILD}`.",
            mistake="cleanup-image-removed",
        )
    learner.note_image(image)
    if not learner.removed(IMAGE) and not _built_in_workshop(learner, image):
        missing(
            f"You have not built or run the service in this lab yet, so there is nothing to "
            f"clean up: start with step build, `{BUILD}`.",
            mistake="cleanup-nothing-built",
        )
