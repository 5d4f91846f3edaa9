"""Put another version of the Mysfits image in the lab's stack file: `python3 set_version.py v2`.

It changes one line of stack.yml (beside this script), the Mysfits service's `image:`, to
127.0.0.1:5001/mysfits:VERSION, and says what it changed: the same edit you may make by hand in
an editor. Then `docker stack deploy` makes the service match the file.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

STACK = Path(__file__).resolve().with_name("stack.yml")
IMAGE_LINE = re.compile(r"^(\s*image:\s*)(\S+/mysfits):(\S+)\s*$", re.MULTILINE)
VERSION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # a tag, as Docker allows it


def set_version(text: str, version: str) -> tuple[str, str]:
    """The stack file's text with the Mysfits image's tag set to `version`, and the old tag."""
    found = IMAGE_LINE.search(text)
    if found is None:
        raise ValueError("no `image: .../mysfits:TAG` line in the stack file")
    changed = f"{found.group(1)}{found.group(2)}:{version}"
    return text[: found.start()] + changed + text[found.end() :], found.group(3)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not VERSION.match(argv[0]):
        print("usage: python3 set_version.py VERSION   (a tag such as v2)", file=sys.stderr)
        return 2
    try:
        text, old = set_version(STACK.read_text(encoding="utf-8"), argv[0])
    except (OSError, ValueError) as exc:
        print(f"{STACK}: {exc}", file=sys.stderr)
        return 1
    STACK.write_text(text, encoding="utf-8")
    print(f"{STACK.name}: the mysfits image is now :{argv[0]} (it was :{old}).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
