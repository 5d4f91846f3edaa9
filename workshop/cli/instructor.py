"""The instructor's and lab author's commands: solve, goto, reset, doctor, lint, prove."""

from __future__ import annotations

import sys

import click

from workshop import render
from workshop.cli._shared import boundary, failed, open_course, passed, reporting
from workshop.errors import Exit, WorkshopError


@click.command(short_help="Run a step's solution for real (for live demos).")
@click.argument("step", required=False)
@boundary
@reporting
def solve(step):
    """Run a step's solution for real, printing each command first (for live demos).

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3; the current step by default.

    Joined to a classroom as instructor, each command and its output are also streamed to the
    room's demo page.

    Example: workshop solve run-ls
    """
    _, chosen = open_course("solve").solve(step)
    passed(f"Step {chosen.id} is done.")


@click.command(short_help="Catch up: solve every earlier step, then show STEP.")
@click.argument("step")
@boundary
@reporting
def goto(step):
    """Catch up: solve the earlier steps not yet done (of STEP's lab and of the labs it
    builds on), then show STEP.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    Example: workshop goto isolation
    """
    for going in open_course("goto").goto(step):
        if going.what == "solving":
            render.say(f"Catching up: {going.lab.id}/{going.step.id}", ("bold",))
        elif going.what == "solved":
            passed(f"Step {going.step.id} is done.")
        else:
            render.step(going.lab, going.step)


@click.command(short_help="Undo what the labs did and start afresh.")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing.")
@boundary
def reset(dry_run, yes):
    """Undo what the labs did and start afresh (for a machine between classes).

    Lists, then removes: containers made from the labs' images (their manifests name them) since
    the learner started each lab, the labs' tags on images they built, and their earlier builds;
    the volumes, networks, services and stacks a lab declares, made while it ran. Kit files a lab
    asked you to edit are restored (from git in a clone, from the kit's own copy into your working
    copy when the kit is installed; your version is kept). Any other container, image, volume or
    network is left alone. The old progress file is kept as a backup.

    Example: workshop reset --dry-run
    """
    from workshop.reset import reset as reset_labs

    if not (yes or dry_run or sys.stdin.isatty()):
        raise WorkshopError(
            "Reset asks before removing anything; with no terminal to ask in, pass --yes (or "
            "--dry-run to only look)."
        )

    def confirm() -> bool:
        return yes or click.confirm("Undo these and reset your progress?", default=False)

    def say(text: str, kind: str) -> None:
        if kind == "problem":
            failed(text)
        else:
            render.say(text, indent=2 if kind == "item" else 0)

    course = open_course()
    reset_labs(course.labs, course.store, confirm, say, dry_run=dry_run)


@click.command(short_help="Say which Docker engine the kit uses, and what may go wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON (for scripts).")
@click.option(
    "--mirror",
    metavar="URL",
    default="",
    help="The room's registry mirror (default: the joined room's, or WORKSHOP_MIRROR).",
)
@click.option(
    "--index",
    metavar="URL",
    default="",
    help="The room's Python package index (default: the joined room's, or WORKSHOP_INDEX).",
)
@boundary
@reporting
def doctor(as_json, mirror, index):
    """Say which Docker engine the kit talks to and why, and what may stop the labs.

    Joined to a classroom, the result is sent to the room's readiness view.

    It also says whether you can fetch what the labs need. In an offline room (its instructor
    serves a registry mirror and a package index, and the room tells you at join): whether your
    engine pulls through the mirror, and how to set it if not; whether each image is here or
    pullable; whether the index holds each pinned package. Online: Docker Hub's anonymous pulls
    left. It asks with HEAD requests and index pages: nothing is pulled, no setting changed.

    --json prints one object: {"ready": true|false, "kit": "0.2.0 (git ...)", "findings":
    [{"status": "ok"|"warn"|"fail", "topic": "...", "detail": "..."}], "facts": {"engine":
    {"version", "api", "os", "kind"}, "builder", "context", "disk_free_gb", "lab_images",
    "registry", "pull": {"can": true|false|null, "because": [...]}}}.

    \b
    Exit status: 0 ready (notes allowed), 1 not ready (a FAIL finding), 130 interrupted.

    Example: workshop doctor --json
    """
    from workshop import doctor as doctoring
    from workshop import report, roomurls

    room = roomurls.current(mirror, index)  # a bad address: one sentence, exit 2
    findings, facts = doctoring.examine(room)
    report.readiness(findings, facts)
    if as_json:
        import json  # here: --help need not load it

        click.echo(json.dumps(doctoring.to_json(findings, facts), indent=2))
    else:
        marks = {"ok": ("ok  ", "green"), "warn": ("note", "yellow"), "fail": ("FAIL", "red")}
        for finding in findings:
            mark, look = marks[finding.status]
            render.say(f"{finding.topic}: {finding.detail}", mark=mark, mark_looks=(look,))
    if not doctoring.ready(findings):
        sys.exit(Exit.ERROR)


@click.command(short_help="Check lab content (for lab authors).")
@click.argument("labs_dir", required=False, type=click.Path(file_okay=False))
@boundary
def lint(labs_dir):
    """Check lab content (for lab authors): ids, texts, hints, solutions and checks agree.

    Example: workshop lint labs
    """
    from pathlib import Path

    from workshop.labs import lint as lint_labs
    from workshop.labs import load_labs

    loaded = load_labs(Path(labs_dir) if labs_dir else None)
    problems = lint_labs(loaded)
    for problem in problems:
        render.say(problem)
    if problems:
        sys.exit(Exit.ERROR)
    click.echo(f"{len(loaded)} lab(s), {sum(len(lab.steps) for lab in loaded)} steps: all sound.")


@click.command(short_help="Prove a lab on your engine (for lab authors).")
@click.argument("lab")
@click.option(
    "--labs",
    "labs_dir",
    type=click.Path(file_okay=False),
    help="The folder holding the labs (default: the kit's labs/).",
)
@boundary
def prove(lab, labs_dir):
    """Prove a lab on your own engine (for lab authors), in a private state folder.

    No step passes on an untouched engine; each step fails before its solution, each declared
    mistake is named once its reproducer ran, and the step passes after its solution. Prints one
    line per claim, exits 0 only when all hold, then removes what it made (and nothing else).

    Example: workshop prove volumes
    """
    from pathlib import Path

    from workshop.prove import prove as prove_lab

    def say(ok: bool, text: str) -> None:
        (passed if ok else failed)(text)

    outcome = prove_lab(lab, Path(labs_dir) if labs_dir else None, say)
    for problem in outcome.problems:
        failed(f"not undone: {problem}")
    if not outcome.proven:
        failed(f"Lab {lab} is not proven: fix what the lines marked ✘ say, then prove it again.")
        sys.exit(Exit.ERROR)
    passed(f"Lab {lab} is proven: {len(outcome.claims)} claims hold.")


COMMANDS = [solve, goto, reset, doctor, lint, prove]
