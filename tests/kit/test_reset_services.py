"""`workshop reset` and swarm services: a service the learner made from the lab's image with
`docker service create` (not the lab's stack) is the lab's, as its containers are; a service that
was there before, or that runs another image, stays, and so do its tasks, even one the swarm
started from the lab's image while the lab ran (removed alone, the swarm would only start
another). Tested on a fixture lab whose image has a name only this test uses."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.kit import curriculum
from tests.kit.fixtures import LABELS

pytestmark = [pytest.mark.engine, pytest.mark.destructive]


def _running(engine, service_id: str, timeout: float = 60) -> set[str]:
    """The ids of the service's running task containers, once it has one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = engine.api.tasks(filters={"service": service_id, "desired-state": "running"})
        found = {
            t["Status"]["ContainerStatus"]["ContainerID"]
            for t in tasks
            if t["Status"]["State"] == "running" and t["Status"].get("ContainerStatus")
        }
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"service {service_id} started no task in {timeout} s")


@pytest.fixture
def swarm(engine):
    """A swarm this engine manages: made for the test if there is none, and left after it
    unless someone else runs a service in it meanwhile (the engine may be shared)."""
    node = engine.info()["Swarm"]
    made = False
    if node.get("LocalNodeState") == "inactive":
        engine.swarm.init(advertise_addr="127.0.0.1")
        made = True
    elif node.get("LocalNodeState") != "active" or not node.get("ControlAvailable"):
        pytest.skip("this engine is in a swarm it does not manage")
    try:
        yield
    finally:
        if made and not engine.services.list():
            engine.swarm.leave(force=True)


def test_reset_removes_a_service_made_from_the_labs_image_and_no_other(
    tmp_path, workshop, engine, swarm
):
    mark = uuid.uuid4().hex[:8]
    image = f"kit-selftest/svc-{mark}:1"
    engine.images.get("alpine:latest").tag(image)
    made: list = []

    def service(name: str, of: str):
        made.append(engine.services.create(of, ["sleep", "3600"], name=name, labels=LABELS))
        return made[-1]

    try:
        before = service(f"kit-selftest-before-{mark}", image)  # the learner's, from before
        _running(engine, before.id)
        manifest = curriculum.write(tmp_path) / "demo" / "lab.toml"
        declared = f'images = ["{image}"]\nservices = ["kit-selftest-declared-{mark}"]'
        manifest.write_text(manifest.read_text().replace("images = []", declared))
        workshop.env["WORKSHOP_LABS"] = str(manifest.parent.parent)
        assert workshop("next").code == 0  # the learner begins the lab (the engine's clock)
        time.sleep(1.1)  # the engine keeps whole seconds of a service's creation
        theirs = service(f"kit-selftest-made-{mark}", image)  # `docker service create`
        other = service(f"kit-selftest-other-{mark}", "alpine:latest")  # another image
        before.force_update()  # a new task, from the lab's image, while the lab runs
        time.sleep(1)
        _running(engine, theirs.id)
        kept = {s.id: _running(engine, s.id) for s in (before, other)}

        dry = " ".join(workshop("reset", "--dry-run").out.split())
        assert f"service kit-selftest-made-{mark}, made by lab demo" in dry, dry
        assert f"-before-{mark}" not in dry and f"-other-{mark}" not in dry, dry
        done = workshop("reset", "--yes")
        assert done.code == 0, done

        left = {s.id for s in engine.services.list()}
        assert theirs.id not in left
        # its tasks are gone when reset says so, not a moment later (the swarm removes them
        # after the service): the learner's next `docker image rm` must not find them
        label = f"com.docker.swarm.service.id={theirs.id}"
        assert not engine.api.containers(all=True, filters={"label": label})
        assert {before.id, other.id} <= left
        for service_id, tasks in kept.items():
            assert _running(engine, service_id) == tasks  # its tasks were not touched
    finally:
        left = {s.id for s in engine.services.list()}
        for each in made:
            if each.id in left:
                each.remove()
        deadline = time.monotonic() + 60  # their tasks go a moment after them
        while engine.api.containers(all=True, filters={"ancestor": image}):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        engine.images.remove(image)
