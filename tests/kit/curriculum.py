"""A tiny fixture curriculum, written into a temporary folder: the kit's runner is tested on it,
not on the real labs (as rustlings tests its runner on a fixture course). Each lab is one folder,
as the real ones are: manifest, step texts, checks.py and a helper module the checks import.

`demo` has two steps whose checks look for flag files (no engine needed); `extra` builds on
nothing and `sequel` builds on `demo` (for `goto`).
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = """\
format_version = 2
id = "demo"
title = "Demo lab"
images = []

[[steps]]
id = "first"
title = "First step"
instructions = "steps/first.md"
check = "test_first"
hint = "Touch the first flag."
solution = ["touch {flags}/first"]

[[steps.mistakes]]
id = "no-first-flag"
reproduce = ["true"]

[[steps]]
id = "second"
title = "Second step"
instructions = "steps/second.md"
check = "test_second"
hint = "Touch the second flag."
solution = ["touch {flags}/second"]

[[steps.mistakes]]
id = "no-second-flag"
reproduce = ["true"]
"""

CHECKS = """\
from workshop.probes import missing

from .flags import FLAGS, LAB


def test_first():
    if not (FLAGS / "first").exists():
        missing("The first flag is missing: run `touch {flags}/first`.", mistake="no-first-flag")


def test_second():
    if not (FLAGS / "second").exists():
        missing(
            "The second flag is missing: run `touch {flags}/second`.", mistake="no-second-flag"
        )
"""

# the lab's own helper module, beside its checks
FLAGS = """\
from pathlib import Path

LAB = "demo"
FLAGS = Path({flags!r})
"""

OTHER = """\
format_version = 2
id = "{id}"
title = "{title}"
order = {order}
builds_on = {builds_on}

[[steps]]
id = "{step}"
title = "A step of {id}"
instructions = "steps/one.md"
check = "test_one"
hint = "Touch its flag."
solution = ["touch {flags}/{step}"]
"""

OTHER_CHECKS = """\
from pathlib import Path

from workshop.probes import missing


def test_one():
    if not (Path({flags!r}) / "{step}").exists():
        missing("Its flag is missing: run `touch {flags}/{step}`.")
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
    (lab / "checks.py").write_text(CHECKS.format(flags=str(flags)))
    (lab / "flags.py").write_text(FLAGS.format(flags=str(flags)))
    return root / "labs"


def write_more(root: Path) -> Path:
    """The demo lab, then `extra` (builds on nothing) and `sequel` (builds on demo)."""
    labs = write(root)
    flags = root / "flags"
    for order, (lab_id, step, builds_on) in enumerate(
        [("extra", "extra-step", "[]"), ("sequel", "sequel-step", '["demo"]')], start=200
    ):
        folder = labs / lab_id
        (folder / "steps").mkdir(parents=True)
        (folder / "lab.toml").write_text(
            OTHER.format(
                id=lab_id,
                title=lab_id.title(),
                order=order,
                builds_on=builds_on,
                step=step,
                flags=flags,
            )
        )
        (folder / "steps" / "one.md").write_text(f"# One\n\nRun `touch {flags}/{step}`.\n")
        (folder / "checks.py").write_text(OTHER_CHECKS.format(flags=str(flags), step=step))
    return labs
