"""Terminal output: a step's Markdown, the one-sentence messages, and the progress table.

Every command shown can be copied whole. Text wraps on spaces only, never inside a word; an
inline code span is one unbreakable unit (longer than the width, it gets a line of its own); a
code block's lines are printed exactly as written (a terminal may fold a long one on screen, but
no newline is put inside). The width is the terminal's (COLUMNS first); piped output wraps only
when COLUMNS is set. Colour only on a terminal and never with NO_COLOR set (https://no-color.org);
without colour, inline code keeps its backticks so a command's ends stay visible.

The Markdown parser (markdown-it-py) is imported only when a step is shown: `workshop --help`
imports this module and must stay instant.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from workshop.labs import Lab, Step

_SGR = {
    "bold": "1",
    "dim": "2",
    "italic": "3",
    "underline": "4",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}
CODE = ("cyan",)  # how code looks in colour (inline and blocks)
MARKS = {"passed": ("✔", "green"), "failed": ("✘", "red")}
STATES = {
    "done": ("✔ done", "green"),
    "current": ("➜ current", "yellow"),
    "todo": ("· todo", "dim"),
}
FOOTER = "Stuck? `workshop hint`. Done? `workshop next`. Text gone? `workshop show`."
_SPACE = re.compile(r"([ \t\r\n\f\v]+)")  # ASCII whitespace: a no-break space joins words
_BACKTICKED = re.compile(r"`([^`\n]+)`")


# --- where the text goes: colour and width ---------------------------------------------------


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


def coloured(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything but empty."""
    stream = stream or sys.stdout
    return not os.environ.get("NO_COLOR") and _is_tty(stream) and _windows_ansi()


def columns(stream: TextIO | None = None) -> int | None:
    """The width to wrap at: COLUMNS if set, else the terminal's; None (no wrap) when piped."""
    stream = stream or sys.stdout
    value = os.environ.get("COLUMNS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if not _is_tty(stream):
        return None
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


@functools.cache
def _windows_ansi() -> bool:
    """Windows consoles show colour codes only once asked to (Windows 10 and later)."""
    if sys.platform != "win32":
        return True
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.GetStdHandle(-11)
    mode = ctypes.c_uint32()
    return bool(
        kernel.GetConsoleMode(handle, ctypes.byref(mode))
        and kernel.SetConsoleMode(handle, mode.value | 0x0004)  # ENABLE_VIRTUAL_TERMINAL_PROCESSING
    )


def style(text: str, *looks: str, colour: bool) -> str:
    """`text` in the given looks (bold, red, ...) when `colour`; unchanged otherwise."""
    codes = ";".join(_SGR[look] for look in looks)
    return f"\x1b[{codes}m{text}\x1b[0m" if colour and codes and text else text


def _write(text: str, stream: TextIO) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:  # a console that cannot show ✔ or —: show a stand-in instead
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


# --- words and wrapping ----------------------------------------------------------------------


class Word:
    """Text printed with no break inside: a word, a code span, or both glued (`ls`,)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: list[tuple[str, tuple[str, ...]]] = []

    def __len__(self) -> int:
        return sum(len(text) for text, _ in self.parts)


BREAK = None  # a hard line break among the words


class _Words:
    """Collects words from pieces of text; whitespace between pieces ends a word."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour
        self.words: list[Word | None] = []
        self.word = Word()

    def end(self) -> None:
        if self.word.parts:
            self.words.append(self.word)
            self.word = Word()

    def text(self, text: str, looks: tuple[str, ...] = ()) -> None:
        for piece in _SPACE.split(text):
            if not piece:
                continue
            if _SPACE.fullmatch(piece):
                self.end()
            else:
                self.word.parts.append((piece, looks))

    def unit(self, text: str, looks: tuple[str, ...] = ()) -> None:
        """`text` joins the current word whole, spaces and all."""
        self.word.parts.append((text, looks))

    def code(self, code: str, looks: tuple[str, ...] = ()) -> None:
        """One unbreakable unit: coloured, or between backticks when there is no colour."""
        self.unit(code if self.colour else f"`{code}`", (*looks, *CODE))

    def hard_break(self) -> None:
        self.end()
        self.words.append(BREAK)

    def done(self) -> list[Word | None]:
        self.end()
        return self.words


def _show(line: list[Word], colour: bool) -> str:
    """One line of words; neighbours in the same looks share one colour code, the space between
    them included, so a phrase in one style is one unbroken run of text."""
    runs: list[tuple[str, tuple[str, ...]]] = []
    for n, word in enumerate(line):
        for i, (text, looks) in enumerate(word.parts):
            if n and not i:  # the space before a word: styled only between two alike
                space_looks = looks if runs and runs[-1][1] == looks else ()
                runs.append((" ", space_looks))
            runs.append((text, looks))
    merged: list[tuple[str, tuple[str, ...]]] = []
    for text, looks in runs:
        if merged and merged[-1][1] == looks:
            merged[-1] = (merged[-1][0] + text, looks)
        else:
            merged.append((text, looks))
    return "".join(style(text, *looks, colour=colour) for text, looks in merged)


def wrap(words: list[Word | None], width: int | None, colour: bool) -> list[str]:
    """Fill lines with whole words, at most `width` long where the words allow (a word longer
    than the width gets a line of its own, unbroken); `None` fills one line per hard break."""
    lines: list[str] = []
    line: list[Word] = []
    used = 0
    for word in words:
        if word is BREAK:
            lines.append(_show(line, colour))
            line, used = [], 0
            continue
        size = len(word)
        if line and width is not None and used + 1 + size > width:
            lines.append(_show(line, colour))
            line, used = [], 0
        used += size + (1 if line else 0)
        line.append(word)
    if line or not lines:
        lines.append(_show(line, colour))
    return lines


def _narrower(width: int | None, by: int) -> int | None:
    return None if width is None else max(width - by, 1)


def _hang(lines: list[str], first: str, rest: str) -> list[str]:
    """Put `first` before the first line and `rest` before the others (blank lines stay bare)."""
    return [
        (first if n == 0 else rest) + line if line or n == 0 else rest.rstrip()
        for n, line in enumerate(lines)
    ]


# --- one-sentence messages -------------------------------------------------------------------


def message(
    text: str,
    width: int | None,
    colour: bool,
    looks: tuple[str, ...] = (),
    mark: str = "",
    mark_looks: tuple[str, ...] = (),
    indent: int = 0,
) -> str:
    """A message, wrapped with a hanging indent after `mark`; `backticked` commands are atomic."""
    lead = " " * indent + (f"{mark} " if mark else "")
    out = []
    for paragraph in text.split("\n"):
        words = _Words(colour)
        at = 0
        for match in _BACKTICKED.finditer(paragraph):
            words.text(paragraph[at : match.start()], looks)
            words.code(match.group(1), looks)
            at = match.end()
        words.text(paragraph[at:], looks)
        lines = wrap(words.done(), _narrower(width, len(lead)), colour)
        first = " " * indent + (f"{style(mark, *mark_looks, colour=colour)} " if mark else "")
        out.extend(_hang(lines, first if not out else " " * len(lead), " " * len(lead)))
    return "\n".join(line.rstrip(" ") for line in out) + "\n"


def say(
    text: str,
    looks: tuple[str, ...] = (),
    mark: str = "",
    mark_looks: tuple[str, ...] = (),
    indent: int = 0,
    err: bool = False,
) -> None:
    """Print a message to stdout (or stderr), wrapped and coloured for where it goes."""
    stream = sys.stderr if err else sys.stdout
    _write(
        message(text, columns(stream), coloured(stream), looks, mark, mark_looks, indent), stream
    )


def passed(text: str) -> None:
    mark, colour = MARKS["passed"]
    say(text, mark=mark, mark_looks=(colour,))


def failed(text: str, err: bool = False) -> None:
    mark, colour = MARKS["failed"]
    say(text, mark=mark, mark_looks=(colour,), err=err)


# --- Markdown --------------------------------------------------------------------------------


def markdown(text: str, width: int | None, colour: bool) -> str:
    """Render Markdown for a terminal: headings, paragraphs, lists, quotes, code, emphasis,
    links. Returns the lines, each ending in a newline."""
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    tree = SyntaxTreeNode(MarkdownIt("commonmark").parse(text))
    return "".join(f"{line}\n" for line in _blocks(tree.children, width, colour))


def _blocks(nodes, width: int | None, colour: bool, tight: bool = False) -> list[str]:
    out: list[str] = []
    for node in nodes:
        lines = _block(node, width, colour)
        if out and not tight:
            out.append("")
        out.extend(lines)
    return out


def _block(node, width: int | None, colour: bool) -> list[str]:
    kind = node.type
    if kind == "paragraph":
        return wrap(_inline(node.children[0], colour), width, colour)
    if kind == "heading":
        level = int(node.tag[1:])
        lines = wrap(_inline(node.children[0], colour, ("bold",)), width, colour)
        if level <= 2:
            longest = max(len(plain(line)) for line in lines)
            rule = ("═" if level == 1 else "─") * min(longest, width or longest)
            lines.append(style(rule, "dim", colour=colour))
        return lines
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, width, colour)
    if kind == "blockquote":
        inner = _blocks(node.children, _narrower(width, 2), colour)
        bar = style("│", "dim", colour=colour)
        return [f"{bar} {line}" if line else bar for line in inner]
    if kind in ("fence", "code_block"):
        lines = node.content.removesuffix("\n").split("\n")
        return [f"  {style(line, *CODE, colour=colour)}" if line else "" for line in lines]
    if kind == "hr":
        return [style("─" * min(width or 40, 40), "dim", colour=colour)]
    if kind == "html_block":
        return node.content.removesuffix("\n").split("\n")
    if node.children:  # anything else (a newer parser's block): its children, plainly
        return _blocks(node.children, width, colour)
    return node.content.removesuffix("\n").split("\n") if node.content else []


def _list(node, width: int | None, colour: bool) -> list[str]:
    items = node.children
    tight = all(
        child.hidden for item in items for child in item.children if child.type == "paragraph"
    )
    if node.type == "ordered_list":
        start = int(node.attrs.get("start", 1))
        markers = [f"{start + n}." for n in range(len(items))]
    else:
        markers = ["•"] * len(items)
    size = max(len(m) for m in markers) + 1
    out: list[str] = []
    for marker, item in zip(markers, items, strict=True):
        inner = _blocks(item.children, _narrower(width, size), colour, tight=tight) or [""]
        if out and not tight:
            out.append("")
        lead = style(marker, "dim", colour=colour) + " " * (size - len(marker))
        out.extend(_hang(inner, lead, " " * size))
    return out


def _inline(node, colour: bool, looks: tuple[str, ...] = ()) -> list[Word | None]:
    words = _Words(colour)
    _walk(node, words, looks)
    return words.done()


def _walk(node, words: _Words, looks: tuple[str, ...]) -> None:
    for child in node.children:
        kind = child.type
        if kind in ("text", "html_inline"):
            words.text(child.content, looks)
        elif kind == "code_inline":
            words.code(child.content, looks)
        elif kind == "softbreak":
            words.end()
        elif kind == "hardbreak":
            words.hard_break()
        elif kind == "strong":
            _walk(child, words, (*looks, "bold"))
        elif kind == "em":
            _walk(child, words, (*looks, "italic"))
        elif kind == "link":
            _walk(child, words, (*looks, "underline"))
            href = str(child.attrs.get("href", ""))
            shown = "".join(grand.content for grand in child.children)
            if href and href not in (shown, f"mailto:{shown}"):
                words.end()
                words.text(f"({href})", looks)
        elif kind == "image":
            words.text(str(child.attrs.get("alt", "")) or child.content, looks)
        elif child.children:
            _walk(child, words, looks)
        else:
            words.text(child.content, looks)


def plain(line: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", line)


# --- what the commands print -----------------------------------------------------------------


def heading(title: str, tag: str, width: int | None, colour: bool) -> str:
    """`── title — tag ─────` when it fits, else the title wrapped (`tag` kept whole) over a
    rule."""
    text = f"{title} — {tag}"
    size = len(text)
    if width is None or size + 4 <= width:
        fill = "─" * (2 if width is None else width - size - 4)
        return (
            f"{style('──', 'dim', colour=colour)} {style(text, 'bold', colour=colour)} "
            f"{style(fill, 'dim', colour=colour)}".rstrip(" ")
            + "\n"
        )
    words = _Words(colour)
    words.text(f"{title} —", ("bold",))
    words.end()
    words.unit(tag, ("bold",))
    lines = wrap(words.done(), width, colour)
    return "\n".join([*lines, style("─" * width, "dim", colour=colour)]) + "\n"


def step(lab: Lab, step: Step) -> None:
    """A step's text: a heading naming the lab and the step, the Markdown, what to do next."""
    out = sys.stdout
    width, colour = columns(out), coloured(out)
    number = lab.index(step.id) + 1
    tag = f"step {number} of {len(lab.steps)}: {step.id}"
    _write(
        heading(lab.title, tag, width, colour)
        + "\n"
        + markdown(step.instructions, width, colour)
        + "\n"
        + message(FOOTER, width, colour, looks=("dim",)),
        out,
    )


def status(table: dict) -> None:
    """Every lab's steps, one row each: number, id, title, state."""
    out = sys.stdout
    colour = coloured(out)
    text = []
    for lab in table["labs"]:
        rows = [("#", "step", "title")] + [
            (str(n), s["id"], s["title"]) for n, s in enumerate(lab["steps"], start=1)
        ]
        sizes = [max(len(row[i]) for row in rows) for i in range(3)]
        text.append(style(lab["title"], "bold", colour=colour))
        head = f"{'#':>{sizes[0]}}  {'step':<{sizes[1]}}  {'title':<{sizes[2]}}  state"
        text.append(style(head, "dim", colour=colour))
        for (number, ident, title), s in zip(rows[1:], lab["steps"], strict=True):
            label, look = STATES[s["state"]]
            text.append(
                f"{number:>{sizes[0]}}  {ident:<{sizes[1]}}  {title:<{sizes[2]}}  "
                + style(label, look, colour=colour)
            )
        text.append("")
    _write("\n".join(text) + "\n", out)
