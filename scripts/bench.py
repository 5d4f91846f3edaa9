"""`make bench`: the kit's speed beside its floors, measured side by side in one run.

Every command runs ROUNDS times, interleaved (A B C A B C ...) so a noisy machine slows them
alike; the median of each is compared as a ratio against its goal. Creates a few containers
(the robot solves the beginners lab in a scratch state folder) and images, and removes exactly
those: the robot types through the suite's docker shim (tests/kit/trace.py), which labels what
it makes and logs the tags it applies; the bench labels its own containers and logs its builds'
tags and ids. A learner's containers and images made meanwhile stay.
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
    subprocess.run(
        argv,
        env=env,
        cwd=KIT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each: disk caches, .pyc files
        timed(argv, env)
    for _ in range(ROUNDS):
        for name, argv in commands.items():
            samples[name].append(timed(argv, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def prepare(home: str) -> None:
    """Solve the beginners lab up to its last step in the scratch state folder `home`, and
    compile the kit's modules as a learner's first command does (where PYTHONDONTWRITEBYTECODE
    is set, nothing would, and every timed run would compile the kit again)."""
    import compileall

    compileall.compile_dir(KIT / "workshop", quiet=1)
    compileall.compile_dir(KIT / "labs", quiet=1)  # each lab's checks.py and helpers
    sys.path.insert(0, str(KIT))
    os.environ["WORKSHOP_HOME"] = home
    from workshop.checks import prober
    from workshop.course import Course
    from workshop.labs import find_lab
    from workshop.solve import solve

    course = Course()
    lab = find_lab(course.labs, "beginners")
    course.start(lab)
    for step in lab.steps:
        solve(step, io.StringIO(), prober(lab), cwd=lab.root)


def build(tag: str, context: Path, no_cache: bool, trace) -> float:
    """Time one build. What it makes is logged for `trace` to remove: the tag, and the image by
    the id `-q` prints (no label: a LABEL step would be timed too); --force-rm: a failed build
    leaves no step container behind."""
    argv = ["docker", "image", "build", "-q", "--force-rm", "-t", tag, str(context)]
    if no_cache:
        argv.insert(3, "--no-cache")
    trace.record("tag", tag)
    start = time.perf_counter()
    done = subprocess.run(
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seconds = time.perf_counter() - start
    trace.record("image", done.stdout.strip())
    return seconds


def load(port: int, requests: int = 1500, workers: int = 4) -> tuple[float, float]:
    """GET /mysfits `requests` times over `workers` keep-alive connections (loopback only);
    returns (requests per second, p99 latency in ms). Bounded: it stops by itself."""
    import http.client
    import threading

    latencies: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for _ in range(count):
            start = time.perf_counter()
            connection.request("GET", "/mysfits")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET /mysfits answered {response.status}")
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(requests // workers,)) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


def wait_for(port: int, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/mysfits", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def mysfits(engine, trace) -> None:
    """Issue 4's figures: image size over its base, cold build, data-only rebuild, and gunicorn
    beside Flask's development server (the classic way) under the same bounded load. Removes
    its containers, its builds and tag, and the base image if its build pulled it."""
    import shutil

    tag = "workshop-bench/mysfits:latest"
    base = "python:3.12-slim"
    with tempfile.TemporaryDirectory() as scratch, trace.no_trace(engine):
        context = Path(scratch) / "mysfits"
        shutil.copytree(KIT / "images" / "mysfits", context)
        cold = build(tag, context, no_cache=True, trace=trace)
        data = context / "mysfits.json"
        data.write_text(data.read_text().replace('"likes": 0', '"likes": 1', 1) + "\n")
        warm = build(tag, context, no_cache=False, trace=trace)
        image = engine.images.get(tag)
        added = (image.attrs["Size"] - engine.images.get(base).attrs["Size"]) / 1e6
        engine.containers.run(
            tag, detach=True, ports={"8080/tcp": ("127.0.0.1", 18080)}, labels=trace.labels
        )
        engine.containers.run(
            tag,
            detach=True,
            ports={"8080/tcp": ("127.0.0.1", 18081)},
            command=[
                "python",
                "-c",
                "from app import create_app; create_app().run(host='0.0.0.0', port=8080)",
            ],
            labels=trace.labels,
        )
        wait_for(18080)
        wait_for(18081)
        g_rps, g_p99 = load(18080)
        c_rps, c_p99 = load(18081)
    print()
    print("Mythical Mysfits image")
    print(
        f"  added over {base}: {added:6.1f} MB   (goal: <= 25 MB) "
        f"{'ok' if added <= 25 else 'MISSED'}"
    )
    print(
        f"  cold build: {cold:5.1f} s; data-only rebuild: {warm:5.1f} s; ratio {warm / cold:.2f}x "
        f"(goal: <= 0.2x) {'ok' if warm / cold <= 0.2 else 'MISSED'}"
    )
    print(f"  GET /mysfits, gunicorn:          {g_rps:7.0f} req/s, p99 {g_p99:6.1f} ms")
    print(f"  GET /mysfits, Flask dev server:  {c_rps:7.0f} req/s, p99 {c_p99:6.1f} ms")
    print(f"  gunicorn / dev server: throughput {g_rps / c_rps:.2f}x, p99 {g_p99 / c_p99:.2f}x")


def main() -> int:
    sys.path.insert(0, str(KIT))
    from tests.kit.trace import Trace
    from workshop.engine import client

    engine = client()  # the kit's own discovery: the engine the learner's docker uses
    trace = Trace()  # this run's mark: what it makes, it removes, and nothing else
    try:
        run(engine, trace)
    finally:
        trace.close()
    return 0


def run(engine, trace) -> None:
    workshop = [PY, "-m", "workshop"]
    with tempfile.TemporaryDirectory() as home, trace.no_trace(engine):
        with trace.on_path():  # the robot types its solutions through the shim
            prepare(home)
        results = measure(  # with the real docker on PATH, as a learner has it
            {
                "python -c pass": [PY, "-c", "pass"],
                "workshop --help": [*workshop, "--help"],
                "floor: import docker; ping": [PY, "-c", "import docker; docker.from_env().ping()"],
                "workshop check run-ls (docker-py)": [*workshop, "check", "run-ls"],
                "workshop check start-exec (testinfra)": [*workshop, "check", "start-exec"],
                "workshop status": [*workshop, "status"],
            },
            {**os.environ, "WORKSHOP_HOME": home},
        )

    print(f"median of {ROUNDS} interleaved runs each")
    for name, seconds in results.items():
        print(f"  {name:<40} {seconds * 1000:7.0f} ms")
    floor = results["floor: import docker; ping"]
    help_over = (results["workshop --help"] - results["python -c pass"]) * 1000
    check_ratio = results["workshop check run-ls (docker-py)"] / floor
    infra_ratio = results["workshop check start-exec (testinfra)"] / floor
    print()
    print(
        f"  workshop --help over python -c pass: {help_over:+.0f} ms   (goal: <= 110 ms) "
        f"{'ok' if help_over <= 110 else 'MISSED'}"
    )
    print(
        f"  check on a docker-py step / floor:   {check_ratio:.2f}x    (goal: <= 1.5x) "
        f"{'ok' if check_ratio <= 1.5 else 'MISSED'}"
    )
    print(f"  check on a testinfra step / floor:   {infra_ratio:.2f}x    (no goal; for the record)")
    if os.environ.get("BENCH_SKIP_MYSFITS") != "1":
        mysfits(engine, trace)
    sys.path.insert(0, str(KIT / "scripts"))
    if os.environ.get("BENCH_SKIP_WATCH") != "1":
        import bench_watch

        with trace.no_trace(engine), trace.on_path():
            bench_watch.watch(PY)
    if os.environ.get("BENCH_SKIP_CLASSROOM") != "1":  # needs no engine: loopback only
        import bench_classroom

        bench_classroom.main()


if __name__ == "__main__":
    sys.exit(main())
