"""`make bench`, live mode: how fast `workshop watch` shows the learner's work, and what it
costs while nothing happens.

The robot learner types a lab's solutions (the lab scripts/bench.py times; run alone, the same
choice) in another process, step after step, PASSES times, each pass with a fresh learner (state
folder), while `workshop watch --log` runs.
Each line of that log is one check: when it finished (the screen drawn and the progress
recorded), and the engine times of the first and last events of the burst that caused it.
Latency is counted from the burst's last event (the one whose effect is shown; watch waits
QUIET after it so a burst is checked once) and, for the record, from its first. Then watch
sits idle for IDLE seconds and its CPU time is read from /proc.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
PASSES = int(os.environ.get("BENCH_WATCH_PASSES", "5"))
IDLE = float(os.environ.get("BENCH_WATCH_IDLE", "30"))
GOAL_MS = 200  # p99 from the last event of a burst to the screen and the progress


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(log: Path, steps: list[str], seconds: float = 60) -> None:
    """Until the log says every one of `steps` was recorded done (none: until its first line)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists():
            lines = log.read_text().splitlines()
            passed = {step for line in lines for step in json.loads(line).get("passed", [])}
            if lines and passed >= set(steps):
                return
        time.sleep(0.05)
    raise RuntimeError(f"watch did not record {steps} within {seconds:.0f} s (see {log})")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def watch(python: str, lab) -> None:
    """Run the passes over `lab` and print the figures (the robot's containers are removed by
    the caller's `no_trace`; its `docker` is the labelling shim already on PATH). The steps done
    untouched (the learner's set-up, such as the engine answering) are recorded when watch
    starts; the robot solves each of the others in turn."""
    untouched = [step.id for step in lab.steps if step.done_untouched]
    steps = [step.id for step in lab.steps if not step.done_untouched]
    lines: list[dict] = []
    idle_cpu = None
    for n in range(PASSES):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "WORKSHOP_HOME": home}
            log = Path(home) / "watch.log"
            watcher = subprocess.Popen(
                [python, "-m", "workshop", "watch", "--plain", "--log", str(log)],
                cwd=KIT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                _wait_for(log, untouched)
                for step in steps:
                    subprocess.run(
                        [python, "-m", "tests.kit.robot", lab.id, step],
                        cwd=KIT,
                        env=env,
                        check=True,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    _wait_for(log, [step])
                if n == PASSES - 1:
                    time.sleep(2)  # the last check settles
                    before = _cpu_seconds(watcher.pid)
                    time.sleep(IDLE)
                    idle_cpu = _cpu_seconds(watcher.pid) - before
            finally:
                watcher.terminate()
                watcher.wait(timeout=15)
            lines += [json.loads(line) for line in log.read_text().splitlines()]
            if os.environ.get("BENCH_WATCH_SHOW"):
                print(log.read_text())
    checks = [line for line in lines if line["why"] == "activity" and line["last_event_ns"]]
    last = [(line["at"] - line["last_event_ns"] / 1e9) * 1000 for line in checks]
    first = [(line["at"] - line["first_event_ns"] / 1e9) * 1000 for line in checks]
    done = [(line["at"] - line["last_event_ns"] / 1e9) * 1000 for line in checks if line["passed"]]
    took = [line["took"] * 1000 for line in checks]
    p99 = _percentile(last, 0.99)
    print()
    print(f"workshop watch: {PASSES} passes of lab {lab.id}, {len(checks)} checks on events")
    p50 = statistics.median(last)
    print(
        f"  event -> screen and progress (last event of a burst): p50 {p50:5.0f} ms, p99 "
        f"{p99:5.0f} ms   (goal: p99 < {GOAL_MS} ms) {'ok' if p99 < GOAL_MS else 'MISSED'}"
    )
    print(
        f"  the same for the {len(done)} checks that recorded a step: p50 "
        f"{statistics.median(done):5.0f} ms, p99 {_percentile(done, 0.99):5.0f} ms"
    )
    print(
        f"  from the first event of a burst: p50 {statistics.median(first):5.0f} ms, p99 "
        f"{_percentile(first, 0.99):5.0f} ms; the check itself: p50 "
        f"{statistics.median(took):4.0f} ms, p99 {_percentile(took, 0.99):4.0f} ms"
    )
    if idle_cpu is not None:
        share = idle_cpu / IDLE * 100
        print(
            f"  idle for {IDLE:.0f} s: {idle_cpu * 1000:.0f} ms of CPU, {share:.2f}% of a core "
            f"(goal: < 1%) {'ok' if share < 1 else 'MISSED'}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(KIT))
    sys.path.insert(0, str(KIT / "scripts"))
    from bench import subject

    from tests.kit.trace import Trace
    from workshop.engine import client
    from workshop.labs import load_labs

    trace = Trace()
    try:
        with trace.no_trace(client()), trace.on_path():
            watch(sys.executable, subject(load_labs()))
    finally:
        trace.close()
