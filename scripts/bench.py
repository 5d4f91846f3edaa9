"""`make bench`: the kit's speed beside its floors, measured side by side in one run.

Every command runs ROUNDS times, interleaved (A B C A B C ...) so a noisy machine slows them
alike; the median of each is compared as a ratio against its goal. Creates a few containers
(the robot solves the beginners lab in a scratch state folder) and removes exactly those.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
PY = sys.executable


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=KIT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for name, argv in commands.items():  # one warm-up each: disk caches, .pyc files
        timed(argv, env)
    for _ in range(ROUNDS):
        for name, argv in commands.items():
            samples[name].append(timed(argv, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def prepare(env: dict[str, str]) -> None:
    """Solve the beginners lab up to its last step in a scratch state folder."""
    sys.path.insert(0, str(KIT))
    os.environ.update(env)
    from workshop.course import Course
    from workshop.labs import find_lab, load_labs
    from workshop.solve import solve

    course = Course()
    lab = find_lab(course.labs, "beginners")
    course.start(lab)
    for step in lab.steps:
        solve(step, io.StringIO())


def main() -> int:
    import docker

    engine = docker.from_env()
    before = {c["Id"] for c in engine.api.containers(all=True)}
    had_alpine = bool(engine.images.list(name="alpine"))
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WORKSHOP_HOME": home}
        try:
            prepare(env)
            workshop = [PY, "-m", "workshop"]
            results = measure(
                {
                    "python -c pass": [PY, "-c", "pass"],
                    "workshop --help": [*workshop, "--help"],
                    "floor: import docker; ping": [
                        PY, "-c", "import docker; docker.from_env().ping()"],
                    "workshop check run-ls (docker-py)": [*workshop, "check", "run-ls"],
                    "workshop check start-exec (testinfra)": [*workshop, "check", "start-exec"],
                    "workshop status": [*workshop, "status"],
                },
                env,
            )
        finally:
            for summary in engine.api.containers(all=True):
                if summary["Id"] not in before:
                    engine.api.remove_container(summary["Id"], force=True)
            if not had_alpine:
                engine.images.remove("alpine:latest", force=True)

    print(f"median of {ROUNDS} interleaved runs each")
    for name, seconds in results.items():
        print(f"  {name:<40} {seconds * 1000:7.0f} ms")
    floor = results["floor: import docker; ping"]
    help_over = (results["workshop --help"] - results["python -c pass"]) * 1000
    check_ratio = results["workshop check run-ls (docker-py)"] / floor
    infra_ratio = results["workshop check start-exec (testinfra)"] / floor
    print()
    print(f"  workshop --help over python -c pass: {help_over:+.0f} ms   (goal: <= 110 ms) "
          f"{'ok' if help_over <= 110 else 'MISSED'}")
    print(f"  check on a docker-py step / floor:   {check_ratio:.2f}x    (goal: <= 1.5x) "
          f"{'ok' if check_ratio <= 1.5 else 'MISSED'}")
    print(f"  check on a testinfra step / floor:   {infra_ratio:.2f}x    (no goal; for the record)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
