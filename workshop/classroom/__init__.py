"""The classroom: a server learners report their verdicts to, and the instructor's live dashboard.

Modules, one concern each: `catalog` (the labs' ids the server accepts), `validate` (every input
checked, pure), `room` (the grid, stuck learners, pace and readiness, pure), `store` (SQLite or
PostgreSQL behind one interface), `limits` (rate limiting), `app` (the Starlette routes),
`serve` (uvicorn, the printed lines, the faults said in one sentence) and `export`.
"""
