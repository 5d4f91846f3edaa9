"""The `workshop` command: each command parses, calls one plain function, and prints.

Only this module imports click. Heavy modules (docker, pytest, rich) are imported inside the
commands that need them, so `workshop --help` stays instant.
"""

from __future__ import annotations

import functools
import json
import sys

import click

from workshop import __version__
from workshop.errors import Exit, WorkshopError


def _passed(text: str) -> None:
    click.echo(click.style("✔", fg="green") + f" {text}")


def _failed(text: str) -> None:
    click.echo(click.style("✘", fg="red") + f" {text}")


def _engine_fault(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("docker", "requests", "urllib3")


def _boundary(command):
    """Turn the kit's errors and Ctrl-C into one sentence and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WorkshopError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            sys.exit(exc.exit_code)
        except Exception as exc:
            if isinstance(exc, OSError) and not _engine_fault(exc):  # docker's errors are OSErrors
                where = f" ({exc.filename})" if exc.filename else ""
                click.secho(
                    f"Error: {exc.strerror or exc}{where}: check that the file exists and is "
                    "yours, then run the command again.", err=True, fg="red",
                )  # fmt: skip
                sys.exit(Exit.ERROR)
            if not _engine_fault(exc):
                raise  # a bug in the kit: its traceback is what its authors need
            from workshop.engine import explain, target

            refusal = getattr(exc, "explanation", None)  # the engine answered, and said no
            message = (
                f"The Docker engine refused a request ({refusal}); `workshop doctor` checks the "
                "engine, and running the command again often helps."
                if refusal
                else explain(target(), exc)
            )
            click.secho(f"Error: {message}", err=True, fg="red")
            sys.exit(Exit.ERROR)
        except KeyboardInterrupt:
            click.secho(
                "\nInterrupted. Every step recorded so far is kept; run the command again "
                "when you are ready.",
                err=True,
                fg="yellow",
            )
            sys.exit(Exit.INTERRUPTED)

    return wrapper


def _course():
    from workshop.course import Course

    return Course()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workshop")
def cli():
    """A hands-on Docker workshop, checked against your real Docker engine.

    Start with `workshop next`: it shows the first step. Type the docker commands it shows in
    your terminal, then run `workshop next` again to have them checked.
    """


@cli.command("next")
@_boundary
def next_():
    """Check the current step; when it is done, record it and show the next one.

    If you ran ahead, every step already done is recorded in one go.

    Example: workshop next
    """
    from workshop import render

    course = _course()
    advance = course.advance()
    for step_id in advance.recorded:
        _passed(f"Step {step_id} is done.")
    if advance.finished is not None:
        _passed(f"Lab complete: {advance.finished.title}. Well done!")
    if advance.failed is not None and not advance.recorded:
        _failed(f"Step {advance.failed.step} is not done yet: {advance.failed.message}")
        render.note("[dim]Fix it, then run `workshop next` again (`workshop hint` helps).[/]")
        sys.exit(Exit.NOT_DONE)
    if advance.now.step is None:
        _passed("Every lab is done. Well played! `workshop status` shows your progress.")
        return
    render.step(advance.now.lab, advance.now.step)


@cli.command()
@click.argument("step", required=False)
@_boundary
def check(step):
    """Check one step against the engine (the current step by default); records nothing.

    Example: workshop check run-ls
    """

    course = _course()
    lab, chosen = course.find(step)
    verdict = course.check(lab, [chosen], record=False)[0]  # `next` records and moves on
    if verdict.earlier:
        _passed(
            f"Step {chosen.id} was done earlier (seen done at {verdict.earlier}). The engine "
            "no longer shows all of it (a later step, or you, removed what it made), and that "
            "is fine: it stays done."
        )
        return
    if verdict.passed:
        _passed(f"Step {chosen.id} is done.")
        return
    _failed(f"Step {chosen.id} is not done yet: {verdict.message}")
    sys.exit(Exit.NOT_DONE)


@cli.command()
@click.argument("step", required=False)
@_boundary
def show(step):
    """Show a step's instructions (the current step by default); checks nothing.

    Example: workshop show
    """
    from workshop import render

    course = _course()
    lab, chosen = course.find(step)
    course.open(lab)  # seeing a lab's text starts it, as with `next`
    render.step(lab, chosen)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the progress as JSON.")
@_boundary
def status(as_json):
    """Show every lab's steps: done, current or to do.

    Example: workshop status --json
    """
    from workshop import course as course_module

    course = _course()
    table = course_module.status(course.labs, course.progress())
    if as_json:
        click.echo(json.dumps(table))
        return
    from workshop import render

    render.status(table)


@cli.command()
@_boundary
def hint():
    """Show a hint for the current step.

    Example: workshop hint
    """
    lab, step = _course().find(None)
    click.echo(f"Hint for {lab.id}/{step.id}: {step.hint}")


@cli.command()
@click.argument("step", required=False)
@_boundary
def solve(step):
    """Run a step's solution for real, printing each command first (for live demos).

    Example: workshop solve run-ls
    """
    from workshop.checks import prober
    from workshop.solve import solve as run_solution

    course = _course()
    lab, chosen = course.find(step)
    course.start(lab)
    run_solution(chosen, probe=prober(lab), cwd=lab.root)
    course.require_done(lab, chosen)
    _passed(f"Step {chosen.id} is done.")


@cli.command()
@click.argument("step")
@_boundary
def goto(step):
    """Catch up: solve every earlier step not yet done, then show STEP.

    Example: workshop goto isolation
    """
    from workshop import render
    from workshop.checks import prober
    from workshop.solve import solve as run_solution

    course = _course()
    lab, target = course.find(step)
    for earlier_lab, earlier in course.catch_up(lab, target):
        render.note(f"[bold]Catching up: {earlier_lab.id}/{earlier.id}[/]")
        run_solution(earlier, probe=prober(earlier_lab), cwd=earlier_lab.root)
        course.require_done(earlier_lab, earlier)
        _passed(f"Step {earlier.id} is done.")
    course.open(lab)  # what the learner does from now on counts
    render.step(lab, target)


@cli.command()
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing.")
@_boundary
def reset(dry_run, yes):
    """Undo what the labs did and start afresh (for a machine between classes).

    Lists, then removes: containers made from the labs' images (alpine, the Mysfits image) since
    the learner started each lab, the labs' tags on images they built, and their earlier builds;
    kit files a lab asked you to edit are restored (your copy is kept). Any other container or
    image is left alone. The old progress file is kept as a backup.

    Example: workshop reset --dry-run
    """
    from workshop import render
    from workshop import reset as resetting
    from workshop.engine import client

    if not (yes or dry_run or sys.stdin.isatty()):
        raise WorkshopError(
            "Reset asks before removing anything; with no terminal to ask in, pass --yes (or "
            "--dry-run to only look)."
        )
    course = _course()
    engine = client()
    doomed = resetting.plan(engine, course.labs, course.progress())
    if not doomed:
        render.note("The labs created nothing that is still on the engine.")
    for item in doomed:
        verb = "restore" if item.kind == "edit" else "remove"
        line = f"  would {verb} {item.description}" if dry_run else f"  {verb} {item.description}"
        render.note(line, markup=False)  # commands may hold brackets: not markup
    if dry_run:
        return
    if not yes and not click.confirm("Undo these and reset your progress?", default=False):
        render.note("Nothing removed.")
        return
    problems = resetting.apply(engine, doomed)
    for problem in problems:
        _failed(f"Could not undo {problem}")
    if problems:
        raise WorkshopError(
            "Progress was not reset, so that `workshop reset` can list and retry what is left; "
            "fix the problems above (a container of yours may be using a lab image) and run it "
            "again."
        )
    backup = course.store.reset()
    if backup:
        render.note(f"Progress reset; the old file is kept as {backup}.", markup=False)


@cli.command()
@_boundary
def doctor():
    """Say which Docker engine the kit talks to and why, and what may stop the labs.

    Example: workshop doctor
    """
    from rich.markup import escape

    from workshop import render
    from workshop.doctor import FAIL, diagnose

    findings = diagnose()
    marks = {"ok": "[green]ok  [/]", "warn": "[yellow]note[/]", "fail": "[red]FAIL[/]"}
    for finding in findings:
        render.note(f"{marks[finding.status]} {escape(f'{finding.topic}: {finding.detail}')}")
    if any(f.status == FAIL for f in findings):
        sys.exit(Exit.ERROR)


@cli.command()
@_boundary
def labs():
    """List the labs, in order, with how far you are in each.

    Example: workshop labs
    """
    course = _course()
    progress = course.progress()
    for lab in course.labs:
        done = sum(progress.is_done(lab.id, s.id) for s in lab.steps)
        click.echo(f"{lab.id:<12} {done}/{len(lab.steps)} steps  {lab.title}")
        if lab.summary:
            click.echo(f"{'':<12} {lab.summary}")


@cli.command()
@click.argument("labs_dir", required=False, type=click.Path(file_okay=False))
@_boundary
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
        click.echo(problem)
    if problems:
        sys.exit(Exit.ERROR)
    click.echo(f"{len(loaded)} lab(s), {sum(len(lab.steps) for lab in loaded)} steps: all sound.")


def main():
    cli(prog_name="workshop")
