"""The classroom: a server learners report their verdicts to, and the instructor's live dashboard.

Modules, one concern each: `catalog` (the labs' ids the server accepts), `validate` (every input
checked, pure), `room` (the grid, stuck learners, pace and readiness, pure), `store` (SQLite or
PostgreSQL behind one interface), `limits` (rate limiting), `app` (the Starlette routes),
`serve` (uvicorn, the printed lines, the faults said in one sentence) and `export`.
"""

from __future__ import annotations

import importlib.util

from workshop.errors import WorkshopError

# What each extra of the kit brings (pyproject.toml's [project.optional-dependencies]): a
# learner's install has neither; the instructor's machine installs what it uses.
EXTRAS = {
    "classroom": ("starlette", "uvicorn", "sse_starlette", "pyte", "segno", "cryptography"),
    "postgres": ("psycopg", "psycopg_pool"),
}
_WHY = {"classroom": "The classroom server", "postgres": "A PostgreSQL store"}
_MAKE = {"classroom": "make classroom", "postgres": "make classroom"}


def require(extra: str) -> None:
    """One sentence with the install command if the extra's modules are missing."""
    if all(importlib.util.find_spec(module) for module in EXTRAS[extra]):
        return
    raise WorkshopError(
        f"{_WHY[extra]} needs the kit's {extra!r} extra: install it with `pip install "
        f"'docker-workshop-kit[{extra}]'` (in the kit's clone: `{_MAKE[extra]}`), then run "
        "this again."
    )
