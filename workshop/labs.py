"""Lab content: a lab is a folder under `labs/` with a `lab.toml` manifest and Markdown files.

The runner knows no step by name: everything about a step (its text, hint, solution and the name
of the pytest function that checks it) comes from the manifest. `lint` keeps lab authors honest.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workshop.errors import LabFileError, UsageError

FORMAT_VERSION = 1
MANIFEST = "lab.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WATCH = ("events", "logs")  # what `workshop watch` follows for a step (see Step.watch)


def kit_root() -> Path:
    """The folder that holds `labs/`, `images/` and `tests/` (the cloned kit)."""
    return Path(__file__).resolve().parent.parent


def labs_dir() -> Path:
    return Path(os.environ.get("WORKSHOP_LABS") or kit_root() / "labs")


@dataclass(frozen=True)
class Command:
    """One command of a solution, exactly as the learner types it.

    `type` lists lines typed at an interactive container's prompt; `where` fills placeholders
    such as `<ID>` with the output of a shell command run just before.
    """

    run: str
    type: tuple[str, ...] = ()
    where: dict[str, str] = field(default_factory=dict)

    @property
    def interactive(self) -> bool:
        return bool(self.type)


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

    @property
    def instructions(self) -> str:
        try:
            return self.instructions_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LabFileError(
                self.instructions_path,
                f"cannot read the instructions of step {self.id!r}: "
                f"{exc.strerror}; restore the file or fix `instructions` in {MANIFEST}",
            ) from None


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
    # what else the lab makes, by name (see `made`): watch follows them, reset removes them
    volumes: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    services: tuple[str, ...] = ()  # swarm services
    stacks: tuple[str, ...] = ()  # compose projects and swarm stacks

    @property
    def root(self) -> Path:
        """The kit's folder (the one holding `labs/`): solutions and `checks` paths start here."""
        return self.folder.parent.parent

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


def _command(raw, path: Path, line: int | None, step_id: str) -> Command:
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
    unknown = set(raw) - {"run", "type", "where"}
    if unknown:
        raise LabFileError(
            path, f"step {step_id!r}: unknown solution key(s) {', '.join(sorted(unknown))}", line
        )
    return Command(run=raw["run"].strip(), type=tuple(typed), where=dict(where))


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
    if version > FORMAT_VERSION:
        raise LabFileError(
            path,
            f"is written for lab format {version}, but this kit reads format "
            f"{FORMAT_VERSION}: upgrade the kit (git pull, then make setup)",
        )
    lab_id = _text(data, "id", path, 1, "the lab")
    if not _ID.match(lab_id):
        raise LabFileError(path, f"lab id {lab_id!r} must be lowercase letters, digits, dashes", 1)
    checks = folder.parent.parent / _text(data, "checks", path, 1, "the lab")
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
                hint=_text(raw, "hint", path, line, what),
                check=_text(raw, "check", path, line, what),
                solution=tuple(_command(c, path, line, step_id) for c in solution),
                line=line or 1,
                watch=watch,
            )
        )
    ids = [s.id for s in steps]
    for step in steps:
        if ids.count(step.id) > 1:
            raise LabFileError(path, f"step id {step.id!r} is used twice", step.line)

    def names(key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LabFileError(path, f"`{key}` must be a list of strings", None)
        return tuple(value)

    return Lab(
        id=lab_id,
        title=_text(data, "title", path, 1, "the lab"),
        summary=str(data.get("summary", "")).strip(),
        folder=folder,
        checks=checks,
        images=names("images"),
        builds=names("builds"),
        edits=names("edits"),
        steps=tuple(steps),
        order=int(data.get("order", 100)),
        **made(data, path),
    )


def load_labs(directory: Path | None = None) -> list[Lab]:
    directory = directory or labs_dir()
    if not directory.is_dir():
        raise LabFileError(directory, "the labs folder is missing; run the kit from its clone")
    labs = [load_lab(p.parent) for p in sorted(directory.glob(f"*/{MANIFEST}"))]
    if not labs:
        raise LabFileError(directory, f"holds no lab (no */{MANIFEST})")
    labs.sort(key=lambda lab: (lab.order, lab.id))
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
    return labs


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


MISTAKE_MAX = 40
_MISTAKE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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
    """The mistake ids a lab's checks can name (`missing(..., mistake="id")`, and the literal ids
    passed to helpers that hand theirs on), each with the line of its first use, read from the
    checks module without importing it."""
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


def lint(labs: list[Lab]) -> list[str]:
    """Problems a lab author must fix; an empty list means the content is sound."""
    problems = []
    for lab in labs:
        if not lab.checks.is_file():
            problems.append(f"{lab.manifest}: checks module {lab.checks} does not exist")
            functions: set[str] = set()
        else:
            functions = check_functions(lab.checks)
            problems.extend(sorted(_mistake_sites(lab.checks)[1], key=_line_order))
        for step in lab.steps:
            where = f"{lab.manifest}:{step.line}: step {step.id!r}"
            if not step.instructions_path.is_file():
                problems.append(f"{where}: instructions file {step.instructions_path} is missing")
                continue
            text = step.instructions_path.read_text(encoding="utf-8")
            if not text.strip():
                problems.append(f"{where}: instructions file {step.instructions_path} is empty")
            if lab.checks.is_file() and step.check not in functions:
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
