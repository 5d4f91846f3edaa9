"""Progress: atomic writes, two commands at once, and a damaged file kept, never emptied."""

from __future__ import annotations

import json
import multiprocessing

import pytest

from workshop.errors import ProgressError
from workshop.state import LabProgress, Store


def _mark_many(directory, prefix: str, count: int) -> None:
    store = Store(directory)
    for n in range(count):
        with store.update() as progress:
            lab = progress.labs.setdefault(
                "lab", LabProgress(started_at="2026-01-01T00:00:00+00:00")
            )
            lab.done[f"{prefix}{n}"] = "now"


def test_two_commands_at_once_lose_no_step(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_mark_many, args=(tmp_path, p, 40)) for p in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    done = Store(tmp_path).read().labs["lab"].done
    assert len(done) == 80


def test_the_file_is_replaced_whole_and_leaves_no_temporary_behind(tmp_path):
    _mark_many(tmp_path, "s", 3)
    data = json.loads((tmp_path / "progress.json").read_text())
    assert data["version"] == 1 and sorted(data["labs"]["lab"]["done"]) == ["s0", "s1", "s2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json", "progress.lock"]


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"labs": []}',
        '{"labs": {"x": {}}}',
        "[]",
        '{"labs": {"x": {"started_at": "nonsense"}}}',
        '{"version": "1", "labs": {}}',
        '{"labs": {"x": {"started_at": "2026-11-24T15:00:00"}}}',
    ],
)
def test_a_damaged_file_is_kept_as_a_backup_and_reported(tmp_path, content):
    (tmp_path / "progress.json").write_text(content)
    with pytest.raises(ProgressError, match=r"was damaged .* kept as .*progress\.json\.damaged-"):
        Store(tmp_path).read()
    backups = list(tmp_path.glob("progress.json.damaged-*"))
    assert [b.read_text() for b in backups] == [content]
    assert Store(tmp_path).read().labs == {}


def test_reset_keeps_the_old_progress_as_a_backup(tmp_path):
    _mark_many(tmp_path, "s", 1)
    backup = Store(tmp_path).reset()
    assert backup is not None and "s0" in backup.read_text()
    assert Store(tmp_path).read().labs == {}


def test_a_state_folder_that_cannot_be_made_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ProgressError, match="set WORKSHOP_HOME to a folder you own"):
        _mark_many(blocker / "sub", "s", 1)
