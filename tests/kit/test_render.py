"""The renderer: words wrap on spaces only, code is never broken, colour follows NO_COLOR and
never reaches a pipe. Pure functions first, then the real command in a pipe and in a terminal."""

from __future__ import annotations

import io
import random
import re
import subprocess
import sys

import pytest

from tests.kit import curriculum
from tests.kit.fixtures import KIT
from workshop import render

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def visible(text: str) -> str:
    return ESCAPE.sub("", text)


def lines_of(text: str) -> list[str]:
    return visible(text).rstrip("\n").split("\n")


# --- wrapping --------------------------------------------------------------------------------


def test_paragraphs_wrap_at_the_width_on_spaces_only():
    text = "The quick brown fox jumps over the extraordinarily lazy dog, twice.\n"
    for width in range(1, 70):
        out = lines_of(render.markdown(text, width, colour=False))
        assert " ".join(out).split() == text.split(), width  # every word whole, in order
        for line in out:
            assert len(line) <= width or " " not in line, (width, line)  # long: one word alone


def test_no_width_means_one_line_per_paragraph():
    text = "one two\nthree four\n\nfive six\n"
    assert render.markdown(text, None, colour=False) == "one two three four\n\nfive six\n"


def test_an_inline_code_span_is_one_unit_even_when_longer_than_the_width():
    command = "docker container run -d --name webapp1 -p 8000:8000 examplewebsites/service"
    text = f"Start it with `{command}` and wait.\n"
    for width in (10, 20, 40, 60, 75, 76, 77, 78, 80, 100):
        out = lines_of(render.markdown(text, width, colour=False))
        assert sum(f"`{command}`" in line for line in out) == 1, (width, out)
        if width < len(command) + 2:
            assert f"`{command}`" in out, (width, out)  # a line of its own
    coloured = lines_of(render.markdown(text, 20, colour=True))
    assert command in coloured and "`" not in "".join(coloured)  # colour marks it, not backticks


def test_punctuation_stays_glued_to_its_code_span():
    out = lines_of(render.markdown("Run (`docker container ls -a`), then go.\n", 12, False))
    assert "(`docker container ls -a`)," in out


def test_a_no_break_space_joins_words():
    assert lines_of(render.markdown("aaaa bbbb\u00a0cccc\n", 9, False)) == [
        "aaaa",
        "bbbb\u00a0cccc",
    ]


def test_code_block_lines_are_printed_exactly_as_written_whatever_the_width():
    code = ["$ python3 -c \"import json; print(json.dumps({'a': 1}))\"  # long enough", "", "  x"]
    text = "```console\n" + "\n".join(code) + "\n```\n"
    for width in (5, 20, 200, None):
        out = lines_of(render.markdown(text, width, colour=False))
        assert out == [f"  {code[0]}", "", f"  {code[2]}"], width


def test_random_paragraphs_keep_every_word_and_every_span_whole():
    rng = random.Random(20261124)
    for _ in range(300):
        pieces, spans = [], []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.25:
                span = " ".join(
                    "".join(rng.choices("abcdef-/.:", k=rng.randint(1, 12)))
                    for _ in range(rng.randint(1, 6))
                )
                spans.append(span)
                pieces.append(f"`{span}`")
            else:
                pieces.append("".join(rng.choices("ghijklmnop,.()", k=rng.randint(1, 15))))
        width = rng.randint(1, 90)
        out = lines_of(render.markdown(" ".join(pieces) + "\n", width, colour=False))
        assert " ".join(out).split() == " ".join(pieces).split()
        for span in spans:
            assert any(f"`{span}`" in line for line in out), (span, width, out)
        for line in out:
            assert len(line) <= width or not re.sub(r"`[^`]*`", "", line).count(" "), line


# --- Markdown --------------------------------------------------------------------------------

DOC = """\
# Title

Some **bold** and *italic* text, a [link](https://docs.docker.com) and `code`.\\
After a hard break.

## Part

- one
- two `docker container ls`
  1. nested
  2. again

3. three
4. four

> quoted `docker container stop <ID>`
>
> second paragraph

---
"""


def test_markdown_renders_each_construct_plainly_without_colour():
    assert render.markdown(DOC, 80, colour=False) == (
        "Title\n"
        "═════\n"
        "\n"
        "Some bold and italic text, a link (https://docs.docker.com) and `code`.\n"
        "After a hard break.\n"
        "\n"
        "Part\n"
        "────\n"
        "\n"
        "• one\n"
        "• two `docker container ls`\n"
        "  1. nested\n"
        "  2. again\n"
        "\n"
        "3. three\n"
        "4. four\n"
        "\n"
        "│ quoted `docker container stop <ID>`\n"
        "│\n"
        "│ second paragraph\n"
        "\n"
        "────────────────────────────────────────\n"
    )


def test_list_items_and_quotes_wrap_under_their_own_indent():
    out = lines_of(render.markdown("- alpha beta gamma delta\n\n> alpha beta gamma\n", 12, False))
    assert out == ["• alpha beta", "  gamma", "  delta", "", "│ alpha beta", "│ gamma"]


def test_colour_styles_the_text_without_changing_it():
    plain = render.markdown(DOC, None, colour=False)
    coloured = render.markdown(DOC, None, colour=True)
    assert "\x1b[1m" in coloured and "\x1b[36m" in coloured
    assert visible(coloured) == plain.replace("`", "")  # backticks only stand in for colour


# --- messages --------------------------------------------------------------------------------


def test_a_message_hangs_under_its_mark_and_keeps_commands_whole():
    text = "Step run-ls is not done yet: run `docker container run debian ls -l` again."
    out = render.message(text, 30, colour=False, mark="✘")
    assert out == (
        "✘ Step run-ls is not done yet:\n  run\n  `docker container run debian ls -l`\n  again.\n"
    )
    assert render.message(text, None, colour=False, mark="✘") == f"✘ {text}\n"


def test_a_message_in_colour_marks_code_by_colour():
    out = render.message("Run `workshop next`.", 80, colour=True, mark="✔", mark_looks=("green",))
    assert out == "\x1b[32m✔\x1b[0m Run \x1b[36mworkshop next\x1b[0m.\n"


def test_the_style_helper_colours_only_when_told():
    assert render.style("x", "red", colour=False) == "x"
    assert render.style("x", "red", "bold", colour=True) == "\x1b[31;1mx\x1b[0m"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("tty", "no_color", "expected"),
    [(True, None, True), (True, "", True), (True, "1", False), (False, None, False)],
)
def test_colour_only_on_a_terminal_without_no_color(tty, no_color, expected, monkeypatch):
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    stream = FakeTerminal() if tty else io.StringIO()
    assert render.coloured(stream) is expected


def test_the_width_is_columns_else_the_terminals_else_none_when_piped(monkeypatch):
    monkeypatch.setenv("COLUMNS", "57")
    assert render.columns(io.StringIO()) == 57
    assert render.columns(FakeTerminal()) == 57
    monkeypatch.delenv("COLUMNS")
    assert render.columns(io.StringIO()) is None
    assert render.columns(FakeTerminal()) == 80  # a terminal whose size cannot be read


# --- the real command, piped and in a terminal ---------------------------------------------


@pytest.fixture
def demo(tmp_path, monkeypatch, workshop):
    labs = curriculum.write(tmp_path)
    long = "docker container run -d --name webapp1 -p 8000:8000 examplewebsites/service"
    (labs / "demo" / "steps" / "first.md").write_text(
        f"# First\n\nSome **bold** words, then `{long}` and a block:\n\n"
        f"```console\n$ {long} --and-more-words-to-pass-eighty-columns\n```\n"
    )
    workshop.env["WORKSHOP_LABS"] = str(labs)
    return workshop


def in_terminal(env: dict, *args: str, columns: int = 50) -> str:
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "workshop", *args],
        env=env,
        cwd=str(KIT),
        encoding="utf-8",
        dimensions=(40, columns),
        timeout=30,
    )
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return out.replace("\r\n", "\n")


def test_piped_output_has_no_escape_codes_even_when_colour_is_forced_by_a_terminal(demo):
    env = {k: v for k, v in demo.env.items() if k not in ("NO_COLOR", "COLUMNS")}
    for args in (("show", "first"), ("hint",), ("status",), ("check", "nosuch")):
        done = subprocess.run(
            [sys.executable, "-m", "workshop", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=KIT,
        )
        assert "\x1b" not in done.stdout + done.stderr, args
    piped = subprocess.run(
        [sys.executable, "-m", "workshop", "show", "first"], env=env, capture_output=True, text=True
    ).stdout
    assert "Some bold words, then `docker container run" in piped  # no COLUMNS: no wrap at all


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_no_color_leaves_a_terminal_without_escape_codes(demo):
    env = {k: v for k, v in demo.env.items() if k not in ("NO_COLOR", "COLUMNS")}
    coloured = in_terminal(env, "show", "first")
    assert "\x1b[" in coloured
    plain = in_terminal({**env, "NO_COLOR": "1"}, "show", "first")
    assert "\x1b" not in plain and "`docker container run" in plain
    assert visible(coloured).split() == plain.replace("`", "").split()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_in_a_terminal_text_wraps_at_its_width_and_commands_stay_whole(demo):
    env = {k: v for k, v in demo.env.items() if k not in ("NO_COLOR", "COLUMNS")}
    out = lines_of(in_terminal(env, "show", "first", columns=50))
    long = "docker container run -d --name webapp1 -p 8000:8000 examplewebsites/service"
    assert long in out  # the inline span, on a line of its own
    assert f"  $ {long} --and-more-words-to-pass-eighty-columns" in out  # the code line, whole
    for line in out:
        assert len(line) <= 50 or long in line, line


def test_the_step_heading_keeps_step_and_id_on_one_line():
    title, tag = "First containers with debian", "step 7 of 7: start-exec"
    assert render.heading(title, tag, 80, colour=False) == f"── {title} — {tag} {'─' * 22}\n"
    assert render.heading(title, tag, None, colour=False) == f"── {title} — {tag} ──\n"
    for width in (10, 20, 30, 40, 56):
        out = lines_of(render.heading(title, tag, width, colour=False))
        assert any(line.endswith(tag) for line in out) and out[-1] == "─" * width, (width, out)
