"""The room, folded from the learners' reports (pure: no I/O, no clock of its own).

Each learner has a cell per step: done, current, stuck or not started. Stuck means the same
mistake `repeats` times in a row on the current step, or time on the current step above the
room's `percentile` of the times learners took (or are taking) on that step, once there are
`min_samples` such times and at least `min_seconds` have passed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from workshop.classroom.catalog import Catalog

DONE, CURRENT, STUCK, TODO = "done", "current", "stuck", "todo"


@dataclass(frozen=True)
class Rules:
    repeats: int = 3
    percentile: float = 90.0
    min_seconds: float = 120.0
    min_samples: int = 5

    def to_json(self) -> dict:
        """The rules `serve --stuck-...` sets, as the server's settings and the store keep them."""
        return {
            "repeats": self.repeats,
            "percentile": self.percentile,
            "min_seconds": self.min_seconds,
        }

    @classmethod
    def from_json(cls, stored: dict) -> Rules:
        """Rules as `to_json` wrote them (the defaults for what is missing or unreadable)."""
        known = {"repeats": int, "percentile": float, "min_seconds": float}
        try:
            return cls(**{key: kind(stored[key]) for key, kind in known.items() if key in stored})
        except (TypeError, ValueError):
            return cls()


@dataclass
class Learner:
    id: int
    name: str
    role: str
    joined: float
    left: bool = False
    done: dict[str, float] = field(default_factory=dict)  # step id -> when it passed
    took: dict[str, float] = field(default_factory=dict)  # step id -> seconds it took
    current: str | None = None
    since: float = 0.0  # when the current step became current
    streak_mistake: str = ""
    streak: int = 0
    mistake: str = ""  # the latest mistake seen on the current step
    readiness: dict | None = None
    last_seen: float = 0.0
    kit: dict | None = None  # {version, digest, differs, what}, recorded at join


NO_KIT = {"version": "", "digest": "", "differs": False, "what": ""}  # joined before kits were told


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Room:
    def __init__(self, catalog: Catalog, rules: Rules | None = None):
        self.catalog = catalog
        self.rules = rules or Rules()
        self.learners: dict[int, Learner] = {}
        self.sentences: dict[tuple[str, str], str] = {}  # (lab, mistake) -> latest sentence
        self.demo: list[dict] = []
        self.demo_version = 0  # grows with every change to `demo` (an entry may change in place)
        self._terminal = None  # the current command's output: a classroom.terminal.Terminal
        self._drawn = True  # whether that entry's text shows all its terminal was fed

    def join(
        self, learner_id: int, name: str, role: str, joined: float, kit: dict | None = None
    ) -> None:
        known = self.learners.get(learner_id)
        if known is None:
            self.learners[learner_id] = Learner(learner_id, name, role, joined, kit=kit)
        else:  # joined again, with the kit they hold now
            known.kit = kit

    def apply(self, learner_id: int, kind: str, at: float, data: dict) -> None:
        learner = self.learners.get(learner_id)
        if learner is None:
            return
        learner.last_seen = max(learner.last_seen, at)
        learner.left = kind == "left"  # a report after leaving: they joined again
        if kind == "verdict":
            self._verdict(learner, at, data)
        elif kind == "readiness":
            learner.readiness = data
        elif kind == "demo":
            self._demo(at, data["what"], data["text"])

    def _demo(self, at: float, what: str, text: str) -> None:
        """A step, a command, or a piece of a command's output: the pieces of one command are
        played on one terminal, and its entry shows what that terminal shows (read when the
        demo is looked at, not at each piece: a store read at start may hold thousands)."""
        self.demo_version += 1
        if what != "output":
            self._draw()
            self._terminal = None
            self.demo.append({"n": len(self.demo), "at": at, "what": what, "text": text})
            return
        if self._terminal is None:
            # pyte: the server's extra; `classroom export` of a learner's install never plays demos
            from workshop.classroom.terminal import Terminal

            self._terminal = Terminal()
            self.demo.append({"n": len(self.demo), "at": at, "what": "output", "text": ""})
        self._terminal.feed(text)
        self.demo[-1]["at"] = at
        self._drawn = False

    def demo_view(self, limit: int = 500) -> list[dict]:
        """The latest `limit` entries of the demo, as copies."""
        self._draw()
        return [dict(entry) for entry in self.demo[-limit:]]

    def _draw(self) -> None:
        if self._terminal is not None and not self._drawn:
            self.demo[-1]["text"] = self._terminal.text()
            self._drawn = True

    def _after(self, step_id: str) -> str | None:
        """The step after `step_id` in course order (None after the last)."""
        following = self.catalog.index(step_id) + 1
        steps = self.catalog.steps
        return steps[following].id if following < len(steps) else None

    def _verdict(self, learner: Learner, at: float, data: dict) -> None:
        step = data["step"]
        if data["mistake"]:
            self.sentences[(data["lab"], data["mistake"])] = data["sentence"]
        if data["passed"]:
            if step not in learner.done:
                learner.done[step] = at
                if learner.current == step:
                    learner.took[step] = max(0.0, at - learner.since)
            if learner.current in (None, step) or learner.current in learner.done:
                following = self._after(step)
                while following is not None and following in learner.done:
                    following = self._after(following)
                self._move(learner, following, at)
            return
        if step in learner.done:
            return  # a check of a step done earlier: the learner is elsewhere
        if learner.current != step:
            self._move(learner, step, at)
        if data["mistake"] and data["mistake"] == learner.streak_mistake:
            learner.streak += 1
        else:
            learner.streak_mistake = data["mistake"]
            learner.streak = 1 if data["mistake"] else 0
        learner.mistake = data["mistake"]

    @staticmethod
    def _move(learner: Learner, step: str | None, at: float) -> None:
        if learner.current == step:
            return
        learner.current = step
        learner.since = at
        learner.streak_mistake, learner.streak, learner.mistake = "", 0, ""

    # -- the view ------------------------------------------------------------------------------

    def _threshold(self, step: str, now: float) -> float | None:
        times = [lr.took[step] for lr in self.learners.values() if step in lr.took]
        times += [now - lr.since for lr in self._learners() if lr.current == step and not lr.left]
        if len(times) < self.rules.min_samples:
            return None
        return max(self.rules.min_seconds, percentile(times, self.rules.percentile))

    def stuck(self, learner: Learner, now: float, thresholds: dict) -> str:
        """Why the learner is stuck, or "" when they are not."""
        if learner.current is None or learner.left:
            return ""
        if learner.streak >= self.rules.repeats:
            return f"the same mistake {learner.streak} times in a row"
        limit = thresholds.get(learner.current)
        spent = now - learner.since
        if limit is not None and spent > limit:
            return (
                f"{spent / 60:.0f} min on this step (the room's p{self.rules.percentile:g}: "
                f"{limit / 60:.0f} min)"
            )
        return ""

    def _learners(self) -> list[Learner]:
        return [lr for lr in self.learners.values() if lr.role == "learner"]

    def view(self, now: float) -> dict:
        steps = self.catalog.steps
        thresholds = {s.id: self._threshold(s.id, now) for s in steps}
        learners = sorted(self._learners(), key=lambda lr: lr.name.casefold())
        rows = []
        for lr in learners:
            why = self.stuck(lr, now, thresholds)
            cells = {}
            for s in steps:
                if s.id in lr.done:
                    cells[s.id] = DONE
                elif s.id == lr.current:
                    cells[s.id] = STUCK if why else CURRENT
                else:
                    cells[s.id] = TODO
            ready, reasons = readiness(lr)
            can_pull, pull_because = pulls(lr)
            rows.append(
                {
                    "id": lr.id,
                    "name": lr.name,
                    "done": [s.id for s in steps if s.id in lr.done],
                    "current": lr.current,
                    "minutes_on_current": round((now - lr.since) / 60, 1) if lr.current else None,
                    "since": lr.since if lr.current else None,  # on the current step since
                    "last_heard": max(lr.joined, lr.last_seen),  # the latest report of any kind
                    "stuck": bool(why),
                    "why_stuck": why,
                    "mistake": lr.mistake,
                    "ready": ready,
                    "not_ready_because": reasons,
                    "can_pull": can_pull,
                    "cannot_pull_because": pull_because,
                    "left": lr.left,
                    "kit": dict(lr.kit or NO_KIT),
                    "cells": cells,
                }
            )
        return {
            "steps": [self._step_view(s, learners) for s in steps],
            "learners": rows,
            "pace": self.pace(now),
            "readiness": {
                "ready": sum(1 for r in rows if r["ready"]),
                "not_ready": [
                    {"name": r["name"], "because": r["not_ready_because"]}
                    for r in rows
                    if not r["ready"]
                ],
                # from each learner's latest readiness: who cannot fetch the course's images
                # and packages (the offline room's mirror and index, or Docker Hub and PyPI)
                "cannot_pull": [
                    {"name": r["name"], "because": r["cannot_pull_because"]}
                    for r in rows
                    if r["can_pull"] is False and not r["left"]
                ],
                "pull_unchecked": [
                    {"name": r["name"], "because": r["cannot_pull_because"]}
                    for r in rows
                    if r["can_pull"] is None and not r["left"]
                ],
            },
            "kit": {"version": self.catalog.version, "digest": self.catalog.digest},
            "rules": {
                "repeats": self.rules.repeats,
                "percentile": self.rules.percentile,
                "min_minutes": self.rules.min_seconds / 60,
            },
        }

    def _step_view(self, step, learners: list[Learner]) -> dict:
        here = [lr for lr in learners if lr.current == step.id and not lr.left]
        counts = Counter(lr.mistake for lr in here if lr.mistake)
        mistakes = [
            {
                "id": mistake,
                "learners": n,
                "sentence": self.sentences.get((step.lab, mistake), ""),
                "label": f"{n} learner{'s' if n != 1 else ''}: "
                f"{self.sentences.get((step.lab, mistake)) or mistake}",
            }
            for mistake, n in counts.most_common(3)
        ]
        return {
            "lab": step.lab,
            "id": step.id,
            "title": step.title,
            "here": len(here),
            "done": sum(1 for lr in learners if step.id in lr.done),
            "mistakes": mistakes,
        }

    def pace(self, now: float, window: float = 600.0) -> dict:
        """How the room moves: steps done in the last `window` seconds, the median of steps done,
        the median minutes a step took, and where most learners are."""
        learners = [lr for lr in self._learners() if not lr.left]
        done_counts = [len(lr.done) for lr in learners]
        took = [t for lr in learners for t in lr.took.values()]
        recent = sum(1 for lr in learners for at in lr.done.values() if now - at <= window)
        where = Counter(lr.current for lr in learners if lr.current)
        return {
            "learners": len(learners),
            "steps_done_last_10_min": recent,
            "median_steps_done": percentile(done_counts, 50) if done_counts else 0,
            "median_minutes_per_step": round(percentile(took, 50) / 60, 1) if took else None,
            "most_are_on": where.most_common(1)[0][0] if where else None,
        }


def pulls(learner: Learner) -> tuple[bool | None, list[str]]:
    """Can the learner fetch what the course needs, by their latest readiness report: True,
    False (and why), or None (no report yet, or it could not be checked, and why)."""
    report = learner.readiness
    if report is None:
        return None, ["no readiness report yet (`workshop doctor` sends one)"]
    pull = report.get("pull") or {"can": None, "because": []}
    return pull["can"], list(pull.get("because") or [])


def readiness(learner: Learner) -> tuple[bool, list[str]]:
    """Ready or not, and why not: the failing (and warning) findings of the latest report."""
    report = learner.readiness
    if report is None:
        return False, ["no readiness report yet (`workshop doctor` sends one)"]
    reasons = [f"{f['topic']}: {f['detail']}" for f in report["findings"] if f["status"] == "fail"]
    if not report["ready"] and not reasons:
        reasons = [
            f"{f['topic']}: {f['detail']}" for f in report["findings"] if f["status"] == "warn"
        ] or ["the learner's doctor says not ready"]
    return report["ready"], reasons if not report["ready"] else []
