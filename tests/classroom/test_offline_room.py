"""An offline room: `serve --mirror --index` hands them to each learner at join, the learner's
client keeps them, and the room says who cannot pull (dashboard data, JSON and CSV exports)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from tests.classroom.support import KIT, now, row

MIRROR = "http://10.0.0.5:5000"
INDEX = "http://10.0.0.5:3141/simple/"


def readiness(seq: int, can, because=()) -> dict:
    """A readiness report as `workshop doctor` sends it, with its `pull` fact."""
    return {
        "seq": seq,
        "at": now(),
        "kind": "readiness",
        "ready": can is not False,
        "findings": [
            {"status": "fail" if can is False else "ok", "topic": "room mirror", "detail": b}
            for b in because
        ],
        "pull": {"can": can, "because": list(because)},
    }


def test_serve_prints_the_mirror_and_index_in_the_rooms_block(make_server):
    server = make_server(None, "--mirror", MIRROR + "/", "--index", INDEX.rstrip("/"))
    out = server.output()
    room_block = out.split("== For you only")[0]
    assert f"Registry mirror: {MIRROR} " in room_block
    assert f"Package index: {INDEX} " in room_block


def test_join_hands_the_learner_the_rooms_mirror_and_index(make_server):
    server = make_server(None, "--mirror", MIRROR, "--index", INDEX)
    body = {"code": server.code, "name": "Ada", "role": "learner", "kit": server.kit()}
    answer = server.request("POST", "/api/v1/join", body)
    assert answer.status == 201, answer
    assert answer.body["room"] == {"mirror": MIRROR, "index": INDEX}


def test_an_online_room_says_nothing_of_mirrors(make_server):
    server = make_server()
    body = {"code": server.code, "name": "Ada", "role": "learner", "kit": server.kit()}
    answer = server.request("POST", "/api/v1/join", body)
    assert answer.status == 201 and "room" not in answer.body
    assert "Registry mirror" not in server.output()


def test_a_bad_mirror_address_is_one_sentence(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "classroom", "serve", "--mirror", "10.0.0.5:5000"],
        capture_output=True,
        text=True,
        cwd=KIT,
        env={"WORKSHOP_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        timeout=60,
    )
    assert done.returncode == 2, done
    assert done.stderr.strip().splitlines() == [
        "Error: --mirror '10.0.0.5:5000' is not an address learners can reach: write it as "
        "http://10.0.0.5:5000."
    ]


def test_the_learners_client_keeps_them_and_doctor_uses_them(make_server, monkeypatch, tmp_path):
    from workshop import report, roomurls

    server = make_server(None, "--mirror", MIRROR, "--index", INDEX)
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "learner"))
    monkeypatch.delenv("WORKSHOP_MIRROR", raising=False)
    monkeypatch.delenv("WORKSHOP_INDEX", raising=False)
    report.join(server.url, server.code, "Ada")
    kept = json.loads((tmp_path / "learner" / report.MEMBERSHIP).read_text())
    assert (kept["mirror"], kept["index"]) == (MIRROR, INDEX)
    assert roomurls.current() == roomurls.Room(MIRROR, INDEX)
    # the environment, then doctor's own options, override what the room said
    monkeypatch.setenv("WORKSHOP_INDEX", "off")
    assert roomurls.current() == roomurls.Room(MIRROR, "")
    assert roomurls.current(mirror="http://127.0.0.1:5999") == roomurls.Room(
        "http://127.0.0.1:5999", ""
    )


def test_the_room_says_who_cannot_pull_and_the_exports_carry_it(make_server):
    server = make_server()
    ada, bob, cy = server.join("Ada"), server.join("Bob"), server.join("Cy")
    why = "engine does not use the room's mirror http://10.0.0.5:5000"
    assert ada.post(readiness(1, False, [why])).status == 200
    assert bob.post(readiness(1, None, ["python:3.12-slim: cannot check"])).status == 200
    assert cy.post(readiness(1, True)).status == 200
    room = server.room()
    assert room["readiness"]["cannot_pull"] == [{"name": "Ada", "because": [why]}]
    assert [r["name"] for r in room["readiness"]["pull_unchecked"]] == ["Bob"]
    assert row(room, "Ada")["can_pull"] is False and row(room, "Cy")["can_pull"] is True

    def export(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "workshop", "classroom", "export", *args],
            capture_output=True,
            text=True,
            env=server.env(),
            cwd=KIT,
            timeout=60,
        )
        assert done.returncode == 0, done
        return done.stdout

    exported = json.loads(export("--json"))
    assert exported["cannot_pull"] == [{"name": "Ada", "because": [why]}]
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(export("--csv")))}
    assert rows["Ada"]["can_pull"] == "no" and rows["Ada"]["cannot_pull_because"] == why
    assert rows["Cy"]["can_pull"] == "yes" and rows["Bob"]["can_pull"] == ""


def test_a_readiness_report_without_pull_still_counts(make_server):
    """A kit from before the offline room sends no `pull`: its pulls are not checked."""
    server = make_server()
    ada = server.join("Ada")
    report = readiness(1, True)
    del report["pull"]
    assert ada.post(report).status == 200
    assert row(server.room(), "Ada")["can_pull"] is None


def test_a_bad_pull_fact_is_refused(make_server):
    server = make_server()
    ada = server.join("Ada")
    report = readiness(1, True)
    report["pull"] = {"can": "maybe", "because": []}
    answer = ada.post(report)
    assert answer.status == 422 and "pull.can" in answer.body["error"]


def test_workshop_join_tells_the_learner_the_room_is_offline(make_server, tmp_path):
    server = make_server(None, "--mirror", MIRROR, "--index", INDEX)
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "join", server.url, server.code, "--name", "Ada"],
        capture_output=True,
        text=True,
        cwd=KIT,
        env={
            **server.env(),
            "WORKSHOP_HOME": str(tmp_path / "ada"),
            "WORKSHOP_REGISTRY": "off",  # asks nothing on the internet
            "DOCKER_HOST": "unix:///nonexistent/docker.sock",  # readiness without an engine
        },
        timeout=60,
    )
    said = " ".join(done.stdout.split())
    assert (
        f"This room serves what the labs fetch: its registry mirror {MIRROR} and its package "
        f"index {INDEX}." in said
    ), done
    assert "`workshop doctor` checks that you can use them" in said
