"""`make test` (pytest on tests/checks) on the fixture curriculum: one item per step of every lab,
the reached steps judged, the rest skipped, and a step done earlier that a later step undid still
passing, said at the end."""

from __future__ import annotations

import pytest

from tests.kit import curriculum

pytestmark = pytest.mark.engine  # starting a lab reads the engine's clock


@pytest.fixture
def flags(tmp_path, monkeypatch, workshop):
    """The demo lab alone (two steps); its checks read flag files in the returned folder."""
    labs = curriculum.write(tmp_path)
    monkeypatch.setenv("WORKSHOP_LABS", str(labs))
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return tmp_path / "flags"


def test_one_item_per_step_of_every_lab_in_order(tmp_path, monkeypatch, workshop):
    labs = curriculum.write_more(tmp_path)
    workshop.env["WORKSHOP_LABS"] = str(labs)
    listed = workshop.make_test("--co")
    assert listed.returncode == 0, listed.stdout
    items = [line for line in listed.stdout.splitlines() if "checks.py::" in line]
    assert [item.split("::", 1)[-1] for item in items] == [
        "demo/checks.py::test_first",
        "demo/checks.py::test_second",
        "extra/checks.py::test_one",
        "sequel/checks.py::test_one",
    ], listed.stdout


def test_reached_steps_are_judged_and_the_rest_skipped(flags, workshop):
    workshop("next")  # the first step is shown: reached
    first = workshop.make_test()
    assert first.returncode == 1, first.stdout
    assert "first: The first flag is missing" in first.stdout
    assert "step 'second' not reached yet" in first.stdout
    (flags / "first").touch()
    assert workshop.make_test().returncode == 0
    assert "step 2 of 2: second" in workshop("next").out
    second = workshop.make_test()
    assert second.returncode == 1 and "The second flag is missing" in second.stdout


def test_a_step_done_earlier_that_a_later_step_undid_still_passes(flags, workshop):
    workshop("next")
    (flags / "first").touch()
    (flags / "second").touch()
    workshop("next")
    (flags / "first").unlink()  # gone now, but the kit saw it done
    result = workshop.make_test()
    assert result.returncode == 0, result.stdout
    assert "first: done earlier (seen done at" in " ".join(result.stdout.split())
