"""The server as a process, learners over HTTP, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.classroom.support import KIT, now, row, verdict


def test_a_report_shows_in_the_room(server):
    ada = server.join("Ada")
    assert ada.report("first", True).body == {"stored_through": 1}
    assert (
        ada.report("second", False, "wrong-image", "That container ran another image.").status
        == 200
    )
    room = server.room()
    ada_row = row(room, "Ada")
    assert ada_row["done"] == ["first"] and ada_row["current"] == "second"
    assert ada_row["cells"] == {"first": "done", "second": "current", "third": "todo"}
    second = next(s for s in room["steps"] if s["id"] == "second")
    assert second["here"] == 1
    assert second["mistakes"][0]["label"] == "1 learner: That container ran another image."


def test_the_same_mistake_three_times_is_stuck(server):
    bo = server.join("Bo")
    for _ in range(2):
        bo.report("first", False, "no-tty", "The shell has no terminal: add -it.")
    assert not row(server.room(), "Bo")["stuck"]
    bo.report("first", False, "no-tty", "The shell has no terminal: add -it.")
    bo_row = row(server.room(), "Bo")
    assert bo_row["stuck"] and bo_row["cells"]["first"] == "stuck", bo_row


def test_a_resent_batch_is_stored_once(server):
    cy = server.join("Cy")
    batch = [verdict(1, "first", True), verdict(2, "second", False)]
    assert cy.post(*batch).body == {"stored_through": 2}
    assert cy.post(*batch, verdict(3, "second", True)).body == {"stored_through": 3}
    assert cy.post(verdict(2, "second", False)).body == {"stored_through": 3}
    exported = server.instructor("/api/v1/export?format=json").body
    assert row(exported, "Cy")["done"] == ["first", "second"]


def test_restart_on_the_same_store_keeps_every_report_and_the_secrets(make_server, db):
    first = make_server(db)
    learners = [first.join(f"L{n}") for n in range(5)]
    for learner in learners:
        for step in ("first", "second"):
            assert learner.report(step, True).status == 200
    assert first.stop(signal.SIGTERM) == 0, first.output()
    assert "Traceback" not in first.output()
    again = make_server(db)
    assert (again.code, again.secret) == (first.code, first.secret)
    room = again.room()
    assert sorted(r["name"] for r in room["learners"]) == [f"L{n}" for n in range(5)]
    assert all(r["done"] == ["first", "second"] for r in room["learners"])
    learners[0].server = again  # the learner's token still works: its hash was stored
    assert learners[0].post(verdict(2, "second", True)).body == {"stored_through": 2}


def test_every_report_answered_200_survives_a_kill(make_server, db):
    """Many learners at once: on SQLite one writer commits the reports of every request waiting
    in one transaction, and answers each only after that commit; so a server killed outright
    (SIGKILL: no shutdown, no flush) has stored every report it answered 200."""
    from workshop.classroom.store import open_store

    server = make_server(db, "--report-rate", "1000")  # no 429 before the kill
    learners = [server.join(f"K{n}") for n in range(24)]
    answered: dict[int, int] = {}  # learner id -> the last stored_through answered with 200
    stop = threading.Event()

    def keep_reporting(learner) -> None:
        while not stop.is_set():
            try:
                answer = learner.report("first", False)
            except Exception:  # the server died under this request: no answer, no promise
                return
            if answer.status != 200:
                return
            assert answer.body == {"stored_through": learner.seq}
            answered[learner.id] = learner.seq

    threads = [threading.Thread(target=keep_reporting, args=(each,)) for each in learners]
    for thread in threads:
        thread.start()
    time.sleep(2)
    assert all(thread.is_alive() for thread in threads), "a learner stopped before the kill"
    server.process.kill()
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(answered.values()) > len(learners), "too few reports to prove anything"
    store = open_store(db)
    try:
        stored = collections.Counter(row[1] for row in store.reports_after(0, limit=1_000_000))
    finally:
        store.close()
    short = {who: (seq, stored[who]) for who, seq in answered.items() if stored[who] < seq}
    assert not short, f"answered 200 but not stored (learner: answered, stored): {short}"


def test_ctrl_c_stops_cleanly(make_server, db):
    server = make_server(db)
    server.join("Ada").report("first", True)
    assert server.stop(signal.SIGINT) == 0
    assert "Traceback" not in server.output()
    assert "every report it accepted is in the store" in server.output()


def test_two_workers_on_postgres(make_server, postgres):
    url = postgres.create_database("workers")
    server = make_server(url, "--workers", "2")
    learners = [server.join(f"W{n}") for n in range(10)]
    for learner in learners:
        assert learner.report("first", True).status == 200
    room = server.room()
    assert sorted(r["name"] for r in room["learners"]) == sorted(f"W{n}" for n in range(10))
    assert all(r["done"] == ["first"] for r in room["learners"])


# -- the command's faults -------------------------------------------------------------------------


def serve(tmp_path, labs, *args, timeout=30):
    env = {"WORKSHOP_HOME": str(tmp_path / "h"), "WORKSHOP_LABS": str(labs), "PATH": "/usr/bin"}
    return subprocess.run(
        [sys.executable, "-m", "workshop", "classroom", "serve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=KIT,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--db", "mysql://x"], "must start with sqlite:/// or postgresql://"),
        (["--db", "sqlite://"], "names no file"),
        (["--workers", "2"], "SQLite serves one worker only"),
        (["--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"], "does not exist"),
        (["--tls-cert", "/nonexistent.pem"], "needs both --tls-cert and --tls-key"),
        (["--db", "postgresql://postgres@127.0.0.1:1/none"], "Cannot reach PostgreSQL"),
    ],
)
def test_faults_are_one_sentence(tmp_path, labs, args, words):
    done = serve(tmp_path, labs, *args)
    assert done.returncode in (1, 2), done
    assert words in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_port_in_use_is_one_sentence(tmp_path, labs, server):
    done = serve(tmp_path, labs, "--port", str(server.port))
    assert done.returncode == 1
    assert f"Port {server.port} on 127.0.0.1 is in use" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


# -- export ---------------------------------------------------------------------------------------


def export(server, *args):
    return subprocess.run(
        [sys.executable, "-m", "workshop", "classroom", "export", *args, "--db", server.db],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=KIT,
    )


def test_export_reads_the_store(server):
    ada, bo = server.join("Ada"), server.join("Bo")
    ada.report("first", True)
    for _ in range(3):
        bo.report("first", False, "no-tty", "The shell has no terminal: add -it.")
    ada.post({"seq": 5, "at": now(), "kind": "readiness", "ready": True, "findings": []})
    done = export(server, "--json")
    assert done.returncode == 0, done.stderr
    learners = {r["name"]: r for r in json.loads(done.stdout)["learners"]}
    assert learners["Ada"] | {} == learners["Ada"]
    assert {k: learners["Ada"][k] for k in ("done", "current", "stuck", "ready")} == {
        "done": ["first"],
        "current": "second",
        "stuck": False,
        "ready": True,
    }
    assert {k: learners["Bo"][k] for k in ("done", "current", "stuck", "ready")} == {
        "done": [],
        "current": "first",
        "stuck": True,
        "ready": False,
    }
    csv = export(server, "--csv")
    assert csv.returncode == 0, csv.stderr
    lines = csv.stdout.splitlines()
    assert lines[0].startswith("name,done,current,stuck")
    assert lines[1].startswith("Ada,first,second,no,") and lines[2].startswith("Bo,,first,yes,")


def test_export_judges_stuck_with_the_rules_the_server_ran_with(make_server, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}", "--stuck-repeats", "5")
    bo = server.join("Bo")
    for _ in range(3):  # stuck by the default rule (3 in a row), not by this server's (5)
        bo.report("first", False, "no-tty", "The shell has no terminal: add -it.")
    assert not row(server.room(), "Bo")["stuck"]
    exported = export(server, "--json")
    assert exported.returncode == 0, exported.stderr
    assert not row(json.loads(exported.stdout), "Bo")["stuck"]
    for _ in range(2):
        bo.report("first", False, "no-tty", "The shell has no terminal: add -it.")
    exported = export(server, "--json")
    assert row(json.loads(exported.stdout), "Bo")["stuck"]
    assert row(server.room(), "Bo")["stuck"]


def test_export_over_http_needs_the_secret(server):
    assert server.get("/api/v1/export?format=csv").status == 401
    answer = server.instructor("/api/v1/export?format=csv")
    assert answer.status == 200 and answer.body.startswith("name,done")
