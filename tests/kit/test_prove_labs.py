"""Every lab proves itself, by one generic test: `workshop prove` on the real engine for each lab
in the kit's labs/ folder, found when the suite is collected (a lab added, copied or deleted is
proven, or not, with no change here)."""

from __future__ import annotations

import pytest

from workshop.errors import WorkshopError
from workshop.labs import load_labs


def _lab_ids() -> list[str]:
    try:
        return [lab.id for lab in load_labs()]
    except WorkshopError as exc:  # a broken labs folder: its test fails with the sentence
        return [f"unloadable: {exc}"]


@pytest.mark.engine
@pytest.mark.destructive
@pytest.mark.parametrize("lab_id", _lab_ids())
def test_every_lab_proves_itself(workshop, lab_id, leave_no_trace):
    """No step passes untouched; each fails before its solution, names each declared mistake
    after its reproducer, and passes after its solution."""
    result = workshop("prove", lab_id, timeout=1800)
    if result.code != 0:  # every claim, not a shortened repr: the ✘ lines say what to fix
        pytest.fail(f"workshop prove {lab_id} exited {result.code}:\n{result.out}", pytrace=False)
