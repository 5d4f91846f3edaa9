"""What every command shares: the error boundary, the classroom reports' delivery, the course.

`boundary` is the one place where the kit's errors become one sentence on stderr and an exit
code (`workshop.errors.Exit`), never a traceback.
"""

from __future__ import annotations

import functools
import sys

from workshop import render
from workshop.errors import Exit, WorkshopError

passed = render.passed
failed = render.failed


def error(text: str) -> None:
    render.say(f"Error: {text}", looks=("red",), err=True)


def engine_fault_of(exc: BaseException) -> bool:
    from workshop.engine import engine_fault

    return engine_fault(exc)


def _forget_interrupt() -> None:
    """CPython marks a Ctrl-C that lands inside an `exec` of source text as never caught, though
    the boundary catches it, and then ends the process with SIGINT instead of its exit status.
    Such an `exec` runs whenever a module defining a dataclass is imported (each method is made
    from text), so a Ctrl-C during a command's first moments would do it. Every `exec` of source
    text clears the mark before it runs."""
    exec("None")


def boundary(command):
    """Turn the kit's errors and Ctrl-C into one sentence and an exit code, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WorkshopError as exc:
            error(str(exc))
            sys.exit(exc.exit_code)
        except BrokenPipeError:  # `workshop ... | head`: the reader has all it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(Exit.OK)
        except Exception as exc:
            if isinstance(exc, OSError) and not engine_fault_of(
                exc
            ):  # docker's errors are OSErrors
                where = f" ({exc.filename})" if exc.filename else ""
                error(
                    f"{exc.strerror or exc}{where}: check that the file exists and is yours, "
                    "then run the command again."
                )
                sys.exit(Exit.ERROR)
            if not engine_fault_of(exc):
                raise  # a bug in the kit: its traceback is what its authors need
            from workshop.engine import engine_error

            error(str(engine_error(exc)))
            sys.exit(Exit.ERROR)
        except KeyboardInterrupt:
            _forget_interrupt()
            render.say(
                "\nInterrupted. Every step recorded so far is kept; run the command again "
                "when you are ready.",
                looks=("yellow",),
                err=True,
            )
            sys.exit(Exit.INTERRUPTED)

    return wrapper


def open_course(via: str = ""):
    from workshop.course import Course

    return Course(via=via)


def reporting(command):
    """For a learner who joined a classroom: once the command is done (and has printed), deliver
    the reports it queued, waiting about a second at most; a server that does not answer leaves
    them queued for the next command. Never changes the command's outcome."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        finally:
            from workshop import state

            if state.queued():  # else there is nothing to send (nor code to load)
                from workshop import report

                report.deliver()

    return wrapper


def all_done(course, ref: str | None, message: str) -> bool:
    """With no STEP and every step of every lab done: say so (exit 0), as there is no current
    step."""
    if ref:
        return False
    from workshop.course import position

    if position(course.labs, course.progress()).step is not None:
        return False
    passed(message)
    return True
