"""The load balancer's access log, as lb.conf writes it (one line per request):

    2026-12-03T12:28:29+00:00 status=200 upstream=10.0.1.4:8080 upstream_status=200 \
        served_by=8cf7f4c4471c "GET /mysfits HTTP/1.1"

(one line in the log; cut in two here).

`status` is what the client got; `upstream` the replica(s) nginx asked (a refused one, then the
next: `10.0.1.4:8080, 10.0.1.6:8080`); `served_by` the X-Served-By header of the replica that
answered (its hostname, `-` when none did). A lab fact, not Docker's: it lives beside the checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

LINE = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d) status=(?P<status>\d{3}) "
    r"upstream=(?P<upstream>.*?) upstream_status=(?P<upstream_status>.*?) "
    r'served_by=(?P<served_by>\S+) "(?P<request>[^"]*)"'
)


@dataclass(frozen=True)
class Request:
    time: datetime
    status: int
    upstream: str
    served_by: str  # "" when no replica answered
    request: str

    @property
    def failed(self) -> bool:
        """The client got no answer from a replica: a 5xx of nginx's own (502 no replica, 504
        timed out) or of the app."""
        return self.status >= 500


def requests(text: str) -> list[Request]:
    """Every request line of a log (other lines, nginx's notices, are skipped), oldest first."""
    found = []
    for line in text.splitlines():
        match = LINE.search(line)
        if match is None:
            continue
        served = match["served_by"]
        found.append(
            Request(
                time=datetime.fromisoformat(match["time"]),
                status=int(match["status"]),
                upstream=match["upstream"].strip(),
                served_by="" if served == "-" else served,
                request=match["request"],
            )
        )
    return found
