"""Pure logic: commands compared by meaning, images by name (workshop/meaning.py), the journal."""

from __future__ import annotations

import json

import pytest

from workshop.feed import Wakes
from workshop.journal import KIT_MARK, Event, Journal, container_summary, is_healthcheck, kept
from workshop.meaning import same_image, same_repo, short_options, simple_commands
from workshop.probes import GENERIC_MISTAKES, RING, Container, Missing, forgotten, verdict


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ls", "-l"], [["ls", "-l"]]),
        (["/bin/ls", "-la", "/"], [["ls", "-la", "/"]]),
        (["busybox", "ls", "-l"], [["ls", "-l"]]),
        (["sh", "-c", "ls -l /etc"], [["ls", "-l", "/etc"]]),
        (["/bin/sh", "-ec", "cd / && ls -l | head"], [["cd", "/"], ["ls", "-l"], ["head"]]),
        (["env", "A=1", "ls", "-l"], [["ls", "-l"]]),
        (["sh", "-c", "X=1 echo hi"], [["echo", "hi"]]),
        (["sh"], [["sh"]]),
        (["sh", "-l"], [["sh", "-l"]]),
        (["echo hello"], [["echo hello"]]),  # one quoted word is no program
        ([], []),
    ],
)
def test_simple_commands_unwrap_paths_busybox_and_shells(argv, expected):
    assert simple_commands(argv) == expected


def test_short_options_read_letters_long_options_and_operands():
    assert short_options(["-la", "--format=long", "/", "--", "-l"]) == (
        {"l", "a"},
        {"format": "long"},
        ["/", "-l"],
    )


def test_images_are_named_any_way():
    assert same_image("nginx", "nginx:latest")
    assert same_image("docker.io/library/nginx", "nginx:latest")
    assert not same_image("nginx:1.27", "nginx:latest")
    assert same_repo("nginx:1.27", "nginx")
    assert same_repo("nginx@sha256:abc", "nginx")
    assert not same_repo("sha256:abc", "nginx")  # an ID names no repository
    assert not same_repo("mynginx", "nginx")
    assert same_repo("example/web", "example/web:latest")
    assert not same_repo("example/web:v1", "example/web:latest")


def test_the_kits_own_looks_and_noise_are_not_kept():
    look = {"Type": "container", "Action": f"exec_start: /bin/sh -c : {KIT_MARK}; cat x"}
    assert not kept(look)
    assert kept({"Type": "container", "Action": "exec_start: ls"})
    assert not kept({"Type": "container", "Action": "exec_create: ls"})
    assert not kept({"Type": "container", "Action": "health_status: healthy"})
    bridge = {"Type": "network", "Action": "connect", "Actor": {"Attributes": {"name": "bridge"}}}
    assert not kept(bridge)  # every container joins the default network: its own events say so
    mine = {"Type": "network", "Action": "connect", "Actor": {"Attributes": {"name": "notes"}}}
    assert kept(mine)
    assert kept({"Type": "image", "Action": "pull"})
    for kind, action in (("volume", "create"), ("volume", "mount"), ("network", "destroy"),
                         ("service", "create"), ("node", "update")):  # fmt: skip
        assert kept({"Type": kind, "Action": action}), (kind, action)
    assert not kept({"Type": "plugin", "Action": "install"})


def test_the_journal_survives_a_torn_line_and_two_writers(tmp_path):
    journal = Journal(tmp_path, "engine-1")
    first = Event("image", "pull", "nginx:latest", 5, {"name": "nginx"})
    journal.append([first.to_json(), {"k": "cursor", "time": 9}])
    with open(journal.path, "a") as handle:
        handle.write('{"k": "event", "type": "cont')  # a crash mid-line
    other = Journal(tmp_path, "engine-1")
    other.append([first.to_json()])  # the same event seen by a second command
    record = Journal(tmp_path, "engine-1").read()
    assert [e.key for e in record.events] == [first.key]
    assert record.cursor == 9
    assert Journal(tmp_path, "engine-2").read().events == []  # another engine, another file
    lines = journal.path.read_text().splitlines()
    assert sum(1 for line in lines if line.startswith("{") and line.endswith("}")) >= 2
    json.loads(lines[0])


INSPECTED = {  # `docker container inspect` of `docker run --rm -v notes:/data -p 8080:80 ...`
    "Id": "c0ffee" * 8,
    "Name": "/reader",
    "Created": "2026-12-03T09:30:36.1Z",
    "Image": "sha256:" + "a" * 64,
    "ResolvConfPath": "/var/lib/docker/containers/x/resolv.conf",
    "GraphDriver": {"Data": {"LowerDir": "/var/lib/docker/overlay2/" + "l" * 500}},
    "ExecIDs": ["e1"],
    "Config": {
        "Image": "alpine",
        "Cmd": ["cat", "/data/note.txt"],
        "Env": ["PATH=/usr/bin", "MODE=read"],
        "Labels": {"com.docker.compose.project": "notes"},
        "Healthcheck": {"Test": ["CMD-SHELL", "true"]},
    },
    "State": {"Status": "running", "Running": True, "Pid": 42, "ExitCode": 0,
              "Health": {"Status": "healthy", "FailingStreak": 0, "Log": [{"Output": "x" * 900}]}},
    "HostConfig": {"AutoRemove": True, "PortBindings": {"80/tcp": [{"HostPort": "8080"}]},
                   "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                   "MaskedPaths": ["/proc/acpi"], "Dns": [], "CgroupParent": ""},
    "NetworkSettings": {"SandboxKey": "/var/run/docker/netns/x", "Ports": {},
                        "Networks": {"notes_default": {"NetworkID": "n1", "Aliases": ["r"]}}},
    "Mounts": [{"Type": "volume", "Name": "notes", "Source": "/v/notes/_data",
                "Destination": "/data/", "RW": False}],
}  # fmt: skip


def test_the_journal_keeps_what_a_check_may_ask_of_a_container_and_drops_the_noise():
    summary = container_summary(INSPECTED)
    kept_text = json.dumps(summary)
    for noise in ("resolv.conf", "overlay2", "SandboxKey", "MaskedPaths", "Pid", "xxxx", "Dns"):
        assert noise not in kept_text, noise
    container = Container(None, summary, gone=True)  # as the journal has it after `--rm`
    assert container.mounts[0].name == "notes" and not container.mounts[0].writable
    assert container.uses_volume("notes") and container.mount_at("/data/").type == "volume"
    assert container.networks == ["notes_default"]
    assert container.ports == {"80/tcp": ["8080"]}
    assert container.env["MODE"] == "read"
    assert container.restart_policy == "on-failure"
    assert container.health == "healthy"
    assert container.project == "notes"
    assert container.ran("cat", "/data/note.txt")


def test_one_healthcheck_filter_tells_the_engines_execs_from_the_learners():
    summary = container_summary(INSPECTED)
    assert is_healthcheck(summary, Event("container", "exec_start: /bin/sh -c true", "c", 1))
    assert not is_healthcheck(summary, Event("container", "exec_start: true", "c", 1))
    assert not is_healthcheck({}, Event("container", "exec_start: /bin/sh -c true", "c", 1))


def test_the_labs_volumes_networks_services_and_stacks_wake_watch_and_nothing_else():
    class Lab:
        volumes, networks, services, stacks = ("notes",), ("backend",), ("web",), ("shop",)

    wakes = Wakes.of([Lab()])
    assert wakes(Event("container", "start", "c", 1))
    assert wakes(Event("volume", "create", "notes", 1, {"driver": "local"}))
    assert not wakes(Event("volume", "create", "f00d" * 16, 1))  # an anonymous volume
    assert wakes(Event("network", "create", "n1", 1, {"name": "backend"}))
    assert wakes(Event("network", "create", "n2", 1, {"name": "shop_default"}))  # the stack's
    assert not wakes(Event("network", "create", "n3", 1, {"name": "shopping"}))
    assert wakes(Event("service", "create", "s1", 1, {"name": "web"}))
    assert wakes(Event("node", "update", "x", 1))
    assert not Wakes()(Event("volume", "create", "notes", 1))  # no lab declares it


def _ended(**state) -> Container:
    attrs = container_summary(
        {**INSPECTED, "State": {"Status": "exited", "Running": False, **state}}
    )
    return Container(None, attrs)


@pytest.mark.parametrize(
    ("container", "mistake", "words"),
    [
        (Container(None, container_summary(INSPECTED)), "still-running", "still running"),
        (_ended(Status="created"), "never-started", "never started"),
        (_ended(ExitCode=2), "exited-nonzero", "exited with code 2"),
        (Container(None, container_summary(INSPECTED), gone=True), "evidence-gone", "removed"),
    ],
)
def test_the_kit_says_the_generic_verdicts_once_for_every_lab(container, mistake, words):
    with pytest.raises(Missing) as said:
        verdict(container, "run `docker container run alpine cat /data/note.txt`")
    assert said.value.mistake == mistake and mistake in GENERIC_MISTAKES
    assert words in str(said.value) and str(said.value).endswith("note.txt`.")
    verdict(_ended(ExitCode=0), "fix")  # ran and exited 0: no verdict


def test_an_engine_that_forgot_what_the_kit_read_from_it_has_restarted():
    seen = [Event("container", "create", "c1", 10), Event("container", "die", "c1", 20)]
    later = [Event("container", "create", "c2", 30)]
    assert not forgotten(seen, seen + later)  # it still remembers: no restart
    assert forgotten(seen, later)  # its log begins after what the kit read: restarted
    assert forgotten(seen, [])  # an empty log, after the kit read events from it
    full = [Event("container", "exec_start: x", "c9", 100 + n) for n in range(RING)]
    assert not forgotten(seen, full)  # a full log forgets by itself: nothing is claimed
