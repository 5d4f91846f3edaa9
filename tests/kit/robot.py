"""The robot learner as a separate process: `python -m tests.kit.robot LAB STEP...` types each
step's solution exactly as the lab shows it (interactive ones through a pseudo-terminal), as a
learner in another terminal would, and records nothing: seeing the work is the watcher's job."""

from __future__ import annotations

import io
import sys

from workshop.checks import prober
from workshop.labs import Command, find_lab, load_labs
from workshop.solve import run_command


def type_(run: str, *lines: str, check=True) -> str:
    """Type one command as a learner would (lines go to the container's prompt); its output."""
    out = io.StringIO()
    try:
        run_command(Command(run=run, type=tuple(lines)), out)
    except Exception:
        if check:
            raise
    return out.getvalue()


def main(lab_id: str, *steps: str) -> None:
    lab = find_lab(load_labs(), lab_id)
    for step_id in steps:
        for command in lab.step(step_id).solution:
            run_command(command, sys.stdout, prober(lab), lab.root)


if __name__ == "__main__":
    main(*sys.argv[1:])
