"""A busy neighbour on the shared engine: another user who, every few seconds, runs a container
from alpine (the kit's stand-in) and moves a tag, as a classmate or another run of the suite
would. Tests that must hold on a busy engine run beside one (the `neighbour` fixture); they
judge only what they made and did, never the neighbour's events.

Everything it makes carries its own mark (the label `io.workshop.neighbour=<id>` on its
containers, its tags in the repository `workshop-neighbour-<id>`), so it removes exactly its
own on the way out (SIGTERM, SIGINT, or its parent gone).

    python -m tests.kit.neighbour [--every 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

LABEL = "io.workshop.neighbour"
IMAGE = "alpine"  # the stand-in the engine script loads; the neighbour pulls nothing


def _stop(*_) -> None:
    raise KeyboardInterrupt


def run(every: float, mark: str) -> None:
    import docker
    import docker.errors

    engine = docker.from_env(timeout=30)
    repository = f"workshop-neighbour-{mark}"
    parent = os.getppid()
    n = 0
    try:
        while os.getppid() == parent:
            n += 1
            with contextlib.suppress(docker.errors.DockerException):
                engine.containers.run(IMAGE, ["true"], labels={LABEL: mark}, remove=True)
            with contextlib.suppress(docker.errors.DockerException):
                engine.api.tag(IMAGE, repository, str(n))
                if n > 1:
                    engine.api.remove_image(f"{repository}:{n - 1}", noprune=True)
            time.sleep(every)
    except KeyboardInterrupt:
        pass
    finally:
        for summary in engine.api.containers(all=True, filters={"label": f"{LABEL}={mark}"}):
            with contextlib.suppress(docker.errors.DockerException):
                engine.api.remove_container(summary["Id"], force=True)
        for summary in engine.api.images(name=repository):
            for tag in summary.get("RepoTags") or []:
                with contextlib.suppress(docker.errors.DockerException):
                    engine.api.remove_image(tag, noprune=True)


@contextlib.contextmanager
def busy(every: float = 4.0) -> Iterator[str]:
    """A neighbour process for the block's duration; yields its mark (the label's value)."""
    mark = uuid.uuid4().hex[:8]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.kit.neighbour", "--every", str(every), "--mark", mark],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.DEVNULL,
    )
    try:
        yield mark
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=4.0, help="seconds between rounds")
    parser.add_argument("--mark", default=uuid.uuid4().hex[:8], help="this neighbour's mark")
    options = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    run(options.every, options.mark)


if __name__ == "__main__":
    main()
