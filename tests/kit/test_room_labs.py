"""The issue's promise, end to end: a room with no internet but the instructor's machine
completes the labs from a clean learner engine.

The room store is prepared from the stand-in registry (as it would be from Docker Hub), then
`workshop room serve-images` is the learner engine's only mirror and the only package index its
builds can reach: the learner's engine is a second dockerd with a bridge of its own and no
iptables rules, so its containers reach the host and nothing beyond it. With WORKSHOP_MIRROR and
WORKSHOP_INDEX set (what `workshop join` keeps from an offline room), `workshop prove` types every
step's solution (the Mysfits build with the room's `--build-arg PIP_INDEX_URL`) and every
declared mistake on that engine, and each step is done after its solution."""

from __future__ import annotations

import pytest

from tests.kit.room_parts import (
    UPSTREAM,
    LearnerEngine,
    free_port,
    needs_dockerd,
    needs_registry,
    needs_upstream,
    run_workshop,
    serving,
)
from workshop.labs import load_labs

pytestmark = [needs_registry, needs_upstream, needs_dockerd, pytest.mark.engine]


def _shared_engine_is_docker_26() -> bool:
    import subprocess

    answer = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return answer.stdout.strip().startswith("26.")


# The learner's engine here is a private dockerd (Debian's 20.10), whatever engine the rest of
# the suite runs on: `make selftest` proves it once, in its Docker 20.10 pass.
once = pytest.mark.skipif(
    _shared_engine_is_docker_26(),
    reason="the room's learner engine is private: proven once, in the Docker 20.10 pass",
)


def _labs_without_a_swarm() -> list[str]:
    # a lab that needs a swarm of its own is proven on the shared engine (test_prove_labs)
    return [lab.id for lab in load_labs() if not lab.needs.get("swarm")]


@pytest.fixture(scope="module")
def offline_room(tmp_path_factory):
    store = tmp_path_factory.mktemp("room") / "store"
    code, out = run_workshop("room", "prepare", "--upstream", UPSTREAM, "--store", str(store))
    assert code == 0, out
    registry_port = free_port()
    # the learner engine first: its bridge's address is where its builds reach the index
    engine = LearnerEngine(f"http://127.0.0.1:{registry_port}").start()
    try:
        with serving(store, host="0.0.0.0", registry_port=registry_port) as (_, mirror, index):
            room_index = index.replace("127.0.0.1", engine.gateway)
            yield engine, mirror, room_index
    finally:
        engine.stop()


@once
@pytest.mark.destructive
@pytest.mark.parametrize("lab_id", _labs_without_a_swarm())
def test_a_room_with_no_internet_completes_the_lab(offline_room, lab_id, tmp_path):
    engine, mirror, index = offline_room
    code, out = run_workshop(
        "prove",
        lab_id,
        env={
            "DOCKER_HOST": engine.host,
            "WORKSHOP_HOME": str(tmp_path / "home"),
            "WORKSHOP_MIRROR": mirror,
            "WORKSHOP_INDEX": index,
        },
        timeout=1800,
    )
    assert code == 0, out
    assert "is proven" in out
    # everything it pulled came from the room: the engine's only mirror, and no other registry
    info = engine.client.info()
    assert info["RegistryConfig"]["Mirrors"] == [mirror + "/"]
