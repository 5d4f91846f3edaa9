"""Stopping the server with a room's worth of open pages: Ctrl-C (SIGINT) or SIGTERM ends every
event stream first, exits 0 within a couple of seconds, prints no traceback, and keeps every
report it acknowledged."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import threading
import time

import pytest

from tests.classroom.support import Learner, verdict

STREAMS = 24  # dashboards and demo pages, half each
LEARNERS = 4


def open_stream(server, path: str, header: str) -> socket.socket:
    """A page's event stream, as a browser holds it: the request sent, the first bytes read."""
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: room\r\n{header}\r\n\r\n".encode())
    first = conn.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first
    return conn


def learner_loop(learner: Learner, acknowledged: list[int], stop: threading.Event) -> None:
    """Post reports one after another until the server goes; keep the seqs it answered 200."""
    while not stop.is_set():
        learner.seq += 1
        try:
            answer = learner.post(verdict(learner.seq, "first", False, "no-tty", "No tty."))
        except OSError:
            return
        if answer.status == 200:
            acknowledged.append(learner.seq)
        time.sleep(0.05)


def stored(db: str) -> dict[str, set[int]]:
    query = "SELECT l.name, r.seq FROM reports r JOIN learners l ON l.id = r.learner_id"
    if db.startswith("sqlite:///"):
        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(query).fetchall()
    else:
        import psycopg

        with psycopg.connect(db) as conn:
            rows = conn.execute(query).fetchall()
    found: dict[str, set[int]] = {}
    for name, seq in rows:
        found.setdefault(name, set()).add(seq)
    return found


STOPS = {
    "SIGINT": (signal.SIGINT, False),
    "SIGTERM": (signal.SIGTERM, False),
    # Ctrl-C in a terminal: SIGINT to the whole process group (with --workers, each worker too)
    "Ctrl-C": (signal.SIGINT, True),
}


@pytest.mark.parametrize("stop", list(STOPS))
def test_a_stop_ends_every_stream_and_keeps_every_report(make_server, db, stop):
    sig, group = STOPS[stop]
    workers = () if db.startswith("sqlite") else ("--workers", "2")
    server = make_server(db, *workers, group=group)
    streams = []
    for n in range(STREAMS):
        if n % 2:
            streams.append(
                open_stream(server, "/api/v1/room/events", f"Authorization: Bearer {server.secret}")
            )
        else:
            streams.append(
                open_stream(server, "/api/v1/demo/events", f"X-Join-Code: {server.code}")
            )
    learners = [server.join(f"Learner{n}") for n in range(LEARNERS)]
    acknowledged: dict[str, list[int]] = {lr.name: [] for lr in learners}
    finished = threading.Event()
    posting = [
        threading.Thread(target=learner_loop, args=(lr, acknowledged[lr.name], finished))
        for lr in learners
    ]
    for thread in posting:
        thread.start()
    time.sleep(1.5)  # reports flowing, every stream live
    assert all(acknowledged.values()), acknowledged

    started = time.monotonic()
    if group:
        os.killpg(server.process.pid, sig)
    else:
        server.process.send_signal(sig)
    code = server.process.wait(timeout=20)
    took = time.monotonic() - started
    finished.set()
    for thread in posting:
        thread.join(timeout=15)
    print(f"{stop} with {STREAMS} streams, {server.args or 'one worker'}: exit in {took:.2f} s")

    output = server.output()
    assert code == 0, output
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert "Traceback" not in output and "Error" not in output, output
    assert output.rstrip().endswith("every report it accepted is in the store.")
    for conn in streams:  # every stream was ended by the server, not left hanging
        conn.settimeout(5)
        rest = b""
        while chunk := conn.recv(65536):
            rest += chunk
        conn.close()
    kept = stored(db)
    for name, seqs in acknowledged.items():
        assert set(seqs) <= kept.get(name, set()), f"{name}: acknowledged {seqs}, kept {kept}"
