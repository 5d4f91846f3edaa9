"""The `workshop` command: each command parses, calls one plain function, and prints.

Only this package imports click. The root group is in `root`; the commands live by concern in
`learner` (next, watch, check, show, status, hint, labs), `instructor` (solve, goto, reset,
doctor, lint, prove), `classroom` (join, leave, and the classroom group: serve, export) and
`room` (the offline room: room prepare, serve-images, check; bundle save, load), and what they
share (the error boundary, the classroom reports' delivery) in `_shared`. Heavy modules
(docker, pytest, the Markdown parser) are imported inside the commands that need them, so
`workshop --help` stays instant. What is printed goes through `workshop.render`: wrapped on word
boundaries, commands never broken, colour only on a terminal without NO_COLOR.
"""

from __future__ import annotations

import sys

from workshop.cli._shared import boundary as _boundary  # noqa: F401  (the kit's tests wrap
from workshop.cli._shared import open_course as _course  # noqa: F401  a command in these)


def main():
    """The `workshop` entry point. A bare `workshop check [STEP]` (what a learner and `watch`'s
    classroom of editors run over and over) goes straight to its plain function, the same one
    the click command calls: importing click costs about as much as the check's own work.
    Everything else, `check --help` included, goes through click."""
    argv = sys.argv[1:]
    if argv[:1] == ["check"] and len(argv) <= 2 and not any(a.startswith("-") for a in argv):
        from workshop.cli.checking import check_step

        check_step(argv[1] if len(argv) == 2 else None)
        sys.exit(0)
    from workshop.cli.root import cli

    cli(prog_name="workshop")


def __getattr__(name: str):
    if name == "cli":  # `from workshop.cli import cli`: the click group, imported on demand
        from workshop.cli.root import cli

        return cli
    raise AttributeError(name)
