"""The room as the export prints it: JSON (`{"learners": [...]}`) or CSV, one row per learner."""

from __future__ import annotations

import csv
import io

FIELDS = (
    "name",
    "done",
    "current",
    "stuck",
    "why_stuck",
    "ready",
    "not_ready_because",
    "mistake",
    "minutes_on_current",
    "left",
)


def as_json(view: dict) -> dict:
    return {
        "learners": [{key: row[key] for key in FIELDS} for row in view["learners"]],
        "steps": [
            {
                "lab": s["lab"],
                "id": s["id"],
                "here": s["here"],
                "done": s["done"],
                "mistakes": s["mistakes"],
            }
            for s in view["steps"]
        ],
        "pace": view["pace"],
    }


def as_csv(view: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in view["learners"]:
        cells = []
        for key in FIELDS:
            value = row[key]
            if isinstance(value, list):
                value = " ".join(value) if key == "done" else "; ".join(value)
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            elif value is None:
                value = ""
            cells.append(_safe(str(value)))
        writer.writerow(cells)
    return out.getvalue()


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (names are validated; sentences too)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell
