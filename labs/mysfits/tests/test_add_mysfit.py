"""The rebuild step's shortcut, `python3 labs/mysfits/add_mysfit.py`, typed from the root of a
copy of the kit: it appends the example entry with a fresh uuid4 mysfitId each run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.kit.fixtures import KIT
from workshop.labs import find_lab, load_labs

COMMAND = "python3 labs/mysfits/add_mysfit.py"
PARTS = ("labs/mysfits/add_mysfit.py", "labs/mysfits/quillby.json", "images/mysfits/mysfits.json")


@pytest.fixture
def kit(tmp_path):
    for part in PARTS:
        (tmp_path / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KIT / part, tmp_path / part)
    return tmp_path


def add(root):
    return subprocess.run(
        [sys.executable, "labs/mysfits/add_mysfit.py"], cwd=root, capture_output=True, text=True
    )


def test_it_is_the_first_command_of_the_rebuild_solution():
    assert find_lab(load_labs(), "mysfits").step("rebuild").solution[0].run == COMMAND


def test_each_run_appends_the_entry_with_a_fresh_uuid4(kit):
    data = kit / "images" / "mysfits" / "mysfits.json"
    before = json.loads(data.read_text())
    for _ in range(2):
        done = add(kit)
        assert done.returncode == 0 and done.stdout.startswith("Added Quillby (mysfitId "), done
    after = json.loads(data.read_text())
    entry = json.loads((kit / "labs" / "mysfits" / "quillby.json").read_text())
    assert after[: len(before)] == before and len(after) == len(before) + 2
    for added in after[len(before) :]:
        assert list(added) == list(entry)  # the same fields, mysfitId first
        assert {k: v for k, v in added.items() if k != "mysfitId"} == {
            k: v for k, v in entry.items() if k != "mysfitId"
        }
        assert uuid.UUID(added["mysfitId"]).version == 4
    ids = [m["mysfitId"] for m in after]
    assert len(set(ids)) == len(ids)
    assert data.read_text().endswith("}\n]\n")  # the kit's own layout: indent 2, final newline


def test_a_broken_data_file_is_one_sentence_and_left_alone(kit):
    data = kit / "images" / "mysfits" / "mysfits.json"
    data.write_text('[\n  {"mysfitId": "x",}\n]\n')
    done = add(kit)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done
    assert "images/mysfits/mysfits.json is not valid JSON (line 2" in done.stderr
    assert data.read_text() == '[\n  {"mysfitId": "x",}\n]\n'
