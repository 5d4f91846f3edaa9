"""The instructor's and lab author's commands: solve, goto, reset, doctor, lint, prove."""

from __future__ import annotations

import json
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
    from workshop import report
    from workshop.checks import prober
    from workshop.solve import solve as run_solution

    course = open_course("solve")
    lab, chosen = course.find(step)
    course.start(lab)
    stream = None
    if report.is_instructor():
        stream = report.DemoStream()
        stream.step(f"{lab.title}: {chosen.title} ({lab.id}/{chosen.id})")
    with course.seeing():
        run_solution(chosen, probe=prober(lab), cwd=lab.root, tee=stream)
    course.require_done(lab, chosen)
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
    from workshop.checks import prober
    from workshop.solve import solve as run_solution

    course = open_course("goto")
    lab, target = course.find(step)
    for earlier_lab, earlier in course.catch_up(lab, target):
        render.say(f"Catching up: {earlier_lab.id}/{earlier.id}", ("bold",))
        with course.seeing():
            run_solution(earlier, probe=prober(earlier_lab), cwd=earlier_lab.root)
        course.require_done(earlier_lab, earlier)
        passed(f"Step {earlier.id} is done.")
    course.open(lab)  # what the learner does from now on counts
    render.step(lab, target)


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
    from workshop import reset as resetting
    from workshop.engine import client

    if not (yes or dry_run or sys.stdin.isatty()):
        raise WorkshopError(
            "Reset asks before removing anything; with no terminal to ask in, pass --yes (or "
            "--dry-run to only look)."
        )
    course = open_course()
    engine = client()
    doomed = resetting.plan(engine, course.labs, course.progress())
    if not doomed:
        render.say("The labs created nothing that is still on the engine.")
    for item in doomed:
        verb = "restore" if item.kind == "edit" else "remove"
        render.say(
            f"would {verb} {item.description}" if dry_run else f"{verb} {item.description}",
            indent=2,
        )
    if dry_run:
        return
    if not yes and not click.confirm("Undo these and reset your progress?", default=False):
        render.say("Nothing removed.")
        return
    problems = resetting.apply(engine, doomed)
    for problem in problems:
        failed(f"Could not undo {problem}")
    if problems:
        raise WorkshopError(
            "Progress was not reset, so that `workshop reset` can list and retry what is left; "
            "fix the problems above (a container of yours may be using a lab image) and run it "
            "again."
        )
    backup = course.store.reset()
    if backup:
        render.say(f"Progress reset; the old file is kept as {backup}.")


@click.command(short_help="Say which Docker engine the kit uses, and what may go wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON (for scripts).")
@boundary
@reporting
def doctor(as_json):
    """Say which Docker engine the kit talks to and why, and what may stop the labs.

    Joined to a classroom, the result is sent to the room's readiness view.

    --json prints one object: {"ready": true|false, "kit": "0.2.0 (git ...)", "findings":
    [{"status": "ok"|"warn"|"fail", "topic": "...", "detail": "..."}], "facts": {"engine":
    {"version", "api", "os", "kind"}, "builder", "context", "disk_free_gb", "lab_images",
    "registry"}}.

    \b
    Exit status: 0 ready (notes allowed), 1 not ready (a FAIL finding), 130 interrupted.

    Example: workshop doctor --json
    """
    from workshop import report
    from workshop.doctor import FAIL, examine

    findings, facts = examine()
    report.readiness(findings, facts)
    ready = not any(f.status == FAIL for f in findings)
    if as_json:
        from workshop.version import kit_version

        click.echo(
            json.dumps(
                {
                    "ready": ready,
                    "kit": kit_version(),
                    "findings": [
                        {"status": f.status, "topic": f.topic, "detail": f.detail} for f in findings
                    ],
                    "facts": facts.to_json(),
                },
                indent=2,
            )
        )
    else:
        marks = {"ok": ("ok  ", "green"), "warn": ("note", "yellow"), "fail": ("FAIL", "red")}
        for finding in findings:
            mark, look = marks[finding.status]
            render.say(f"{finding.topic}: {finding.detail}", mark=mark, mark_looks=(look,))
    if not ready:
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
