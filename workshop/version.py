"""The kit's version, from one source: `VERSION` here (pyproject.toml reads it when building),
plus where this copy comes from, so that two copies can be told apart.

`kit_version()`: `0.2.0 (git 1a238f3)` in a git clone (`, modified` when tracked files differ
from that commit); in an installed wheel, the commit stamped when it was built
(workshop/kit/stamp.json, written by setup.py); the bare version when neither is known.
"""

from __future__ import annotations

import functools
import os

VERSION = "0.2.0"

# `workshop --help` imports this module (through the package): what only `kit_version()` needs
# (subprocess, json) is imported when it runs
_HERE = os.path.dirname(os.path.realpath(__file__))


def _git(root: str, *args: str) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _origin() -> dict:
    """{"commit": ..., "modified": ...} for this copy, or {} when it cannot be known."""
    clone = os.path.dirname(_HERE)
    if os.path.exists(os.path.join(clone, ".git")):  # a clone (or a worktree, where .git is a file)
        commit = _git(clone, "rev-parse", "--short", "HEAD")
        if commit:
            changed = _git(clone, "status", "--porcelain", "--untracked-files=no")
            return {"commit": commit, "modified": bool(changed)}
        return {}
    import json

    try:
        with open(os.path.join(_HERE, "kit", "stamp.json"), encoding="utf-8") as stamp:
            stamped = json.load(stamp)
    except (OSError, ValueError):
        return {}
    return stamped if isinstance(stamped, dict) else {}


@functools.cache
def kit_version() -> str:
    """`0.2.0 (git 1a238f3, modified)`: the version, and the commit this copy comes from."""
    origin = _origin()
    commit = origin.get("commit")
    if not commit:
        return VERSION
    modified = ", modified" if origin.get("modified") else ""
    return f"{VERSION} (git {commit}{modified})"
