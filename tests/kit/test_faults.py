"""Faults under a check are the kit's or the engine's, never the learner's: an engine that dies
mid-check is an engine error (exit 1, one sentence), and a look inside a container that cannot
run (no docker CLI) says so; neither is "step not done" (exit 3)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading

import pytest

from labs.beginners.tests.test_robot import type_solution
from tests.kit.robot import type_
from workshop.errors import Exit


class DyingEngine:
    """A Unix socket that answers the client's first questions (its version, a ping) like an
    engine, then drops every other connection: an engine dying in the middle of a check."""

    def __init__(self, path):
        self.path = str(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                request = conn.recv(65536).decode("latin-1")
                target = request.split(" ", 2)[1] if request.count(" ") >= 2 else ""
                if target.endswith("/_ping"):
                    body = b"OK"
                elif target.endswith("/version"):
                    body = json.dumps({"ApiVersion": "1.41", "Version": "20.10"}).encode()
                else:
                    continue  # hang up without an answer
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )

    def close(self):
        self.server.close()


def test_an_engine_dying_mid_check_is_an_engine_error(workshop, home, tmp_path):
    home.mkdir()
    (home / "progress.json").write_text(
        json.dumps(
            {
                "version": 1,
                "labs": {"beginners": {"started_at": "2026-11-25T10:00:00+00:00", "done": {}}},
            }
        )
    )
    engine = DyingEngine(tmp_path / "docker.sock")
    try:
        result = workshop("check", "pull", env={"DOCKER_HOST": f"unix://{engine.path}"})
    finally:
        engine.close()
    assert result.code == Exit.ERROR, result
    said = " ".join(result.out.split())
    assert "stopped answering in the middle of the command" in said, result
    assert "Traceback" not in result.out
    assert "not done" not in result.out


@pytest.mark.engine
@pytest.mark.destructive
@pytest.mark.usefixtures("leave_no_trace")
def test_a_look_inside_that_cannot_run_is_said_as_such(workshop, engine, tmp_path):
    """start-exec looks inside the running container with testinfra (`docker exec`): with no
    docker CLI on PATH, the kit says it could not look, and does not blame the learner."""
    workshop("next")
    type_("docker image pull alpine")
    type_("docker container run -it alpine /bin/sh", "exit")
    type_solution("isolation")
    type_solution("start-exec")
    assert workshop("check", "start-exec").code == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "cat", "test", "env"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bare / tool)
    result = workshop("check", "start-exec", env={"PATH": str(bare)})
    assert result.code == Exit.ERROR, result
    assert "could not look inside container" in " ".join(result.out.split()), result
