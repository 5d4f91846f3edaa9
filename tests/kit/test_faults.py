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

from tests.kit.fixtures import LABELS, TRACE
from tests.kit.robot import type_
from workshop.errors import Exit

# A fixture lab of one step whose check asks the engine for a container and looks inside it
# with testinfra (`docker exec`), as a lab's check may.
MANIFEST = """\
format_version = 2
id = "look"
title = "Look inside"

[[steps]]
id = "look"
title = "Look inside a running container"
instructions = "steps/look.md"
check = "test_look"
hint = "Run the container."
solution = ["docker container run -d --name {name} alpine sleep 300"]

[[steps.mistakes]]
id = "not-running"
reproduce = ["true"]

[[steps.mistakes]]
id = "no-hostname"
reproduce = []
unreproducible = "a container without /etc/hostname"
"""

CHECKS = """\
from workshop.probes import Container, missing
from workshop.services import Inside

NAME = {name!r}


def test_look(engine):
    found = engine.api.containers(filters={{"name": NAME}})
    if not found:
        missing(f"No container {{NAME}} runs: run it.", mistake="not-running")
    container = Container(engine, engine.api.inspect_container(found[0]["Id"]))
    if not Inside(container).exists("/etc/hostname"):
        missing("It has no /etc/hostname.", mistake="no-hostname")
"""


@pytest.fixture
def look(tmp_path, monkeypatch, workshop):
    """The `look` fixture lab, read by the kit instead of its own labs; returns its container's
    name (unique to this session)."""
    name = f"kit-look-{TRACE.session}"
    lab = tmp_path / "labs" / "look"
    (lab / "steps").mkdir(parents=True)
    (lab / "lab.toml").write_text(MANIFEST.format(name=name))
    (lab / "steps" / "look.md").write_text(
        f"`docker container run -d --name {name} alpine sleep 300`"
    )
    (lab / "checks.py").write_text(CHECKS.format(name=name))
    monkeypatch.setenv("WORKSHOP_LABS", str(tmp_path / "labs"))
    workshop.env["WORKSHOP_LABS"] = str(tmp_path / "labs")
    return name


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


def test_an_engine_dying_mid_check_is_an_engine_error(look, workshop, home, tmp_path):
    home.mkdir()
    (home / "progress.json").write_text(
        json.dumps(
            {
                "version": 1,
                "labs": {"look": {"started_at": "2026-11-25T10:00:00+00:00", "done": {}}},
            }
        )
    )
    engine = DyingEngine(tmp_path / "docker.sock")
    try:
        result = workshop("check", "look", env={"DOCKER_HOST": f"unix://{engine.path}"})
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
def test_a_look_inside_that_cannot_run_is_said_as_such(look, workshop, engine, tmp_path):
    """The check looks inside the running container with testinfra (`docker exec`): with no
    docker CLI on PATH, the kit says it could not look, and does not blame the learner."""
    workshop("next")
    type_("docker image pull alpine")
    engine.containers.run("alpine", ["sleep", "300"], name=look, detach=True, labels=LABELS)
    assert workshop("check", "look").code == 0
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("sh", "cat", "test", "env"):
        found = shutil.which(tool)
        if found:
            os.symlink(found, bare / tool)
    result = workshop("check", "look", env={"PATH": str(bare)})
    assert result.code == Exit.ERROR, result
    assert "could not look inside container" in " ".join(result.out.split()), result
