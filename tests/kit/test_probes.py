"""Pure logic: commands compared by meaning, images by name (workshop/meaning.py), the journal."""

from __future__ import annotations

import json

import pytest

from workshop.journal import KIT_MARK, Event, Journal, kept
from workshop.meaning import same_image, same_repo, short_options, simple_commands


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
    assert not kept({"Type": "network", "Action": "connect"})
    assert kept({"Type": "image", "Action": "pull"})


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
