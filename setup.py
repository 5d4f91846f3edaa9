"""Build hooks for a wheel that works from any folder (`pip install .`, `pipx install`, `uv tool
install`): everything else is declared in pyproject.toml.

A built wheel carries the labs' content inside the package, under workshop/kit/, in the same
layout as the clone (labs/ less their own tests, images/, tests/checks/), so that every path a
lab names (relative to the kit's folder) holds in both; and a stamp of the commit it was built
from, so that `workshop --version` tells two installs apart (workshop/version.py reads it).
An editable install (`make setup`) needs neither: the package finds the clone beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
# What the labs use from the kit's folder, copied into the wheel as workshop/kit/<path>.
KIT_CONTENT = ("labs", "images", "tests/checks")
# the labs' own tests (robots, verdict tables) are the kit's, not a learner's
SKIP_IN_LABS = shutil.ignore_patterns("tests", "conftest.py")
SKIP = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.before-reset-*", ".pytest_cache")
STAMP = "kit-stamp.json"  # in an sdist (no git there): the commit it was made from


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def stamp() -> dict:
    """The commit this build comes from, and whether the tree differed from it."""
    commit = _git("rev-parse", "--short", "HEAD")
    if commit:
        changed = _git("status", "--porcelain", "--untracked-files=no")
        return {"commit": commit, "modified": bool(changed)}
    if (HERE / STAMP).is_file():  # built from an sdist
        return json.loads((HERE / STAMP).read_text(encoding="utf-8"))
    return {}


class BuildWithKit(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # the clone itself is the kit
            return
        kit = Path(self.build_lib) / "workshop" / "kit"
        for part in KIT_CONTENT:
            source = HERE / part
            if not source.exists():  # a kit with no lab that builds an image has no images/
                continue
            if source.is_dir():
                ignore = SKIP
                if part == "labs":

                    def ignore(folder, names):
                        return SKIP(folder, names) | SKIP_IN_LABS(folder, names)

                shutil.copytree(source, kit / part, ignore=ignore, dirs_exist_ok=True)
            else:
                (kit / part).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, kit / part)
        (kit / "stamp.json").write_text(json.dumps(stamp()) + "\n", encoding="utf-8")


class SdistWithStamp(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        target = os.path.join(base_dir, STAMP)
        if os.path.exists(target):
            os.unlink(target)  # a hard link to the source's copy, if there was one
        Path(target).write_text(json.dumps(stamp()) + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildWithKit, "sdist": SdistWithStamp})
