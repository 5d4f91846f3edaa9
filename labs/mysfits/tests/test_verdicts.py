# ruff: noqa: F811 -- the Mysfits robot's fixtures are imported by name
"""The verdict table of the Mythical Mysfits lab: other correct ways that must pass, and wrong
ways that must fail with the mistake named, typed by the robot learner in a scratch clone of the
kit on the real engine (see test_mysfits_robot.py for the fixtures)."""

from __future__ import annotations

import contextlib
import io
import json
import time

import pytest

from workshop.labs import Command
from workshop.solve import run_command

from .test_robot import (  # noqa: F401 -- fixtures used by name
    BUILD,
    RUN,
    cache,
    clone,
    done,
    not_done,
    ready,
    robot,
    wait_until_stopped,
)

pytestmark = [pytest.mark.engine, pytest.mark.destructive]


def type_in(robot, folder: str, run: str) -> None:
    """Type a command from a folder of the clone (`cd images/mysfits`, then ...)."""
    with contextlib.chdir(robot.root / folder):
        run_command(Command(run=run), io.StringIO())


# --- build ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        "docker image build -t mythicalmysfits/service:latest images/mysfits",
        "docker build --tag docker.io/mythicalmysfits/service images/mysfits",
        "docker image build images/mysfits -t mythicalmysfits/service",
    ],
)
def test_build_spelled_otherwise_passes(robot, cache, build):
    robot.workshop("next")
    robot.type_(build)
    done(robot.workshop("check", "build"), "build")


def test_build_from_inside_the_folder_passes(robot, cache):
    robot.workshop("next")
    type_in(robot, "images/mysfits", "docker image build -t mythicalmysfits/service .")
    done(robot.workshop("check", "build"), "build")


def test_build_under_another_name_then_tagged_passes(robot, cache):
    robot.workshop("next")
    robot.type_("docker image build -t mysfits images/mysfits")
    robot.type_("docker image tag mysfits mythicalmysfits/service")
    done(robot.workshop("check", "build"), "build")


def test_another_name_on_an_image_the_lab_tag_already_held_is_not_a_build(robot, cache):
    """The lab's tag already named this (cached) image before the workshop began: a build under
    another name yields the same image, and is not the lab's build."""
    robot.type_(BUILD)  # before the learner begins
    time.sleep(0.05)
    robot.workshop("next")
    robot.type_("docker image build -t mysfits:latest images/mysfits")
    said = not_done(robot.workshop("check", "build"), "build")
    assert "was built before you began the workshop" in said


def test_work_done_ahead_in_the_beginners_lab_counts(robot, cache):
    """Built and run while the learner was still in the beginners lab: the Mysfits checks
    count it, and the advice never asks for a second container that would clash by name."""
    robot.workshop("next")
    robot.type_(BUILD)
    robot.type_(RUN)
    done(robot.workshop("check", "build"), "build")
    done(robot.workshop("check", "run"), "run")


# --- run and call --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "run",
    [
        "docker run -d -p 8080:8080 --name mysfits mythicalmysfits/service:latest",
        "docker container run --detach --publish 127.0.0.1:8080:8080 --name=mysfits "
        "mythicalmysfits/service",
    ],
)
def test_run_spelled_otherwise_passes(robot, cache, run):
    robot.reach("run")
    robot.type_(run)
    done(robot.workshop("check", "run"), "run")


def test_create_then_start_passes(robot, cache):
    robot.reach("run")
    robot.type_("docker container create --name mysfits -p 8080:8080 mythicalmysfits/service")
    robot.type_("docker container start mysfits")
    done(robot.workshop("check", "run"), "run")


def test_another_host_port_is_said_and_called_there(robot, cache):
    robot.reach("run")
    robot.type_("docker container run -d --name mysfits -p 18080:8080 mythicalmysfits/service")
    done(robot.workshop("check", "run"), "run")
    said = not_done(robot.workshop("check", "call"), "call")
    assert "curl localhost:18080/mysfits" in said
    assert "on host port 18080" in said and "-p 18080:8080" in said
    robot.type_("curl -s http://127.0.0.1:18080/mysfits")
    done(robot.workshop("check", "call"), "call")


def test_a_random_host_port_is_said(robot, cache):
    robot.reach("run")
    robot.type_("docker container run -d --name mysfits -p 8080 mythicalmysfits/service")
    done(robot.workshop("check", "run"), "run")
    said = not_done(robot.workshop("check", "call"), "call")
    assert "with `-p 8080` and no host port, Docker picked a free one" in said


def test_a_call_with_a_query_passes(robot, cache):
    robot.reach("call")
    robot.type_("curl -s localhost:8080/mysfits?species=Dragon")
    done(robot.workshop("check", "call"), "call")


def test_a_crash_is_not_blamed_on_a_data_file_that_was_only_saved(robot, engine, cache):
    """The data file's clock moved (saved, checked out) but its content did not: the crash
    advice compares contents, so it does not blame the file."""
    robot.reach("run")
    robot.data.write_bytes(robot.data.read_bytes())  # saved again: newer, the same
    robot.type_(
        "docker container run -d --name mysfits -p 8080:8080 mythicalmysfits/service gunicorn "
        "--config /app/gunicorn.conf.py 'app:nothing()'"
    )
    wait_until_stopped(engine, "mysfits")
    said = not_done(robot.workshop("check", "run"), "run")
    assert "stopped with exit code" in said and "mysfits.json" not in said


# --- rebuild -------------------------------------------------------------------------------------


def _replace(robot) -> None:
    robot.type_("docker container rm -f mysfits")
    robot.type_(RUN)


def test_data_edited_before_the_first_build_is_no_rebuild(robot, cache):
    robot.workshop("next")
    robot.add_mysfit()
    robot.type_(BUILD)
    robot.type_(RUN)
    done(robot.workshop("check", "build"), "build")
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert "there has been no rebuild yet" in said


def test_no_cache_then_a_cached_rebuild_names_what_happened(robot, cache):
    robot.reach("rebuild")
    robot.add_mysfit()
    robot.type_("docker image build --no-cache -t mythicalmysfits/service images/mysfits")
    robot.type_(BUILD)  # everything from the cache now: it cannot show the cache at work
    _replace(robot)
    said = not_done(robot.workshop("check", "rebuild"), "rebuild")
    assert "its pip install layer was made anew" in said
    assert "change mysfits.json again" in said


def test_two_edits_and_two_rebuilds_pass(robot, cache):
    robot.reach("rebuild")
    robot.add_mysfit()
    robot.type_(BUILD)
    robot.add_mysfit()
    robot.type_(BUILD)
    robot.type_("docker container stop mysfits")
    robot.type_("docker container rm mysfits")
    robot.type_(RUN)
    done(robot.workshop("check", "rebuild"), "rebuild")
    assert len(json.loads(robot.data.read_text())) >= 2


# --- cleanup -------------------------------------------------------------------------------------


def test_rm_force_cleans_up(robot, cache):
    robot.reach("cleanup")
    robot.type_("docker container rm -f mysfits")
    done(robot.workshop("check", "cleanup"), "cleanup")
