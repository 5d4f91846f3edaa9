"""The lab's own helpers, as pure logic: the load balancer's log lines (lb_log.py) and the
script that changes the stack file's version (set_version.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.kit.fixtures import lab_of

LAB = lab_of(__file__)
FOLDER = LAB.folder


def _load(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_lab_helper_{name}", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


lb_log = _load("lb_log")
set_version = _load("set_version")

ANSWERED = (
    "2026-12-03T12:28:29+00:00 status=200 upstream=10.0.1.4:8080 upstream_status=200 "
    'served_by=8cf7f4c4471c "GET /mysfits HTTP/1.1"'
)
RETRIED = (
    "2026-12-03T12:28:30+00:00 status=200 upstream=10.0.1.5:8080, 10.0.1.6:8080 "
    'upstream_status=502, 200 served_by=c0df282bd09e "GET /mysfits HTTP/1.1"'
)
NO_REPLICA = (
    "2026-12-03T12:28:31+00:00 status=502 upstream=- upstream_status=- served_by=- "
    '"GET /mysfits HTTP/1.1"'
)


def test_a_request_line_is_read_whole():
    (request,) = lb_log.requests(ANSWERED)
    assert request.time == datetime(2026, 12, 3, 12, 28, 29, tzinfo=UTC)
    assert (request.status, request.upstream, request.served_by) == (
        200,
        "10.0.1.4:8080",
        "8cf7f4c4471c",
    )
    assert request.request == "GET /mysfits HTTP/1.1"
    assert not request.failed


def test_a_refused_replica_then_an_answer_is_no_failure():
    (request,) = lb_log.requests(RETRIED)
    assert request.upstream == "10.0.1.5:8080, 10.0.1.6:8080"
    assert request.served_by == "c0df282bd09e"
    assert not request.failed


def test_no_replica_is_a_failure_served_by_none():
    (request,) = lb_log.requests(NO_REPLICA)
    assert request.failed and request.served_by == "" and request.status == 502


def test_nginx_notices_and_service_log_prefixes():
    text = "\n".join(
        [
            "2026/12/03 12:28:12 [notice] 1#1: start worker processes",
            f"shipit_lb.1.3qsegjix37gz@vm    | {ANSWERED}",
            "",
            NO_REPLICA,
        ]
    )
    assert [r.status for r in lb_log.requests(text)] == [200, 502]


def test_the_lab_conf_writes_the_format_the_checks_read():
    conf = (FOLDER / "lb.conf").read_text()
    for field in (
        "status=$status",
        "upstream=$upstream_addr",
        "served_by=$upstream_http_x_served_by",
    ):
        assert field in conf
    assert "resolver 127.0.0.11 valid=1s" in conf


STACK = (FOLDER / "stack.yml").read_text()


def test_set_version_changes_the_one_image_line():
    text, old = set_version.set_version(STACK, "v2")
    assert old == "v1"
    assert "image: 127.0.0.1:5001/mysfits:v2\n" in text
    assert "image: nginx:1.27" in text
    assert text.replace(":v2\n", ":v1\n", 1) == STACK


def test_set_version_keeps_localhost_and_refuses_a_file_without_the_line():
    text, old = set_version.set_version(STACK.replace("127.0.0.1:5001", "localhost:5001"), "v3")
    assert "image: localhost:5001/mysfits:v3" in text and old == "v1"
    with pytest.raises(ValueError):
        set_version.set_version("services: {}\n", "v2")


def test_set_version_script_refuses_a_bad_tag(tmp_path):
    done = subprocess.run(
        [sys.executable, str(FOLDER / "set_version.py"), "not a tag"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "usage" in done.stderr
    assert (FOLDER / "stack.yml").read_text() == STACK  # untouched


def test_the_v3_release_differs_from_the_app_only_by_its_health_check():
    v3 = (FOLDER / "v3" / "Dockerfile").read_text()
    assert "FROM mythicalmysfits/service" in v3
    assert "/healthz" in v3
    app = (Path(LAB.root) / "images" / "mysfits" / "app.py").read_text()
    assert '"/healthz"' not in app  # the page the broken health check asks for does not exist


def _old_cli() -> str | None:
    """Debian's and Ubuntu's docker.io 20.10 CLI, when this machine has it (at /usr/bin/docker,
    behind a newer one first on PATH)."""
    path = Path("/usr/bin/docker")
    if not path.is_file():
        return None
    done = subprocess.run([path, "--version"], capture_output=True, text=True)
    return str(path) if done.stdout.startswith("Docker version 20.") else None


def test_a_docker_20_10_client_reads_the_stack_file(tmp_path):
    """That client refuses a Compose file without `version:` ("unsupported Compose file version:
    1.0") before it asks the engine anything; no engine is asked here (an address nothing
    answers at), so getting as far as asking is the proof."""
    old = _old_cli()
    if old is None:
        pytest.skip("no Docker 20.10 client at /usr/bin/docker")
    done = subprocess.run(
        [old, "stack", "deploy", "-c", str(FOLDER / "stack.yml"), "parse-only"],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DOCKER_HOST": f"unix://{tmp_path}/none.sock",
            "HOME": str(tmp_path),
        },
        timeout=60,
    )
    said = done.stdout + done.stderr
    assert "Compose file" not in said and "Cannot connect to the Docker daemon" in said, said
