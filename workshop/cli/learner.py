"""The learner's commands: next, watch, check, show, status, hint, labs."""

from __future__ import annotations

import sys

import click

from workshop import render
from workshop.cli._shared import all_done, boundary, failed, open_course, passed, reporting
from workshop.cli.checking import check_step
from workshop.errors import Exit


@click.command("next", short_help="Check the current step; when done, show the next one.")
@boundary
@reporting
def next_():
    """Check the current step; when it is done, record it and show the next one.

    If you ran ahead, every step already done is recorded in one go.

    \b
    Exit status: 0 done (or nothing to check), 3 not done yet,
    1 an error (no engine answers, say), 130 interrupted.

    Example: workshop next
    """
    course = open_course("next")
    advance = course.advance()
    for step_id in advance.recorded:
        passed(f"Step {step_id} is done.")
    if advance.finished is not None:
        passed(f"Lab complete: {advance.finished.title}. Well done!")
    if advance.failed is not None and not advance.recorded:
        failed(f"Step {advance.failed.step} is not done yet: {advance.failed.message}")
        render.say("Fix it, then run `workshop next` again (`workshop hint` helps).", ("dim",))
        sys.exit(Exit.NOT_DONE)
    if advance.now.step is None:
        passed("Every lab is done. Well played! `workshop status` shows your progress.")
        return
    render.step(advance.now.lab, advance.now.step)


@click.command(short_help="Follow your work live: re-check the step as you type, move on.")
@click.option(
    "--plain", is_flag=True, help="Plain appended lines: no redrawing, colour or symbols."
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, writable=True),
    help="Append a JSON line per check (when, why, how long) to this file.",
)
@boundary
def watch(plain, log):
    """Follow your work live: the current step is checked again the moment the engine shows
    something you did (a container ran, an image was pulled or built, an exec), recorded as
    `workshop next` would, and the next step comes up by itself.

    Keep it open in one terminal and type the steps' commands in another. Keys: h hint,
    s the step's whole text, q quit (Ctrl-C too). --plain prints plain lines instead of
    redrawing the screen, for screen readers, logs and simple terminals; it is also what you
    get when the output is not a terminal.

    Example: workshop watch
    """
    from pathlib import Path

    from workshop.watch import Watch

    plain = plain or not sys.stdout.isatty()
    code = Watch(open_course(), sys.stdout, plain=plain, log=Path(log) if log else None).run()
    sys.exit(code)


@click.command(short_help="Check a step against the engine; records nothing.")
@click.argument("step", required=False)
def check(step):
    """Check one step against the engine (the current step by default); records nothing.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    \b
    Exit status: 0 done, 3 not done yet, 1 an error (no engine answers, say),
    2 no such step, 130 interrupted.

    Example: workshop check run-ls
    """
    check_step(step)


@click.command(short_help="Show a step's instructions again; checks nothing.")
@click.argument("step", required=False)
@boundary
def show(step):
    """Show a step's instructions (the current step by default); checks and records nothing.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    Example: workshop show
    """
    course = open_course()
    if all_done(
        course, step, "Every step of every lab is done: `workshop show STEP` shows any step again."
    ):
        return
    lab, chosen = course.find(step)
    render.step(lab, chosen)


@click.command(short_help="Show every lab's steps: done, current or to do.")
@click.option("--json", "as_json", is_flag=True, help="Print the progress as JSON.")
@boundary
def status(as_json):
    """Show every lab's steps: done, current or to do.

    Example: workshop status --json
    """
    from workshop import course as course_module

    course = open_course()
    table = course_module.status(course.labs, course.progress())
    if as_json:
        import json  # here: --help need not load it

        click.echo(json.dumps(table))
        return
    render.status(table)


@click.command(short_help="Show a hint for the current step.")
@boundary
def hint():
    """Show a hint for the current step.

    Example: workshop hint
    """
    course = open_course()
    if all_done(course, None, "Every step of every lab is done: no hint needed."):
        return
    lab, step = course.find(None)
    render.say(f"Hint for {lab.id}/{step.id}: {step.hint}")


@click.command(short_help="List the labs and how far you are in each.")
@click.option("--json", "as_json", is_flag=True, help="Print the labs as JSON (for scripts).")
@boundary
def labs(as_json):
    """List the labs, in order, with how far you are in each.

    --json prints one object: {"kit": "0.2.0 (git ...)", "labs": [{"id", "title", "summary",
    "folder", "steps": ["step-id", ...], "done": N, "total": N, "working_copy": {"kit path":
    "where the learner's copy is"}}]}.

    Example: workshop labs --json
    """
    from workshop.course import labs_json

    shown = labs_json(open_course())
    if as_json:
        import json  # here: --help need not load it

        click.echo(json.dumps(shown, indent=2))
        return
    for lab in shown["labs"]:
        click.echo(f"{lab['id']:<12} {lab['done']}/{lab['total']} steps  {lab['title']}")
        if lab["summary"]:
            render.say(lab["summary"], indent=13)


COMMANDS = [next_, watch, check, show, status, hint, labs]
