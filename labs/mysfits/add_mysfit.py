"""Add the example mysfit to the Mysfits data, with a fresh mysfitId: the rebuild step's shortcut.

From the kit's folder: python3 labs/mysfits/add_mysfit.py

It appends the entry in quillby.json (beside this script, in the lab's folder) to
images/mysfits/mysfits.json (the files of the kit this script belongs to, wherever it is run
from). Each run adds one more, with its own
uuid4 mysfitId: the service refuses two mysfits with the same id.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

LAB = Path(__file__).resolve().parent  # labs/mysfits
KIT = LAB.parent.parent
ENTRY = LAB / "quillby.json"
DATA = KIT / "images" / "mysfits" / "mysfits.json"
SHOWN = "images/mysfits/mysfits.json"


def _restore(shown: str) -> str:
    """How to get the kit's own copy back: git in a clone; in the working folder an installed
    kit made (~/workshop-kit, no git there), `workshop reset`."""
    if (KIT / ".git").exists():
        return f"`git checkout -- {shown}`"
    return "`workshop reset` (it keeps your version beside)"


def _load(path: Path):
    """The JSON in `path`; a problem is one sentence on stderr and exit status 1."""
    shown = path.relative_to(KIT).as_posix()
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        sys.exit(f"Cannot read {shown} ({exc.strerror}): restore it, {_restore(shown)}.")
    except json.JSONDecodeError as exc:
        sys.exit(
            f"{shown} is not valid JSON (line {exc.lineno}: {exc.msg}): fix that line, or start "
            f"again from the kit's copy with {_restore(shown)}."
        )


def main() -> None:
    mysfits = _load(DATA)
    if not isinstance(mysfits, list):
        sys.exit(f"{SHOWN} must be one JSON list, [ ... ], of mysfits.")
    entry = _load(ENTRY)
    entry["mysfitId"] = str(uuid.uuid4())  # stays the first field
    mysfits.append(entry)
    DATA.write_text(json.dumps(mysfits, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"Added {entry['name']} (mysfitId {entry['mysfitId']}) to {SHOWN}.")


if __name__ == "__main__":
    main()
