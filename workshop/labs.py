"""Lab content: a lab is a folder under `labs/` with a `lab.toml` manifest and Markdown files.

The runner knows no step by name: everything about a step (its text, hint, solution and the name
of the pytest function that checks it) comes from the manifest. `lint` keeps lab authors honest.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workshop.errors import LabFileError, UsageError, WorkshopError

FORMAT_VERSION = 2  # 2: a lab is its folder, declared outcomes, mistakes as data (1 is read too)
CHECKS = "checks.py"  # format 2: a lab's checks, in its folder, unless `checks` names another
MANIFEST = "lab.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WATCH = ("events", "logs")  # what `workshop watch` follows for a step (see Step.watch)


_PACKAGE = Path(__file__).resolve().parent
# `{kit:images/mysfits}` in a step's text, hint or solution: that path of the kit as the learner
# types it (see `KitPaths.shown`)
_PLACEHOLDER = re.compile(r"\{kit:([^{}\s]+)\}")
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.py[cod]")


def kit_root() -> Path:
    """The folder that holds `labs/`, `images/` and `tests/checks/`: the clone, beside the
    package; in an installed wheel, the copy inside the package (workshop/kit, see setup.py)."""
    packaged = _PACKAGE / "kit"
    if (packaged / "labs").is_dir():
        return packaged
    return _PACKAGE.parent


def labs_dir() -> Path:
    return Path(os.environ.get("WORKSHOP_LABS") or kit_root() / "labs")


def is_packaged(root: Path) -> bool:
    """`root` is the read-only copy of the kit inside an installed package, not a clone."""
    return root.resolve() == (_PACKAGE / "kit").resolve()


def work_home() -> Path:
    """Where an installed kit keeps the learner's working copies of the files labs build or
    edit: WORKSHOP_WORKDIR, else a folder `workshop-kit` in the learner's home."""
    chosen = os.environ.get("WORKSHOP_WORKDIR")
    return Path(chosen).expanduser() if chosen else Path.home() / "workshop-kit"


@dataclass(frozen=True)
class KitPaths:
    """Where a lab's kit paths hold. In a clone, the learner works in the kit's folder itself.
    Installed, the kit's content is read-only inside the package, and the paths a lab declares
    in `working_copy` (folders or files the learner builds or edits) are copied, on first use,
    into the working folder (`work_home()`), which the step texts then show."""

    root: Path  # the kit's content: the clone, or the package's copy
    work: Path  # where the learner's files are: the clone, or the working folder
    copies: tuple[str, ...] = ()

    @classmethod
    def of(cls, root: Path, copies: tuple[str, ...] = ()) -> KitPaths:
        return cls(root, work_home() if is_packaged(root) else root, copies)

    @property
    def separate(self) -> bool:
        return self.work != self.root

    def copied(self, relative: str) -> bool:
        parts = Path(relative).parts
        return any(parts[: len(Path(c).parts)] == Path(c).parts for c in self.copies)

    def path(self, relative: str) -> Path:
        """The file the learner's work is judged on (their working copy, where there is one)."""
        return (self.work if self.copied(relative) else self.root) / relative

    def shown(self, relative: str) -> str:
        """The path as the learner types it: relative in a clone (the labs are done from the
        kit's folder), absolute (and quoted if need be) when installed."""
        if not self.separate:
            return relative
        return shlex.quote(self.path(relative).as_posix())

    def render(self, text: str) -> str:
        return room_text(_PLACEHOLDER.sub(lambda match: self.shown(match.group(1)), text))

    def ensure(self) -> None:
        """Make the learner's working folder (solutions run there) and the working copies that
        do not exist yet (never overwrites)."""
        if not self.separate:
            return
        try:
            self.work.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkshopError(
                f"Cannot make your working folder {self.work} ({exc.strerror}): set "
                "WORKSHOP_WORKDIR to a folder of yours."
            ) from None
        for relative in self.copies:
            source, target = self.root / relative, self.work / relative
            if target.exists():
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir():  # (pip compiled the package's .py files: not theirs)
                    shutil.copytree(source, target, ignore=_NOT_COPIED)
                else:
                    shutil.copy2(source, target)
            except OSError as exc:
                raise WorkshopError(
                    f"Cannot make your working copy of {relative} in {self.work} "
                    f"({exc.strerror}): set WORKSHOP_WORKDIR to a folder of yours."
                ) from None


def working_path(root: Path, relative: str) -> Path:
    """For a lab's checks: the file the learner's work is judged on, `relative` to the kit's
    folder `root` (the checks module's own kit): the working copy when the kit is installed."""
    return KitPaths.of(root, (relative,)).path(relative)


def room_text(text: str) -> str:
    """`text` with its `{room:...}` placeholders filled from the learner's room (see
    `workshop.roomurls`): `{room:pip-build-args}` is empty in an online room, and in an offline
    one the `--build-arg` options that send a Dockerfile's pip to the room's index."""
    if "{room:" not in text:
        return text
    from workshop.roomurls import quietly

    return quietly().render(text)


def shown_path(root: Path, relative: str) -> str:
    """For a lab's checks: `relative` as the learner types it (see `KitPaths.shown`)."""
    return KitPaths.of(root, (relative,)).shown(relative)


def restore_command(root: Path, *relatives: str) -> str:
    """For a lab's checks: the command that gives the learner back the kit's own version of
    these files: `git checkout -- ...` in a clone, a copy from the package when installed."""
    paths = KitPaths.of(root, relatives)
    if not paths.separate:
        return f"git checkout -- {' '.join(relatives)}"
    return " && ".join(
        f"cp {shlex.quote((paths.root / r).as_posix())} {paths.shown(r)}" for r in relatives
    )


@dataclass(frozen=True)
class Command:
    """One command of a solution, exactly as the learner types it.

    `type` lists lines typed at an interactive container's prompt; `where` fills placeholders
    such as `<ID>` with the output of a shell command run just before.
    """

    run: str
    type: tuple[str, ...] = ()
    where: dict[str, str] = field(default_factory=dict)
    # what the container's shell shows when it waits for a line (`/ # `): the command's own
    # `prompt`, else the lab's; empty: any shell prompt ending in `# ` or `$ `
    prompt: str = ""

    @property
    def interactive(self) -> bool:
        return bool(self.type)


@dataclass(frozen=True)
class Mistake:
    """A named mistake of a step ([[steps.mistakes]]): its id, which the step's check names; for
    a declared recogniser, the sentence it says and the evidence (`when`) that recognises it; and
    the commands that make it (`reproduce`, the syntax of a solution), which `workshop prove`
    runs to see it named, or, when no command can make it, why not (`unreproducible`)."""

    id: str
    says: str = ""
    when: tuple = ()  # `workshop.declared.Claim`s; empty: a Python check names it
    reproduce: tuple[Command, ...] = ()
    line: int = 0
    unreproducible: str = ""


@dataclass(frozen=True)
class Step:
    lab_id: str
    id: str
    title: str
    instructions_path: Path
    hint: str
    check: str
    solution: tuple[Command, ...]
    line: int
    # what `workshop watch` follows to re-check the step: the engine's events, or also the
    # output of the lab's running containers ("logs": the evidence is a request in a log)
    watch: str = "events"
    paths: KitPaths | None = None  # renders `{kit:PATH}` in the text
    expect: tuple = ()  # declared outcomes (`workshop.declared.Claim`), when there is no check
    mistakes: tuple[Mistake, ...] = ()  # the step's named mistakes ([[steps.mistakes]])
    # why the step is done on any working engine (its outcome is the learner's set-up, such as
    # the engine answering): `workshop prove` then expects it done untouched; "" for every other
    done_untouched: str = ""

    @property
    def declared(self) -> bool:
        """Its outcome is declared in the manifest (no Python check)."""
        return bool(self.expect)

    @property
    def instructions(self) -> str:
        try:
            text = self.instructions_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LabFileError(
                self.instructions_path,
                f"cannot read the instructions of step {self.id!r}: "
                f"{exc.strerror}; restore the file or fix `instructions` in {MANIFEST}",
            ) from None
        return self.paths.render(text) if self.paths else text


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    summary: str
    folder: Path
    checks: Path
    images: tuple[str, ...]
    builds: tuple[str, ...]
    steps: tuple[Step, ...]
    order: int
    edits: tuple[str, ...] = ()  # kit files the learner is asked to change (reset restores them)
    builds_on: tuple[str, ...] = ()  # labs whose results this one needs (`goto` solves only those)
    needs: dict[str, float] = field(default_factory=dict)  # what the engine needs (doctor reads it)
    # what the lab fetches: images it pulls or builds FROM, requirements files its builds install
    pulls: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()  # host ports the lab publishes (`needs.ports`: doctor checks them)
    format_version: int = FORMAT_VERSION
    # what else the lab makes, by name (see `made`): watch follows them, reset removes them
    volumes: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # swarm services
    stacks: tuple[str, ...] = ()  # compose projects and swarm stacks

    # kit paths (folders or files) the learner builds or edits: an installed kit gives the
    # learner a working copy of each (see KitPaths)
    working_copy: tuple[str, ...] = ()

    @property
    def paths(self) -> KitPaths:
        return KitPaths.of(self.folder.parent.parent, self.working_copy)

    @property
    def root(self) -> Path:
        """The kit's folder as the learner uses it (the one holding `labs/` in a clone; the
        working folder when the kit is installed): solutions run here."""
        return self.paths.work

    @property
    def package(self) -> str:
        """The name the lab's folder is imported under, so that its checks module may import the
        lab's own helpers beside it (`from . import gunicorn_log`)."""
        return "workshop_lab_" + self.id.replace("-", "_")

    @property
    def manifest(self) -> Path:
        return self.folder / MANIFEST

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise UsageError(f"Lab {self.id!r} has no step {step_id!r}.")

    def index(self, step_id: str) -> int:
        return [s.id for s in self.steps].index(step_id)


def _line_of_nth(text: str, header: str, n: int) -> int | None:
    seen = -1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == header:
            seen += 1
            if seen == n:
                return number
    return None


def _text(table: dict, key: str, path: Path, line: int | None, what: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LabFileError(path, f"{what} needs `{key}`, a non-empty string", line)
    return value.strip()


def _command(
    raw, path: Path, line: int | None, step_id: str, paths: KitPaths | None = None, prompt: str = ""
) -> Command:
    if isinstance(raw, str):
        raw = {"run": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("run"), str) or not raw["run"].strip():
        raise LabFileError(
            path,
            f"step {step_id!r}: each solution entry is a command string or "
            '{ run = "...", type = [...] }',
            line,
        )
    typed = raw.get("type", [])
    where = raw.get("where", {})
    if not isinstance(typed, list) or not all(isinstance(t, str) for t in typed):
        raise LabFileError(path, f"step {step_id!r}: `type` must be a list of strings", line)
    if not isinstance(where, dict) or not all(isinstance(v, str) for v in where.values()):
        raise LabFileError(path, f"step {step_id!r}: `where` must map names to commands", line)
    prompt = raw.get("prompt", prompt)
    if not isinstance(prompt, str):
        raise LabFileError(path, f"step {step_id!r}: `prompt` is the text a shell shows", line)
    unknown = set(raw) - {"run", "type", "where", "prompt"}
    if unknown:
        raise LabFileError(
            path, f"step {step_id!r}: unknown solution key(s) {', '.join(sorted(unknown))}", line
        )
    render = paths.render if paths else (lambda text: text)
    return Command(
        run=render(raw["run"].strip()),
        type=tuple(render(t) for t in typed),
        where=dict(where),
        prompt=prompt,
    )


def _checks_path(data: dict, folder: Path, version: int, path: Path) -> Path:
    """Format 2: the lab folder's `checks.py`, or the file `checks` names in the lab folder.
    Format 1: `checks` names a file from the kit's folder (the one holding `labs/`)."""
    if version < 2:
        return folder.parent.parent / _text(data, "checks", path, 1, "the lab")
    named = data.get("checks", CHECKS)
    if not isinstance(named, str) or not named.strip():
        raise LabFileError(path, f"`checks` names a Python file in the lab folder ({CHECKS})", 1)
    return folder / named.strip()


NEEDS = {
    "disk_gb": "free disk for the engine's data, in GiB",
    "memory_gb": "the engine's memory, in GiB",
}
# what the engine must offer the lab, said by `workshop doctor`
NEEDS_FLAGS = {
    "swarm": "true: the lab runs swarm services (the engine is, or can become, a manager)"
}
NEEDS_PORTS = "ports"  # host ports the lab publishes: doctor says whether they are free
# what a lab fetches from the internet, by name (`workshop.needs`: the room's offline mirror)
NEEDS_LISTS = {
    "images": "images its steps pull or build FROM, as a learner names them (alpine)",
    "requirements": "pip requirements files (kit paths) its builds install",
}


def _needs(data: dict, path: Path) -> tuple[dict[str, float], dict[str, tuple[str, ...]]]:
    """`needs = { disk_gb = 1, images = ["alpine"] }`: what the engine must have for this lab
    (`workshop doctor`) and what it fetches (`workshop.needs`, the offline room)."""
    value = data.get("needs", {})
    known = ", ".join(
        f"{key} ({what})"
        for key, what in {
            **NEEDS,
            **NEEDS_LISTS,
            **NEEDS_FLAGS,
            NEEDS_PORTS: "host ports it publishes",
        }.items()
    )
    if not isinstance(value, dict):
        raise LabFileError(path, f"`needs` is a table such as {{ disk_gb = 1 }}; keys: {known}")
    amounts: dict[str, float] = {}
    lists: dict[str, tuple[str, ...]] = {}
    for key, amount in value.items():
        if key in NEEDS_FLAGS:
            if not isinstance(amount, bool):
                raise LabFileError(path, f"`needs.{key}` is true or false")
            if amount:
                amounts[key] = 1.0
        elif key == NEEDS_PORTS:
            if not isinstance(amount, list) or not all(
                type(port) is int and 0 < port < 65536 for port in amount
            ):
                raise LabFileError(path, "`needs.ports` is a list of port numbers such as [8080]")
            lists[key] = tuple(str(port) for port in amount)
        elif key in NEEDS_LISTS:
            if not isinstance(amount, list) or not all(
                isinstance(item, str) and item and item.strip() == item for item in amount
            ):
                raise LabFileError(path, f'`needs.{key}` is a list of names such as ["alpine"]')
            lists[key] = tuple(amount)
        elif key not in NEEDS or isinstance(amount, bool) or not isinstance(amount, int | float):
            raise LabFileError(path, f"`needs` takes numbers or lists for {known}; not {key!r}")
        else:
            amounts[key] = float(amount)
    return amounts, lists


MISTAKE_MAX = 40
_MISTAKE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# said by the kit for every lab (never declared by a lab)
GENERIC_MISTAKES = frozenset(
    {
        "not-done",
        "still-running",
        "removed-unseen",
        "never-started",
        "exited-nonzero",
        "stopped",
        "present-before",
        "no-answer",
        "wrong-answer",
        "wrong-content",
        "push-outdated",
        "engine-restarted",
        "evidence-gone",
    }
)  # the same as workshop.declared.KIT_MISTAKES (a test keeps them equal)


def _check_name(raw: dict, path: Path, line: int | None, what: str) -> str:
    """The step's Python check, or "" when its outcome is declared (`[steps.expect]`)."""
    if "expect" in raw:
        if "check" in raw:
            raise LabFileError(
                path, f"{what} has both `check` and [steps.expect]: keep one of them", line
            )
        return ""
    if "check" not in raw:
        raise LabFileError(
            path, f"{what} needs `check` (a Python check) or a [steps.expect] table", line
        )
    return _text(raw, "check", path, line, what)


# --- declarations (format 2): [steps.expect] and [[steps.mistakes]] ---------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\s]+?)\s*\]\]?\s*(#.*)?$")


@functools.lru_cache(maxsize=8)
def _lines(text: str) -> tuple[str, ...]:
    """A manifest's lines, split once (every step and mistake looks up its lines in them)."""
    return tuple(text.splitlines())


@functools.lru_cache(maxsize=8)
def _step_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """(first line, last line) of each [[steps]] table and its sub-tables, in order."""
    lines = _lines(text)
    starts = [n for n, line in enumerate(lines, start=1) if line.strip() == "[[steps]]"]
    return tuple((s, (starts[i + 1] - 1) if i + 1 < len(starts) else len(lines))
                 for i, s in enumerate(starts))  # fmt: skip


def _line_in(text: str, start: int, end: int, pattern: str, nth: int = 0) -> int | None:
    """The line (in start..end) of the nth match of `pattern` (a regex on one line)."""
    seen = -1
    search = re.compile(pattern).search
    for number, line in enumerate(_lines(text)[start - 1 : end], start=start):
        if search(line):
            seen += 1
            if seen == nth:
                return number
    return None


def _key_line(text: str, start: int | None, end: int | None, key: str) -> int | None:
    """The line where `key = ` is set (or `key.` a dotted key, or `[steps.key]`), in a range."""
    if start is None:
        return None
    end = end or start
    return _line_in(text, start, end, rf"(^|[{{,\s]){re.escape(key)}\s*=|^\s*\[+steps\.{key}\b")


def _declarations(
    raw: dict,
    text: str,
    n: int,
    path: Path,
    version: int,
    what: str,
    paths: KitPaths | None = None,
    prompt: str = "",
) -> dict:
    """A step's declared outcome and its mistakes (format 2), as Step fields."""
    from workshop import declared

    if not {"expect", "mistakes", "done_untouched"} & set(raw):
        return {}
    ranges = _step_ranges(text)
    start, end = ranges[n] if n < len(ranges) else (None, None)
    if version < 2:
        raise LabFileError(
            path,
            f"{what}: [steps.expect], [[steps.mistakes]] and `done_untouched` need "
            "`format_version = 2` at the top",
            _key_line(text, start, end, "expect")
            or _key_line(text, start, end, "mistakes")
            or _key_line(text, start, end, "done_untouched"),
        )
    fields: dict = {}
    if "done_untouched" in raw:
        reason = raw["done_untouched"]
        if not isinstance(reason, str) or not reason.strip():
            raise LabFileError(
                path,
                f"{what}: `done_untouched` is a sentence: why the step is done on any working "
                "engine",
                _key_line(text, start, end, "done_untouched"),
            )
        fields["done_untouched"] = reason.strip()
    if "expect" in raw:
        line = _key_line(text, start, end, "expect")
        claims, problems = declared.parse(raw["expect"], expect=True)
        if problems:
            key, problem = problems[0]
            where = _key_line(text, line, end, key) if key else line
            raise LabFileError(path, f"{what}: {problem}", where or line)
        fields["expect"] = tuple(
            declared.Claim(c.noun, c.fields, _key_line(text, line, end, c.noun) or line or 0)
            for c in claims
        )
    raw_mistakes = raw.get("mistakes", [])
    if not isinstance(raw_mistakes, list) or not all(isinstance(m, dict) for m in raw_mistakes):
        raise LabFileError(
            path, f"{what}: `mistakes` is a list of [[steps.mistakes]] tables", start
        )
    mistakes = []
    for m, table in enumerate(raw_mistakes):
        line = _line_in(text, start or 1, end or 1, r"^\s*\[\[\s*steps\.mistakes\s*\]\]", m)
        if line is None:  # an inline array of tables: the m-th `id = ` after `mistakes`
            line = _line_in(text, start or 1, end or 1, r"(^|[{,\s])id\s*=", m + 1)
        mistakes.append(
            _mistake(table, text, line, end, path, what, fields.get("expect", ()), paths, prompt)
        )
    fields["mistakes"] = tuple(mistakes)
    return fields


MISTAKE_KEYS = ("id", "says", "when", "reproduce", "unreproducible")


def _mistake(
    table: dict, text: str, line, end, path: Path, what: str, expect, paths=None, prompt=""
) -> Mistake:
    from workshop import declared

    ident = table.get("id")
    if not isinstance(ident, str) or not ident:
        raise LabFileError(path, f"{what}: each [[steps.mistakes]] needs `id`, in kebab-case", line)
    what = f"{what}, mistake {ident!r}"
    unknown = set(table) - set(MISTAKE_KEYS)
    if unknown:
        raise LabFileError(
            path,
            f"{what}: unknown key(s) {', '.join(sorted(unknown))}; a mistake has "
            f"{', '.join(MISTAKE_KEYS)}",
            _key_line(text, line, end, sorted(unknown)[0]) or line,
        )
    says, when = table.get("says"), table.get("when")
    if (says is None) != (when is None):
        raise LabFileError(
            path,
            f"{what}: a declared mistake has both `when` (the evidence) and `says` (its sentence "
            "and fix); a mistake a Python check names has neither",
            line,
        )
    if says is not None and (not isinstance(says, str) or not says.strip()):
        raise LabFileError(path, f"{what}: `says` is one sentence with the fix", line)
    claims = ()
    if when is not None:
        if not expect:
            raise LabFileError(
                path,
                f"{what}: `when` needs the step's outcome declared in [steps.expect] (a Python "
                "check names its mistakes itself)",
                line,
            )
        claims, problems = declared.parse(when, expect=False)
        if problems:
            key, problem = problems[0]
            raise LabFileError(
                path, f"{what}: {problem}", _key_line(text, line, end, key or "when") or line
            )
    reproduce = table.get("reproduce", [])
    if not isinstance(reproduce, list):
        raise LabFileError(path, f"{what}: `reproduce` is a list of commands", line)
    reason = table.get("unreproducible", "")
    if not isinstance(reason, str):
        raise LabFileError(path, f"{what}: `unreproducible` says why no command makes it", line)
    return Mistake(
        id=ident,
        says=(says or "").strip(),
        when=tuple(claims),
        reproduce=tuple(_command(c, path, line, ident, paths, prompt) for c in reproduce),
        line=line or 0,
        unreproducible=reason.strip(),
    )


MADE = ("volumes", "networks", "services", "stacks")


def made(data: dict, path: Path) -> dict[str, tuple[str, ...]]:
    """The names of the volumes, networks, swarm services and stacks (compose projects) a
    manifest says its lab makes (`volumes = ["notes"]`, ...): each list empty if not given."""
    found = {}
    for key in MADE:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise LabFileError(path, f"`{key}` must be a list of names (strings)", None)
        found[key] = tuple(value)
    return found


def load_lab(folder: Path) -> Lab:
    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LabFileError(path, f"cannot read the lab manifest ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise LabFileError(
            path,
            f"not valid TOML ({problem}); fix the syntax on that line",
            int(match.group(1)) if match else None,
        ) from None

    version = data.get("format_version")
    if not isinstance(version, int):
        raise LabFileError(path, f"needs `format_version = {FORMAT_VERSION}` at the top", 1)
    if version < 1:
        raise LabFileError(path, f"`format_version` is 1 or {FORMAT_VERSION}, not {version}", 1)
    if version > FORMAT_VERSION:
        raise LabFileError(
            path,
            f"is written for lab format {version}, but this kit reads format "
            f"{FORMAT_VERSION}: upgrade the kit (git pull, then make setup)",
        )
    lab_id = _text(data, "id", path, 1, "the lab")
    if not _ID.match(lab_id):
        raise LabFileError(path, f"lab id {lab_id!r} must be lowercase letters, digits, dashes", 1)
    checks = _checks_path(data, folder, version, path)
    prompt = data.get("prompt", "")
    if not isinstance(prompt, str):
        raise LabFileError(path, "`prompt` is the text the lab's shells show (`/ # `)", 1)

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LabFileError(path, f"`{key}` must be a list of strings", None)
        return tuple(value)

    working_copy = names("working_copy")
    for relative in working_copy:
        if Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise LabFileError(
                path, f"`working_copy` entry {relative!r} must be a path inside the kit", None
            )
    paths = KitPaths.of(folder.parent.parent, working_copy)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LabFileError(path, "needs at least one [[steps]] table", None)

    steps = []
    for n, raw in enumerate(raw_steps):
        line = _line_of_nth(text, "[[steps]]", n)
        step_id = _text(raw, "id", path, line, f"step {n + 1}")
        what = f"step {step_id!r}"
        if not _ID.match(step_id):
            raise LabFileError(path, f"{what}: ids are lowercase letters, digits and dashes", line)
        watch = raw.get("watch", "events")
        if watch not in WATCH:
            allowed = " or ".join(map(repr, WATCH))
            raise LabFileError(path, f"{what}: `watch` is {allowed}, not {watch!r}", line)
        solution = raw.get("solution")
        if not isinstance(solution, list) or not solution:
            raise LabFileError(path, f"{what} needs `solution`, a list of commands", line)
        steps.append(
            Step(
                lab_id=lab_id,
                id=step_id,
                title=_text(raw, "title", path, line, what),
                instructions_path=folder / _text(raw, "instructions", path, line, what),
                hint=paths.render(_text(raw, "hint", path, line, what)),
                check=_check_name(raw, path, line, what),
                solution=tuple(_command(c, path, line, step_id, paths, prompt) for c in solution),
                line=line or 1,
                watch=watch,
                paths=paths,
                **_declarations(raw, text, n, path, version, what, paths, prompt),
            )
        )
    ids = [s.id for s in steps]
    for step in steps:
        if ids.count(step.id) > 1:
            raise LabFileError(path, f"step id {step.id!r} is used twice", step.line)

    amounts, fetched = _needs(data, path)
    return Lab(
        id=lab_id,
        title=_text(data, "title", path, 1, "the lab"),
        summary=str(data.get("summary", "")).strip(),
        folder=folder,
        checks=checks,
        images=names("images"),
        builds=names("builds"),
        edits=names("edits"),
        working_copy=working_copy,
        steps=tuple(steps),
        order=int(data.get("order", 100)),
        builds_on=names("builds_on"),
        needs=amounts,
        pulls=fetched.get("images", ()),
        requirements=fetched.get("requirements", ()),
        ports=tuple(int(port) for port in fetched.get(NEEDS_PORTS, ())),
        format_version=version,
        **made(data, path),
    )


def load_labs(directory: Path | None = None) -> list[Lab]:
    directory = directory or labs_dir()
    if not directory.is_dir():
        raise LabFileError(
            directory, "the labs folder is missing; reinstall the kit, or run it from its clone"
        )
    labs = [load_lab(p.parent) for p in sorted(directory.glob(f"*/{MANIFEST}"))]
    if not labs:
        raise LabFileError(directory, f"holds no lab (no */{MANIFEST})")
    labs.sort(key=lambda lab: (lab.order, lab.id))
    for lab in labs:
        lab.paths.ensure()  # installed: the learner's working copies, made on first use
    seen: dict[str, Lab] = {}
    for lab in labs:
        if lab.id in seen:
            raise LabFileError(
                lab.manifest, f"lab id {lab.id!r} is also used by {seen[lab.id].manifest}", 1
            )
        seen[lab.id] = lab
    step_owner: dict[str, Lab] = {}
    for lab in labs:
        for step in lab.steps:
            if step.id in step_owner:
                raise LabFileError(
                    lab.manifest,
                    f"step id {step.id!r} is also used in lab "
                    f"{step_owner[step.id].id!r}; step ids are unique across labs",
                    step.line,
                )
            step_owner[step.id] = lab
    _check_builds_on(labs)
    return labs


def _check_builds_on(labs: list[Lab]) -> None:
    """No lab builds on itself through others. (A lab it builds on may be missing, its folder
    deleted: the kit still works, and lint and `goto` into the lab say what is missing.)"""
    for lab in labs:
        if lab.id in {each.id for each in builds_on(labs, lab)}:
            raise LabFileError(lab.manifest, f"lab {lab.id!r} builds on itself (`builds_on`)")


def absent_builds_on(labs: list[Lab], lab: Lab) -> list[str]:
    """The labs `lab` builds on (directly or through others) whose folders are not here."""
    known = {each.id for each in labs}
    return sorted(
        {other for each in [lab, *builds_on(labs, lab)] for other in each.builds_on} - known
    )


def require_builds_on(labs: list[Lab], lab: Lab) -> None:
    """Raise, in one sentence with the fix, when a lab `lab` builds on is not here."""
    absent = absent_builds_on(labs, lab)
    if absent:
        names = ", ".join(absent)
        raise WorkshopError(
            f"Lab {lab.id} builds on {names}, which is not in {lab.folder.parent}: restore "
            f"that lab's folder (its steps make what {lab.id} starts from), or remove "
            f"{names} from `builds_on` in {lab.manifest}."
        )


def builds_on(labs: list[Lab], lab: Lab) -> list[Lab]:
    """The labs `lab` builds on, directly or through the labs they build on, in course order."""
    known = {each.id: each for each in labs}
    wanted: set[str] = set()
    todo = list(lab.builds_on)
    while todo:
        name = todo.pop()
        if name in wanted or name not in known:
            continue
        wanted.add(name)
        todo.extend(known[name].builds_on)
    return [each for each in labs if each.id in wanted]


def find_step(labs: list[Lab], ref: str) -> tuple[Lab, Step]:
    """A step by `id` or `lab/id`; an unknown one is a usage error with the nearest ids."""
    lab_ref, _, step_ref = ref.rpartition("/")
    for lab in labs:
        if lab_ref and lab.id != lab_ref:
            continue
        for step in lab.steps:
            if step.id == step_ref:
                return lab, step
    import difflib

    every = [s.id for lab in labs for s in lab.steps]
    close = difflib.get_close_matches(step_ref, every, n=3)
    suggestion = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UsageError(
        f"There is no step {ref!r}.{suggestion} `workshop status` lists every step id."
    )


def find_lab(labs: list[Lab], lab_id: str) -> Lab:
    for lab in labs:
        if lab.id == lab_id:
            return lab
    raise UsageError(f"There is no lab {lab_id!r}; `workshop labs` lists them.")


def check_functions(module: Path, prefix: str = "test_") -> set[str]:
    """Names of the functions a checks module defines (tests by default), without importing it."""
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith(prefix)
    }


# --- format 1: mistake ids read from a checks module's source (format 2 declares them) -------


def _is_missing(node) -> bool:
    """A call of `missing(...)` (or `probes.missing(...)`)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "missing") or (
        isinstance(func, ast.Attribute) and func.attr == "missing"
    )


def _passed(call: ast.Call, keyword: str, position: int | None):
    """The argument a call passes for a parameter (by keyword, else by position), or None."""
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _mistake_sites(module: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """Every mistake id a checks module can name, with the line that names it, and the problems
    in how they are named. An id is the literal `mistake=` of a `missing(...)` call, or, when a
    helper passes its own parameter on (`missing(..., mistake=mistake)`), the literal each call
    of the helper passes for it. Read from the source, never imported."""
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    functions: dict[str, ast.FunctionDef] = {}
    calls: dict[str, list[ast.Call]] = {}
    enclosing: dict[int, ast.FunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.setdefault(node.name, node)
            for inner in ast.walk(node):
                if _is_missing(inner):
                    enclosing[id(inner)] = node  # ast.walk goes outside in: the innermost wins
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.setdefault(node.func.id, []).append(node)
    sites: list[tuple[str, int]] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if not _is_missing(node):
            continue
        where = f"{module}:{node.lineno}"
        given = _passed(node, "mistake", 1)
        if given is None or _literal(given) == "":
            problems.append(
                f'{where}: missing(...) names no mistake: add mistake="kebab-case-id", the id '
                "of what this check recognised"
            )
            continue
        if _literal(given) is not None:
            sites.append((given.value, node.lineno))
            continue
        helper = enclosing.get(id(node))
        arguments = helper.args if helper is not None else None
        positional = [a.arg for a in (arguments.posonlyargs + arguments.args)] if arguments else []
        keyword_only = [a.arg for a in arguments.kwonlyargs] if arguments else []
        name = given.id if isinstance(given, ast.Name) else None
        if name is None or name not in positional + keyword_only:
            problems.append(
                f"{where}: mistake= must be a string literal, or a parameter of the enclosing "
                "function that each of its calls passes as a literal"
            )
            continue
        callers = calls.get(helper.name, [])
        if not callers:
            problems.append(
                f"{where}: mistake={name} comes from {helper.name}()'s parameter, but nothing "
                f"in the module calls {helper.name}() with an id"
            )
        position = positional.index(name) if name in positional else None
        for call in callers:
            passed = _passed(call, name, position)
            if _literal(passed) is None:
                problems.append(
                    f"{module}:{call.lineno}: {helper.name}(...) must pass `{name}` as a "
                    "string literal, the id of the mistake it names here"
                )
            else:
                sites.append((passed.value, call.lineno))
    first: dict[str, int] = {}
    for ident, line in sorted(sites, key=lambda site: site[1]):
        where = f"{module}:{line}"
        if not ident or len(ident) > MISTAKE_MAX or not _MISTAKE.match(ident):
            problems.append(
                f"{where}: mistake id {ident!r} must be kebab-case (lowercase letters and digits "
                f"joined by single dashes), at most {MISTAKE_MAX} characters"
            )
        if ident in first:
            problems.append(
                f"{where}: mistake id {ident!r} is also used at line {first[ident]}; one id "
                "names one mistake, unique within the lab"
            )
        else:
            first[ident] = line
    return sites, problems


def mistakes(lab: Lab) -> dict[str, int]:
    """The mistake ids a lab names, each with a line that names it. Format 2: the ids its
    manifest declares ([[steps.mistakes]]: data, nothing parsed); the kit's own verdicts
    (`GENERIC_MISTAKES`) are said for every lab and not listed. Format 1: `missing(...,
    mistake="id")` and the literal ids passed to helpers that hand theirs on, read from the
    checks module without importing it."""
    if lab.format_version >= 2:
        return {m.id: m.line for step in lab.steps for m in step.mistakes}
    if not lab.checks.is_file():
        return {}
    found: dict[str, int] = {}
    for ident, line in sorted(_mistake_sites(lab.checks)[0], key=lambda site: site[1]):
        found.setdefault(ident, line)
    return found


def _line_order(problem: str) -> int:
    match = re.match(r"^[^:]*:(\d+):", problem)
    return int(match.group(1)) if match else 0


def _flat(text: str) -> str:
    return " ".join(text.split())


def declared_mistakes(lab: Lab) -> dict[str, int]:
    """Format 2: the mistake ids a lab declares, with their manifest lines, and the kit's own."""
    from workshop.declared import KIT_MISTAKES

    found = {ident: 0 for ident in KIT_MISTAKES}
    for step in lab.steps:
        for mistake in step.mistakes:
            found.setdefault(mistake.id, mistake.line)
    return found


def _needs_module(lab: Lab) -> bool:
    """The lab has a Python check, or a solution that asks the checks module (`probe:`)."""
    return any(
        not step.declared
        or any(f.startswith("probe:") for c in step.solution for f in c.where.values())
        for step in lab.steps
    )


def _bare_working_paths(text: str, copies: tuple[str, ...]) -> list[str]:
    """The paths at or under a working copy that `text` names without `{kit:...}`."""
    bare = _PLACEHOLDER.sub(" ", text)
    found = set()
    for copy in copies:
        pattern = r"(?<![\w./-])" + re.escape(copy) + r"(?:/[\w.-]+)*(?![\w.-])"
        found.update(re.findall(pattern, bare))
    return sorted(found)


def lint(labs: list[Lab]) -> list[str]:
    """Problems a lab author must fix; an empty list means the content is sound."""
    problems = []
    for lab in labs:
        for other in absent_builds_on(labs, lab):
            problems.append(
                f"{lab.manifest}: `builds_on` names lab {other!r}, which is not in "
                f"{lab.folder.parent}: restore that lab's folder, or remove it from the list"
            )
        for relative in lab.working_copy:
            if not (lab.paths.root / relative).exists():
                problems.append(
                    f"{lab.manifest}: `working_copy` names {relative}, which the kit lacks"
                )
        functions: set[str] = set()
        if not lab.checks.is_file():
            if lab.format_version < 2 or _needs_module(lab):
                problems.append(f"{lab.manifest}: checks module {lab.checks} does not exist")
        else:
            functions = check_functions(lab.checks)
            if lab.format_version < 2:
                problems.extend(sorted(_mistake_sites(lab.checks)[1], key=_line_order))
        if lab.format_version >= 2:
            problems.extend(lint_declarations(lab))
        for step in lab.steps:
            where = f"{lab.manifest}:{step.line}: step {step.id!r}"
            if not step.instructions_path.is_file():
                problems.append(f"{where}: instructions file {step.instructions_path} is missing")
                continue
            text = step.instructions_path.read_text(encoding="utf-8")
            from workshop.roomurls import KEYS as ROOM_KEYS
            from workshop.roomurls import PLACEHOLDER as ROOM_PLACEHOLDER

            for key in sorted(set(ROOM_PLACEHOLDER.findall(text)) - set(ROOM_KEYS)):
                problems.append(
                    f"{where}: `{{room:{key}}}` in {step.instructions_path.name} is no room "
                    f"placeholder: write one of {', '.join(f'{{room:{k}}}' for k in ROOM_KEYS)}"
                )
            for relative in sorted(set(_PLACEHOLDER.findall(text))):
                if not (lab.paths.root / relative).exists():
                    problems.append(
                        f"{where}: `{{kit:{relative}}}` in {step.instructions_path.name} names "
                        "no file or folder of the kit"
                    )
            problems.extend(
                f"{where}: `{path}` in {step.instructions_path.name} is a working copy's path "
                f"written as is: write `{{kit:{path}}}`, so an installed kit shows the learner's "
                "copy"
                for path in _bare_working_paths(text, lab.working_copy)
            )
            text = lab.paths.render(text)
            if not text.strip():
                problems.append(f"{where}: instructions file {step.instructions_path} is empty")
            if lab.checks.is_file() and step.check and step.check not in functions:
                problems.append(f"{where}: check {step.check!r} is not a test in {lab.checks}")
            for command in step.solution:
                if _flat(command.run) not in _flat(text):
                    problems.append(
                        f"{where}: solution command `{command.run}` is not shown in "
                        f"{step.instructions_path.name}; learners must see what the robot types"
                    )
                for typed in command.type:
                    if _flat(typed) not in _flat(text):
                        problems.append(
                            f"{where}: the line `{typed}` typed into the container is not shown "
                            f"in {step.instructions_path.name}"
                        )
                for finder in command.where.values():
                    probe = finder.removeprefix("probe:")
                    if (
                        finder.startswith("probe:")
                        and lab.checks.is_file()
                        and probe not in (check_functions(lab.checks, prefix=""))
                    ):
                        problems.append(
                            f"{where}: probe {probe!r} is not a function in {lab.checks}"
                        )
                for name in re.findall(r"<([A-Z_]+)>", command.run):
                    if name not in command.where:
                        problems.append(f"{where}: `<{name}>` in `{command.run}` has no `where`")
    return problems


# --- what two kits share ------------------------------------------------------------------------
# A classroom's server and its learners must hold the same labs, steps and mistake ids: a report
# of a step or a mistake the server does not know is refused. Join compares them.


def inventory(labs: list[Lab]) -> list[dict]:
    """The ids that matter to a classroom, in course order: each lab's id, its step ids in order,
    and its mistake ids sorted. Small and JSON-ready (sent at join)."""
    return [
        {"id": lab.id, "steps": [s.id for s in lab.steps], "mistakes": sorted(mistakes(lab))}
        for lab in labs
    ]


def digest(labs: list[Lab] | list[dict]) -> str:
    """A stable hash of `inventory(labs)`: two kits with the same lab, step and mistake ids have
    the same digest, whatever else differs (texts, hints, paths). 16 hex digits."""
    import hashlib
    import json

    held = labs if all(isinstance(lab, dict) for lab in labs) else inventory(labs)
    canonical = [
        [str(lab["id"]), [str(s) for s in lab["steps"]], sorted(str(m) for m in lab["mistakes"])]
        for lab in held
    ]
    text = json.dumps(canonical, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(theirs: list[dict], room: list[dict]) -> list[str]:
    """What a kit holding `theirs` lacks or has more than the room's kit (`room`), as phrases
    with the kit as subject ("lacks step 'x' of lab 'y'"), most harmful first: what the room has
    and the kit lacks, then what the kit has and the room would refuse."""
    mine = {lab["id"]: lab for lab in theirs}
    ours = {lab["id"]: lab for lab in room}
    lacks, extra = [], []
    for lab_id, lab in ours.items():
        other = mine.get(lab_id)
        if other is None:
            lacks.append(f"lacks lab {lab_id!r}")
            continue
        lacks += [
            f"lacks step {s!r} of lab {lab_id!r}" for s in lab["steps"] if s not in other["steps"]
        ]
        extra += [
            f"has step {s!r} in lab {lab_id!r} that the room does not"
            for s in other["steps"]
            if s not in lab["steps"]
        ]
        lacks += [
            f"lacks mistake {m!r} of lab {lab_id!r}"
            for m in lab["mistakes"]
            if m not in other["mistakes"]
        ]
        extra += [
            f"has mistake {m!r} in lab {lab_id!r} that the room does not"
            for m in other["mistakes"]
            if m not in lab["mistakes"]
        ]
        same = set(lab["steps"]) == set(other["steps"])
        if same and list(lab["steps"]) != list(other["steps"]):
            lacks.append(f"has the steps of lab {lab_id!r} in another order")
    extra += [f"has lab {lab_id!r} that the room does not" for lab_id in mine if lab_id not in ours]
    return lacks + extra


def summary(phrases: list[str], most: int = 2) -> str:
    """The first `most` phrases joined, and how many more: one clause for a sentence."""
    if not phrases:
        return ""
    shown = "; ".join(phrases[:most])
    more = len(phrases) - most
    return f"{shown} (and {more} more difference{'s' if more != 1 else ''})" if more > 0 else shown


# --- lint for format 2: keys, declarations, mistakes as data ----------------------------------

LAB_KEYS = (
    "format_version", "id", "title", "summary", "order", "checks", "builds_on", "images",
    "builds", "volumes", "networks", "services", "stacks", "edits", "working_copy", "needs",
    "prompt", "steps",
)  # fmt: skip
STEP_KEYS = (
    "id", "title", "instructions", "hint", "solution", "watch", "check", "expect", "mistakes",
    "done_untouched",
)  # fmt: skip


def lint_declarations(lab: Lab) -> list[str]:
    """Format 2 problems: unknown keys, mistakes (ids, reproducers, sentences), names that a
    declaration uses and the lab does not list, ids a Python check names without declaring."""
    from workshop import declared
    from workshop.meaning import same_image, same_repo

    problems: list[str] = []
    text = lab.manifest.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    for key in data:
        if key not in LAB_KEYS:
            line = _line_in(text, 1, len(text.splitlines()), rf"^\s*{re.escape(key)}\s*=")
            problems.append(
                f"{lab.manifest}:{line or 1}: unknown key {key!r}; a lab has {', '.join(LAB_KEYS)}"
            )
    ranges = _step_ranges(text)
    for n, raw in enumerate(data.get("steps") or []):
        for key in raw:
            if key not in STEP_KEYS:
                start, end = ranges[n] if n < len(ranges) else (1, 1)
                problems.append(
                    f"{lab.manifest}:{_key_line(text, start, end, key) or start}: step "
                    f"{raw.get('id')!r}: unknown key {key!r}; a step has {', '.join(STEP_KEYS)}"
                )
    seen: dict[str, int] = {}
    for step in lab.steps:
        for mistake in step.mistakes:
            where = f"{lab.manifest}:{mistake.line or step.line}: step {step.id!r}, mistake"
            if len(mistake.id) > MISTAKE_MAX or not _MISTAKE.match(mistake.id):
                problems.append(
                    f"{where} {mistake.id!r}: ids are kebab-case (lowercase letters and digits "
                    f"joined by single dashes), at most {MISTAKE_MAX} characters"
                )
            if mistake.id in seen:
                problems.append(
                    f"{where} {mistake.id!r}: also declared at line {seen[mistake.id]}; one id "
                    "names one mistake, unique within the lab"
                )
            seen.setdefault(mistake.id, mistake.line)
            if mistake.id in declared.KIT_MISTAKES and mistake.when:
                problems.append(
                    f"{where} {mistake.id!r}: that id is the kit's own verdict; name yours "
                    "after what the learner did"
                )
            if not mistake.reproduce and not mistake.unreproducible:
                problems.append(
                    f"{where} {mistake.id!r} has no `reproduce`: list the commands that make "
                    "it, so `workshop prove` can show the check names it (or, when no command "
                    'can, say why: `unreproducible = "..."`)'
                )
            if mistake.when:
                allowed = set().union(*(declared.PLACEHOLDERS[c.noun] for c in mistake.when))
                for name in sorted(declared.placeholders(mistake.says) - allowed):
                    problems.append(
                        f"{where} {mistake.id!r}: `says` uses {{{name}}}, which its `when` does "
                        f"not give; it may use {', '.join('{' + a + '}' for a in sorted(allowed))}"
                    )
        claims = list(step.expect) + [c for m in step.mistakes for c in m.when]
        where = f"{lab.manifest}:{step.line}: step {step.id!r}"
        listed = lab.images + lab.builds
        for image in sorted(declared.images_named([c for c in claims if c.noun != "pushed"])):
            if not any(same_repo(image, name) or same_repo(name, image) for name in listed):
                problems.append(
                    f"{where}: a declaration names image {image!r}, which the lab does not list "
                    "in `images` or `builds` (so reset and watch would not know it)"
                )
        for claim in claims:
            tag = claim.get("tag") if claim.noun == "pushed" else None
            if tag and not any(same_image(tag, name) for name in lab.builds):
                problems.append(
                    f"{where}: a declaration pushes {tag!r}, which the lab does not list in "
                    "`builds` (so reset would not remove the learner's tag)"
                )
        for name in sorted(declared.volumes_named(claims) - set(lab.volumes)):
            problems.append(
                f"{where}: a declaration names volume {name!r}, which the lab does not list in "
                "`volumes`"
            )
        for name in sorted(declared.networks_named(claims) - set(lab.networks)):
            problems.append(
                f"{where}: a declaration names network {name!r}, which the lab does not list in "
                "`networks`"
            )
    if lab.checks.is_file():
        known = declared_mistakes(lab)
        for ident, line in _mistake_sites(lab.checks)[0]:
            if ident not in known:
                problems.append(
                    f"{lab.checks}:{line}: mistake {ident!r} is not declared: add a "
                    "[[steps.mistakes]] table with its id and `reproduce` to the step's "
                    f"table in {lab.manifest}"
                )
    return problems
