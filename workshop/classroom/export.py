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
    "can_pull",
    "cannot_pull_because",
    "mistake",
    "minutes_on_current",
    "left",
    "kit",
)
# the learner's kit ({version, digest, differs, what}) is three columns in CSV
KIT_COLUMNS = ("kit_version", "kit_differs", "kit_differs_how")


def room(db: str | None = None) -> dict:
    """The room as the store holds it now (the dashboard's view), read directly: no server need
    run. Stuck is judged with the rules the server last started with on this store. A store
    that is not there is an error that says so; none is made."""
    import time

    from workshop.classroom import catalog, require
    from workshop.classroom.live import Live
    from workshop.classroom.room import Rules
    from workshop.classroom.store import open_store

    if (db or "").lower().startswith(("postgresql:", "postgres:")):
        require("postgres")
    store = open_store(db, create=False)  # none yet: say so, do not make an empty one
    try:
        live = Live(store, catalog.load(), Rules.from_json(store.rules()))
        live.refresh()
        return live.view(time.time())
    finally:
        store.close()


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
        "cannot_pull": view["readiness"]["cannot_pull"],
    }


def as_csv(view: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f for f in FIELDS if f != "kit"] + list(KIT_COLUMNS))
    for row in view["learners"]:
        cells = []
        kit = row["kit"]
        flat = {
            **row,
            "kit_version": kit["version"],
            "kit_differs": kit["differs"],
            "kit_differs_how": kit["what"],
        }
        for key in [f for f in FIELDS if f != "kit"] + list(KIT_COLUMNS):
            value = flat[key]
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
