"""Pure logic: which `ls` options ask for the long format (the lab's listing.py)."""

from __future__ import annotations

import pytest

from ..listing import lists_long


@pytest.mark.parametrize(
    ("args", "long"),
    [
        (["-l"], True),
        (["-la"], True),
        (["-al", "/"], True),
        (["-a", "-l"], True),
        (["-n"], True),
        (["--format=long"], True),
        ([], False),
        (["-a"], False),
        (["/"], False),
        (["--", "-l"], False),  # after --, `-l` is a file name
    ],
)
def test_long_form_is_read_as_ls_reads_options(args, long):
    assert lists_long(args) is long
