"""`workshop check`'s plain function, importable without click (the entry point's fast path)."""

from __future__ import annotations

import sys

from workshop.cli._shared import all_done, boundary, failed, open_course, passed, reporting
from workshop.errors import Exit


@boundary
@reporting
def check_step(step: str | None) -> None:
    """Check STEP (the current step when None) against the engine; record nothing. Exits 3 when
    it is not done."""
    course = open_course("check")
    if all_done(
        course, step, "Every step of every lab is done: there is no current step to check."
    ):
        return
    lab, chosen = course.find(step)
    verdict = course.check(lab, [chosen], record=False)[0]  # `next` records and moves on
    if verdict.earlier:
        passed(
            f"Step {chosen.id} was done earlier (seen done at {verdict.earlier}). The engine "
            "no longer shows all of it (a later step, or you, removed what it made), and that "
            "is fine: it stays done."
        )
        return
    if verdict.passed:
        passed(f"Step {chosen.id} is done.")
        return
    failed(f"Step {chosen.id} is not done yet: {verdict.message}")
    sys.exit(Exit.NOT_DONE)
