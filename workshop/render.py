"""Terminal output: the lab's Markdown and the progress table, rendered with rich."""

from __future__ import annotations

import functools
import os

from workshop.labs import Lab, Step

MARKS = {"done": "[green]✔ done[/]", "current": "[yellow]➜ current[/]", "todo": "[dim]· todo[/]"}


@functools.cache
def console():
    from rich.console import Console

    # Honour NO_COLOR; keep lines readable when piped (CI logs, `| less`).
    return Console(highlight=False, soft_wrap=False, width=None if os.isatty(1) else 100)


def step(lab: Lab, step: Step) -> None:
    from rich.markdown import Markdown
    from rich.rule import Rule

    number = lab.index(step.id) + 1
    out = console()
    out.print(Rule(f"[bold]{lab.title}[/] — step {number} of {len(lab.steps)}: {step.id}"))
    out.print(Markdown(step.instructions))
    out.print()
    out.print("[dim]Stuck? `workshop hint`. Done? `workshop next`. Text gone? `workshop show`.[/]")


def note(text: str, markup: bool = True) -> None:
    """A line; `markup=False` for text from the engine or the learner (`[/]` is not markup)."""
    console().print(text, soft_wrap=True, markup=markup)


def status(table: dict) -> None:
    from rich.table import Table

    for lab in table["labs"]:
        grid = Table(title=lab["title"], title_justify="left", show_edge=False)
        grid.add_column("#", justify="right")
        grid.add_column("step")
        grid.add_column("title")
        grid.add_column("state")
        for n, s in enumerate(lab["steps"], start=1):
            grid.add_row(str(n), s["id"], s["title"], MARKS[s["state"]])
        console().print(grid)
        console().print()
