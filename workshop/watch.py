"""`workshop watch`: the current step, re-checked the moment the learner's work shows.

The learner keeps `workshop watch` open in one terminal and types in another. A `Feed` (see
workshop/feed.py) follows the engine's events and keeps the journal; when one is the learner's
doing, the loop waits for the burst to settle (a build sends dozens), then does exactly what
`workshop next` does (`Course.advance`: check the current step and any done ahead, record them,
move on) and redraws. Nothing is polled: the loop sleeps in `select` until the feed, a key, a
resized terminal or the progress file (another terminal's `workshop next`) wakes it; a
timeout every two seconds only looks at that file's time stamp and the wall clock (a jump means
the laptop slept: the feed reconnects and reads what it missed).

Two views of the same loop: `Screen` redraws one full-screen page (the step, what is missing,
the lab's progress, the keys), and `Lines` appends plain lines (no redrawing, colour or
symbols) for screen readers, logs, and terminals that cannot redraw.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from workshop import render
from workshop.course import Course, position
from workshop.engine import engine_error, engine_fault
from workshop.errors import EngineUnavailable, WorkshopError
from workshop.feed import ACTIVITY, BACK, DOWN, Feed, Wakes
from workshop.labs import Lab, Step

STARTING = ("create", "attach")  # a container about to start: its `start` event follows
QUIET = 0.03  # seconds without a new event before re-checking (a burst is one re-check)
LONGEST = 0.5  # ... but never wait longer than this after the first event of a burst
TICK = 2.0  # seconds between looks at the progress file and the wall clock while idle
SLEPT = 5.0  # a wall-clock jump this much above the time waited means the machine slept


@dataclass
class View:
    """What the learner should see now."""

    lab: Lab | None = None
    step: Step | None = None
    done: set[str] = field(default_factory=set)  # step ids of `lab` done
    verdict: str = ""  # the current step's check sentence, when not done
    passed: list[str] = field(default_factory=list)  # steps just done, newest last
    finished: str = ""  # the title of a lab just completed
    engine: str = ""  # "" when the engine answers, else why it does not
    problem: str = ""  # a kit error that is not the engine's (shown, watch goes on)
    hint: bool = False
    checked: str = ""  # when the last check ran (local clock)


class Watch:
    """The loop: feed, keys, progress file; one re-check per burst of the learner's activity."""

    def __init__(self, course: Course, out, plain: bool, log: Path | None = None):
        self.course = course
        self.view = View()
        self.out = out
        self.show = Lines(out) if plain else Screen(out)
        self.log = log
        self.signals: queue.SimpleQueue = queue.SimpleQueue()
        # a socket pair, not a pipe: `select` takes sockets on every OS, Windows included
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.feed = Feed(course.store.directory, self._wake, Wakes.of(course.labs))
        self.keys = Keys() if sys.stdin.isatty() and _has_termios() else None
        self._progress_seen = self._progress_stamp()
        self._burst: list = []  # (local time, event) since the last check
        self._burst_started = 0.0
        self._last_event = 0.0
        self._said: tuple = ()  # the last not-done verdict reported to the classroom

    # -- waking the loop from other threads and signal handlers ------------------------------

    def _wake(self, kind: str, event=None) -> None:
        self.signals.put((kind, event, time.time()))
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b".")

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> int:
        """Watch until q, Ctrl-C or every lab done; returns the exit status."""
        resized = getattr(signal, "SIGWINCH", None)  # not on Windows: redrawn at each check
        if resized is not None:
            previous = signal.signal(resized, lambda *_: self._wake("resize"))
        terminate = signal.signal(signal.SIGTERM, _interrupt)
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        if self.keys is not None:
            selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "key")
        try:
            with self.keys or contextlib.nullcontext(), self.show:
                self.feed.start()  # first: what happens during the first check wakes the loop
                self.check(why="start")
                return self._loop(selector)
        finally:
            self.feed.stop()
            if resized is not None:
                signal.signal(resized, previous)
            signal.signal(signal.SIGTERM, terminate)
            selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _loop(self, selector) -> int:
        while True:
            if self.view.step is None and not self.view.engine and not self.view.problem:
                self.show.all_done()
                return 0
            timeout = TICK if not self._burst else max(0.0, self._due() - time.time())
            wall, clock = time.time(), time.monotonic()
            ready = selector.select(timeout)
            if time.time() - wall > (time.monotonic() - clock) + SLEPT:
                self.feed.reconnect()  # the machine slept: the connection may be stale
                self._wake(ACTIVITY)
            for key, _ in ready:
                if key.data == "key":
                    if self._key() == "quit":
                        return 0
                else:
                    with contextlib.suppress(BlockingIOError, OSError):
                        self._wake_r.recv(4096)
            self._take_signals()
            if self._burst and time.time() >= self._due():
                burst, self._burst = self._burst, []
                self.check(why="activity", burst=burst)
            elif self._progress_stamp() != self._progress_seen:
                self.check(why="progress")  # another terminal's `workshop next`, say

    def _due(self) -> float:
        """When to check the burst of events: once it has been quiet for QUIET, and never
        later than LONGEST after it began. A container just created (`docker run` sends
        create, attach, then start a moment later) is waited for until it starts: the
        engine makes every look at a starting container wait, and the check would only say
        "not started yet"."""
        latest = self._burst[-1][1]
        starting = latest is not None and latest.kind == "container" and latest.verb in STARTING
        if starting:
            return self._burst_started + LONGEST
        return min(self._last_event + QUIET, self._burst_started + LONGEST)

    def _take_signals(self) -> None:
        while True:
            try:
                kind, event, when = self.signals.get_nowait()
            except queue.Empty:
                return
            if kind == ACTIVITY:
                if not self._burst:
                    self._burst_started = when
                self._last_event = when
                self._burst.append((when, event))
            elif kind == DOWN:
                if not self.view.engine:  # a check may have said more precisely why already
                    self.view.engine = (
                        "The Docker engine stopped answering (restarted, stopped, or asleep): "
                        "watch waits for it and carries on by itself when it is back."
                    )
                    self.show.draw(self.view)
            elif kind == BACK:
                self.view.engine = ""
                self._burst.append((when, None))  # re-read what happened while it was away
                self._burst_started = self._last_event = when
            elif kind == "resize":
                self.show.draw(self.view)

    def _key(self) -> str:
        key = self.keys.read()
        if key in ("q", "Q", "\x04"):  # q, or Ctrl-D
            return "quit"
        if key in ("h", "H", "?"):
            self.view.hint = not self.view.hint
            self.show.draw(self.view)
        elif key in ("s", "S") and self.view.step is not None:
            self.show.full_text(self.view, self.keys)
        return ""

    # -- one check ----------------------------------------------------------------------------

    def check(self, why: str, burst: list | None = None) -> None:
        """What `workshop next` does, then redraw. The engine failing is shown, not fatal."""
        started = time.time()
        view = self.view
        view.passed, view.finished, view.problem = [], "", ""
        advances, recorded, shown = [], [], None
        try:
            # Each round either finds the first step not done, or completes a lab and opens
            # the next (whose first steps may be done already): a few rounds at most.
            for _ in range(2 * len(self.course.labs) + 1):
                advance = self.course.advance()
                advances.append(advance)
                view.passed += advance.recorded
                recorded += advance.recorded
                if advance.finished is not None:
                    view.finished = advance.finished.title
                if advance.failed is not None:
                    view.verdict = advance.failed.message
                    break
                view.verdict = ""
                if advance.now.step is None:
                    break
                if advance.recorded:  # a lab just completed: say so now, then check the next
                    shown = shown or self._show()
            view.engine = ""
        except EngineUnavailable as exc:
            view.engine = str(exc)
        except WorkshopError as exc:
            view.problem = str(exc)
        except Exception as exc:
            if not engine_fault(exc):
                raise
            view.engine = str(engine_error(exc))
        shown = min(shown or math.inf, self._show())
        for advance in advances:  # after drawing: delivering may take up to a second
            self._report(advance)
        self._log(why, burst or [], started, shown, recorded)

    def _show(self) -> float:
        """Bring the view up to date with the progress file and draw it; returns when."""
        view = self.view
        progress = self.course.progress()
        here = position(self.course.labs, progress)
        if here.step is not view.step:
            view.hint = False
        view.lab, view.step = here.lab, here.step
        seen = progress.lab(here.lab.id) if here.lab is not None else None
        view.done = set(seen.done) if seen is not None else set()
        view.checked = datetime.now().strftime("%H:%M:%S")
        self.feed.follow_logs(
            tuple(here.lab.images) if here.step is not None and here.step.watch == "logs" else ()
        )
        self.show.draw(view)
        self._progress_seen = self._progress_stamp()
        return time.time()

    def _report(self, advance) -> None:
        """Hand the verdicts to the classroom, when the learner joined one: each step done,
        and a step not done only when what its check says changed (re-checking the same
        state is not the same mistake made again)."""
        from workshop import report
        from workshop.checks import Verdict

        lab = advance.finished or advance.now.lab
        judged = [Verdict(step_id, True) for step_id in advance.recorded]
        failed = advance.failed
        if failed is not None:
            said = (lab.id, failed.step, failed.mistake, failed.message)
            if said != self._said:
                self._said = said
                judged.append(failed)
        if judged:
            report.watched(lab.id, judged)

    def _progress_stamp(self):
        try:
            stat = self.course.store.path.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _log(self, why: str, burst: list, started: float, shown: float, passed: list[str]):
        """One line per check: `at` when its result was first on screen (progress recorded)."""
        if self.log is None:
            return
        events = [event for _, event in burst if event is not None]
        line = {
            "why": why,
            "at": shown,
            "took": round(time.time() - started, 4),
            "first_event_ns": min((e.time for e in events), default=None),
            "last_event_ns": max((e.time for e in events), default=None),
            "events": [e.action.split(":", 1)[0] for e in events][:20],
            # what each event was about (its id, and its labels, name and image as the engine
            # said them): who made what the check ran for
            "about": [
                {"kind": e.kind, "verb": e.verb, "id": e.actor, "attrs": e.attrs} for e in events
            ][:20],
            "step": self.view.step.id if self.view.step else None,
            "passed": passed,
        }
        with contextlib.suppress(OSError), open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


def _interrupt(*_):
    raise KeyboardInterrupt


def _has_termios() -> bool:
    try:
        import termios  # noqa: F401 -- not on Windows, where keys are not read (Ctrl-C quits)
    except ImportError:
        return False
    return True


# --- keys --------------------------------------------------------------------------------------


class Keys:
    """Single key presses from the terminal (cbreak mode: no Enter needed; Ctrl-C still works)."""

    def __enter__(self):
        import termios
        import tty

        self.fd = sys.stdin.fileno()
        self.saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        return self

    def __exit__(self, *_):
        import termios

        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def read(self) -> str:
        try:
            data = os.read(self.fd, 32)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")[:1] if data else "\x04"


# --- the two views -----------------------------------------------------------------------------


class Screen:
    """One full-screen page, redrawn in place (the terminal's alternate screen)."""

    def __init__(self, out):
        self.out = out
        self.colour = render.coloured(out)

    def __enter__(self):
        self.out.write("\x1b[?1049h\x1b[?25l")
        self.out.flush()
        return self

    def __exit__(self, *_):
        self.out.write("\x1b[?25h\x1b[?1049l")
        self.out.flush()

    def size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(self.out.fileno())
            return max(size.columns, 20), max(size.lines, 8)
        except (OSError, ValueError):
            return 80, 24

    def draw(self, view: View) -> None:
        width, height = self.size()
        c = self.colour
        top = _top(view, width, c)
        bottom = _bottom(view, width, c)
        room = height - _rows(top, width) - _rows(bottom, width)
        body: list[str] = []
        if view.step is not None:
            text = render.markdown(view.step.instructions, width, c).rstrip("\n").split("\n")
            for line in text:
                if _rows([*body, line], width) > room - 1:
                    body.append(render.style("… (s shows the whole text)", "dim", colour=c))
                    break
                body.append(line)
        page = [*top, *body]
        page += [""] * max(0, height - _rows(page, width) - _rows(bottom, width))
        page += bottom
        self.out.write("\x1b[H\x1b[2J" + "\n".join(page[: height * 4]))
        self.out.flush()

    def full_text(self, view: View, keys: Keys) -> None:
        """The whole step on the normal screen (scroll back to read it); a key comes back."""
        self.__exit__()
        render.step(view.lab, view.step)
        self.out.write("Press a key to go back to watch.")
        self.out.flush()
        keys.read()
        self.__enter__()
        self.draw(view)

    def all_done(self) -> None:
        self.__exit__()
        render.passed("Every lab is done. Well played! `workshop status` shows your progress.")
        self.__enter__()  # balanced by the `with` that entered it


def _top(view: View, width: int, colour: bool) -> list[str]:
    if view.step is None:
        return [render.style("workshop watch", "bold", colour=colour)]
    lab = view.lab
    number = lab.index(view.step.id) + 1
    marks = "".join(
        "✔" if s.id in view.done else ("➜" if s.id == view.step.id else "·") for s in lab.steps
    )
    tag = f"step {number} of {len(lab.steps)}: {view.step.title}"
    lines = render.heading(lab.title, tag, width, colour).rstrip("\n").split("\n")
    return [*lines, f"{marks}  {len(view.done)} of {len(lab.steps)} steps done", ""]


def _bottom(view: View, width: int, colour: bool) -> list[str]:
    c = colour
    lines = [render.style("─" * width, "dim", colour=c)]

    def add(text: str, **looks) -> None:
        lines.extend(render.message(text, width, c, **looks).rstrip("\n").split("\n"))

    for step_id in view.passed:
        add(f"Step {step_id} is done.", mark="✔", mark_looks=("green",))
    if view.finished:
        add(f"Lab complete: {view.finished}. Well done!", mark="✔", mark_looks=("green",))
    if view.engine:
        add(view.engine, mark="⚠", mark_looks=("yellow",))
    elif view.problem:
        add(view.problem, mark="⚠", mark_looks=("yellow",))
    elif view.step is not None and view.verdict:
        add(f"Not done yet: {view.verdict}", mark="✘", mark_looks=("red",))
    elif view.step is not None:
        add("Waiting for you: type the step's commands in your other terminal.", mark="…")
    if view.hint and view.step is not None:
        add(f"Hint: {view.step.hint}", looks=("italic",))
    keys = "h hint · s whole text · q quit"
    state = f"checked {view.checked}" if view.checked else ""
    add(" · ".join(x for x in (state, keys) if x), looks=("dim",))
    return lines


def _rows(lines: list[str], width: int) -> int:
    return sum(max(1, -(-len(render.plain(line)) // width)) for line in lines)


class Lines:
    """The same loop as appended plain lines: only what changed, no colour, no symbols."""

    def __init__(self, out):
        self.out = out
        self.said: tuple = ()
        self.step_shown = None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return None

    def _say(self, text: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        self.out.write(render.message(f"[{stamp}] {text}", render.columns(self.out), False))
        self.out.flush()

    def draw(self, view: View) -> None:
        for step_id in view.passed:
            self._say(f"Done: step {step_id}.")
        view.passed = []
        if view.finished:
            self._say(f"Lab complete: {view.finished}.")
            view.finished = ""
        if view.step is not None and view.step is not self.step_shown:
            self.step_shown = view.step
            number = view.lab.index(view.step.id) + 1
            self._say(
                f"Now: {view.lab.title}, step {number} of {len(view.lab.steps)}: "
                f"{view.step.id} ({view.step.title}). Its text follows; `workshop show` "
                "prints it again."
            )
            self.out.write(render.markdown(view.step.instructions, render.columns(self.out), False))
            self.said = ()
        now = (view.engine, view.problem, view.verdict, view.hint)
        if now == self.said:
            return
        self.said = now
        if view.engine:
            self._say(f"Engine: {view.engine}")
        elif view.problem:
            self._say(f"Problem: {view.problem}")
        elif view.verdict and view.step is not None:
            self._say(f"Not done yet: {view.verdict}")
        if view.hint and view.step is not None:
            self._say(f"Hint: {view.step.hint}")

    def full_text(self, view: View, keys: Keys) -> None:
        self.out.write(render.markdown(view.step.instructions, render.columns(self.out), False))
        self.out.flush()

    def all_done(self) -> None:
        self._say("Every lab is done. `workshop status` shows your progress.")
