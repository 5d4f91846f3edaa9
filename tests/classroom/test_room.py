"""Pure logic: the room folded from reports, the validation, the rate limiter (no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workshop.classroom import validate
from workshop.classroom.catalog import Catalog, StepInfo
from workshop.classroom.limits import Limiter
from workshop.classroom.room import Room, Rules, percentile

CATALOG = Catalog(
    steps=(StepInfo("a", "one", "One"), StepInfo("a", "two", "Two"), StepInfo("b", "three", "3")),
    mistakes={"a": frozenset({"no-tty", "typo"}), "b": frozenset()},
)
T0 = 1_000_000.0


def verdict(step, passed, mistake="", sentence=""):
    lab = CATALOG.lab_of(step)
    return {
        "lab": lab,
        "step": step,
        "passed": passed,
        "mistake": mistake,
        "sentence": sentence,
        "via": "next",
    }


def room_of(*names, rules=None):
    room = Room(CATALOG, rules or Rules())
    for n, name in enumerate(names, start=1):
        room.join(n, name, "learner", T0)
    return room


def cells(room, now=T0):
    return {r["name"]: r["cells"] for r in room.view(now)["learners"]}


def test_passing_moves_to_the_next_step_across_labs():
    room = room_of("Ada")
    room.apply(1, "verdict", T0, verdict("one", True))
    room.apply(1, "verdict", T0 + 1, verdict("two", True))
    assert cells(room)["Ada"] == {"one": "done", "two": "done", "three": "current"}
    room.apply(1, "verdict", T0 + 2, verdict("three", True))
    view = room.view(T0 + 3)["learners"][0]
    assert view["current"] is None and view["done"] == ["one", "two", "three"]


def test_a_learner_with_no_report_has_not_started():
    assert cells(room_of("Ada"))["Ada"] == {"one": "todo", "two": "todo", "three": "todo"}


def test_a_failed_check_of_a_done_step_changes_nothing():
    room = room_of("Ada")
    room.apply(1, "verdict", T0, verdict("one", True))
    room.apply(1, "verdict", T0 + 1, verdict("one", False, "typo"))
    assert cells(room)["Ada"]["two"] == "current"


@pytest.mark.parametrize("repeats", [2, 3])
def test_stuck_after_the_same_mistake_repeats_times(repeats):
    room = room_of("Ada", rules=Rules(repeats=repeats))
    for n in range(repeats):
        assert cells(room)["Ada"]["one"] != "stuck"
        room.apply(1, "verdict", T0 + n, verdict("one", False, "no-tty", "Add -it."))
    assert cells(room)["Ada"]["one"] == "stuck"


def test_another_mistake_between_resets_the_streak():
    room = room_of("Ada")
    for mistake in ("no-tty", "no-tty", "typo", "no-tty"):
        room.apply(1, "verdict", T0, verdict("one", False, mistake))
    assert cells(room)["Ada"]["one"] == "current"


def test_the_percentile_rule_compares_with_the_rooms_times():
    room = room_of(*[f"L{n}" for n in range(7)], rules=Rules(percentile=90, min_seconds=60))
    for n in range(1, 7):
        room.apply(n, "verdict", T0, verdict("one", False))
        room.apply(n, "verdict", T0 + 100, verdict("one", True))
    room.apply(7, "verdict", T0, verdict("one", False))
    slow = {r["name"]: r for r in room.view(T0 + 90)["learners"]}["L6"]
    assert slow["cells"]["one"] == "current" and not slow["stuck"]
    later = {r["name"]: r for r in room.view(T0 + 1000)["learners"]}["L6"]
    assert later["stuck"] and "min on this step" in later["why_stuck"], later


def test_the_most_common_mistakes_per_step():
    room = room_of("A", "B", "C", "D")
    for learner, mistake in ((1, "no-tty"), (2, "no-tty"), (3, "typo")):
        room.apply(learner, "verdict", T0, verdict("one", False, mistake, f"About {mistake}."))
    one = room.view(T0)["steps"][0]
    assert one["here"] == 3
    assert [m["label"] for m in one["mistakes"]] == [
        "2 learners: About no-tty.",
        "1 learner: About typo.",
    ]


def test_readiness_says_who_is_not_ready_and_why():
    room = room_of("Ada", "Bo", "Cy")
    room.apply(1, "readiness", T0, {"ready": True, "findings": []})
    room.apply(
        2,
        "readiness",
        T0,
        {
            "ready": False,
            "findings": [
                {"status": "ok", "topic": "engine", "detail": "20.10"},
                {"status": "fail", "topic": "disk", "detail": "1 GB free"},
            ],
        },
    )
    readiness = room.view(T0)["readiness"]
    assert readiness["ready"] == 1
    assert readiness["not_ready"] == [
        {"name": "Bo", "because": ["disk: 1 GB free"]},
        {"name": "Cy", "because": ["no readiness report yet (`workshop doctor` sends one)"]},
    ]


def test_pace_and_instructors_are_not_learners():
    room = room_of("Ada", "Bo", "Cy")
    room.join(4, "Teacher", "instructor", T0)
    room.apply(1, "verdict", T0, verdict("one", False))
    room.apply(1, "verdict", T0 + 120, verdict("one", True))
    room.apply(2, "verdict", T0, verdict("one", False))
    room.apply(3, "verdict", T0, verdict("one", False))
    room.apply(4, "demo", T0, {"what": "command", "text": "docker ps"})
    view = room.view(T0 + 130)
    assert [r["name"] for r in view["learners"]] == ["Ada", "Bo", "Cy"]
    assert view["pace"] == {
        "learners": 3,
        "steps_done_last_10_min": 1,
        "median_steps_done": 0,
        "median_minutes_per_step": 2.0,
        "most_are_on": "one",
    }
    assert room.demo_view() == [{"n": 0, "at": T0, "what": "command", "text": "docker ps"}]


def test_percentile():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 90) == pytest.approx(19)
    assert percentile([7], 90) == 7


def test_the_limiter_refills_per_key():
    limiter = Limiter(rate=2, burst=3)
    assert [limiter.take("a", 0) for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a", 0) == pytest.approx(0.5)
    assert limiter.take("b", 0) == 0  # another key is not affected
    assert limiter.take("a", 0.5) == 0  # half a second later: one more


@pytest.mark.parametrize(("raw", "kept"), [("  Zoë  ", "Zoë"), ("A  B", "A B"), ("d'Arc", "d'Arc")])
def test_names_are_trimmed(raw, kept):
    assert validate.name(raw) == kept


def test_a_batch_with_one_bad_report_is_refused_whole():
    good = {"seq": 1, "at": "2026-11-25T09:00:00Z", "kind": "verdict", **verdict("one", True)}
    bad = {**good, "seq": 2, "mistake": "no-such"}
    with pytest.raises(validate.Invalid, match="names no mistake"):
        validate.reports({"reports": [good, bad]}, "learner", CATALOG)
    assert validate.reports({"reports": [good]}, "learner", CATALOG)[0]["seq"] == 1


# -- the demo, as a terminal shows it ----------------------------------------------------------

SESSION = Path(__file__).parent / "fixtures" / "busybox-session.json"


def demo_of(pieces) -> list[dict]:
    room = room_of()
    room.join(99, "Teacher", "instructor", T0)
    for n, (what, text) in enumerate(pieces):
        room.apply(99, "demo", T0 + n, {"what": what, "text": text})
    return room.demo_view()


def test_an_interactive_shell_reads_as_on_a_terminal():
    """Recorded from `workshop solve` typing into busybox's sh and ash in `docker run -it` (the
    image pulled first: docker's progress lines are redrawn in place, one layer at a time)."""
    pieces = json.loads(SESSION.read_text())
    raw = "".join(text for what, text in pieces if what == "output")
    assert "/ # \r/ # \x1b[J" in raw and "\x1b[1A\x1b[2K" in raw  # what the page used to show

    shown = demo_of([("step", "An interactive shell"), *pieces])
    assert [e["what"] for e in shown] == ["step", "command", "output", "command", "output"]
    assert [e["n"] for e in shown] == [0, 1, 2, 3, 4]
    first, second = shown[2]["text"].splitlines(), shown[4]["text"].splitlines()
    assert not any(c in shown[2]["text"] + shown[4]["text"] for c in "\x1b\r\b")
    assert first[:3] == [
        "Unable to find image 'alpine:latest' locally",
        "latest: Pulling from library/alpine",
        "011a70505cee: Pull complete",
    ]
    assert first[-3:] == [
        "/ # ls",
        "bin   dev   etc   home  proc  root  sbin  sys   tmp   usr   var",
        "/ # exit",
    ]
    assert second[-4:] == [
        '/ # echo "hello world" > hello.txt',
        "/ # cat hello.txt",
        "hello world",
        "/ # exit",
    ]


def test_a_piece_may_end_inside_an_escape_sequence():
    text = "loading 10%\r\x1b[2Kloading 100%\n\x1b[31mred\x1b[0m and plain\nab\bc\n"
    whole = demo_of([("command", "x"), ("output", text)])[1]["text"]
    for cut in range(1, len(text)):
        pieces = [("command", "x"), ("output", text[:cut]), ("output", text[cut:])]
        assert demo_of(pieces)[1]["text"] == whole
    assert whole == "loading 100%\nred and plain\nac"


def test_plain_output_keeps_its_lines_and_a_long_one_wraps_as_on_the_terminal():
    lines = [f"line {n}" for n in range(60)]  # more than a screen: the scrollback is kept
    shown = demo_of([("command", "seq"), ("output", "\n".join(lines) + "\n"), ("command", "y")])
    assert shown[1]["text"].splitlines() == lines
    wide = demo_of([("command", "w"), ("output", "x" * 130)])[1]["text"]
    assert wide.splitlines() == ["x" * 100, "x" * 30]
