"""The CNCF distribution registry (Debian's `docker-registry`) run on the store as a child process.

The kit writes its configuration (JSON, which the registry reads as YAML): the store's
registry/ folder as filesystem storage, no auth, and either `proxy: remoteurl` (a pull-through
cache that keeps what it fetches) or read-only maintenance mode (the stored content, unchanged).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time

from workshop.room.store import RoomError, Store

BINARIES = ("docker-registry", "registry")  # Debian's name, upstream's name
BIN_ENV = "WORKSHOP_REGISTRY_BIN"
# the upstream account, if any (environment only: never on a command line others can read)
USER_ENV, PASSWORD_ENV = "WORKSHOP_UPSTREAM_USER", "WORKSHOP_UPSTREAM_PASSWORD"


class RegistryMissing(RoomError):
    def __init__(self):
        super().__init__(
            "The CNCF distribution registry is not installed: `apt-get install docker-registry` "
            "(Debian, Ubuntu), or put its `registry` binary on PATH (it is also the container "
            "image `registry:2`: `docker run -d -p 5000:5000 -v STORE/registry:/var/lib/registry "
            "registry:2`)."
        )


def binary() -> str:
    named = os.environ.get(BIN_ENV)
    if named:
        if shutil.which(named):
            return shutil.which(named)
        raise RegistryMissing()
    for name in BINARIES:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.access(p, os.X_OK)), None
        )
        if found:
            return found
    raise RegistryMissing()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def claim(host: str, port: int, option: str) -> None:
    """Refuse, in one sentence naming OPTION, a port that something else already listens on
    (another registry answers /v2/ there too: only a bind tells it from ours)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RoomError(
                f"Port {port} on {host or '0.0.0.0'} is taken ({exc.strerror}): stop what "
                f"listens there, or choose another port with {option}."
            ) from None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Registry:
    """`with Registry(store, upstream=URL) as registry:` ... `registry.url`."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int | None = None,
        upstream: str | None = None,
        readonly: bool = False,
    ):
        self.store = store
        self.host = host
        self.port = port or free_port(host if host not in ("0.0.0.0", "::") else "127.0.0.1")
        self.upstream = upstream.rstrip("/") if upstream else None
        self.readonly = readonly and not upstream
        self.process: subprocess.Popen | None = None
        self.log = store.logs / "registry.log"
        self.config = store.logs / f"registry-{self.port}.json"

    @property
    def url(self) -> str:
        """The address to reach it from this machine."""
        host = (
            "127.0.0.1"
            if self.host in ("0.0.0.0", "")
            else "::1"
            if self.host == "::"
            else (self.host)
        )
        return f"http://{url_host(host)}:{self.port}"

    def configuration(self) -> dict:
        maintenance: dict = {"uploadpurging": {"enabled": False}}
        if self.readonly:
            maintenance["readonly"] = {"enabled": True}
        config: dict = {
            "version": "0.1",
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.store.registry.resolve())},
                "maintenance": maintenance,
            },
            "http": {"addr": f"{url_host(self.host)}:{self.port}"},
        }
        if self.upstream:
            config["proxy"] = {"remoteurl": self.upstream}
            user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
            if user and password:  # an account's pulls: Docker Hub's limit is then per account
                config["proxy"].update(username=user, password=password)
        return config

    def start(self, timeout: float = 20) -> Registry:
        program = binary()
        claim(self.host, self.port, "--registry-port")
        self.store.make()
        self.config.touch(mode=0o600)  # it may hold the upstream account's password
        self.config.chmod(0o600)
        self.config.write_text(json.dumps(self.configuration(), indent=2) + "\n")
        # REGISTRY_* variables override the configuration file: the kit's file is the whole truth.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        with open(self.log, "ab") as log:
            log.write(f"--- {time.ctime()}: {program} serve {self.config}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [program, "serve", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the kit, which stops it in order
            )
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/v2/", timeout=1).status_code in (200, 401):
                    time.sleep(0.2)  # an answer from another server, and ours exits: see it
                    if self.process.poll() is None:
                        return self
                    break
            time.sleep(0.1)
        self.stop()
        tail = " / ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])
        raise RoomError(
            f"The registry did not answer on {self.host}:{self.port} (is the port taken? "
            f"its log {self.log} ends: {tail})"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            self.config.unlink()

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
