"""What gunicorn writes, read by the lab's checks: why a server stopped (the last exception or
error line, without gunicorn's stamps and its lines on the way down) and the requests of its
access log (the combined format, gunicorn's default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXCEPTION = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception)\b:?.*$")
_STAMPED = re.compile(r"^\[[^\]]*\] \[\d+\] \[[A-Z]+\] ")
# the lines a server writes on its way down, after the one that says why
_ENDING = re.compile(r"^(Reason: |Shutting down|Worker exiting|Worker \(pid:\d+\) exited)")


def log_gist(text: str, limit: int = 220) -> str:
    """The line of a log that says why a program stopped: the last exception, else the last
    error line (timestamps stripped), else the last line."""
    lines = [_STAMPED.sub("", line).strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    telling = [line for line in lines if not _ENDING.match(line)]
    lines = telling or lines
    exceptions = [line for line in lines if _EXCEPTION.match(line)]
    failures = [
        line for line in lines if "failed" in line.lower() or line.lower().startswith("error")
    ]
    gist = (exceptions or failures or lines)[-1]
    return gist if len(gist) <= limit else gist[: limit - 3] + "..."


@dataclass(frozen=True)
class Request:
    """One line of an HTTP access log in the combined format (gunicorn's default)."""

    client: str
    method: str
    target: str
    status: int
    agent: str

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def from_loopback(self) -> bool:
        """Sent from inside the container itself (a healthcheck, an exec)."""
        return self.client in ("::1", "localhost") or self.client.startswith("127.")


_ACCESS = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<target>\S+) [^"]*" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"'
)


def access_log(text: str) -> list[Request]:
    """The requests in a log, oldest first; other lines are ignored."""
    found = []
    for line in text.splitlines():
        match = _ACCESS.match(line.strip())
        if match:
            found.append(
                Request(
                    client=match["client"],
                    method=match["method"],
                    target=match["target"],
                    status=int(match["status"]),
                    agent=match["agent"],
                )
            )
    return found
