"""The classroom's commands: join and leave (a learner's), the classroom group (serve, export)."""

from __future__ import annotations

import sys

import click

from workshop import render
from workshop.cli._shared import boundary, passed, reporting
from workshop.errors import UsageError


@click.command(short_help="Join your instructor's classroom (opt-in).")
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
@boundary
@reporting
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

    joined = report.join_room(url, code, name, instructor=instructor, pin=pin, ca_file=ca_file)
    member = joined.member
    role = " as instructor" if member.role == "instructor" else ""
    passed(f"Joined the classroom at {member.server} as {member.name}{role}.")
    if joined.differs:
        render.say(joined.differs, looks=("yellow",))
    if member.mirror or member.index:
        served = [f"its registry mirror {member.mirror}"] if member.mirror else []
        served += [f"its package index {member.index}"] if member.index else []
        render.say(
            f"This room serves what the labs fetch: {' and '.join(served)}. "
            "`workshop doctor` checks that you can use them (and says how to set your engine)."
        )
    if joined.not_ready:
        render.say(
            f"Your machine is not ready yet ({joined.not_ready}); "
            "`workshop doctor` says more, and sends the room the result again.",
            looks=("yellow",),
        )
    else:
        render.say("Your machine's readiness was sent to the room.")
    if member.role == "instructor":
        render.say("`workshop solve` now streams each command and its output to the demo page.")


@click.command(short_help="Leave the classroom: nothing more is sent.")
@boundary
def leave():
    """Leave the classroom you joined: the room is told, and nothing more is sent.

    Example: workshop leave
    """
    from workshop import report

    left = report.leave()
    if left is None:
        render.say("You are not in a classroom: nothing to leave.")
        return
    passed(f"Left the classroom at {left.member.server}; nothing more is sent.")
    if left.delivered:
        return
    render.say(
        f"The server did not answer in time, so {left.waiting} report(s), the room's notice "
        "that you left among them, were not delivered and are dropped.",
        looks=("yellow",),
    )


@click.group(short_help="Run a classroom: live dashboard of your learners' steps.")
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
@click.option(
    "--mirror",
    metavar="URL",
    default="",
    help="An offline room: the registry mirror learners' engines pull through "
    "(http://HOST:PORT), handed to each learner at join.",
)
@click.option(
    "--index",
    metavar="URL",
    default="",
    help="An offline room: the Python package index the builds install from "
    "(http://HOST:PORT/simple/), handed to each learner at join.",
)
@boundary
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
    mirror,
    index,
):
    """Start the classroom server; print the lines learners paste and your dashboard link.

    With --host 0.0.0.0 it prints a join line for each address of this machine that learners
    could use (the default route's first; container bridges left out); --url names the one
    address instead. /join is a page for the projector: the line and its QR code, no secret.
    The dashboard link and the instructor's line are printed apart: not for the projector.

    The store is an SQLite file in the state folder unless --db names another file or a
    PostgreSQL database (needed for --workers above 1). Restarting on the same store keeps the
    join code, the secret and every report. Ctrl-C or SIGTERM stops it cleanly.

    --mirror and --index make it an offline room: each learner is given them at join, and
    their `workshop doctor` checks that their engine pulls through the mirror and that every
    image and package the labs need is there; the dashboard shows who cannot pull.

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
        mirror=mirror,
        index=index,
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
@boundary
def export_(as_json, as_csv, db):
    """Print the room from the store: each learner's done steps, current step, stuck, ready.

    Reads the store directly: the server need not run. Stuck is judged with the rules the
    server last started with on this store (its --stuck-... options). With no store there
    (no server has run on it), says so and exits 1.

    Example: workshop classroom export --csv > room.csv
    """
    from workshop.classroom import export

    if as_json and as_csv:
        raise UsageError("Choose one of --json and --csv.")
    view = export.room(db)
    if as_csv:
        click.echo(export.as_csv(view), nl=False)
    else:
        import json  # here: --help need not load it

        click.echo(json.dumps(export.as_json(view), indent=2))


COMMANDS = [join, leave, classroom]
