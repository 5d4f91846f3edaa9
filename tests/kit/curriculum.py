"""A tiny fixture curriculum, written into a temporary folder: the kit's CLI is tested on it,
not on the real labs (as rustlings tests its runner on a fixture course)."""

from __future__ import annotations

from pathlib import Path

MANIFEST = """\
format_version = 1
id = "demo"
title = "Demo lab"
checks = "checks/test_demo.py"
images = []

[[steps]]
id = "first"
title = "First step"
instructions = "steps/first.md"
check = "test_first"
hint = "Touch the first flag."
solution = ["touch {flags}/first"]

[[steps]]
id = "second"
title = "Second step"
instructions = "steps/second.md"
check = "test_second"
hint = "Touch the second flag."
solution = ["touch {flags}/second"]
"""

CHECKS = """\
from pathlib import Path

from workshop.probes import missing

LAB = "demo"
FLAGS = Path({flags!r})


def test_first():
    if not (FLAGS / "first").exists():
        missing("The first flag is missing: run `touch {flags}/first`.", mistake="no-first-flag")


def test_second():
    if not (FLAGS / "second").exists():
        missing(
            "The second flag is missing: run `touch {flags}/second`.", mistake="no-second-flag"
        )
"""


def write(root: Path) -> Path:
    """Write the demo lab under `root`; returns the labs folder. Its steps touch files in
    `root/flags`, so the checks need no engine (starting a lab still reads the engine's clock)."""
    flags = root / "flags"
    flags.mkdir(parents=True)
    lab = root / "labs" / "demo"
    (lab / "steps").mkdir(parents=True)
    (lab / "lab.toml").write_text(MANIFEST.format(flags=flags))
    (lab / "steps" / "first.md").write_text(f"# First\n\nRun `touch {flags}/first`.\n")
    (lab / "steps" / "second.md").write_text(f"# Second\n\nRun `touch {flags}/second`.\n")
    (root / "checks").mkdir()
    (root / "checks" / "test_demo.py").write_text(CHECKS.format(flags=str(flags)))
    return root / "labs"
