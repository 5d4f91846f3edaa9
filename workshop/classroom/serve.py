"""`workshop classroom serve`: check what can be checked first (the store, the port, the TLS
files), say each problem in one sentence, print the lines to paste, then run uvicorn.

uvicorn stops on SIGINT and SIGTERM by finishing the requests in flight: a report is committed
before its 200, so nothing a learner was told is stored can be lost.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import signal
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from workshop.classroom.app import SETTINGS
from workshop.classroom.room import Rules
from workshop.classroom.store import default_path, open_store
from workshop.errors import UsageError, WorkshopError


@dataclass
class Options:
    db: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1
    tls_cert: str | None = None
    tls_key: str | None = None
    rules: Rules = field(default_factory=Rules)
    join_rate: float = 5.0
    learner_rate: float = 5.0


def check_options(options: Options) -> None:
    postgres = (options.db or "").lower().startswith(("postgresql:", "postgres:"))
    if options.workers < 1:
        raise UsageError("--workers must be 1 or more.")
    if options.workers > 1 and not postgres:
        raise UsageError(
            "SQLite serves one worker only: drop --workers, or use PostgreSQL with --db "
            "postgresql://... for several."
        )
    if not 1 <= options.port <= 65535:
        raise UsageError("--port must be between 1 and 65535.")
    if bool(options.tls_cert) != bool(options.tls_key):
        raise UsageError("TLS needs both --tls-cert and --tls-key (PEM files).")
    if options.tls_cert:
        _check_tls(options.tls_cert, options.tls_key)
    _check_port(options.host, options.port)


def _check_tls(cert: str, key: str) -> None:
    for what, path in (("certificate", cert), ("key", key)):
        if not Path(path).is_file():
            raise WorkshopError(
                f"The TLS {what} file {path} does not exist: pass the PEM file's path "
                f"(openssl req -x509 -newkey rsa:2048 -nodes makes a self-signed pair)."
            )
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise WorkshopError(
            f"The TLS certificate {cert} and key {key} cannot be used together ({exc.args[-1]}): "
            "pass a PEM certificate and its own unencrypted private key."
        ) from None


def _check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise WorkshopError(
            f"--host {host!r} is not an address of this machine: use 127.0.0.1, or 0.0.0.0 for "
            "the whole room."
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise WorkshopError(
                    f"Port {port} on {host} is in use (another server?): stop it, or pick "
                    "another port with --port."
                ) from None
            if exc.errno == errno.EACCES:
                raise WorkshopError(
                    f"Port {port} needs more rights than you have: pick one above 1023 with --port."
                ) from None
            raise WorkshopError(
                f"Cannot listen on {host}:{port} ({exc.strerror}): use 127.0.0.1, or 0.0.0.0 "
                "for the whole room."
            ) from None


def public_host(host: str) -> str:
    """The address learners type: the machine's own when listening on every interface."""
    if host in ("0.0.0.0", "::", ""):
        try:
            return socket.gethostbyname(socket.gethostname())
        except OSError:
            return socket.gethostname()
    return f"[{host}]" if ":" in host else host


@dataclass
class Opened:
    url: str
    code: str
    secret: str
    where: str


def prepare(options: Options) -> Opened:
    """Check everything, create the store (and its secrets) once, before any worker starts."""
    check_options(options)
    store = open_store(options.db)
    try:
        code, secret = store.secrets()
        store.save_rules(options.rules.to_json())  # `export` judges stuck as this server does
    finally:
        store.close()
    scheme = "https" if options.tls_cert else "http"
    where = (
        options.db.split("@")[-1]
        if options.db and "@" in options.db
        else (options.db or f"sqlite:///{default_path()}")
    )
    return Opened(f"{scheme}://{public_host(options.host)}:{options.port}", code, secret, where)


def lines(opened: Opened) -> list[str]:
    return [
        f"Classroom open at {opened.url} (store: {opened.where}).",
        "Learners paste this line, with their own name for NAME:",
        f"workshop join {opened.url} {opened.code} --name NAME",
        "You, to stream `workshop solve` to the demo page (keep this secret):",
        f"workshop join {opened.url} {opened.secret} --name NAME --instructor",
        f"Dashboard (keep this secret): {opened.url}/#key={opened.secret}",
        f"Demo page for learners: {opened.url}/demo#code={opened.code}",
        "Ctrl-C stops the server; every report it accepted stays in the store.",
    ]


def _logging() -> dict:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["room"] = {"format": "%(asctime)s %(message)s", "datefmt": "%H:%M:%S"}
    config["handlers"]["room"] = {
        "class": "logging.StreamHandler",
        "formatter": "room",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["workshop.classroom"] = {
        "handlers": ["room"],
        "level": "INFO",
        "propagate": False,
    }
    config["loggers"]["uvicorn.access"] = {"handlers": [], "level": "CRITICAL", "propagate": False}
    return config


def run(options: Options) -> None:
    import uvicorn

    settings = {
        "db": options.db,
        "rules": options.rules.to_json(),
        "join_rate": options.join_rate,
        "join_burst": max(30, options.join_rate * 2),
        "learner_rate": options.learner_rate,
        "learner_burst": max(20, options.learner_rate * 4),
        "pool": 8 if options.workers > 1 else 4,
    }
    os.environ[SETTINGS] = json.dumps(settings)
    # uvicorn finishes the requests in flight, then raises the signal again with the handlers
    # it found: ours, so a stop by Ctrl-C or SIGTERM ends here, quietly, with exit 0.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _uvicorn(uvicorn, options)
    except Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Stopped(Exception):
    """The server was asked to stop (SIGINT or SIGTERM) and has."""


def _stopped(signum, frame):
    raise Stopped(signum)


def _uvicorn(uvicorn, options: Options) -> None:
    uvicorn.run(
        "workshop.classroom.app:create_app",
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers if options.workers > 1 else None,
        access_log=False,  # request lines never reach a log: nothing secret can leak there
        log_level="warning",
        log_config=_logging(),
        ssl_certfile=options.tls_cert,
        ssl_keyfile=options.tls_key,
        timeout_graceful_shutdown=3,  # open event streams end; reports in flight finish first
        server_header=False,
    )
