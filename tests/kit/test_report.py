"""The learner's side of the classroom without a server: the outbox, and a server that is down or
hangs. (With the real server: tests/kit/test_classroom_client.py.)"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.kit import curriculum
from workshop import report
from workshop.checks import Verdict
from workshop.errors import Exit


def joined(home, server="http://127.0.0.1:9", role="learner") -> None:
    """A membership as `workshop join` leaves it (for faults no real server can make)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / report.MEMBERSHIP).write_text(
        json.dumps({"server": server, "token": "t0k3n", "name": "Ada", "role": role})
    )


def test_nothing_is_queued_for_a_learner_who_has_not_joined(home):
    report.verdicts("demo", [Verdict("first", False, "No.", mistake="no-first-flag")], "check")
    assert report.pending() == []
    assert not (home / report.OUTBOX).exists()


def test_reports_get_increasing_seqs_kept_across_confirmations(home):
    joined(home)
    assert report.queue([{"kind": "left"}, {"kind": "left"}]) == [1, 2]
    report._confirm(home, 2)  # the server said it holds 1 and 2
    assert report.pending() == []
    assert report.queue([{"kind": "left"}]) == [3]  # never a seq the server already has
    assert [r["seq"] for r in report.pending()] == [3]


def test_a_torn_last_line_is_skipped_and_the_next_report_starts_a_line(home):
    joined(home)
    report.queue([{"kind": "left"}])
    with open(home / report.OUTBOX, "a") as outbox:
        outbox.write('{"seq": 2, "kind": "verd')  # a crash in the middle of a write
    assert [r["seq"] for r in report.pending()] == [1]
    assert report.queue([{"kind": "left"}]) == [2]
    assert [r["seq"] for r in report.pending()] == [1, 2]


def test_a_verdict_report_holds_exactly_the_documented_fields(home):
    joined(home)
    failed = Verdict("first", False, "x" * 700, mistake="no-first-flag")
    report.verdicts("demo", [failed, Verdict("second", True)], "next")
    first, second = report.pending()
    assert set(first) == set(report.FIELDS["verdict"])
    assert first["mistake"] == "no-first-flag" and first["via"] == "next"
    assert len(first["sentence"]) == report.SENTENCE_MAX and first["passed"] is False
    assert second["passed"] is True and second["sentence"] == "" and second["mistake"] == ""


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://host:8765", "is not a classroom server address"),
        ("http://", "is not a classroom server address"),
        ("http://host:8765/#key=s3cret", "carries more than the server's address"),
        ("http://host:port", "has a port that is not a number"),
        ("https://[::1", "is not a classroom server address"),  # a bracket left open
        ("http://host:99999", "has a port that is not a number from 1 to 65535"),
        ("http://host:8765 K7QX-2M9P", "has a space in it"),  # the line pasted in quotes
        ("http://host:8765/join", "is the projector page's address"),
    ],
)
def test_a_bad_server_address_is_a_usage_error(workshop, url, words):
    result = workshop("join", url, "K7QX-2M9P", "--name", "Ada")
    assert result.code == Exit.USAGE, result
    assert words in result.out and "Traceback" not in result.out


@pytest.mark.parametrize("name", ["NAME", "name", "<NAME>", "YOUR NAME"])
def test_the_placeholder_name_pasted_as_is_is_a_usage_error(workshop, home, name):
    """The projected line ends `--name NAME`: pasted as is, the room would get a learner called
    NAME (and the next one a taken name). Nothing is sent."""
    result = workshop("join", "http://127.0.0.1:9", "K7QX-2M9P", "--name", name)
    assert result.code == Exit.USAGE, result
    assert "put your own name in place of NAME" in result.out and "Traceback" not in result.out
    assert not (home / report.MEMBERSHIP).exists()


def test_joining_a_server_that_is_not_there_says_so(workshop, home):
    result = workshop("join", "http://127.0.0.1:9", "K7QX-2M9P", "--name", "Ada")
    assert result.code == Exit.ERROR, result
    assert "No classroom server answers at http://127.0.0.1:9" in result.out
    assert not (home / report.MEMBERSHIP).exists()


def test_leaving_when_not_joined_says_so(workshop):
    result = workshop("leave")
    assert result.code == 0 and "You are not in a classroom" in result.out, result


@pytest.fixture
def demo(tmp_path, monkeypatch, workshop):
    labs = curriculum.write(tmp_path)
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return tmp_path


def test_a_server_that_is_down_leaves_the_verdict_queued(demo, workshop, home):
    joined(home)  # port 9: nothing listens
    started = time.monotonic()
    result = workshop("check", "first")
    assert result.code == Exit.NOT_DONE, result
    assert time.monotonic() - started < 10
    [queued] = report.pending()
    assert queued["kind"] == "verdict" and queued["mistake"] == "no-first-flag"
    assert queued["via"] == "check" and queued["step"] == "first"
    again = workshop("check", "first")
    assert again.out == result.out  # the learner sees nothing of it
    assert [r["seq"] for r in report.pending()] == [1, 2]


@pytest.fixture
def hanging():
    """A server that accepts connections and never answers (a fault the real server cannot
    make): on loopback, closed after the test."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_server_that_hangs_costs_the_command_about_a_second(demo, workshop, home, hanging):
    joined(home)
    quiet = workshop("check", "first")  # a server that refuses at once: the output to expect
    joined(home, hanging)
    started = time.monotonic()
    slow = workshop("check", "first")
    took = time.monotonic() - started
    assert slow.code == Exit.NOT_DONE and slow.out == quiet.out, slow
    assert took < 4, took  # the command's own time, plus a bounded wait of about a second
    assert [r["mistake"] for r in report.pending() if r["kind"] == "verdict"] == [
        "no-first-flag",
        "no-first-flag",
    ]


def test_deliver_waits_no_longer_than_its_bound(home, hanging):
    joined(home, hanging)
    report.queue([{"kind": "left"}])
    started = time.monotonic()
    report.deliver(wait=0.5)
    assert time.monotonic() - started < 1.0
    assert len(report.pending()) == 1
    report._down_until[0] = 0.0  # this process gave up on the server: let later tests try


def test_watch_reports_its_verdicts_as_watch(home):
    joined(home)  # nothing listens: the verdict waits in the outbox
    report.watched("demo", [Verdict("first", False, "No flag.", mistake="no-first-flag")])
    [queued] = report.pending()
    assert queued["via"] == "watch" and queued["mistake"] == "no-first-flag"
    report._down_until[0] = 0.0
