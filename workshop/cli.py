"""The `workshop` command: each command parses, calls one plain function, and prints.

Only this module imports click. Heavy modules (docker, pytest, the Markdown parser) are
imported inside the commands that need them, so `workshop --help` stays instant. What is printed
goes through `workshop.render`: wrapped on word boundaries, commands never broken, colour only on
a terminal without NO_COLOR.
"""

from __future__ import annotations

import functools
import sys

import click

from workshop import render
from workshop.errors import Exit, UsageError, WorkshopError


def _dumps(value, **options) -> str:
    """JSON text (json is imported here: `workshop --help` does not need it)."""
    import json

    return json.dumps(value, **options)


_passed = render.passed
_failed = render.failed


def _error(text: str) -> None:
    render.say(f"Error: {text}", looks=("red",), err=True)


def _engine_fault(exc: BaseException) -> bool:
    from workshop.checks import engine_fault

    return engine_fault(exc)


def _boundary(command):
    """Turn the kit's errors and Ctrl-C into one sentence and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WorkshopError as exc:
            _error(str(exc))
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # `workshop ... | head`: the reader has all it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(Exit.OK)
        except Exception as exc:
            if isinstance(exc, OSError) and not _engine_fault(exc):  # docker's errors are OSErrors
                where = f" ({exc.filename})" if exc.filename else ""
                _error(
                    f"{exc.strerror or exc}{where}: check that the file exists and is yours, "
                    "then run the command again."
                )
                sys.exit(Exit.ERROR)
            if not _engine_fault(exc):
                raise  # a bug in the kit: its traceback is what its authors need
            from workshop.checks import engine_error

            _error(str(engine_error(exc)))
            sys.exit(Exit.ERROR)
        except KeyboardInterrupt:
            render.say(
                "\nInterrupted. Every step recorded so far is kept; run the command again "
                "when you are ready.",
                looks=("yellow",),
                err=True,
            )
            sys.exit(Exit.INTERRUPTED)

    return wrapper


def _course(via: str = ""):
    from workshop.course import Course

    return Course(via=via)


def _reporting(command):
    """For a learner who joined a classroom: once the command is done (and has printed), deliver
    the reports it queued, waiting about a second at most; a server that does not answer leaves
    them queued for the next command. Never changes the command's outcome."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        finally:
            from workshop import report

            report.deliver()

    return wrapper


def _all_done(course, ref: str | None, message: str) -> bool:
    """With no STEP and every step of every lab done: say so (exit 0), as there is no current
    step."""
    if ref:
        return False
    from workshop.course import position

    if position(course.labs, course.progress()).step is not None:
        return False
    _passed(message)
    return True


def _show_version(context, _parameter, value):
    if not value or context.resilient_parsing:
        return
    from workshop.version import kit_version

    click.echo(f"workshop, version {kit_version()}")
    context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the kit's version and the commit it comes from (two copies told apart).",
)
def cli():
    """A hands-on Docker workshop, checked against your real Docker engine.

    Start with `workshop next`: it shows the first step. Type the docker commands it shows in
    your terminal, then run `workshop next` again to have them checked.

    \b
    Exit status, for every command:
      0    done
      1    an error: the message says what stopped the command and how to fix it
      2    a usage error (a wrong option, an unknown step or lab)
      3    the step looked at is not done yet (next, check)
      130  interrupted (Ctrl-C)
    """


@cli.command("next", short_help="Check the current step; when done, show the next one.")
@_boundary
@_reporting
def next_():
    """Check the current step; when it is done, record it and show the next one.

    If you ran ahead, every step already done is recorded in one go.

    \b
    Exit status: 0 done (or nothing to check), 3 not done yet,
    1 an error (no engine answers, say), 130 interrupted.

    Example: workshop next
    """
    course = _course("next")
    advance = course.advance()
    for step_id in advance.recorded:
        _passed(f"Step {step_id} is done.")
    if advance.finished is not None:
        _passed(f"Lab complete: {advance.finished.title}. Well done!")
    if advance.failed is not None and not advance.recorded:
        _failed(f"Step {advance.failed.step} is not done yet: {advance.failed.message}")
        render.say("Fix it, then run `workshop next` again (`workshop hint` helps).", ("dim",))
        sys.exit(Exit.NOT_DONE)
    if advance.now.step is None:
        _passed("Every lab is done. Well played! `workshop status` shows your progress.")
        return
    render.step(advance.now.lab, advance.now.step)


@cli.command(short_help="Follow your work live: re-check the step as you type, move on.")
@click.option(
    "--plain", is_flag=True, help="Plain appended lines: no redrawing, colour or symbols."
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False, writable=True),
    help="Append a JSON line per check (when, why, how long) to this file.",
)
@_boundary
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
    code = Watch(_course(), sys.stdout, plain=plain, log=Path(log) if log else None).run()
    sys.exit(code)


@cli.command(short_help="Check a step against the engine; records nothing.")
@click.argument("step", required=False)
@_boundary
@_reporting
def check(step):
    """Check one step against the engine (the current step by default); records nothing.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    \b
    Exit status: 0 done, 3 not done yet, 1 an error (no engine answers, say),
    2 no such step, 130 interrupted.

    Example: workshop check run-ls
    """
    course = _course("check")
    if _all_done(
        course, step, "Every step of every lab is done: there is no current step to check."
    ):
        return
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


@cli.command(short_help="Show a step's instructions again; checks nothing.")
@click.argument("step", required=False)
@_boundary
def show(step):
    """Show a step's instructions (the current step by default); checks and records nothing.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    Example: workshop show
    """
    course = _course()
    if _all_done(
        course, step, "Every step of every lab is done: `workshop show STEP` shows any step again."
    ):
        return
    lab, chosen = course.find(step)
    render.step(lab, chosen)


@cli.command(short_help="Show every lab's steps: done, current or to do.")
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
        click.echo(_dumps(table))
        return
    render.status(table)


@cli.command(short_help="Show a hint for the current step.")
@_boundary
def hint():
    """Show a hint for the current step.

    Example: workshop hint
    """
    course = _course()
    if _all_done(course, None, "Every step of every lab is done: no hint needed."):
        return
    lab, step = course.find(None)
    render.say(f"Hint for {lab.id}/{step.id}: {step.hint}")


@cli.command(short_help="Run a step's solution for real (for live demos).")
@click.argument("step", required=False)
@_boundary
@_reporting
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

    course = _course("solve")
    lab, chosen = course.find(step)
    course.start(lab)
    stream = None
    if report.is_instructor():
        stream = report.DemoStream()
        stream.step(f"{lab.title}: {chosen.title} ({lab.id}/{chosen.id})")
    run_solution(chosen, probe=prober(lab), cwd=lab.root, tee=stream)
    course.require_done(lab, chosen)
    _passed(f"Step {chosen.id} is done.")


@cli.command(short_help="Catch up: solve every earlier step, then show STEP.")
@click.argument("step")
@_boundary
@_reporting
def goto(step):
    """Catch up: solve the earlier steps not yet done (of STEP's lab and of the labs it
    builds on), then show STEP.

    STEP is a step id such as run-ls, or lab/id to name the lab too (any case), or the
    step's number in the current lab, such as 3.

    Example: workshop goto isolation
    """
    from workshop.checks import prober
    from workshop.solve import solve as run_solution

    course = _course("goto")
    lab, target = course.find(step)
    for earlier_lab, earlier in course.catch_up(lab, target):
        render.say(f"Catching up: {earlier_lab.id}/{earlier.id}", ("bold",))
        run_solution(earlier, probe=prober(earlier_lab), cwd=earlier_lab.root)
        course.require_done(earlier_lab, earlier)
        _passed(f"Step {earlier.id} is done.")
    course.open(lab)  # what the learner does from now on counts
    render.step(lab, target)


@cli.command(short_help="Undo what the labs did and start afresh.")
@click.option("--dry-run", is_flag=True, help="List what would be removed, remove nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before removing.")
@_boundary
def reset(dry_run, yes):
    """Undo what the labs did and start afresh (for a machine between classes).

    Lists, then removes: containers made from the labs' images (their manifests name them) since
    the learner started each lab, the labs' tags on images they built, and their earlier builds;
    kit files a lab asked you to edit are restored (from git in a clone, from the kit's own copy
    into your working copy when the kit is installed; your version is kept). Any other container or
    image is left alone. The old progress file is kept as a backup.

    Example: workshop reset --dry-run
    """
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
        _failed(f"Could not undo {problem}")
    if problems:
        raise WorkshopError(
            "Progress was not reset, so that `workshop reset` can list and retry what is left; "
            "fix the problems above (a container of yours may be using a lab image) and run it "
            "again."
        )
    backup = course.store.reset()
    if backup:
        render.say(f"Progress reset; the old file is kept as {backup}.")


@cli.command(short_help="Say which Docker engine the kit uses, and what may go wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON (for scripts).")
@_boundary
@_reporting
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
            _dumps(
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


@cli.command(short_help="List the labs and how far you are in each.")
@click.option("--json", "as_json", is_flag=True, help="Print the labs as JSON (for scripts).")
@_boundary
def labs(as_json):
    """List the labs, in order, with how far you are in each.

    --json prints one object: {"kit": "0.2.0 (git ...)", "labs": [{"id", "title", "summary",
    "folder", "steps": ["step-id", ...], "done": N, "total": N, "working_copy": {"kit path":
    "where the learner's copy is"}}]}.

    Example: workshop labs --json
    """
    course = _course()
    progress = course.progress()
    if as_json:
        from workshop.version import kit_version

        shown = []
        for lab in course.labs:
            shown.append(
                {
                    "id": lab.id,
                    "title": lab.title,
                    "summary": lab.summary,
                    "folder": str(lab.folder),
                    "steps": [s.id for s in lab.steps],
                    "done": sum(progress.is_done(lab.id, s.id) for s in lab.steps),
                    "total": len(lab.steps),
                    "working_copy": {p: str(lab.paths.path(p)) for p in lab.working_copy},
                }
            )
        click.echo(_dumps({"kit": kit_version(), "labs": shown}, indent=2))
        return
    for lab in course.labs:
        done = sum(progress.is_done(lab.id, s.id) for s in lab.steps)
        click.echo(f"{lab.id:<12} {done}/{len(lab.steps)} steps  {lab.title}")
        if lab.summary:
            render.say(lab.summary, indent=13)


@cli.command(short_help="Check lab content (for lab authors).")
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
        render.say(problem)
    if problems:
        sys.exit(Exit.ERROR)
    click.echo(f"{len(loaded)} lab(s), {sum(len(lab.steps) for lab in loaded)} steps: all sound.")


@cli.command(short_help="Prove a lab on your engine (for lab authors).")
@click.argument("lab")
@click.option(
    "--labs",
    "labs_dir",
    type=click.Path(file_okay=False),
    help="The folder holding the labs (default: the kit's labs/).",
)
@_boundary
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
        (_passed if ok else _failed)(text)

    outcome = prove_lab(lab, Path(labs_dir) if labs_dir else None, say)
    for problem in outcome.problems:
        _failed(f"not undone: {problem}")
    if not outcome.proven:
        _failed(f"Lab {lab} is not proven: fix what the lines marked ✘ say, then prove it again.")
        sys.exit(Exit.ERROR)
    _passed(f"Lab {lab} is proven: {len(outcome.claims)} claims hold.")


@cli.command(short_help="Join your instructor's classroom (opt-in).")
@click.argument("url")
@click.argument("code")
@click.option("--name", required=True, help="Your name as the room shows it (1-40 characters).")
@click.option(
    "--instructor", is_flag=True, help="Join as the instructor (CODE is the instructor secret)."
)
@click.option(
    "--pin",
    metavar="sha256:…",
    default="",
    help="The HTTPS server's certificate fingerprint, as the join line shows it.",
)
@click.option(
    "--ca-file",
    metavar="PEM",
    default="",
    help="Trust the HTTPS server through this certificate authority (your room's own).",
)
@_boundary
@_reporting
def join(url, code, name, instructor, pin, ca_file):
    """Join your instructor's classroom at URL with the room's join CODE.

    From then on `next`, `check`, `solve`, `goto` and `doctor` send the room their verdicts:
    the step, done or not, the mistake's id and sentence, and when; joining sends the result
    of `workshop doctor`, and your kit's version and the ids of its labs, steps and mistakes.
    Nothing else: no command you type, no file of yours. `workshop leave` stops it. Paste the
    line your instructor shows, with your name.

    An HTTPS room's line ends with `--pin sha256:…`, the fingerprint of its certificate: it is
    checked before anything is sent, and for every later report. A kit whose labs or version
    differ from the room's still joins, and is told what differs and how to catch up.

    Example: workshop join http://192.168.1.20:8765 K7QX-2M9P --name "Ada L"
    """
    from workshop import report
    from workshop.doctor import examine

    joined = report.join(url, code, name, instructor=instructor, pin=pin, ca_file=ca_file)
    member = joined.member
    role = " as instructor" if member.role == "instructor" else ""
    _passed(f"Joined the classroom at {member.server} as {member.name}{role}.")
    if joined.differs:
        render.say(joined.differs, looks=("yellow",))
    findings, facts = examine()
    report.readiness(findings, facts)
    failing = [f for f in findings if f.status == "fail"]
    if failing:
        render.say(
            f"Your machine is not ready yet ({failing[0].topic}: {failing[0].detail}); "
            "`workshop doctor` says more, and sends the room the result again.",
            looks=("yellow",),
        )
    else:
        render.say("Your machine's readiness was sent to the room.")
    if member.role == "instructor":
        render.say("`workshop solve` now streams each command and its output to the demo page.")


@cli.command(short_help="Leave the classroom: nothing more is sent.")
@_boundary
def leave():
    """Leave the classroom you joined: the room is told, and nothing more is sent.

    Example: workshop leave
    """
    from workshop import report

    left = report.leave()
    if left is None:
        render.say("You are not in a classroom: nothing to leave.")
        return
    if left.delivered:
        _passed(f"Left the classroom at {left.member.server}; nothing more is sent.")
        return
    _passed(f"Left the classroom at {left.member.server}; nothing more is sent.")
    render.say(
        f"The server did not answer in time, so {left.waiting} report(s), the room's notice "
        "that you left among them, were not delivered and are dropped.",
        looks=("yellow",),
    )


@cli.group(short_help="Run a classroom: live dashboard of your learners' steps.")
def classroom():
    """Run a classroom: learners join with `workshop join`, and you watch the room live.

    `serve` starts the server and prints the line learners paste; `export` prints the room.

    Example: workshop classroom serve --host 0.0.0.0
    """


@classroom.command(short_help="Start the classroom server and print the join line.")
@click.option(
    "--db",
    metavar="URL",
    help="sqlite:///PATH (default: a file in the state "
    "folder) or postgresql://USER:PASSWORD@HOST:PORT/DB.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 for the whole room.",
)
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Server processes (more than 1 needs PostgreSQL).",
)
@click.option(
    "--url",
    metavar="URL",
    help="The address learners use, when not this machine's own (a DNS name, a NAT, a proxy); "
    "only its join line is printed.",
)
@click.option("--tls-cert", metavar="PEM", help="Serve HTTPS with this certificate ...")
@click.option("--tls-key", metavar="PEM", help="... and this private key.")
@click.option(
    "--tls-self-signed",
    is_flag=True,
    help="Serve HTTPS with a self-signed certificate made once (kept in the state folder); the "
    "join line carries its fingerprint.",
)
@click.option(
    "--stuck-repeats",
    default=3,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Stuck: the same mistake this many times in a row.",
)
@click.option(
    "--stuck-percentile",
    default=90.0,
    show_default=True,
    type=click.FloatRange(1, 100),
    help="Stuck: longer on a step than this percentile of the room's times on it.",
)
@click.option(
    "--stuck-minutes",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0),
    help="... and at least this many minutes.",
)
@click.option(
    "--join-rate",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Joins per second allowed from one address (a burst of 30 first).",
)
@click.option(
    "--report-rate",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Report requests per second allowed per learner (a burst of 20 first).",
)
@_boundary
def serve(
    db,
    host,
    port,
    workers,
    url,
    tls_cert,
    tls_key,
    tls_self_signed,
    stuck_repeats,
    stuck_percentile,
    stuck_minutes,
    join_rate,
    report_rate,
):
    """Start the classroom server; print the lines learners paste and your dashboard link.

    With --host 0.0.0.0 it prints a join line for each address of this machine that learners
    could use (the default route's first; container bridges left out); --url names the one
    address instead. /join is a page for the projector: the line and its QR code, no secret.
    The dashboard link and the instructor's line are printed apart: not for the projector.

    The store is an SQLite file in the state folder unless --db names another file or a
    PostgreSQL database (needed for --workers above 1). Restarting on the same store keeps the
    join code, the secret and every report. Ctrl-C or SIGTERM stops it cleanly.

    The server is an extra of the kit: `pip install 'docker-workshop-kit[classroom]'` (in the
    kit's clone: `make classroom`); PostgreSQL also needs the 'postgres' extra.

    Example: workshop classroom serve --host 0.0.0.0 --tls-self-signed
    """
    from workshop.classroom import require

    require("classroom")  # a learner's install has no server: one sentence says how to add it
    if (db or "").lower().startswith(("postgresql:", "postgres:")):
        require("postgres")
    from workshop.classroom.room import Rules
    from workshop.classroom.serve import Options, lines, prepare, run

    options = Options(
        db=db,
        host=host,
        port=port,
        workers=workers,
        tls_cert=tls_cert,
        tls_key=tls_key,
        tls_self_signed=tls_self_signed,
        url=url,
        rules=Rules(
            repeats=stuck_repeats, percentile=stuck_percentile, min_seconds=stuck_minutes * 60
        ),
        join_rate=join_rate,
        learner_rate=report_rate,
    )
    opened = prepare(options)
    for line in lines(opened):
        click.echo(line)
    sys.stdout.flush()
    run(options, opened)
    click.echo("Classroom stopped; every report it accepted is in the store.")


@classroom.command("export", short_help="Print the room (who is where) as JSON or CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV, one row per learner.")
@click.option("--db", metavar="URL", help="The store to read (default: the state folder's).")
@_boundary
def export_(as_json, as_csv, db):
    """Print the room from the store: each learner's done steps, current step, stuck, ready.

    Reads the store directly: the server need not run. Stuck is judged with the rules the
    server last started with on this store (its --stuck-... options). With no store there
    (no server has run on it), says so and exits 1.

    Example: workshop classroom export --csv > room.csv
    """
    import time

    from workshop.classroom import catalog, export
    from workshop.classroom.live import Live
    from workshop.classroom.room import Rules
    from workshop.classroom.store import open_store

    if as_json and as_csv:
        raise UsageError("Choose one of --json and --csv.")
    if (db or "").lower().startswith(("postgresql:", "postgres:")):
        from workshop.classroom import require

        require("postgres")
    store = open_store(db, create=False)  # none yet: say so, do not make an empty one
    try:
        live = Live(store, catalog.load(), Rules.from_json(store.rules()))
        live.refresh()
        view = live.view(time.time())
    finally:
        store.close()
    if as_csv:
        click.echo(export.as_csv(view), nl=False)
    else:
        click.echo(_dumps(export.as_json(view), indent=2))


def main():
    cli(prog_name="workshop")
