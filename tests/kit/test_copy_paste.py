"""Every command a step of the real labs shows can be copied whole, at any width, piped or in a
terminal: `workshop show STEP` runs in a separate process (in a pipe, and in a real
pseudo-terminal of a given size), and each command of the step's Markdown must come out whole on
one line. The commands: every line of a fenced code block, and every inline code span that
starts with `docker ` or is a solution command (or a line a solution types)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.kit.fixtures import KIT
from workshop.labs import Command, Step, load_labs

STEPS = [step for lab in load_labs() for step in lab.steps]
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = (40, 60, 80, 120, 200)


def units(step: Step) -> tuple[list[str], list[str]]:
    """What the step's text shows unbreakable: its code block lines and inline code spans."""
    from markdown_it import MarkdownIt

    lines, spans = [], []
    for token in MarkdownIt("commonmark").parse(step.instructions):
        if token.type in ("fence", "code_block"):
            lines += [line for line in token.content.split("\n") if line.strip()]
        spans += [c.content for c in token.children or () if c.type == "code_inline"]
    return lines, spans


def commands(step: Step) -> list[str]:
    """What the step's text shows to type: code block lines and command-like code spans."""
    solution = {c.run for c in step.solution} | {t for c in step.solution for t in c.type}
    lines, spans = units(step)
    return lines + [s for s in spans if s.startswith("docker ") or s in solution]


def test_every_step_shows_commands_to_look_for():
    for step in STEPS:
        assert commands(step), step.id


def test_commands_are_code_block_lines_and_command_spans(tmp_path):
    text = tmp_path / "step.md"
    text.write_text(
        "Run `docker container exec <ID> cat notes.txt`, or `echo hi` (a solution line):\n\n"
        "```console\n$ docker container stop <ID>\n```\n\nNot `ls`.\n"
    )
    step = Step("lab", "step", "A step", text, "hint", "check", (Command("x", ("echo hi",)),), 1)
    shown = commands(step)
    assert "$ docker container stop <ID>" in shown  # a code block line
    assert "docker container exec <ID> cat notes.txt" in shown  # an inline code span
    assert "echo hi" in shown and "ls" not in shown


def whole(step: Step, output: str, width: int | None) -> list[str]:
    """The problems: commands not whole on one line, and lines longer than the width for another
    reason than holding code that is (with its backticks, indent or punctuation)."""
    lines = ESCAPE.sub("", output).replace("\r\n", "\n").split("\n")
    shown = commands(step)
    unbreakable = [u for found in units(step) for u in found]
    problems = [f"{step.id}: `{c}` is not whole on one line" for c in shown]
    problems = [p for c, p in zip(shown, problems, strict=True) if not any(c in x for x in lines)]
    if width is not None:
        problems += [
            f"{step.id}: a line of {len(line)} columns, wider than {width}: {line!r}"
            for line in lines
            if len(line) > width and not any(u in line and len(u) + 8 > width for u in unbreakable)
        ]
    return problems


def piped(step: Step, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "workshop", "show", f"{step.lab_id}/{step.id}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=KIT,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr, done
    return done.stdout


def in_terminal(step: Step, env: dict[str, str], width: int) -> str:
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "workshop", "show", f"{step.lab_id}/{step.id}"],
        env=env,
        cwd=str(KIT),
        encoding="utf-8",
        dimensions=(50, width),
        timeout=60,
    )
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return out


@pytest.fixture
def env(home) -> dict[str, str]:
    """A fresh learner's environment, with no width and no colour preference of its own."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}


def every_step(render) -> list[str]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return [p for problems in pool.map(render, STEPS) for p in problems]


@pytest.mark.parametrize("width", [*WIDTHS, None])
def test_piped_every_command_is_whole(width, env):
    if width is not None:
        env["COLUMNS"] = str(width)
    problems = every_step(lambda step: whole(step, piped(step, env), width))
    assert problems == []


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
@pytest.mark.parametrize("width", WIDTHS)
def test_in_a_terminal_every_command_is_whole(width, env):
    problems = every_step(lambda step: whole(step, in_terminal(step, env, width), width))
    assert problems == []


def test_every_solution_command_fits_in_80_columns():
    """A learner reads a command before typing it; long data belongs in a file they open."""
    for step in STEPS:
        for command in step.solution:
            assert len(command.run) <= 80, (step.id, command.run)
