"""Fixtures: a fixture lab, a server per test (SQLite or PostgreSQL), one PostgreSQL per session."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.classroom.support import Postgres, Server, postgres_bin, write_labs

_databases = itertools.count(1)


@pytest.fixture
def labs(tmp_path):
    return write_labs(tmp_path / "kit")


@pytest.fixture(scope="session")
def postgres():
    if postgres_bin() is None:
        pytest.skip(
            "PostgreSQL's binaries are not under /usr/lib/postgresql/*/bin: run "
            "scripts/classroom-deps (apt-get install postgresql)"
        )
    # its own folder under /tmp: the `postgres` user cannot enter pytest's (root's, mode 700)
    root = Path(tempfile.mkdtemp(prefix="workshop-pg-"))
    server = Postgres(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """A store URL for a fresh room: an SQLite file, or a new database on the session's
    PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'room.sqlite3'}"
    return request.getfixturevalue("postgres").create_database(f"room{next(_databases)}")


@pytest.fixture
def make_server(tmp_path, labs):
    started: list[Server] = []

    def make(
        db: str | None = None, *args: str, port: int | None = None, context=None, group=False
    ) -> Server:
        server = Server(tmp_path / "home", labs, db, args, context=context, group=group)
        if port:
            server.port = port
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server, db):
    return make_server(db)
