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


def old_cli() -> str:
    """Debian's and Ubuntu's docker.io 20.10 CLI when this machine has it (at /usr/bin/docker,
    behind a newer one first on PATH), else the docker on PATH: the stack is deployed with the
    oldest client at hand."""
    found = sh("/usr/bin/docker --version 2>/dev/null", check=False)
    return "/usr/bin/docker" if found.startswith("Docker version 20.") else "docker"


def lab_swarm():
    """The lab's own view of Swarm (swarm.py), as its checks read it."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_lab_shipit_swarm", LAB.folder / "swarm.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def wait_for_update(state: str) -> None:
    deadline = time.monotonic() + 120  # v3's health check fails a few times first
    now = ""
    while time.monotonic() < deadline and now != state:
        time.sleep(2)
        now = sh(
            "docker service inspect -f '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "
            "shipit_mysfits"
        ).strip()
    assert now == state, now


NEIGHBOUR = "kit-walk-neighbour"  # someone else's service: there before the learner begins
MINE = "kit-walk-mine"  # a service the learner makes during the lab, theirs to remove
OTHER_STACK = "kitwalk"  # the lab's stack file deployed under another name


def test_other_correct_ways_and_reset(workshop, engine, kept_files, clear_engine):
    swarm_before = swarm_state()
    old = old_cli()
    try:
        # someone else's service, there before the learner begins (in a swarm made for it)
        if swarm_before != "active":
            sh("docker swarm init --advertise-addr 127.0.0.1")
        sh(f"docker service create --detach --name {NEIGHBOUR} alpine:latest sleep 100000")

        # the Mysfits lab solved (goto solves the labs this one builds on), then step 1: a tag
        # for port 5000 while the registry runs on 5002 (the sentence names the real port), then
        # the registry named `localhost`, not 127.0.0.1: the same registry
        result = workshop("goto", "push-v1", timeout=900)
        assert result.code == 0, result.out
        sh("docker container run -d -p 5002:5000 --name registry registry:2")
        sh("docker image tag mythicalmysfits/service localhost:5000/mysfits:v1")
        names(workshop, "push-v1", "your registry (container registry) listens on port 5002")
        sh("docker container rm -f -v registry")
        sh("docker container run -d -p 5001:5000 --name registry registry:2")
        time.sleep(1)
        sh("docker image tag mythicalmysfits/service localhost:5001/mysfits:v1")
        sh("docker image push localhost:5001/mysfits:v1")
        passes(workshop, "push-v1")

        # step 2 deployed by the oldest client at hand (Docker 20.10 needs the file's
        # `version:`), without pinning a digest (`--resolve-image never`: the replicas' own
        # images are judged); then a check before any request through the load balancer is not
        # done (it asks for two replicas answering)
        assert workshop("next").code == 0
        sh(f"{old} stack deploy --resolve-image never -c labs/shipit/stack.yml shipit")
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
        # a build made after v1 was pushed is the next version: step 1 stays done
        passes(workshop, "push-v1")
        sh("docker image tag mythicalmysfits/service 127.0.0.1:5001/mysfits:v2")
        sh("docker image push 127.0.0.1:5001/mysfits:v2")
        sh("docker service update --detach=false --image 127.0.0.1:5001/mysfits:v2 shipit_mysfits")
        passes(workshop, "rolling-update")
        # the v1 replicas it replaced were healthy: stopped, their containers read unhealthy,
        # which the lab does not take for a failed health check
        swarm = lab_swarm()
        tasks = swarm.tasks(engine, swarm.service(engine, "shipit_mysfits"))
        stopped = [t for t in tasks if t.state == "shutdown" and t.container_id]
        assert stopped and not [t for t in stopped if t.health], tasks
        # a later change of the service's spec (a scale) erases its update status: the task
        # history still says it was updated
        sh("docker service scale --detach=false shipit_mysfits=3")
        passes(workshop, "rolling-update")
        # v2 pushed again after its deploy: the service keeps the digest it resolved, and a
        # deploy asks the registry again
        sh("python3 labs/mysfits/add_mysfit.py")
        sh("docker image build -q -t mythicalmysfits/service images/mysfits")
        sh("docker image tag mythicalmysfits/service 127.0.0.1:5001/mysfits:v2")
        sh("docker image push 127.0.0.1:5001/mysfits:v2")
        names(workshop, "rolling-update", "a deploy asks the registry again what v2 names")
        sh("python3 labs/shipit/set_version.py v2")
        sh(f"{old} stack deploy -c labs/shipit/stack.yml shipit")
        passes(workshop, "rolling-update")
        assert workshop("next").code == 0

        # step 4: the update paused (a named mistake), then rolled back by hand: done
        sh("docker image build -q -t 127.0.0.1:5001/mysfits:v3 labs/shipit/v3")
        sh("docker image push 127.0.0.1:5001/mysfits:v3")
        sh(
            "docker service update --detach --update-failure-action pause "
            "--image 127.0.0.1:5001/mysfits:v3 shipit_mysfits"
        )
        wait_for_update("paused")
        names(workshop, "rollback", "The update of shipit_mysfits to v3 paused")
        sh("docker service rollback --detach=false shipit_mysfits")
        passes(workshop, "rollback")
        assert workshop("next").code == 0

        # step 5: a service the learner made meanwhile is theirs to remove; the stack file
        # deployed under another name is named by its own; someone else's service is not theirs
        sh(f"docker service create --detach --name {MINE} alpine:latest sleep 100000")
        sh("docker stack rm shipit")
        sh("docker container rm -f -v registry")
        sh(f"docker service rm {MINE}")
        passes(workshop, "ship-cleanup")
        sh(f"{old} stack deploy --resolve-image never -c labs/shipit/stack.yml {OTHER_STACK}")
        names(workshop, "ship-cleanup", f"run `docker stack rm {OTHER_STACK}`")
        sh(f"docker stack rm {OTHER_STACK}")
        sh(f"docker service rm {NEIGHBOUR}")
        names(workshop, "ship-cleanup", f"Service {NEIGHBOUR} is gone, there before you began")
    finally:
        sh(f"docker service rm {NEIGHBOUR} {MINE} 2>/dev/null", check=False)
        sh(f"docker stack rm {OTHER_STACK} 2>/dev/null", check=False)
        # reset undoes the stack (services, config, network), the registry container and the
        # swarm if the walk made it; the images stay
        result = workshop("reset", "--yes", timeout=300)
        if swarm_before != "active":  # made before the lab began: reset leaves it, so do we
            sh("docker swarm leave --force", check=False)
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
    # the test's own tags, now they are proven kept, once the walk's removed services' tasks
    # (the swarm removes them a moment after their service) no longer hold them
    holders = " ".join(f"--filter ancestor={version}" for version in versions)
    deadline = time.monotonic() + 60
    while sh(f"docker container ls -aq {holders}").strip() and time.monotonic() < deadline:
        time.sleep(0.5)
    sh(f"docker image rm {' '.join(versions)}")
