"""The learner's side of the classroom against the real server: `workshop classroom serve` started
as a process on loopback (its SQLite store in tmp), learners as separate `workshop` processes with
their own state folders, on the fixture curriculum (its checks need no engine)."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.kit import curriculum
from tests.kit.fixtures import KIT, Workshop
from workshop import report
from workshop.errors import Exit

pytest.importorskip("workshop.classroom.app", reason="needs the classroom server")


SERVE = [sys.executable, "-m", "workshop", "classroom", "serve"]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`workshop classroom serve` on loopback, stopped (by its PID) when the test ends."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.env = env
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = root / "room.db"
        self.process: subprocess.Popen | None = None
        self.code = self.secret = ""

    def start(self) -> Server:
        log = open(self.root / "server.log", "a")  # noqa: SIM115 -- the process writes it
        self.process = subprocess.Popen(
            [*SERVE, "--port", str(self.port), "--db", f"sqlite:///{self.db}"],
            env={**self.env, "WORKSHOP_HOME": str(self.root / "server-home")},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=KIT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            text = (self.root / "server.log").read_text()
            learner = re.search(r"^workshop join \S+ (\S+) --name NAME$", text, re.M)
            teacher = re.search(r"^workshop join \S+ (\S+) --name NAME --instructor$", text, re.M)
            if learner and teacher and self._healthy():
                self.code, self.secret = learner.group(1), teacher.group(1)
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"the classroom server did not start:\n{text}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def get(self, path: str, **headers) -> dict:
        asked = urllib.request.Request(f"{self.url}{path}", headers=headers)
        with urllib.request.urlopen(asked, timeout=5) as answer:
            return json.loads(answer.read())

    def room(self) -> dict:
        return self.get("/api/v1/room", Authorization=f"Bearer {self.secret}")

    def stored(self, name: str) -> list[tuple[int, str, dict]]:
        """Every report the store holds for learner `name`, in the order stored (read-only)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT r.seq, r.kind, r.data FROM reports r JOIN learners l "
                "ON l.id = r.learner_id WHERE l.name = ? ORDER BY r.id",
                (name,),
            ).fetchall()
        return [(seq, kind, json.loads(data)) for seq, kind, data in rows]


@pytest.fixture
def labs(tmp_path, monkeypatch):
    folder = curriculum.write(tmp_path)
    monkeypatch.setenv("WORKSHOP_LABS", str(folder))
    monkeypatch.setenv("WORKSHOP_REGISTRY", "off")  # readiness asks no registry from the tests
    return folder


@pytest.fixture
def server(tmp_path, labs):
    running = Server(tmp_path, dict(os.environ)).start()
    yield running
    running.stop()


def learner(tmp_path: Path, name: str) -> Workshop:
    """A learner of their own: a separate state folder, the fixture curriculum."""
    return Workshop({**os.environ, "WORKSHOP_HOME": str(tmp_path / name), "COLUMNS": "200"})


def me(server: Server, name: str) -> dict:
    return next(one for one in server.room()["learners"] if one["name"] == name)


@pytest.mark.engine  # the readiness report says which engine answered
def test_join_sends_readiness_and_a_check_sends_its_mistake(tmp_path, server):
    ada = learner(tmp_path, "ada")
    joined = ada("join", server.url, server.code, "--name", "Ada")
    assert joined.code == 0, joined
    assert f"Joined the classroom at {server.url} as Ada." in joined.out
    [(seq, kind, readiness)] = server.stored("Ada")
    assert (seq, kind) == (1, "readiness")
    assert set(readiness) >= set(report.FIELDS["readiness"]) - {"seq", "kind", "at"}
    assert readiness["engine"]["kind"] and readiness["builder"] in ("buildkit", "legacy")
    assert "ready" in me(server, "Ada")

    checked = ada("check", "first")
    assert checked.code == Exit.NOT_DONE, checked
    *_, (seq, kind, verdict) = server.stored("Ada")
    assert (seq, kind) == (2, "verdict")
    assert verdict["step"] == "first" and verdict["passed"] is False
    assert verdict["mistake"] == "no-first-flag" and verdict["via"] == "check"
    assert verdict["sentence"].startswith("The first flag is missing")
    assert me(server, "Ada")["mistake"] == "no-first-flag"
    assert not (tmp_path / "ada" / report.OUTBOX).exists()  # nothing left waiting


def test_reports_wait_while_the_server_is_down_then_arrive_once_in_order(tmp_path, server):
    bo = learner(tmp_path, "bo")
    assert bo("join", server.url, server.code, "--name", "Bo").code == 0
    server.stop()
    for _ in range(3):
        started = time.monotonic()
        down = bo("check", "first")
        assert down.code == Exit.NOT_DONE and "Traceback" not in down.out, down
        assert time.monotonic() - started < 5
    waiting = [
        json.loads(line) for line in (tmp_path / "bo" / report.OUTBOX).read_text().splitlines()
    ]
    assert [r["seq"] for r in waiting] == [2, 3, 4]

    server.start()  # the same store: the same code, secret and learners
    assert bo("check", "first").code == Exit.NOT_DONE  # delivers what waited, then its own
    assert not (tmp_path / "bo" / report.OUTBOX).exists()
    stored = server.stored("Bo")
    assert [(seq, kind) for seq, kind, _ in stored] == [
        (1, "readiness"),
        (2, "verdict"),
        (3, "verdict"),
        (4, "verdict"),
        (5, "verdict"),
    ]
    assert bo("check", "first").code == Exit.NOT_DONE
    assert [seq for seq, _, _ in server.stored("Bo")] == [1, 2, 3, 4, 5, 6]  # each once
    assert me(server, "Bo")["stuck"]  # the same mistake, again and again


def test_a_wrong_code_and_a_taken_name_are_one_sentence_each(tmp_path, server):
    cy = learner(tmp_path, "cy")
    wrong = cy("join", server.url, "XXXX-XXXX", "--name", "Cy")
    assert wrong.code == Exit.ERROR, wrong
    assert f"The classroom at {server.url} did not accept that join code" in wrong.out
    assert "Traceback" not in wrong.out and not (tmp_path / "cy" / report.MEMBERSHIP).exists()
    assert cy("join", server.url, server.code, "--name", "Cy").code == 0
    twin = learner(tmp_path, "twin")("join", server.url, server.code, "--name", "Cy")
    assert twin.code == Exit.ERROR and "Someone in the room is already called 'Cy'" in twin.out


def test_leave_tells_the_room_and_stops_reporting(tmp_path, server):
    di = learner(tmp_path, "di")
    assert di("join", server.url, server.code, "--name", "Di").code == 0
    left = di("leave")
    assert left.code == 0 and f"Left the classroom at {server.url}" in left.out, left
    assert [kind for _, kind, _ in server.stored("Di")] == ["readiness", "left"]
    assert me(server, "Di")["left"]
    assert not (tmp_path / "di" / report.MEMBERSHIP).exists()
    di("check", "first")
    assert [kind for _, kind, _ in server.stored("Di")] == ["readiness", "left"]


def test_a_store_that_forgot_the_learner_is_said_once(tmp_path, server):
    ed = learner(tmp_path, "ed")
    assert ed("join", server.url, server.code, "--name", "Ed").code == 0
    server.stop()
    server.db.unlink()  # a new store: no learner, new code
    server.start()
    first = ed("check", "first")
    assert first.code == Exit.NOT_DONE
    assert "no longer knows you" in first.out and "workshop join" in first.out, first
    second = ed("check", "first")
    assert "no longer knows you" not in second.out


@pytest.mark.engine
def test_an_instructors_solve_streams_the_step_each_command_and_its_output(tmp_path, server, labs):
    teacher = learner(tmp_path, "teacher")
    joined = teacher("join", server.url, server.secret, "--name", "Teacher", "--instructor")
    assert joined.code == 0 and "as instructor" in joined.out, joined
    solved = teacher("solve", "second")
    assert solved.code == 0, solved
    demo = server.get("/api/v1/demo", **{"X-Join-Code": server.code})["demo"]
    text = json.dumps(demo)
    assert "Second step" in text and f"touch {labs.parent / 'flags'}/second" in text
    kinds = [data["what"] for _, kind, data in server.stored("Teacher") if kind == "demo"]
    assert kinds[:2] == ["step", "command"]
    verdicts = [data for _, kind, data in server.stored("Teacher") if kind == "verdict"]
    assert verdicts[-1]["via"] == "solve" and verdicts[-1]["passed"] is True


def test_a_command_that_died_after_sending_resends_and_the_server_keeps_each_once(
    tmp_path, server, monkeypatch
):
    fay = learner(tmp_path, "fay")
    assert fay("join", server.url, server.code, "--name", "Fay").code == 0
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "fay"))
    report.queue([{"at": "2026-01-01T00:00:00Z", "kind": "left"}])
    member = report.membership()
    # delivered, then the command died before it could trim its outbox
    assert report._send(member, report.pending(), time.monotonic() + 5) == 2
    assert [r["seq"] for r in report.pending()] == [2]
    assert fay("check", "first").code == Exit.NOT_DONE  # resends 2, then sends its verdict
    assert [seq for seq, _, _ in server.stored("Fay")] == [1, 2, 3]
    assert report.pending() == []
