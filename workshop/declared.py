"""Declared checks: a step states its outcome in the manifest, and the kit owns the forensics.

A step's `[steps.expect]` table names one or more outcomes (nouns, as goss and
container-structure-test name resources), each with its predicates:

    [steps.expect]
    container = { image = "alpine", ran = "ls -l", exit_code = 0 }

A declared mistake (`[[steps.mistakes]]`) has a `when` table in the same vocabulary: the evidence
that recognises it. When the outcome is not met, the kit looks at the newest evidence first: a
declared mistake, or one of the kit's own verdicts for every lab (still running, removed before
the kit saw it, never started, exited non-zero, nothing done yet), each with its sentence and fix.

Everything here only reads the engine (through `workshop.probes`), and the registry a `pushed`
outcome names. `SCHEMA` is the whole vocabulary; docs/authoring.md lists it for lab authors.
"""

from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from workshop.meaning import program_name, short_options, simple_commands

# --- the vocabulary --------------------------------------------------------------------------


class Key(NamedTuple):
    types: tuple[type, ...]
    required: bool = False
    choices: tuple[str, ...] = ()


_STR, _INT, _BOOL = (str,), (int,), (bool,)
_MOUNT = (dict, bool)  # { volume = "name", path = "/data" }, or false: no volume mounted

SCHEMA: dict[str, dict[str, Key]] = {
    "image": {
        "tag": Key(_STR, required=True),
        "since": Key(_STR, choices=("pulled", "built", "either")),
    },
    "container": {
        "image": Key(_STR, required=True),
        "ran": Key(_STR),
        "exec": Key(_STR),
        "exit_code": Key(_INT),
        "running": Key(_BOOL),
        "interactive": Key(_BOOL),
        "mount": Key(_MOUNT),
        "publishes": Key((int, bool)),
    },
    "file": {
        "image": Key(_STR, required=True),
        "path": Key(_STR, required=True),
        "exists": Key(_BOOL),
        "contains": Key(_STR),
        "ran": Key(_STR),
        "mount": Key(_MOUNT),
    },
    "http": {
        "port": Key(_INT, required=True),
        "path": Key(_STR),
        "status": Key(_INT),
        "body": Key(_STR),
    },
    "running": {
        "image": Key(_STR, required=True),
        "count": Key(_INT, required=True),
    },
    "pushed": {
        "tag": Key(_STR, required=True),
    },
    "volume": {
        "name": Key(_STR, required=True),
    },
    "network": {
        "name": Key(_STR, required=True),
        "driver": Key(_STR),
    },
}
MOUNT_KEYS = ("volume", "path")

# The placeholders a mistake's `says` may use, per noun of its `when`.
PLACEHOLDERS: dict[str, set[str]] = {
    "image": {"tag", "image"},
    "container": {"container", "image", "command", "exit_code", "name", "ports"},
    "file": {"container", "image", "path", "command"},
    "http": {"port", "path", "status", "url"},
    "running": {"image", "count"},
    "pushed": {"tag"},
    "volume": {"name", "volume"},
    "network": {"name", "network"},
}

# The kit's own verdicts, said for every lab (labs do not declare them; a Python check may name
# them too).
KIT_MISTAKES = (
    "not-done",  # nothing of the outcome yet
    "still-running",  # the container has not finished yet
    "removed-unseen",  # removed (`--rm`) before the kit saw it
    "never-started",  # created, never started
    "exited-nonzero",  # it failed
    "stopped",  # it should be running, and it exited
    "present-before",  # already there when the learner began: not their doing
    "no-answer",  # a published port with nothing answering
    "wrong-answer",  # an answer with another status, or without the expected text
    "wrong-content",  # the file is there, without the expected text
    "push-outdated",  # the registry holds another image under the tag
    "engine-restarted",
    "evidence-gone",
)


@dataclass(frozen=True)
class Claim:
    """One declared noun with its predicates (`container = { image = "alpine", ... }`)."""

    noun: str
    fields: dict = field(hash=False)
    line: int = 0

    def get(self, key: str, default=None):
        return self.fields.get(key, default)


def parse(raw, expect: bool) -> tuple[tuple[Claim, ...], list[tuple[str, str]]]:
    """Read an `expect` (or, with `expect` False, a mistake's `when`) table into claims; returns
    them and the problems found, each as (the key it is about, one sentence)."""
    problems: list[tuple[str, str]] = []
    claims: list[Claim] = []
    what = "[steps.expect]" if expect else "`when`"
    if not isinstance(raw, dict) or not raw:
        return (), [("", f"{what} must be a table naming at least one of: {_nouns()}")]
    for noun, value in raw.items():
        if noun not in SCHEMA:
            problems.append((noun, f"{what} names {noun!r}, which is not a check: use {_nouns()}"))
            continue
        tables = value if isinstance(value, list) else [value]
        for table in tables:
            if not isinstance(table, dict):
                problems.append((noun, f"`{noun}` must be a table, {{ key = value, ... }}"))
                continue
            problems += [(noun, p) for p in _check_table(noun, table)]
            fields = dict(table)
            if expect and noun == "container" and "exit_code" not in fields:
                fields.setdefault("exit_code", None if fields.get("running") else 0)
            if expect and noun == "file":
                fields.setdefault("exists", True)
            claims.append(Claim(noun, fields))
    return tuple(claims), problems


def _nouns() -> str:
    return ", ".join(SCHEMA)


def _check_table(noun: str, table: dict) -> list[str]:
    schema = SCHEMA[noun]
    problems = []
    for key, value in table.items():
        spec = schema.get(key)
        if spec is None:
            problems.append(f"`{noun}` has no key {key!r}: its keys are {', '.join(schema)}")
            continue
        if type(value) not in spec.types:
            wanted = " or ".join(_type_name(t) for t in spec.types)
            problems.append(f"`{noun}.{key}` must be {wanted}, not {value!r}")
            continue
        if spec.choices and value not in spec.choices:
            problems.append(f"`{noun}.{key}` is one of {', '.join(spec.choices)}, not {value!r}")
        if isinstance(value, str) and not value.strip():
            problems.append(f"`{noun}.{key}` must not be empty")
        if key == "mount" and isinstance(value, dict):
            unknown = set(value) - set(MOUNT_KEYS)
            if unknown or not value or not all(isinstance(v, str) for v in value.values()):
                problems.append(
                    f'`{noun}.mount` is {{ volume = "NAME", path = "/PATH" }} (either or '
                    "both), or false for a container with no volume mounted"
                )
        if key == "publishes" and value is True:
            problems.append(f"`{noun}.publishes = true` says nothing: name the host port")
        if key == "mount" and value is True:
            problems.append(f"`{noun}.mount = true` says nothing: name the volume or the path")
        if key in ("ran", "exec") and isinstance(value, str):
            try:
                shlex.split(value)
            except ValueError:
                problems.append(f"`{noun}.{key}` is not a command (unbalanced quotes)")
    for key, spec in schema.items():
        if spec.required and key not in table:
            problems.append(f"`{noun}` needs `{key}`")
    if noun == "running" and isinstance(table.get("count"), int) and table["count"] < 1:
        problems.append("`running.count` is at least 1")
    return problems


def _type_name(kind: type) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false", dict: "a table"}[kind]


def placeholders(says: str) -> set[str]:
    """The `{name}` placeholders a sentence uses."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(says) if name}
    except ValueError:
        return {"{"}  # an unbalanced brace: reported as an unknown placeholder


def images_named(claims) -> set[str]:
    """Images (repositories or tags) the claims name as where containers come from."""
    return {c.get("image") for c in claims if c.get("image")} | {
        c.get("tag") for c in claims if c.noun == "image"
    }


def volumes_named(claims) -> set[str]:
    found = {c.get("name") for c in claims if c.noun == "volume"}
    for claim in claims:
        mount = claim.get("mount")
        if isinstance(mount, dict) and mount.get("volume"):
            found.add(mount["volume"])
    return found


def networks_named(claims) -> set[str]:
    return {c.get("name") for c in claims if c.noun == "network"}


# --- evidence --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What the kit found: when it was made, and the words a sentence may quote."""

    time: datetime
    said: dict = field(hash=False, default_factory=dict)


class Finding(NamedTuple):
    """One of the kit's own verdicts: its id, its sentence, and how new its evidence is."""

    time: datetime
    mistake: str
    sentence: str


class Look:
    """One judgement's view of the engine, over the learner's probes (`workshop.probes`)."""

    def __init__(self, learner, step=None):
        self.learner = learner
        self.step = step
        self._cache: dict = {}

    @property
    def engine(self):
        return self.learner.engine

    @property
    def now(self) -> datetime:
        if "now" not in self._cache:
            self._cache["now"] = self.learner.engine_now()
        return self._cache["now"]

    def containers(self, image: str):
        key = ("containers", image)
        if key not in self._cache:
            self._cache[key] = self.learner.containers(image, gone=True)
        return self._cache[key]

    def fix(self, *words: str) -> str:
        """The step's first solution command that mentions these words (else its first)."""
        commands = [c.run for c in self.step.solution] if self.step else []
        for wanted in (words, words[:1]):
            for command in commands:
                if wanted and all(w and w in command for w in wanted):
                    return command
        return commands[0] if commands else "the step's commands"


def _argv(text: str) -> list[str]:
    return shlex.split(text)


def _runs(container, wanted: str) -> bool:
    """Did the container run `wanted` by meaning: the same program however spelled, and the
    given options and operands among its own (`ls -la /` runs `ls -l`)?"""
    return any(_same(argv, wanted) for argv in container.commands())


def _same(argv: list[str], wanted: str) -> bool:
    want = simple_commands(_argv(wanted))
    if not want or not argv:
        return False
    program, *args = want[0]
    if program_name(argv[0]) != program:
        return False
    letters, longs, operands = short_options(argv[1:])
    w_letters, w_longs, w_operands = short_options(args)
    return (
        w_letters <= letters
        and all(k in longs and (v is None or longs[k] == v) for k, v in w_longs.items())
        and all(op in operands for op in w_operands)
    )


def _exec_matches(command: str, wanted: str) -> bool:
    words = command.split()
    return any(_same(argv, wanted) for argv in simple_commands(words))


def _mount_ok(container, mount) -> bool:
    from workshop.probes import mounts

    if mount is None:
        return True
    volumes = [m for m in mounts(container) if m.kind == "volume"]
    if mount is False:
        return not volumes
    return any(
        (not mount.get("volume") or m.name == mount["volume"])
        and (not mount.get("path") or m.destination.rstrip("/") == mount["path"].rstrip("/"))
        for m in volumes
    )


def host_ports(container) -> set[int]:
    """The host ports a container publishes (asked with `-p`, or bound now)."""
    found = set()
    live = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    wanted = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
    for table in (live, wanted):
        for bindings in table.values():
            for binding in bindings or []:
                if str(binding.get("HostPort") or "").isdigit():
                    found.add(int(binding["HostPort"]))
    return found


def _publishes(container, wanted) -> bool:
    """`publishes = 8080`: that host port; `publishes = false`: no port at all."""
    ports = host_ports(container)
    return not ports if wanted is False else wanted in ports


def _selected(look: Look, claim: Claim, with_execs: bool = True) -> list:
    """Containers from the claim's image that match its command and mount (oldest first)."""
    found = []
    execs = look.learner.execs() if with_execs and claim.get("exec") else []
    for container in look.containers(claim.get("image")):
        if claim.get("ran") and not _runs(container, claim.get("ran")):
            continue
        if not _mount_ok(container, claim.get("mount")):
            continue
        if claim.get("interactive") is not None and container.interactive != claim.get(
            "interactive"
        ):
            continue
        if claim.get("publishes") is not None and not _publishes(container, claim.get("publishes")):
            continue
        if claim.get("exec") and not any(
            e.container_id == container.id and _exec_matches(e.command, claim.get("exec"))
            for e in execs
        ):
            continue
        found.append(container)
    return found


def _state_ok(container, claim: Claim) -> bool:
    if claim.get("running") is not None and container.running != claim.get("running"):
        return False
    if claim.get("exit_code") is not None:
        return not container.running and container.exit_code == claim.get("exit_code")
    return True


def _container_said(container, claim: Claim) -> dict:
    return {
        "container": container.short_id,
        "name": container.name,
        "image": container.image,
        "command": container.shown,
        "exit_code": "" if container.exit_code is None else str(container.exit_code),
        "ports": ", ".join(map(str, sorted(host_ports(container)))) or "none",
    }


# --- each noun: its evidence, and the kit's verdicts when the outcome is not met --------------


def _find_container(look: Look, claim: Claim) -> list[Evidence]:
    return [
        Evidence(c.created, _container_said(c, claim))
        for c in _selected(look, claim)
        if _state_ok(c, claim)
    ]


def _forensics_container(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    image, ran = claim.get("image"), claim.get("ran") or claim.get("exec") or ""
    fix = look.fix(image, *(_argv(ran)[:1] if ran else ()))
    findings = []
    near = _selected(look, claim)
    if near:
        c = near[-1]
        what = f"{c.short_id} (`{c.shown}`)"
        if claim.get("running"):
            if not c.running:
                code = c.exit_code
                how = f"exited with code {code}" if code is not None else "is no longer running"
                findings.append(
                    Finding(
                        c.created,
                        "exited-nonzero" if code else "stopped",
                        f"Your container {what} {how}; `docker container logs {c.short_id}` "
                        f"shows what it said: run `{fix}`.",
                    )
                )
        elif c.running:
            findings.append(
                Finding(
                    c.created,
                    "still-running",
                    f"Your container {what} is still running: wait for it to finish, or run "
                    f"`{fix}` again.",
                )
            )
        elif c.never_started:
            findings.append(
                Finding(
                    c.created,
                    "never-started",
                    f"Container {c.short_id} was created but never started: run `{fix}`.",
                )
            )
        elif c.gone and c.exit_code is None:
            findings.append(
                Finding(
                    c.created,
                    "removed-unseen",
                    f"Your container {what} was removed before the kit saw how it ended: run "
                    f"`{fix}` again, and leave it until the kit has seen it.",
                )
            )
        elif claim.get("exit_code") is not None and c.exit_code != claim.get("exit_code"):
            findings.append(
                Finding(
                    c.created,
                    "exited-nonzero",
                    f"Your container {what} exited with code {c.exit_code}, not "
                    f"{claim.get('exit_code')} (`docker container logs {c.short_id}` shows what "
                    f"it said): run `{fix}`.",
                )
            )
    after = max((c.created for c in near), default=None)
    for event in look.learner.removed_unseen(image, after=after)[-1:]:
        findings.append(
            Finding(
                datetime.fromtimestamp(event.time / 1e9).astimezone(),
                "removed-unseen",
                f"Container {event.actor[:12]} from {image} was removed (`--rm`, or `docker "
                "container rm`) before the kit could see what it ran: a removed container "
                f"leaves nothing to inspect. Run `{fix}` again, without --rm.",
            )
        )
    if claim.get("exec"):
        done = f"had `docker container exec` run `{claim.get('exec')}` in it"
    elif ran:
        done = f"run `{ran}`"
    elif claim.get("running"):
        done = "been left running"
    else:
        done = "run and exited"
    return findings, f"No container from {image} has {done} since you began: run `{fix}`."


def _find_image(look: Look, claim: Claim) -> list[Evidence]:
    tag, since = claim.get("tag"), claim.get("since", "either")
    image = look.learner.image(tag)
    if image is None:
        return []
    said = {"tag": tag, "image": image.short_id}
    pulled = look.learner.pulled(tag)
    before = look.learner.at_start(tag)
    new = before is not None and before != image.id
    # the time of the last tag counts only for a tag that moved: on containerd's image store
    # (where BuildKit logs no tag event) an image's last tag time is shared by every name of the
    # same id, so pulling alpine would otherwise "build" a tag that still names alpine
    retagged = image.last_tagged is not None and image.last_tagged >= look.learner.since
    built = (
        image.created >= look.learner.since
        or bool(look.learner.tagged_since(tag))
        or (retagged and before != image.id)
    )
    ok = {
        "pulled": pulled or (new and not built),
        "built": built,
        "either": pulled or built or new,
    }[since]
    return [Evidence(image.last_tagged or image.created, said)] if ok else []


def _forensics_image(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    tag, since = claim.get("tag"), claim.get("since", "either")
    verb = {"pulled": "pull", "built": "build", "either": "pull or build"}[since]
    fix = look.fix(tag.split(":")[0].rsplit("/", 1)[-1])
    image = look.learner.image(tag)
    if image is not None:
        return [
            Finding(
                image.created,
                "present-before",
                f"{tag} was already on this engine when you began, and the kit has not seen you "
                f"{verb} it since (it reads the engine's short event log each time you run a "
                f"workshop command): run `{fix}` yourself.",
            )
        ], ""
    return [], f"There is no image {tag} on this engine yet: run `{fix}`."


def _file_state(look: Look, container, path: str) -> tuple[bool, bytes | None]:
    """(exists, its bytes or None) for a path in a container: a running one is looked inside
    through testinfra's docker backend, a stopped one read through the engine's archive API."""
    if container.running:
        from workshop.services import Inside

        inside = Inside(container)
        if not inside.exists(path):
            return False, None
        return True, inside.read(path)
    import docker.errors

    try:
        stream, _ = look.engine.api.get_archive(container.id, path)
        data = b"".join(stream)
    except docker.errors.NotFound:
        return False, None
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        member = next((m for m in archive.getmembers() if m.isfile()), None)
        handle = archive.extractfile(member) if member else None
        return True, handle.read() if handle else None


def _file_looks(look: Look, claim: Claim) -> list[tuple[object, bool, bytes | None]]:
    key = ("file", claim.get("image"), claim.get("path"), claim.get("ran"), str(claim.get("mount")))
    if key not in look._cache:
        live = [c for c in _selected(look, claim, with_execs=False) if not c.gone]
        look._cache[key] = [(c, *_file_state(look, c, claim.get("path"))) for c in live[-5:]]
    return look._cache[key]


def _find_file(look: Look, claim: Claim) -> list[Evidence]:
    found = []
    text = claim.get("contains")
    looks = _file_looks(look, claim)
    if claim.get("exists", True) is False:
        if looks and not looks[-1][1]:
            c = looks[-1][0]
            found.append(
                Evidence(c.created, {**_container_said(c, claim), "path": claim.get("path")})
            )
        return found
    for c, exists, data in looks:
        if exists and (text is None or (data is not None and text.encode() in data)):
            found.append(
                Evidence(c.created, {**_container_said(c, claim), "path": claim.get("path")})
            )
    return found


def _removed_file(look: Look, claim: Claim, fix: str, after) -> list[Finding]:
    """Containers removed before the kit could read the file in them (newer than `after`)."""
    kept = isinstance(claim.get("mount"), dict) and claim.get("mount").get("volume")
    why = (
        "the volume keeps the file, but the kit reads it through a container"
        if kept
        else "its files went with it"
    )
    found = []
    gone = [c for c in _selected(look, claim, with_execs=False) if c.gone]
    if gone and (after is None or gone[-1].created > after):
        found.append((gone[-1].created, gone[-1].short_id))
    if claim.get("mount") is None or kept:  # unseen: what it mounted is unknown
        for event in look.learner.removed_unseen(claim.get("image"), after=after)[-1:]:
            found.append((datetime.fromtimestamp(event.time / 1e9).astimezone(), event.actor[:12]))
    return [
        Finding(
            when,
            "removed-unseen",
            f"Your container {ident} from {claim.get('image')} was removed (`--rm`, or `docker "
            f"container rm`) before the kit could read {claim.get('path')} in it ({why}): run "
            f"`{fix}` again, without --rm.",
        )
        for when, ident in found
    ]


def _forensics_file(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    image, path = claim.get("image"), claim.get("path")
    fix = look.fix(path.rsplit("/", 1)[-1]) if claim.get("exists", True) else look.fix(image)
    looks = _file_looks(look, claim)
    findings = _removed_file(look, claim, fix, after=looks[-1][0].created if looks else None)
    if not looks:
        return findings, f"No container from {image}{_mounted(claim)} has {path} yet: run `{fix}`."
    c, exists, _ = looks[-1]
    if claim.get("exists", True) is False:
        return [], f"Your container {c.short_id} from {image} still has {path}: run `{fix}`."
    if exists and claim.get("contains") is not None:
        return [
            Finding(
                c.created,
                "wrong-content",
                f"{path} in your container {c.short_id} does not contain "
                f"“{claim.get('contains')}”: run `{fix}`.",
            )
        ], ""
    return [], f"There is no {path} in your container {c.short_id} from {image}: run `{fix}`."


def _mounted(claim: Claim) -> str:
    """` with volume NAME at PATH`, as a claim's `mount` asks, for sentences."""
    mount = claim.get("mount")
    if mount is False:
        return " without a volume"
    if not isinstance(mount, dict):
        return ""
    name = f" {mount['volume']}" if mount.get("volume") else ""
    at = f" at {mount['path']}" if mount.get("path") else ""
    return f" with volume{name}{at}"


def _publishers(look: Look, port: int) -> list:
    return [c for c in look.learner.containers(gone=False) if port in host_ports(c)]


def get(url: str, timeout: float = 3.0) -> tuple[int | None, str, str]:
    """(status, body, error) of a GET; status None when nothing answered."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "workshop-kit-check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read(1 << 20).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(1 << 20).decode("utf-8", "replace"), ""
    except (OSError, ValueError) as exc:
        return None, "", str(getattr(exc, "reason", exc))


def _answer(look: Look, claim: Claim) -> tuple[int | None, str, str, str]:
    port, path = claim.get("port"), claim.get("path", "/")
    url = f"http://127.0.0.1:{port}{path if path.startswith('/') else '/' + path}"
    key = ("http", url)
    if key not in look._cache:
        import time

        status, body, error = get(url)
        # a server just started may need a moment to listen: wait a little while one publishes
        deadline = time.monotonic() + 5
        while status is None and time.monotonic() < deadline:
            if not any(c.running for c in _publishers(look, port)):
                break
            time.sleep(0.3)
            status, body, error = get(url)
        look._cache[key] = (status, body, error, url)
    return look._cache[key]


def _find_http(look: Look, claim: Claim) -> list[Evidence]:
    status, body, _, url = _answer(look, claim)
    if status is None:
        return []
    if status != claim.get("status", 200):
        return []
    if claim.get("body") is not None and claim.get("body") not in body:
        return []
    said = {"port": str(claim.get("port")), "path": claim.get("path", "/"), "url": url}
    return [Evidence(_served_since(look, claim), {**said, "status": str(status)})]


def _served_since(look: Look, claim: Claim) -> datetime:
    """How new an answer on a port is: as new as the newest container publishing it (what the
    learner last did to it), else now."""
    publishers = _publishers(look, claim.get("port"))
    return max((c.created for c in publishers), default=look.now)


def _forensics_http(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    port = claim.get("port")
    status, _, error, url = _answer(look, claim)
    fix = look.fix(str(port))
    if status is not None:
        wanted = claim.get("status", 200)
        if status != wanted:
            said = f"answered {status}, not {wanted}"
        else:
            said = f"answered without “{claim.get('body')}” in its body"
        return [
            Finding(_served_since(look, claim), "wrong-answer", f"GET {url} {said}: run `{fix}`.")
        ], ""
    publishers = _publishers(look, port)
    if not publishers:
        return [], f"No container publishes port {port} (`-p {port}:...`): run `{fix}`."
    c = publishers[-1]
    if not c.running:
        code = c.exit_code
        return [
            Finding(
                c.created,
                "exited-nonzero" if code else "stopped",
                f"Your container {c.short_id} publishes port {port} but has stopped (exit code "
                f"{code}); `docker container logs {c.short_id}` shows why: run `{fix}`.",
            )
        ], ""
    return [
        Finding(
            c.created,
            "no-answer",
            f"Your container {c.short_id} publishes port {port}, but nothing answers there "
            f"({error}): is the server inside listening on the port you published? Run `{fix}`.",
        )
    ], ""


def _running(look: Look, claim: Claim) -> list:
    return [c for c in look.containers(claim.get("image")) if c.running]


def _find_running(look: Look, claim: Claim) -> list[Evidence]:
    running = _running(look, claim)
    if len(running) < claim.get("count"):
        return []
    when = max(c.created for c in running)
    return [Evidence(when, {"image": claim.get("image"), "count": str(len(running))})]


def _forensics_running(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    image, count = claim.get("image"), claim.get("count")
    fix = look.fix(image)
    running = _running(look, claim)
    findings = []
    stopped = [c for c in look.containers(image) if not c.running and c.exit_code]
    if stopped and len(running) < count:
        c = stopped[-1]
        findings.append(
            Finding(
                c.created,
                "exited-nonzero",
                f"Your container {c.short_id} from {image} exited with code {c.exit_code} "
                f"(`docker container logs {c.short_id}` shows why): run `{fix}`.",
            )
        )
    return findings, (
        f"{len(running)} container(s) from {image} are running, not {count} or more: run `{fix}`."
    )


def registry_digest(tag: str) -> tuple[str | None, str]:
    """(the digest the registry holds under `tag`, or None; an error sentence if it could not
    be asked)."""
    import json
    import urllib.error
    import urllib.request

    host, repo, ref = split_reference(tag)
    local = host.startswith(("127.", "localhost", "[::1]"))
    scheme = "http" if local else "https"
    api = "registry-1.docker.io" if host == "docker.io" else host
    url = f"{scheme}://{api}/v2/{repo}/manifests/{ref}"
    accept = ", ".join(
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
        )
    )
    headers = {"Accept": accept, "User-Agent": "workshop-kit-check"}
    for _ in range(2):
        request = urllib.request.Request(url, method="HEAD", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.headers.get("Docker-Content-Digest"), ""
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None, ""
            challenge = exc.headers.get("WWW-Authenticate", "")
            if exc.code != 401 or "Authorization" in headers or not challenge:
                return None, f"the registry {api} answered {exc.code}"
            # an anonymous token for a public repository (Docker Hub's way)
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            realm = params.pop("realm", "")
            query = "&".join(f"{k}={v}" for k, v in params.items())
            try:
                with urllib.request.urlopen(f"{realm}?{query}", timeout=5) as answer:
                    token = json.loads(answer.read()).get("token", "")
            except (OSError, ValueError) as error:
                return None, f"the registry {api} wants a login ({error})"
            headers["Authorization"] = f"Bearer {token}"
        except OSError as exc:
            return None, f"the registry {api} does not answer ({getattr(exc, 'reason', exc)})"
    return None, f"the registry {api} refused the kit's anonymous look"


def split_reference(tag: str) -> tuple[str, str, str]:
    """(registry host, repository, tag) of an image reference; Docker Hub is `docker.io`."""
    name, _, ref = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, ref
    return "docker.io", name if "/" in name else f"library/{name}", ref


def _pushed_state(look: Look, claim: Claim):
    key = ("pushed", claim.get("tag"))
    if key not in look._cache:
        tag = claim.get("tag")
        image = look.learner.image(tag)
        remote, error = registry_digest(tag)
        look._cache[key] = (image, remote, error)
    return look._cache[key]


def _local_digests(image, tag: str) -> set[str]:
    host, repo, _ = split_reference(tag)
    digests = set()
    for entry in image.attrs.get("RepoDigests") or []:
        name, _, digest = entry.partition("@")
        named_host, named_repo, _ = split_reference(name)
        if (named_host, named_repo) == (host, repo):
            digests.add(digest)
    return digests


def _find_pushed(look: Look, claim: Claim) -> list[Evidence]:
    image, remote, _ = _pushed_state(look, claim)
    if image is None or remote is None or remote not in _local_digests(image, claim.get("tag")):
        return []
    return [Evidence(look.now, {"tag": claim.get("tag")})]


def _forensics_pushed(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    from workshop.errors import WorkshopError

    tag = claim.get("tag")
    image, remote, error = _pushed_state(look, claim)
    fix = look.fix("push")
    if error:
        raise WorkshopError(
            f"The kit could not ask the registry about {tag}: {error}; check that it runs and "
            "that the name is right, then try again."
        )
    if image is None:
        return [], f"There is no image tagged {tag} on this engine: tag your image, then `{fix}`."
    if remote is None:
        return [], f"The registry has no {tag} yet: run `{fix}`."
    return [
        Finding(
            look.now,
            "push-outdated",
            f"The registry's {tag} is not the image your {tag} names now (it holds an earlier "
            f"push): run `{fix}` again.",
        )
    ], ""


def _find_volume(look: Look, claim: Claim) -> list[Evidence]:
    from workshop.probes import volume_named

    volume = volume_named(look.engine, claim.get("name"))
    if volume is None or not volume.made_since(look.learner.since):
        return []
    said = {"name": volume.name, "volume": volume.name}
    return [Evidence(volume.created, said)]


def _forensics_volume(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    from workshop.probes import volume_named

    name = claim.get("name")
    fix = look.fix(name)
    volume = volume_named(look.engine, name)
    if volume is not None:
        return [
            Finding(
                volume.created or look.now,
                "present-before",
                f"Volume {name} was already here when you began: remove it with `docker volume "
                f"rm {name}` if it holds nothing you need, then run `{fix}`.",
            )
        ], ""
    return [], f"There is no volume {name} yet: run `{fix}`."


def _find_network(look: Look, claim: Claim) -> list[Evidence]:
    from workshop.probes import network_named

    network = network_named(look.engine, claim.get("name"))
    if network is None or not network.made_since(look.learner.since):
        return []
    if claim.get("driver") and network.driver != claim.get("driver"):
        return []
    return [Evidence(network.created, {"name": network.name, "network": network.name})]


def _forensics_network(look: Look, claim: Claim) -> tuple[list[Finding], str]:
    from workshop.probes import network_named

    name = claim.get("name")
    fix = look.fix(name)
    network = network_named(look.engine, name)
    if network is None:
        return [], f"There is no network {name} yet: run `{fix}`."
    if claim.get("driver") and network.driver != claim.get("driver"):
        return [], (
            f"Network {name} uses the {network.driver} driver, not {claim.get('driver')}: remove "
            f"it (`docker network rm {name}`), then run `{fix}`."
        )
    return [
        Finding(
            network.created or look.now,
            "present-before",
            f"Network {name} was already here when you began: remove it with `docker network rm "
            f"{name}` if nothing uses it, then run `{fix}`.",
        )
    ], ""


FIND = {
    "image": _find_image,
    "container": _find_container,
    "file": _find_file,
    "http": _find_http,
    "running": _find_running,
    "pushed": _find_pushed,
    "volume": _find_volume,
    "network": _find_network,
}
FORENSICS = {
    "image": _forensics_image,
    "container": _forensics_container,
    "file": _forensics_file,
    "http": _forensics_http,
    "running": _forensics_running,
    "pushed": _forensics_pushed,
    "volume": _forensics_volume,
    "network": _forensics_network,
}


# --- judging a step --------------------------------------------------------------------------


def recognise(look: Look, claims) -> Evidence | None:
    """The evidence that every claim holds (the newest of each), or None."""
    times, said = [], {}
    for claim in claims:
        found = FIND[claim.noun](look, claim)
        if not found:
            return None
        newest = max(found, key=lambda e: e.time)
        times.append(newest.time)
        said.update(newest.said)
    return Evidence(max(times), said)


def holds(learner, **nouns) -> Evidence | None:
    """For Python checks: do these declarations hold (`container={"image": "alpine", "ran":
    "ls -l"}`, read as in [steps.expect])? Returns the newest evidence, or None."""
    claims, problems = parse(nouns, expect=True)
    if problems:
        raise ValueError("; ".join(problem for _, problem in problems))
    return recognise(Look(learner), claims)


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def fill(says: str, said: dict) -> str:
    """A mistake's sentence with its placeholders filled from the evidence."""
    try:
        return string.Formatter().vformat(says, (), _Blank(said))
    except (ValueError, IndexError):
        return says


def judge(step, learner) -> None:
    """Judge a declared step: return when its outcome holds; else end with `missing(...)`: the
    newest evidence's verdict (a declared mistake, or one of the kit's own), or "not done"."""
    from workshop.probes import missing

    __tracebackhide__ = True
    look = Look(learner, step)
    failing = [claim for claim in step.expect if recognise(look, [claim]) is None]
    if not failing:
        return
    candidates: list[tuple[datetime, int, str, str]] = []
    for mistake in step.mistakes:
        if mistake.when:
            evidence = recognise(look, mistake.when)
            if evidence is not None:
                candidates.append((evidence.time, 1, mistake.id, fill(mistake.says, evidence.said)))
    findings, not_done = FORENSICS[failing[0].noun](look, failing[0])
    candidates += [(f.time, 0, f.mistake, f.sentence) for f in findings]
    if candidates:
        _, _, mistake, sentence = max(candidates, key=lambda c: (c[0], c[1]))
        missing(sentence, mistake=mistake)
    missing(not_done, mistake="not-done")
