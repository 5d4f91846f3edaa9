"""The Ship it lab's verdicts on the real engine, beyond what `workshop prove shipit` claims (its
solutions and each declared mistake): other correct ways that must pass, and `workshop reset`
undoing what the lab made, and only that.

One learner walks the lab in order (each part builds on the one before, as a learner's do), in a
private state folder; the kit files the lab edits (the stack file, the Mysfits data) are put back
as they were, and what the walk made on the engine is removed by `workshop reset` itself, which
the last part checks. The engine may be busy with others meanwhile: only names the lab owns are
made (the `shipit` stack, the `registry` container, ports 5001 and 8090).
"""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.kit.fixtures import KIT, lab_of

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

LAB = lab_of(__file__)
EDITED = [KIT / path for path in LAB.edits]


def sh(command: str, check: bool = True) -> str:
    done = subprocess.run(command, shell=True, cwd=KIT, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"{command}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


def swarm_state() -> str:
    return sh("docker info --format '{{.Swarm.LocalNodeState}}'").strip()


def _copies() -> set:
    """The copies of the learner's edits that `workshop reset` keeps beside the files."""
    return {copy for path in EDITED for copy in path.parent.glob(f"{path.name}.before-reset-*")}


@pytest.fixture
def kept_files():
    """The kit files the walk edits, put back as they were; the copies its reset keeps of them
    are removed (a later reset on this clone would take them for a learner's)."""
    saved = {path: path.read_bytes() for path in EDITED}
    earlier = _copies()
    try:
        yield
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
        for copy in _copies() - earlier:
            copy.unlink()


@pytest.fixture(scope="module")
def clear_engine():
    """The lab's names must be free (another run's leftovers would make the walk lie)."""
    taken = sh("docker container ls -aq --filter name=^registry$", check=False).strip()
    services = sh("docker service ls -q --filter name=shipit_ 2>/dev/null", check=False).strip()
    if taken or services:
        pytest.skip("the lab's names (container registry, stack shipit) are in use on this engine")


def passes(workshop, step: str) -> None:
    result = workshop("check", step)
    assert result.code == 0, f"{step} should pass:\n{result.out}"


def names(workshop, step: str, mistake_words: str) -> None:
    result = workshop("check", step)
    assert result.code == 3, f"{step} should not pass:\n{result.out}"
    assert mistake_words in result.out, result.out


def test_other_correct_ways_and_reset(workshop, kept_files, clear_engine):
    swarm_before = swarm_state()
    try:
        # the Mysfits lab solved (goto solves the labs this one builds on), then step 1 with
        # the registry named `localhost`, not 127.0.0.1: the same registry
        result = workshop("goto", "push-v1", timeout=900)
        assert result.code == 0, result.out
        sh("docker container run -d -p 5001:5000 --name registry registry:2")
        time.sleep(1)
        sh("docker image tag mythicalmysfits/service localhost:5001/mysfits:v1")
        sh("docker image push localhost:5001/mysfits:v1")
        passes(workshop, "push-v1")

        # step 2, solved as the lab says; then a check before any request through the load
        # balancer is not done (it asks for two replicas answering)
        assert workshop("next").code == 0
        if swarm_before != "active":
            sh("docker swarm init --advertise-addr 127.0.0.1")
        sh("docker stack deploy --detach=false -c labs/shipit/stack.yml shipit")
        names(workshop, "replicas", "were answered by 0 of your 3 replicas")
        for _ in range(8):
            sh("curl -s -o /dev/null localhost:8090/mysfits")
            time.sleep(1)
        passes(workshop, "replicas")
        assert workshop("next").code == 0

        # step 3 with `docker service update --image` instead of the stack file: a rolling
        # update all the same
        sh("python3 labs/mysfits/add_mysfit.py")
        sh("docker image build -q -t mythicalmysfits/service images/mysfits")
        sh("docker image tag mythicalmysfits/service 127.0.0.1:5001/mysfits:v2")
        sh("docker image push 127.0.0.1:5001/mysfits:v2")
        sh("docker service update --detach=false --image 127.0.0.1:5001/mysfits:v2 shipit_mysfits")
        passes(workshop, "rolling-update")
        assert workshop("next").code == 0

        # step 4: the update paused (a named mistake), then rolled back by hand: done
        sh("docker image build -q -t 127.0.0.1:5001/mysfits:v3 labs/shipit/v3")
        sh("docker image push 127.0.0.1:5001/mysfits:v3")
        sh(
            "docker service update --detach --update-failure-action pause "
            "--image 127.0.0.1:5001/mysfits:v3 shipit_mysfits"
        )
        deadline = time.monotonic() + 120  # v3's health check fails a few times first
        state = ""
        while time.monotonic() < deadline and state != "paused":
            time.sleep(2)
            state = sh(
                "docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "
                "shipit_mysfits"
            ).strip()
        assert state == "paused", state
        names(workshop, "rollback", "The update of shipit_mysfits to v3 paused")
        sh("docker service rollback --detach=false shipit_mysfits")
        passes(workshop, "rollback")
    finally:
        # reset undoes the stack (services, config, network), the registry container and the
        # swarm if the walk made it; the images stay
        result = workshop("reset", "--yes", timeout=300)
    assert result.code == 0, result.out
    assert not sh("docker service ls -q --filter name=shipit_ 2>/dev/null", check=False).strip()
    assert not sh("docker container ls -aq --filter name=^registry$").strip()
    assert not sh("docker config ls -q --filter name=shipit_ 2>/dev/null", check=False).strip()
    assert swarm_state() == swarm_before
    # the lab's versions stay (reset removes the Mysfits lab's own builds, as it always has)
    versions = [
        "localhost:5001/mysfits:v1",
        "127.0.0.1:5001/mysfits:v2",
        "127.0.0.1:5001/mysfits:v3",
    ]
    images = sh("docker image ls --format '{{.Repository}}:{{.Tag}}'").split()
    assert set(versions) <= set(images)
    sh(f"docker image rm {' '.join(versions)}")  # the test's own tags, now they are proven kept
