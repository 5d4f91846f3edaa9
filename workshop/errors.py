"""The kit's exceptions and exit statuses, in one place.

Domain code raises a `WorkshopError` carrying one sentence that names the problem and its fix;
the command line turns it into that sentence and `exit_code`, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # something stopped the command: the message says what and how to fix it
    USAGE = 2  # the command was called wrongly (click's own code for usage errors)
    NOT_DONE = 3  # the command worked, and the step it looked at is not done yet
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class WorkshopError(Exception):
    """A problem the learner or instructor can fix; `str()` is the whole message."""

    exit_code = Exit.ERROR


class UsageError(WorkshopError):
    """The command named something that does not exist (a step, a lab)."""

    exit_code = Exit.USAGE


class EngineUnavailable(WorkshopError):
    """No Docker engine answers where the kit (and the learner's `docker`) looks for one."""


class LabFileError(WorkshopError):
    """A lab's files are malformed; the message names the file and, where known, the line."""

    def __init__(self, path, problem: str, line: int | None = None):
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}")


class ProgressError(WorkshopError):
    """The progress file cannot be used as it is."""
