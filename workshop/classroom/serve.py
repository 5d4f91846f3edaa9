"""`workshop classroom serve`: check what can be checked first (the store, the port, the TLS
files), say each problem in one sentence, print the lines to paste, then run uvicorn.

The learners' lines name every address of this machine learners could use (`addresses`), or
the one --url gives; they are printed apart from the instructor's secret, which never goes in a
line that may be projected. HTTPS lines carry the certificate's pin (`tls`).

uvicorn stops on SIGINT and SIGTERM by finishing the requests in flight: a report is committed
before its 200, so nothing a learner was told is stored can be lost. The pages' event streams
(sse-starlette) see uvicorn's stop and end at once, so open dashboards do not hold it up.
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
    tls_self_signed: bool = False
    url: str | None = None  # the address learners use, when it is not this machine's own
    rules: Rules = field(default_factory=Rules)
    join_rate: float = 5.0
    learner_rate: float = 5.0
    mirror: str = ""  # an offline room's registry mirror, handed to each learner at join
    index: str = ""  # an offline room's Python package index, likewise


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
    if options.tls_self_signed and options.tls_cert:
        raise UsageError(
            "Choose one of --tls-self-signed and --tls-cert/--tls-key: the first makes a "
            "certificate, the second serves yours."
        )
    if options.url:
        options.url = _learners_url(options.url)
    from workshop.roomurls import check_url

    if options.mirror:
        options.mirror = check_url(options.mirror, "--mirror")
    if options.index:
        options.index = check_url(options.index, "--index")
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


def _learners_url(text: str) -> str:
    """--url as learners will type it: http(s)://HOST[:PORT][/PATH], nothing more."""
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"--url {text!r} is not an address learners can use: write it as "
            "http://HOST:PORT or https://NAME (a DNS name, or the address a proxy or NAT shows)."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"--url {text!r} carries more than an address: drop the ?, # or user.")
    try:
        parts.port  # noqa: B018 -- raises ValueError on a port that is no number
    except ValueError:
        raise UsageError(f"--url {text!r} has a port that is not a number.") from None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def learner_bases(options: Options) -> tuple[list[str], str]:
    """The base URLs learners use (best first), and a note when they cannot reach them from
    another machine ("" when they can)."""
    from workshop.classroom import addresses

    scheme = "https" if options.tls_cert or options.tls_self_signed else "http"
    if options.url:
        return [options.url], ""
    host = options.host
    if host in addresses.WILDCARDS:
        found = addresses.machine_addresses(addresses.families_of(host))
        if found:
            return [f"{scheme}://{addresses.url_host(a)}:{options.port}" for a in found], ""
        loop = "[::1]" if host == "::" else "127.0.0.1"
        return [f"{scheme}://{loop}:{options.port}"], (
            "This machine has no network address learners could use (no interface up but "
            "loopback and container bridges): connect it to the room's network and restart, "
            "or pass --url with the address learners reach."
        )
    bases = [f"{scheme}://{addresses.url_host(host)}:{options.port}"]
    if addresses.is_loopback(host):
        return bases, (
            f"Listening on {host} only: learners on other machines cannot reach it; restart "
            "with --host 0.0.0.0 for the room."
        )
    return bases, ""


def instructor_base(options: Options, learners: list[str]) -> str:
    """Where the instructor, on this machine, opens the dashboard: loopback when the server
    listens there (whatever --url says learners use), else the address it listens on."""
    from workshop.classroom import addresses

    scheme = "https" if options.tls_cert or options.tls_self_signed else "http"
    host = options.host
    if host in addresses.WILDCARDS or addresses.is_loopback(host):
        loop = "[::1]" if host == "::" or host.strip("[]") == "::1" else "127.0.0.1"
        return f"{scheme}://{loop}:{options.port}"
    return f"{scheme}://{addresses.url_host(host)}:{options.port}"


@dataclass
class Opened:
    url: str  # the first learners' address
    code: str
    secret: str
    where: str
    learners: list[str] = field(default_factory=list)  # every learners' base URL, best first
    instructor: str = ""  # the instructor's base URL (the dashboard's)
    pin: str = ""  # "sha256:..." of the served certificate, when HTTPS is served
    note: str = ""  # why learners may not reach the printed addresses
    made_certificate: str = ""  # the path of a self-signed certificate made just now
    mirror: str = ""  # the room's registry mirror (an offline room), or ""
    index: str = ""  # the room's package index, or ""

    def join_lines(self) -> list[str]:
        """The learners' lines: the projector's, with the code (never the secret)."""
        return [
            f"workshop join {base} {self.code} --name NAME"
            + (f" --pin {self.pin}" if self.pin and base.startswith("https:") else "")
            for base in self.learners
        ]


def prepare(options: Options) -> Opened:
    """Check everything, create the store (and its secrets) once, and the self-signed
    certificate if asked, before any worker starts."""
    check_options(options)
    learners, note = learner_bases(options)
    made = ""
    if options.tls_self_signed:
        from urllib.parse import urlsplit

        from workshop.classroom import tls

        names = [urlsplit(base).hostname or "" for base in learners]
        cert, key, fresh = tls.self_signed(names)
        options.tls_cert, options.tls_key = str(cert), str(key)
        _check_tls(options.tls_cert, options.tls_key)
        made = str(cert) if fresh else ""
    pin = ""
    if options.tls_cert:
        from workshop.classroom.tls import cert_fingerprint

        pin = cert_fingerprint(options.tls_cert)
    store = open_store(options.db)
    try:
        code, secret = store.secrets()
        store.save_rules(options.rules.to_json())  # `export` judges stuck as this server does
    finally:
        store.close()
    where = (
        options.db.split("@")[-1]
        if options.db and "@" in options.db
        else (options.db or f"sqlite:///{default_path()}")
    )
    return Opened(
        url=learners[0],
        code=code,
        secret=secret,
        where=where,
        learners=learners,
        instructor=instructor_base(options, learners),
        pin=pin if any(b.startswith("https:") for b in learners) else "",
        note=note,
        made_certificate=made,
        mirror=options.mirror,
        index=options.index,
    )


def lines(opened: Opened) -> list[str]:
    """What serve prints: first what may be projected (the learners' lines, the join page),
    then, apart and marked, what is the instructor's alone."""
    learners = opened.join_lines()
    pin = f" --pin {opened.pin}" if opened.pin else ""
    out = [f"Classroom open (store: {opened.where})."]
    if opened.made_certificate:
        out.append(
            f"Made a self-signed certificate ({opened.made_certificate}); it is reused on every "
            "restart, so the fingerprint in the join line stays the same."
        )
    out += [
        "",
        "== For the room (fine on the projector) ==",
        "Learners paste "
        + ("this line" if len(learners) == 1 else "one of these lines (the first that works)")
        + ", with their own name for NAME:",
        *learners,
        f"Projector page with the line and a QR code: {opened.instructor}/join",
        f"Demo page for learners: {opened.url}/demo#code={opened.code}",
    ]
    if opened.note:
        out.append(f"Note: {opened.note}")
    if opened.mirror or opened.index:
        out.append("An offline room: learners are given these at join (`workshop doctor` checks):")
        if opened.mirror:
            out.append(
                f"Registry mirror: {opened.mirror} (learners' engines pull through it: "
                "daemon.json registry-mirrors, or Docker Desktop's Docker Engine settings)"
            )
        if opened.index:
            out.append(f"Package index: {opened.index} (the builds' pip installs from it)")
    out += [
        "",
        "== For you only: NOT for the projector (the secret runs the room) ==",
        f"Dashboard: {opened.instructor}/#key={opened.secret}",
        "To stream `workshop solve` to the demo page, join as the instructor:",
        f"workshop join {opened.instructor} {opened.secret} --name NAME{pin} --instructor",
        "",
        "Ctrl-C stops the server; every report it accepted stays in the store.",
    ]
    return out


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


def run(options: Options, opened: Opened | None = None) -> None:
    import uvicorn

    settings = {
        "db": options.db,
        "join_lines": opened.join_lines() if opened else [],
        "rules": options.rules.to_json(),
        "join_rate": options.join_rate,
        "join_burst": max(30, options.join_rate * 2),
        "learner_rate": options.learner_rate,
        "learner_burst": max(20, options.learner_rate * 4),
        "pool": 8 if options.workers > 1 else 4,
        "mirror": options.mirror,
        "index": options.index,
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


def _listen_host(options: Options) -> str:
    """The host uvicorn binds. `::` is both families (the lines printed name IPv4 addresses
    too), but one worker's event loop binds `::` as IPv6 only: "" binds every address of both
    families there. Several workers share a socket uvicorn binds itself, dual-stack on `::`."""
    return "" if options.host == "::" and options.workers <= 1 else options.host


def _uvicorn(uvicorn, options: Options) -> None:
    uvicorn.run(
        "workshop.classroom.app:create_app",
        factory=True,
        host=_listen_host(options),
        port=options.port,
        workers=options.workers if options.workers > 1 else None,
        access_log=False,  # request lines never reach a log: nothing secret can leak there
        log_level="warning",
        log_config=_logging(),
        ssl_certfile=options.tls_cert,
        ssl_keyfile=options.tls_key,
        timeout_graceful_shutdown=3,  # a bound only: event streams end within ~0.5 s of a stop
        server_header=False,
    )
