"""The classroom under load, on loopback: simulated learners posting one report per second each.

Bounded in count and time, and stops by itself: SQLite with 1,000 learners, then PostgreSQL
(Debian's, started here in a temporary folder and stopped by its PID) with 1,000 learners and two
server workers. Prints reports/s, p50/p99 latency, and checks that every report answered 200 is
in the store. The load generator is one asyncio process speaking HTTP/1.1 keep-alive by hand
(one connection per learner), so the 2-core machine spends its time on the server.

Usage: python scripts/bench_classroom.py   (also run by scripts/bench.py; BENCH_CLASSROOM_SECONDS)
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
SECONDS = float(os.environ.get("BENCH_CLASSROOM_SECONDS", "25"))


class Connection:
    """One keep-alive HTTP/1.1 connection to the server on loopback."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, path: str, body: dict, token: str = "") -> tuple[int, dict]:
        """POST on this connection; one that the server closed while it was idle (its
        keep-alive timeout: the joins of a large room take longer) is opened again and the
        request sent again, as HTTP clients do (a report is stored once, by its `seq`)."""
        data = json.dumps(body).encode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{auth}Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise  # the server answered in part: not an idle connection it closed
            self.writer.close()
            await self.open()
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, json.loads(await self.reader.readexactly(length))


def report(seq: int) -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    step = ("first", "second", "third")[seq % 3]
    return {
        "seq": seq,
        "at": stamp,
        "kind": "verdict",
        "lab": "demo",
        "step": step,
        "passed": seq % 3 == 2,
        "mistake": "",
        "sentence": "",
        "via": "next",
    }


async def load(port: int, code: str, learners: int, seconds: float) -> dict:
    connections = [Connection(port) for _ in range(learners)]
    tokens = []
    for n, connection in enumerate(connections):
        await connection.open()
        status, body = await connection.post(
            "/api/v1/join", {"code": code, "name": f"bench {n}", "role": "learner"}
        )
        if status != 201:
            raise RuntimeError(f"join answered {status}: {body}")
        tokens.append(body["token"])
    latencies: list[float] = []  # from the request's send to its answer
    late: list[float] = []  # from the moment it was due to its send: the generator behind
    accepted = refused = 0
    stop = time.monotonic() + seconds

    async def learner(connection: Connection, token: str) -> None:
        nonlocal accepted, refused
        seq = 0
        await asyncio.sleep(random.random())  # spread the learners over the second
        due = time.monotonic()
        while due < stop:
            seq += 1
            start = time.monotonic()
            status, body = await connection.post(
                "/api/v1/reports", {"reports": [report(seq)]}, token
            )
            latencies.append(time.monotonic() - start)
            late.append(start - due)
            if status == 200 and body["stored_through"] == seq:
                accepted += 1
            else:
                refused += 1
            due += 1.0  # the next one is due a second after this one was, not after its answer
            await asyncio.sleep(max(0.0, due - time.monotonic()))

    cpu = time.process_time()
    began = time.monotonic()
    await asyncio.gather(*(learner(c, t) for c, t in zip(connections, tokens, strict=True)))
    elapsed = time.monotonic() - began
    cpu = time.process_time() - cpu
    for connection in connections:
        connection.writer.close()
    return {
        "accepted": accepted,
        "refused": refused,
        "rate": (accepted + refused) / elapsed,
        "p50": percentile(latencies, 0.50) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "late_p99": percentile(late, 0.99) * 1000,
        "late_max": max(late) * 1000,
        "cpu": cpu / elapsed * 100,
    }


def tree_cpu(root: int | None) -> float:
    """CPU seconds (user + system) used so far by process `root` and its live descendants
    (the server and its workers; PostgreSQL and its backends), from /proc."""
    if root is None:
        return 0.0
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        parents[int(entry)] = int(fields[1])
        spent[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    mine, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in mine:
            continue
        mine.add(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return sum(spent.get(pid, 0.0) for pid in mine)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(n) for n in stat.readline().split()[1:8]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def run_loop(work):
    try:
        import uvloop  # the server's own event loop: a lighter load generator too
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)


def run_one(
    label: str, db: str, learners: int, workers: int, goal_ms: float, home: Path, database=None
) -> None:
    """One run; `database` is the PostgreSQL server's PID, whose CPU is counted too."""
    sys.path.insert(0, str(KIT))
    from tests.classroom.support import Server, write_labs
    from workshop.classroom.store import open_store

    labs = write_labs(home / f"kit-{label}")
    server = Server(
        home / f"home-{label}",
        labs,
        db,
        ("--workers", str(workers), "--join-rate", "100000", "--report-rate", "100"),
    )
    server.start(timeout=60)
    try:
        cpu_before = tree_cpu(server.process.pid), tree_cpu(database), machine_busy()
        began = time.monotonic()
        figures = run_loop(load(server.port, server.code, learners, SECONDS))
        elapsed = time.monotonic() - began
        cpu_after = tree_cpu(server.process.pid), tree_cpu(database), machine_busy()
    finally:
        server.stop()
    served = (cpu_after[0] - cpu_before[0]) / elapsed * 100
    stored_cpu = (cpu_after[1] - cpu_before[1]) / elapsed * 100
    busy = (cpu_after[2][0] - cpu_before[2][0]) / elapsed * 100
    cores = (cpu_after[2][1] - cpu_before[2][1]) / elapsed * 100
    store = open_store(db)
    try:
        stored = store.count_reports()
    finally:
        store.close()
    verdict = "ok" if figures["p99"] < goal_ms else "MISSED"
    count = "ok" if stored == figures["accepted"] else "MISMATCH"
    print(f"  {label}: {learners} learners, {workers} worker(s), {SECONDS:.0f} s")
    print(
        f"    {figures['rate']:7.0f} reports/s; p50 {figures['p50']:6.1f} ms, p99 "
        f"{figures['p99']:6.1f} ms (goal: < {goal_ms:.0f} ms) {verdict}"
    )
    print(
        f"    load generator: {figures['cpu']:.0f}% of a core; sends behind schedule p99 "
        f"{figures['late_p99']:.1f} ms, max {figures['late_max']:.1f} ms"
    )
    others = busy - served - stored_cpu - figures["cpu"]
    database_cpu = f", PostgreSQL {stored_cpu:.0f}%" if database else ""
    print(
        f"    CPU, in % of a core: server {served:.0f}%{database_cpu}; the machine busy "
        f"{busy:.0f}% of {cores:.0f}%, of which {max(0.0, others):.0f}% is not this bench's"
    )
    print(
        f"    accepted {figures['accepted']}, refused {figures['refused']}; in the store "
        f"{stored}: {count}"
    )


def main() -> int:
    sys.path.insert(0, str(KIT))
    from tests.classroom.support import Postgres, postgres_bin

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    print()
    print("Classroom server under load (loopback; one asyncio load generator on the same cores)")
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        run_one("SQLite", f"sqlite:///{home / 'room.sqlite3'}", 1000, 1, 50, home)
        if postgres_bin() is None:
            print(
                "  PostgreSQL: skipped, no binaries under /usr/lib/postgresql/*/bin "
                "(scripts/classroom-deps installs them)"
            )
            return 0
        root = Path(tempfile.mkdtemp(prefix="workshop-pg-"))
        postgres = Postgres(root)
        try:
            postgres.start()
            db = postgres.create_database("bench")
            run_one("PostgreSQL", db, 1000, 2, 100, home, database=postgres.pid)
        finally:
            postgres.stop()
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
