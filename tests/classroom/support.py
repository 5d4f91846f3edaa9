"""Real parts for the classroom tests: the server as a `workshop classroom serve` process on a
free loopback port, Debian's PostgreSQL started in a temporary folder, a fixture lab with
mistake ids, and a small HTTP client (learners are simulated over HTTP here)."""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

KIT = Path(__file__).resolve().parents[2]

LAB = """\
format_version = 2
id = "demo"
title = "Demo lab"

[[steps]]
id = "first"
title = "First step"
instructions = "steps/first.md"
check = "test_first"
hint = "Touch it."
solution = ["true"]

[[steps.mistakes]]
id = "no-tty"
reproduce = ["true"]

[[steps]]
id = "second"
title = "Second step"
instructions = "steps/second.md"
check = "test_second"
hint = "Touch it."
solution = ["true"]

[[steps.mistakes]]
id = "wrong-image"
reproduce = ["true"]

[[steps]]
id = "third"
title = "Third step"
instructions = "steps/third.md"
check = "test_third"
hint = "Touch it."
solution = ["true"]
"""

CHECKS = """\
from workshop.probes import missing


def test_first():
    missing("The shell has no terminal: add -it.", mistake="no-tty")


def test_second():
    missing("That container ran another image.", mistake="wrong-image")


def test_third():
    missing("Not yet.")
"""


def write_labs(root: Path) -> Path:
    """A one-lab curriculum whose checks name two mistakes (declared in its manifest)."""
    lab = root / "labs" / "demo"
    lab.mkdir(parents=True)
    (lab / "lab.toml").write_text(LAB)
    (lab / "checks.py").write_text(CHECKS)
    return root / "labs"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def verdict(seq: int, step: str, passed: bool, mistake: str = "", sentence: str = "") -> dict:
    return {
        "seq": seq,
        "at": now(),
        "kind": "verdict",
        "lab": "demo",
        "step": step,
        "passed": passed,
        "mistake": mistake,
        "sentence": sentence,
        "via": "check",
    }


@dataclass
class Answer:
    status: int
    body: object
    headers: dict

    def __str__(self) -> str:
        return f"{self.status} {self.body}"


def call(
    base: str,
    method: str,
    path: str,
    body=None,
    headers=None,
    raw: bytes | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    scheme, _, hostport = base.partition("://")
    host, _, port = hostport.rpartition(":")
    host = host.strip("[]")  # an IPv6 literal
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, int(port), timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
    sent = {"Content-Type": "application/json", **(headers or {})}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        text = response.read().decode()
    finally:
        conn.close()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})


@dataclass
class Server:
    """`workshop classroom serve` as a process; its output is kept for the log tests."""

    home: Path
    labs: Path
    db: str | None = None
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log: Path | None = None
    url: str = ""
    code: str = ""
    secret: str = ""
    context: ssl.SSLContext | None = None  # the client's TLS context, for --tls-cert servers
    lines: list[str] = field(default_factory=list)  # the learners' join lines serve printed
    group: bool = False  # in a process group of its own, as a terminal runs it (Ctrl-C: killpg)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "WORKSHOP_HOME": str(self.home),
            "WORKSHOP_LABS": str(self.labs),
            "NO_COLOR": "1",
        }

    def start(self, timeout: float = 30) -> Server:
        self.log = self.home / f"serve-{time.monotonic_ns()}.log"
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "workshop",
            "classroom",
            "serve",
            "--port",
            str(self.port),
            *(["--db", self.db] if self.db else []),
            *self.args,
        ]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                argv,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=KIT,
                start_new_session=self.group,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve ended with {self.process.returncode}:\n{self.output()}")
            lines = self.output().splitlines()
            joins = [line for line in lines if line.startswith("workshop join ")]
            learners = [line for line in joins if not line.endswith(" --instructor")]
            mine = [line for line in joins if line.endswith(" --instructor")]
            if learners and mine:
                self.lines = learners
                self.code = learners[0].split()[3]
                # the instructor's line names this machine's loopback when serving the room:
                # the tests talk to the server there (never to another address of the machine)
                _, _, self.url, self.secret, *_ = mine[0].split()
                made = self.home / "classroom-tls" / "cert.pem"  # --tls-self-signed's
                if self.context is None and " --pin " in learners[0] and made.is_file():
                    self.context = ssl.create_default_context(cafile=str(made))
                with contextlib.suppress(OSError):
                    if self.get("/api/v1/health").status == 200:
                        return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve did not answer in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text() if self.log and self.log.exists() else ""

    def stop(self, sig=signal.SIGTERM, timeout: float = 20) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    # -- requests -------------------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, headers=None, **kw) -> Answer:
        return call(self.url, method, path, body, headers, context=self.context, **kw)

    def get(self, path: str, **kw) -> Answer:
        return self.request("GET", path, **kw)

    def instructor(self, path: str) -> Answer:
        return self.get(path, headers={"Authorization": f"Bearer {self.secret}"})

    def room(self) -> dict:
        answer = self.instructor("/api/v1/room")
        assert answer.status == 200, answer
        return answer.body

    def kit(self) -> dict:
        """What the kit's client sends at join for these labs: the same kit as the server's."""
        from workshop.labs import digest, inventory, load_labs
        from workshop.version import kit_version

        held = inventory(load_labs(self.labs))
        return {"version": kit_version(), "digest": digest(held), "labs": held}

    def join(self, name: str, role: str = "learner", kit: dict | None = None) -> Learner:
        """A learner joined over HTTP, with the server's own kit unless `kit` says another
        ({} sends none, as a client older than kits did)."""
        code = self.secret if role == "instructor" else self.code
        body = {"code": code, "name": name, "role": role}
        kit = self.kit() if kit is None else kit
        if kit:
            body["kit"] = kit
        answer = self.request("POST", "/api/v1/join", body)
        assert answer.status == 201, answer
        return Learner(self, answer.body["token"], answer.body["learner"], name)


@dataclass
class Learner:
    server: Server
    token: str
    id: int
    name: str
    seq: int = 0

    def post(self, *reports: dict, token: str | None = None) -> Answer:
        return self.server.request(
            "POST",
            "/api/v1/reports",
            {"reports": list(reports)},
            {"Authorization": f"Bearer {token or self.token}"},
        )

    def report(self, step: str, passed: bool, mistake: str = "", sentence: str = "") -> Answer:
        self.seq += 1
        return self.post(verdict(self.seq, step, passed, mistake, sentence))


def row(room: dict, name: str) -> dict:
    return next(r for r in room["learners"] if r["name"] == name)


# -- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Postgres:
    """Debian's PostgreSQL in a temporary folder on a loopback port, as the `postgres` user when
    run as root (it refuses root); stopped by the PID it wrote."""

    def __init__(self, root: Path):
        self.bin = postgres_bin()
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.pid: int | None = None

    def _as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *argv]
        return argv

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            self._as_owner(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=on -c max_connections=200"
        )
        subprocess.run(
            self._as_owner(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.root / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.pid = None
