"""The suite's own cleanup on a shared engine: `no_trace` removes exactly what the robot made, and
a learner working on the same engine at the same time keeps everything of theirs."""

from __future__ import annotations

import contextlib
import io
import uuid

import pytest

from tests.kit.fixtures import TRACE, no_trace
from tests.kit.robot import type_
from tests.kit.trace import LABEL

pytestmark = [pytest.mark.engine, pytest.mark.destructive]

DOCKERFILE = "FROM alpine\nRUN echo {text} > /made-by\n"


def _exists(engine, kind: str, reference: str) -> bool:
    import docker.errors

    inspect = engine.api.inspect_container if kind == "container" else engine.api.inspect_image
    try:
        inspect(reference)
    except docker.errors.NotFound:
        return False
    return True


def _spy(engine, monkeypatch) -> list[tuple[str, str]]:
    """What the engine is asked to remove or tag through this client, from now on (the calls
    still go to the engine). Other runs of the suite share the engine and may remove things
    too: what this client asked for is what the block under test did."""
    calls: list[tuple[str, str]] = []
    for method in ("remove_container", "remove_image", "tag"):
        real = getattr(engine.api, method)

        def spied(reference, *args, _real=real, _method=method, **kwargs):
            calls.append((_method, str(reference)))
            return _real(reference, *args, **kwargs)

        monkeypatch.setattr(engine.api, method, spied)
    return calls


@pytest.mark.usefixtures("leave_no_trace")
def test_no_trace_removes_the_robots_things_and_a_learners_made_meanwhile_stay(
    engine, tmp_path, monkeypatch
):
    import docker.errors

    name = f"kit-selftest-{uuid.uuid4().hex[:8]}"
    type_("docker image pull alpine")  # outside the block: the fixture's to remove, if new
    context = tmp_path / "robot"
    context.mkdir()
    (context / "Dockerfile").write_text(DOCKERFILE.format(text="robot"))
    learners: list = []
    try:
        with no_trace(engine):
            type_(f"docker container run --name {name}-robot alpine true")
            made = type_("docker container create alpine true").split()[-1]
            type_(f"docker image tag alpine {name}/robot-tag")
            built = type_(f"docker image build -q -t {name}/robot-built {context}")
            robot_built = built.split()[-1]  # -q: only the image's id

            # Meanwhile a learner works on the same engine, with docker as it is (no label).
            learners.append(engine.containers.create("alpine", ["true"], name=f"{name}-learner"))
            learners.append(
                engine.containers.run("alpine", ["/bin/sh"], tty=True, stdin_open=True, detach=True)
            )
            engine.images.get("alpine").tag(f"{name}/learner-tag")
            learner_built, _ = engine.images.build(
                fileobj=io.BytesIO(DOCKERFILE.format(text="learner").encode()),
                tag=f"{name}/learner-built",
                rm=True,
            )
            calls = _spy(engine, monkeypatch)  # what leaving the block asks of the engine

        theirs = {c.id for c in learners} | {f"{name}/learner-tag", f"{name}/learner-built"}
        theirs |= {learner_built.id, f"{name}/learner-tag:latest", f"{name}/learner-built:latest"}
        touched = {reference for _, reference in calls}
        assert not touched & theirs, calls
        assert not any(reference.startswith("alpine") for reference in touched), calls
        assert not _exists(engine, "container", made)
        assert not _exists(engine, "container", f"{name}-robot")
        assert not _exists(engine, "image", f"{name}/robot-tag")
        assert not _exists(engine, "image", f"{name}/robot-built")
        assert not _exists(engine, "image", robot_built)

        gone = [c.name for c in learners if not _exists(engine, "container", c.id)]
        gone += [t for t in sorted(theirs) if "/" in t and not _exists(engine, "image", t)]
        if gone:  # not the block (its calls above say so): another run's cleanup, meanwhile
            pytest.skip(f"another process on this engine removed the learner's {gone} meanwhile")
        learners[1].reload()
        assert learners[1].status == "running"
        assert engine.images.get(f"{name}/learner-built").id == learner_built.id
    finally:  # the learner's things are this test's own: it removes them
        for container in learners:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for tag in (f"{name}/learner-tag", f"{name}/learner-built"):
            with contextlib.suppress(docker.errors.NotFound):
                engine.images.remove(tag)


@pytest.mark.usefixtures("leave_no_trace")
def test_a_tag_that_was_there_before_and_that_the_robot_moved_or_removed_is_put_back(
    engine, tmp_path
):
    import docker.errors

    name = f"kit-selftest-{uuid.uuid4().hex[:8]}"
    type_("docker image pull alpine")
    alpine = engine.images.get("alpine:latest").id
    kept, moved = f"{name}/kept:latest", f"{name}/moved:latest"
    for tag in (kept, moved):  # a learner's tags, from before the block
        engine.api.tag(alpine, *tag.split(":"))
    (tmp_path / "Dockerfile").write_text(DOCKERFILE.format(text="robot"))
    try:
        with no_trace(engine):
            type_(f"docker image rm {kept}")
            type_(f"docker image build -t {moved} {tmp_path}")
            built = engine.images.get(moved).id
            assert built != alpine
            assert engine.images.get(built).labels[LABEL] == TRACE.session  # the shim's mark
        assert engine.images.get(kept).id == alpine
        assert engine.images.get(moved).id == alpine
        assert not _exists(engine, "image", built)
    finally:
        for tag in (kept, moved):
            with contextlib.suppress(docker.errors.NotFound):
                engine.images.remove(tag)
