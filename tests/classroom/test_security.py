"""Secrets, tokens, validation, rate limits, logs and TLS, against the server process."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

from tests.classroom.support import call, now, verdict

ROOM_PATHS = ["/api/v1/room", "/api/v1/room/events", "/api/v1/export?format=json"]


@pytest.mark.parametrize("path", ROOM_PATHS)
def test_room_data_needs_the_instructor_secret(server, path):
    server.join("Ada").report("first", True)
    missing = server.get(path)
    assert missing.status == 401 and "instructor's secret" in missing.body["error"]
    other = "A" if server.secret[-1] != "A" else "B"  # the secret with its last character changed
    wrong = server.get(path, headers={"Authorization": f"Bearer {server.secret[:-1]}{other}"})
    assert wrong.status == 403 and "Ada" not in str(wrong.body)
    as_learner = server.get(path, headers={"Authorization": f"Bearer {server.code}"})
    assert as_learner.status == 403


def test_demo_needs_the_join_code(server):
    teacher = server.join("Teacher", role="instructor")
    line = {"seq": 1, "at": now(), "kind": "demo", "what": "command", "text": "docker ps"}
    assert teacher.post(line).status == 200
    assert server.get("/api/v1/demo").status == 401
    assert server.get("/api/v1/demo", headers={"X-Join-Code": "AAAA-AAAA"}).status == 403
    typed = server.code.lower().replace("-", "")  # as a learner might type it
    answer = server.get("/api/v1/demo", headers={"X-Join-Code": typed})
    assert answer.status == 200 and answer.body["demo"][0]["text"] == "docker ps"


def test_joining_needs_the_code_and_a_free_name(server):
    wrong = server.request("POST", "/api/v1/join", {"code": "WRNG-CODE", "name": "Ada"})
    assert wrong.status == 403
    as_instructor = server.request(
        "POST", "/api/v1/join", {"code": server.code, "name": "Eve", "role": "instructor"}
    )
    assert as_instructor.status == 403  # the join code does not make an instructor
    server.join("Ada")
    again = server.request("POST", "/api/v1/join", {"code": server.code, "name": "ada"})
    assert again.status == 409 and "choose another name" in again.body["error"]
    assert [r["name"] for r in server.room()["learners"]] == ["Ada"]


def test_a_token_writes_only_for_its_learner(server):
    ada, bo = server.join("Ada"), server.join("Bo")
    assert ada.post(verdict(1, "first", True)).status == 200
    for_bo = server.request(
        "POST",
        "/api/v1/reports",
        {"reports": [verdict(2, "second", True)], "learner": bo.id},
        {"Authorization": f"Bearer {ada.token}"},
    )
    assert for_bo.status == 422
    assert ada.post(verdict(2, "first", True), token="not-a-token").status == 401
    assert (
        server.request("POST", "/api/v1/reports", {"reports": [verdict(1, "first", True)]}).status
        == 401
    )
    room = server.room()
    assert [r["done"] for r in room["learners"]] == [["first"], []]  # Ada's, and Bo's: nothing
    demo = {"seq": 3, "at": now(), "kind": "demo", "what": "command", "text": "rm -rf /"}
    assert ada.post(demo).status == 403  # only the instructor streams the demo


GOOD = verdict(2, "first", False, "no-tty", "The shell has no terminal: add -it.")
BAD_REPORTS = {
    "unknown lab": {**GOOD, "lab": "nope"},
    "unknown step": {**GOOD, "step": "nope"},
    "unknown mistake": {**GOOD, "mistake": "nope"},
    "mistake of another lab's step": {**GOOD, "mistake": "made-up"},
    "passed not a bool": {**GOOD, "passed": "yes"},
    "seq not a number": {**GOOD, "seq": "1"},
    "seq zero": {**GOOD, "seq": 0},
    "seq a bool": {**GOOD, "seq": True},
    "at not a time": {**GOOD, "at": "yesterday"},
    "at with no zone": {**GOOD, "at": "2026-11-25T09:00:00"},
    "sentence too long": {**GOOD, "sentence": "x" * 601},
    "unknown via": {**GOOD, "via": "telnet"},
    "unknown kind": {**GOOD, "kind": "shell-history"},
    "extra field": {**GOOD, "command": "docker run"},
    "readiness findings not a list": {
        "seq": 2,
        "at": now(),
        "kind": "readiness",
        "ready": True,
        "findings": "ok",
    },
    "readiness bad status": {
        "seq": 2,
        "at": now(),
        "kind": "readiness",
        "ready": True,
        "findings": [{"status": "great", "topic": "t", "detail": "d"}],
    },
}


@pytest.mark.parametrize("report", BAD_REPORTS.values(), ids=BAD_REPORTS.keys())
def test_a_bad_report_is_refused_and_nothing_is_stored(server, report):
    ada = server.join("Ada")
    answer = ada.post(verdict(1, "first", True), report)
    assert 400 <= answer.status < 500 and answer.body["error"].endswith("."), answer
    assert server.room()["learners"][0]["done"] == []  # the good report beside it: not stored


BAD_BODIES = {
    "not json": (b"{reports", 400),
    "not an object": (b"[1]", 422),
    "no reports": (b'{"reports": []}', 422),
    "too many reports": (('{"reports": [' + ",".join(['{"seq": 1}'] * 101) + "]}").encode(), 422),
    "too big": (b'{"reports": ["' + b"x" * 70000 + b'"]}', 413),
    "seqs not increasing": (
        (
            '{"reports": ['
            + ",".join(__import__("json").dumps(verdict(n, "first", True)) for n in (2, 1))
            + "]}"
        ).encode(),
        422,
    ),
}


@pytest.mark.parametrize(("raw", "status"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_body_is_refused(server, raw, status):
    ada = server.join("Ada")
    answer = server.request(
        "POST", "/api/v1/reports", raw=raw, headers={"Authorization": f"Bearer {ada.token}"}
    )
    assert answer.status == status, answer
    assert server.room()["learners"][0]["done"] == []


BAD_NAMES = ["", " ", "x" * 41, "<img src=x onerror=alert(1)>", "Ada\nBo", "a/b", "名前@", 7]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_name_is_refused(server, name):
    answer = server.request("POST", "/api/v1/join", {"code": server.code, "name": name})
    assert answer.status == 422, answer
    assert server.room()["learners"] == []


@pytest.mark.parametrize("name", ["Zoë O'Neil", "李小龍", "dev-1_x.y", "  Ada  "])
def test_names_of_any_script_are_welcome(server, name):
    answer = server.request("POST", "/api/v1/join", {"code": server.code, "name": name})
    assert answer.status == 201 and answer.body["name"] == name.strip(), answer


def test_a_flooding_learner_is_limited_and_the_others_are_not(server):
    flood, calm = server.join("Flood"), server.join("Calm")
    statuses = [flood.post(verdict(n, "first", False)).status for n in range(1, 41)]
    assert 429 in statuses and statuses[:20] == [200] * 20, statuses
    refused = flood.post(verdict(99, "first", False))
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    assert calm.report("first", True).status == 200
    assert [r["done"] for r in server.room()["learners"]] == [["first"], []]


def test_secrets_and_tokens_never_reach_the_log(server):
    ada = server.join("Ada")
    for _ in range(3):
        ada.report("first", False, "no-tty")
        server.room()
        server.get("/api/v1/room", headers={"Authorization": "Bearer WRONG-SECRET-123"})
        server.get(f"/api/v1/demo?code={server.code}")
        server.request("POST", "/api/v1/join", {"code": "LEAK-LEAK", "name": "Mallory"})
    server.stop()
    log = server.output()
    banner, _, served = log.partition("Ctrl-C stops the server")
    assert server.secret in banner and server.code in banner  # printed once, for the instructor
    for secret in (server.secret, server.code, ada.token, "WRONG-SECRET-123", "LEAK-LEAK"):
        assert secret not in served, served
    assert ada.token not in log and "GET /" not in log and "POST /" not in log
    assert "Ada joined as learner" in served


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls(make_server, tmp_path, db):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(cafile=str(cert))
    server = make_server(db, "--tls-cert", str(cert), "--tls-key", str(key), context=context)
    assert server.url.startswith("https://127.0.0.1:")
    answer = call(server.url, "GET", "/api/v1/health", context=context)
    assert answer.status == 200 and answer.body == {"ok": True}
    with pytest.raises(ssl.SSLError):  # a client that does not trust the certificate: refused
        call(server.url, "GET", "/api/v1/health", context=ssl.create_default_context())
    joined = call(
        server.url, "POST", "/api/v1/join", {"code": server.code, "name": "Ada"}, context=context
    )
    assert joined.status == 201
