"""What a terminal shows: an instructor's `workshop solve` output, as it came from a
pseudo-terminal (carriage returns, a prompt redrawn, lines erased, progress drawn in place,
colours), played on pyte's VT100 screen and read back as plain lines for the demo page.

The store keeps the output exactly as it came; only the room's view is rendered, so every worker
that folds the same reports shows the same text.
"""

from __future__ import annotations

import pyte

COLUMNS, ROWS = 100, 24  # the pseudo-terminal `workshop solve` gives interactive commands
KEEP = 1000  # lines kept above the screen, as a terminal's scrollback


class Terminal:
    """One command's output, fed in pieces (a piece may end inside an escape sequence)."""

    def __init__(self, columns: int = COLUMNS, rows: int = ROWS, keep: int = KEEP):
        self.screen = pyte.HistoryScreen(columns, rows, history=keep)
        # a bare line feed also returns the carriage, as a terminal's line discipline does for
        # a program writing to it (plain commands' output comes through a pipe: "\n" only)
        self.screen.set_mode(pyte.modes.LNM)
        self.stream = pyte.Stream(self.screen)

    def feed(self, text: str) -> None:
        self.stream.feed(text)

    def text(self) -> str:
        """The lines on screen and above it, right-trimmed, without trailing blank lines."""
        columns = self.screen.columns
        above = [
            "".join(line[x].data for x in range(columns)).rstrip()
            for line in self.screen.history.top
        ]
        lines = above + [row.rstrip() for row in self.screen.display]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)
