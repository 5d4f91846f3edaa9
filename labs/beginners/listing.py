"""What the lab's `ls` options mean: which ones ask for the long format."""

from __future__ import annotations

from workshop.meaning import short_options


def lists_long(args: list[str]) -> bool:
    """Do these `ls` arguments ask for the long format (`-l`, `-la`, `-n`, `-o`, `-g`,
    `--format=long`, `--format=verbose`)?"""
    letters, longs, _ = short_options(args)
    return bool(letters & set("lnog")) or longs.get("format") in ("long", "verbose")
