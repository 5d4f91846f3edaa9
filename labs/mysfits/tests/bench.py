"""`make bench`, this lab's own figures (scripts/bench.py runs every lab's tests/bench.py): the
Mysfits image's size over its base, its cold build beside a data-only rebuild, and gunicorn
beside Flask's development server (the classic way) under the same bounded load.

Everything it makes is removed by the caller's `trace.no_trace(engine)`: its containers carry
the trace's label, and its builds' tags and ids are logged.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

KIT = Path(__file__).resolve().parents[3]  # labs/mysfits/tests -> the kit's folder
TAG = "workshop-bench/mysfits:latest"
BASE = "python:3.12-slim"
PORT = 8080  # where the service listens inside its container


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
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/mysfits", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def bench(engine, trace) -> None:
    """Build, run and load the image, then print the figures (inside the caller's no_trace)."""
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch) / "mysfits"
        shutil.copytree(KIT / "images" / "mysfits", context)
        cold = build(TAG, context, no_cache=True, trace=trace)
        data = context / "mysfits.json"
        data.write_text(data.read_text().replace('"likes": 0', '"likes": 1', 1) + "\n")
        warm = build(TAG, context, no_cache=False, trace=trace)
    added = (engine.images.get(TAG).attrs["Size"] - engine.images.get(BASE).attrs["Size"]) / 1e6
    engine.containers.run(
        TAG, detach=True, ports={f"{PORT}/tcp": ("127.0.0.1", 18080)}, labels=trace.labels
    )
    dev_server = f"from app import create_app; create_app().run(host='0.0.0.0', port={PORT})"
    engine.containers.run(
        TAG,
        detach=True,
        ports={f"{PORT}/tcp": ("127.0.0.1", 18081)},
        command=["python", "-c", dev_server],
        labels=trace.labels,
    )
    wait_for(18080)
    wait_for(18081)
    g_rps, g_p99 = load(18080)
    c_rps, c_p99 = load(18081)
    print()
    print("Mythical Mysfits image (labs/mysfits/tests/bench.py)")
    print(
        f"  added over {BASE}: {added:6.1f} MB   (goal: <= 25 MB) "
        f"{'ok' if added <= 25 else 'MISSED'}"
    )
    print(
        f"  cold build: {cold:5.1f} s; data-only rebuild: {warm:5.1f} s; ratio {warm / cold:.2f}x "
        f"(goal: <= 0.2x) {'ok' if warm / cold <= 0.2 else 'MISSED'}"
    )
    print(f"  GET /mysfits, gunicorn:          {g_rps:7.0f} req/s, p99 {g_p99:6.1f} ms")
    print(f"  GET /mysfits, Flask dev server:  {c_rps:7.0f} req/s, p99 {c_p99:6.1f} ms")
    print(f"  gunicorn / dev server: throughput {g_rps / c_rps:.2f}x, p99 {g_p99 / c_p99:.2f}x")
