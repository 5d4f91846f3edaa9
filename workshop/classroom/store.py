"""The classroom's store: SQLite (the default, a file) or PostgreSQL, one schema, the same queries.

Every accepted report is committed before the server answers 200, so a stopped server loses
nothing it acknowledged. Learner tokens are kept as SHA-256 hashes only; the join code and the
instructor secret live in the store so a restart on the same store keeps them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import queue
import secrets
import sqlite3
import threading
from pathlib import Path
from urllib.parse import urlsplit

from workshop.errors import WorkshopError

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS learners (
    id {serial} PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    joined DOUBLE PRECISION NOT NULL,
    stored_through BIGINT NOT NULL DEFAULT 0,
    kit TEXT
);
CREATE TABLE IF NOT EXISTS reports (
    id {serial} PRIMARY KEY,
    learner_id BIGINT NOT NULL REFERENCES learners(id),
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    at_s DOUBLE PRECISION NOT NULL,
    received DOUBLE PRECISION NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (learner_id, seq)
)
"""


_WHO = "SELECT id, role, name FROM learners WHERE token_hash = %s"


class NameTaken(Exception):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_join_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normal_code(code: str) -> str:
    """A join code as typed (any case, spaces, with or without the dash), for comparison."""
    return "".join(code.split()).upper().replace("-", "")


class Store:
    """The queries; subclasses give a connection (`_tx`) and the placeholder style. The server's
    requests go through the async methods below: SQLite runs the same queries in a thread;
    PostgreSQL has its own async pool and stores a batch in one statement."""

    serial = ""
    placeholder = "?"
    lag = 0  # report ids that may still become visible below the highest one seen

    def _tx(self):  # a context manager yielding a cursor inside one transaction
        raise NotImplementedError

    def _sql(self, query: str) -> str:
        return query.replace("?", self.placeholder).replace("%s", self.placeholder)

    def _create(self) -> None:
        with self._tx() as cur:
            for statement in SCHEMA.format(serial=self.serial).split(";"):
                cur.execute(statement)
            self._upgrade(cur)
            for key, make in (
                ("join_code", new_join_code),
                ("instructor_secret", lambda: secrets.token_urlsafe(24)),
            ):
                cur.execute(
                    self._sql(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
                    ),
                    (key, make()),
                )

    def _upgrade(self, cur) -> None:
        """Bring a store made by an older kit up to the schema (columns added since)."""
        cur.execute("ALTER TABLE learners ADD COLUMN IF NOT EXISTS kit TEXT")

    def secrets(self) -> tuple[str, str]:
        """(join code, instructor secret)."""
        with self._tx() as cur:
            cur.execute("SELECT key, value FROM meta")
            meta = dict(cur.fetchall())
        return meta["join_code"], meta["instructor_secret"]

    def save_rules(self, rules: dict) -> None:
        """The stuck rules the server runs with (`serve --stuck-...`), for `export` to read."""
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                ("stuck_rules", json.dumps(rules, sort_keys=True)),
            )

    def rules(self) -> dict:
        """The stuck rules the server last started with ({} if it never stored any)."""
        with self._tx() as cur:
            cur.execute(self._sql("SELECT value FROM meta WHERE key = ?"), ("stuck_rules",))
            row = cur.fetchone()
        try:
            stored = json.loads(row[0]) if row else {}
        except ValueError:
            return {}
        return stored if isinstance(stored, dict) else {}

    def add_learner(
        self, name: str, role: str, token: str, now: float, kit: dict | None = None
    ) -> int:
        """A new learner's id; their kit (`Catalog.compare`'s record: version, digest, differs,
        what) is kept with them."""
        with self._tx() as cur:
            cur.execute(self._sql("SELECT 1 FROM learners WHERE lower(name) = lower(?)"), (name,))
            if cur.fetchone():
                raise NameTaken(name)
            try:
                cur.execute(
                    self._sql(
                        "INSERT INTO learners (name, role, token_hash, joined, kit) "
                        "VALUES (?, ?, ?, ?, ?) RETURNING id"
                    ),
                    (name, role, token_hash(token), now, json.dumps(kit) if kit else None),
                )
            except Exception as exc:  # a join of the same name at the same moment
                if "unique" in str(exc).lower():
                    raise NameTaken(name) from None
                raise
            return cur.fetchone()[0]

    def set_kit(self, learner_id: int, kit: dict | None) -> None:
        """A learner's kit as it is now (they joined again with another one)."""
        with self._tx() as cur:
            cur.execute(
                self._sql("UPDATE learners SET kit = ? WHERE id = ?"),
                (json.dumps(kit) if kit else None, learner_id),
            )

    def learner(self, token: str) -> tuple[int, str, str] | None:
        """(id, role, name) of the token's learner, looked up by its hash."""
        with self._tx() as cur:
            cur.execute(self._sql(_WHO), (token_hash(token),))
            row = cur.fetchone()
        return tuple(row) if row else None

    def add_reports(self, learner_id: int, reports: list[dict], now: float) -> int:
        """Store the reports above the learner's `stored_through` in one transaction; returns the
        new `stored_through`."""
        with self._tx() as cur:
            return self._add(cur, learner_id, reports, now)

    def _add(self, cur, learner_id: int, reports: list[dict], now: float) -> int:
        """`add_reports` inside the caller's transaction."""
        from workshop.classroom.validate import when

        cur.execute(self._sql("SELECT stored_through FROM learners WHERE id = ?"), (learner_id,))
        through = cur.fetchone()[0]
        fresh = [r for r in reports if r["seq"] > through]
        if not fresh:
            return through
        cur.executemany(
            self._sql(
                "INSERT INTO reports (learner_id, seq, kind, at, at_s, received, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (learner_id, seq) DO NOTHING"
            ),
            [
                (
                    learner_id,
                    r["seq"],
                    r["kind"],
                    r["at"],
                    when(r["at"]),
                    now,
                    json.dumps(r["data"], separators=(",", ":")),
                )
                for r in fresh
            ],
        )
        through = fresh[-1]["seq"]
        cur.execute(
            self._sql("UPDATE learners SET stored_through = ? WHERE id = ?"), (through, learner_id)
        )
        return through

    def learners(self) -> list[tuple[int, str, str, float, dict | None]]:
        """(id, name, role, joined, kit) of every learner, in join order."""
        with self._tx() as cur:
            cur.execute("SELECT id, name, role, joined, kit FROM learners ORDER BY id")
            rows = cur.fetchall()
        return [(*row[:4], _kit(row[4])) for row in rows]

    def reports_after(self, cursor: int, limit: int = 5000) -> list[tuple]:
        """(id, learner id, kind, at in seconds, data as JSON text) of the reports with
        id > cursor, in id order."""
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    "SELECT id, learner_id, kind, at_s, data FROM reports WHERE id > ? "
                    "ORDER BY id LIMIT ?"
                ),
                (cursor, limit),
            )
            return [tuple(row) for row in cur.fetchall()]

    def version(self) -> tuple[int, int]:
        """(highest report id, the learners' sign: their number plus the length of their kits'
        records, so a learner who joins again with another kit changes it too): changes
        whenever the room does."""
        with self._tx() as cur:
            cur.execute(
                "SELECT (SELECT coalesce(max(id), 0) FROM reports), (SELECT count(*) + "
                "coalesce(sum(length(coalesce(kit, ''))), 0) FROM learners)"
            )
            row = cur.fetchone()
        return int(row[0]), int(row[1])

    def count_reports(self) -> int:
        with self._tx() as cur:
            cur.execute("SELECT count(*) FROM reports")
            return int(cur.fetchone()[0])

    def close(self) -> None:
        pass

    # -- from the server's event loop --------------------------------------------------------------

    async def start(self) -> None:
        """Ready what the event loop needs (PostgreSQL: its async pool)."""

    async def who(self, token: str) -> tuple[int, str, str] | None:
        """`learner` for a request: in a thread here, so the event loop goes on."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.learner, token)

    async def save_reports(self, learner_id: int, reports: list[dict], now: float) -> int:
        """`add_reports` for a request: in a thread here, so the event loop goes on."""
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self.add_reports, learner_id, reports, now)

    async def stop(self) -> None:
        self.close()


class SQLiteStore(Store):
    """One file, one writer. In the server, the reports of every request waiting are committed
    together by one thread (`save_reports`): one transaction and one sync to disk for all of
    them, and each request is answered only once its transaction is committed (a 200 still means
    the report is on disk). At 1,000 learners that is a few commits a second, not a thousand."""

    serial = "INTEGER"  # an INTEGER PRIMARY KEY is the rowid: assigned in commit order here
    batch_max = 500  # reports of at most this many requests in one transaction

    def _upgrade(self, cur) -> None:
        cur.execute("PRAGMA table_info(learners)")
        if "kit" not in {row[1] for row in cur.fetchall()}:
            cur.execute("ALTER TABLE learners ADD COLUMN kit TEXT")

    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a 200 means the report is on disk
            self._db.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise WorkshopError(
                f"Cannot open the classroom store {path} ({exc}): pass --db "
                "sqlite:///PATH to a file in a folder you own."
            ) from None
        self._mutex = threading.Lock()
        self._queue: queue.SimpleQueue | None = None
        self._writer: threading.Thread | None = None
        self._create()

    @contextlib.contextmanager
    def _tx(self):
        with self._mutex:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    # -- from the server's event loop: one writer -------------------------------------------------

    async def start(self) -> None:
        self._queue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="classroom-writer", daemon=True)
        self._writer.start()

    async def save_reports(self, learner_id: int, reports: list[dict], now: float) -> int:
        """`add_reports`, committed by the writer with the other requests waiting (see the
        class); returns once the transaction that holds these reports is committed."""
        if self._queue is None:  # not started (no event loop of a server): one at a time
            return await super().save_reports(learner_id, reports, now)
        answer = asyncio.get_running_loop().create_future()
        self._queue.put((learner_id, reports, now, answer))
        return await answer

    def _write(self) -> None:
        """The writer thread: take every request waiting, commit them in one transaction, answer
        each; until `stop` puts None in the queue."""
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, last = [first], False
            while len(batch) < self.batch_max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    last = True
                    break
                batch.append(item)
            try:
                with self._tx() as cur:
                    done = [(self._add(cur, *item[:3]), None) for item in batch]
            except Exception:  # one request's failure must not fail the others
                done = []
                for item in batch:  # each in a transaction of its own: its own answer
                    try:
                        done.append((self.add_reports(*item[:3]), None))
                    except Exception as exc:  # handed to the request's await
                        done.append((None, exc))
            for item, (through, failure) in zip(batch, done, strict=True):
                _answer(item[3], through, failure)
            if last:
                return

    async def stop(self) -> None:
        if self._writer is not None:
            self._queue.put(None)  # after the requests already waiting
            await asyncio.to_thread(self._writer.join)
            self._writer = self._queue = None
        self.close()


def _answer(future: asyncio.Future, result, failure: BaseException | None) -> None:
    """Settle a request's future from the writer thread, on its event loop (a request that went
    away meanwhile, or a loop already closed, is skipped: its reports are stored all the same)."""

    def settle() -> None:
        if future.done():
            return
        if failure is None:
            future.set_result(result)
        else:
            future.set_exception(failure)

    with contextlib.suppress(RuntimeError):
        future.get_loop().call_soon_threadsafe(settle)


class PostgresStore(Store):
    serial = "BIGINT GENERATED BY DEFAULT AS IDENTITY"
    placeholder = "%s"
    lag = 1000  # ids are taken before commit: concurrent transactions commit out of order

    def __init__(self, url: str, size: int = 8):
        import psycopg
        from psycopg_pool import ConnectionPool

        where = _where(url)
        self.url, self.size = url, size
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorkshopError(
                f"Cannot reach PostgreSQL at {where} ({first}): start it, or fix the --db URL "
                "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)."
            ) from None
        self._pool = ConnectionPool(
            url, min_size=2, max_size=size, open=True, timeout=10, kwargs={"autocommit": True}
        )
        with self._pool.connection() as conn:  # workers creating the schema: one at a time
            conn.execute("SELECT pg_advisory_lock(7301)")
            try:
                conn.commit()
                self._create()
            finally:
                conn.execute("SELECT pg_advisory_unlock(7301)")
                conn.commit()

    @contextlib.contextmanager
    def _tx(self):
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def add_reports(self, learner_id: int, reports: list[dict], now: float) -> int:
        """One statement in autocommit: one round trip, one transaction (see `_ADD_REPORTS`)."""
        with self._pool.connection() as conn:
            return conn.execute(_ADD_REPORTS, _columns(learner_id, reports, now)).fetchone()[0]

    async def start(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._async = AsyncConnectionPool(
            self.url,
            min_size=self.size,
            max_size=self.size,
            open=False,
            timeout=10,
            kwargs={"autocommit": True},
        )
        await self._async.open(wait=True)

    async def who(self, token: str) -> tuple[int, str, str] | None:
        async with self._async.connection() as conn:
            cursor = await conn.execute(_WHO, (token_hash(token),))
            row = await cursor.fetchone()
        return tuple(row) if row else None

    async def save_reports(self, learner_id: int, reports: list[dict], now: float) -> int:
        async with self._async.connection() as conn:
            cursor = await conn.execute(_ADD_REPORTS, _columns(learner_id, reports, now))
            return (await cursor.fetchone())[0]

    async def stop(self) -> None:
        await self._async.close()
        self.close()

    def close(self) -> None:
        self._pool.close()


# The learner's row is locked first (two requests of one learner at once: one waits for the
# other, then reads the stored_through it left); only the reports above it are inserted.
_ADD_REPORTS = """
WITH mine AS (
    SELECT id, stored_through FROM learners WHERE id = %s FOR UPDATE
), fresh AS (
    INSERT INTO reports (learner_id, seq, kind, at, at_s, received, data)
    SELECT mine.id, r.seq, r.kind, r.at, r.at_s, %s, r.data
    FROM mine, unnest(%s::bigint[], %s::text[], %s::text[], %s::float8[], %s::text[])
        AS r (seq, kind, at, at_s, data)
    WHERE r.seq > mine.stored_through
    ON CONFLICT (learner_id, seq) DO NOTHING
    RETURNING seq
)
UPDATE learners SET stored_through = greatest(learners.stored_through, (SELECT max(seq) FROM fresh))
FROM mine WHERE learners.id = mine.id
RETURNING learners.stored_through
"""


def _columns(learner_id: int, reports: list[dict], now: float) -> tuple:
    from workshop.classroom.validate import when

    return (
        learner_id,
        now,
        [r["seq"] for r in reports],
        [r["kind"] for r in reports],
        [r["at"] for r in reports],
        [when(r["at"]) for r in reports],
        [json.dumps(r["data"], separators=(",", ":")) for r in reports],
    )


def _kit(text: str | None) -> dict | None:
    try:
        kit = json.loads(text) if text else None
    except ValueError:
        return None
    return kit if isinstance(kit, dict) else None


def _require_postgres_store(url: str) -> None:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            found = conn.execute("SELECT to_regclass('meta')").fetchone()[0]
    except psycopg.Error:
        return  # PostgresStore says why it cannot connect
    if found is None:
        raise _no_store(_where(url))


def _where(url: str) -> str:
    """host:port/database of a URL, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or ''}"


def default_path() -> Path:
    from workshop.state import home

    return home() / "classroom.sqlite3"


def _no_store(where: str) -> WorkshopError:
    return WorkshopError(
        f"There is no classroom store at {where}: `workshop classroom serve` makes one; pass "
        "--db with the URL the server used."
    )


def open_store(url: str | None, pool_size: int = 8, create: bool = True) -> Store:
    """The store a --db URL names: sqlite:///PATH, postgresql://..., or the default SQLite file.
    With `create=False` (reading, as `export` does) a store that does not exist is an error,
    not a new empty one."""
    if not url:
        url = f"sqlite:///{default_path()}"
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise WorkshopError(
                f"The --db URL {url!r} names no file: write sqlite:///PATH (sqlite:////tmp/room.db "
                "for an absolute path)."
            )
        if not create and not Path(path).is_file():
            raise _no_store(path)
        return SQLiteStore(Path(path))
    if scheme in ("postgresql", "postgres"):
        if not create:
            _require_postgres_store(url)
        return PostgresStore(url, pool_size)
    raise WorkshopError(
        f"The --db URL must start with sqlite:/// or postgresql:// (got {scheme!r}): for example "
        "--db postgresql://workshop@127.0.0.1:5432/classroom."
    )
