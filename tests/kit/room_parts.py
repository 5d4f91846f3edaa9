"""Real parts for the offline room's tests: the stand-in registry as upstream, a room store
prepared from it, and a learner's engine (a second dockerd, with its own data root, exec root,
socket, registry mirror and bridge, and no iptables rules: the shared engine's docker0 and
chains are left alone)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

UPSTREAM = "http://127.0.0.1:5000"  # scripts/engine's stand-in registry
DOCKERD = "/usr/sbin/dockerd"


def upstream_serves() -> bool:
    import requests

    try:
        answer = requests.get(f"{UPSTREAM}/v2/library/alpine/tags/list", timeout=3)
        return answer.status_code == 200
    except requests.RequestException:
        return False


needs_upstream = pytest.mark.skipif(
    not upstream_serves(),
    reason="the stand-in registry on 127.0.0.1:5000 (scripts/engine up) does not serve alpine",
)
needs_registry = pytest.mark.skipif(
    not (shutil.which("docker-registry") or shutil.which("registry")),
    reason="the distribution registry is not installed (apt-get install docker-registry)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_workshop(*args: str, env: dict | None = None, timeout: float = 600):
    """`workshop ARGS` in a separate process; (exit code, stdout + stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        env={**clean_env(), "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


def clean_env() -> dict:
    """This environment without pip's local wheel folder: wheels come from the index."""
    return {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_NO_INDEX")}


@contextlib.contextmanager
def serving(
    store: Path,
    *extra: str,
    env: dict | None = None,
    host: str = "127.0.0.1",
    registry_port: int | None = None,
):
    """`workshop room serve-images` on free ports of HOST (loopback by default); yields
    (process, mirror, index), both asked on loopback."""
    registry_port, index_port = registry_port or free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workshop",
            "room",
            "serve-images",
            "--store",
            str(store),
            "--host",
            host,
            "--registry-port",
            str(registry_port),
            "--index-port",
            str(index_port),
            *extra,
        ],
        env={**clean_env(), "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    mirror = f"http://127.0.0.1:{registry_port}"
    index = f"http://127.0.0.1:{index_port}/simple/"
    import requests

    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(requests.RequestException):
                if (
                    requests.get(mirror + "/v2/", timeout=1).ok
                    and requests.get(index, timeout=1).ok
                ):
                    break
            time.sleep(0.2)
        else:
            out, err = process.communicate(timeout=10)
            raise AssertionError(f"serve-images did not come up: {out}{err}")
        yield process, mirror, index
    finally:
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.communicate(timeout=20)
        if process.poll() is None:
            process.kill()
            process.communicate()


ENGINE26 = Path("/var/lib/workshop-engine/engine26/root")  # scripts/engine's extracted Docker 26


def generations() -> list:
    """The learner engines this machine can start: Debian's 20.10 and, when scripts/engine has
    unpacked it, Docker 26 with the containerd image store (image IDs are then digests)."""
    found = [pytest.param(20, id="engine20")]
    if (ENGINE26 / "usr/sbin/dockerd").exists():
        found.append(pytest.param(26, id="engine26"))
    return found


class LearnerEngine:
    """A second dockerd: the learner's engine, configured with the room's mirror only."""

    def __init__(self, mirror: str, generation: int = 20):
        self.generation = generation
        self.mirror = mirror
        self.root = Path(tempfile.mkdtemp(prefix="wsl-", dir="/tmp"))
        self.host = f"unix://{self.root}/docker.sock"
        self.process: subprocess.Popen | None = None
        self.bridge = ""

    def start(self) -> LearnerEngine:
        try:
            return self._start()
        except BaseException:
            self.stop()  # never leave a dockerd behind
            raise

    def _make_bridge(self) -> None:
        """A bridge of the learner engine's own. Never `--bridge none`: a daemon started so
        deletes the default docker0 link, which the shared engine's containers need."""
        import ipaddress
        import json as json_mod
        import random
        import secrets

        taken = json_mod.loads(
            subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True).stdout or "[]"
        )
        nets = [
            ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}").network
            for link in taken
            for a in link.get("addr_info", [])
            if a.get("family") == "inet"
        ]
        for third in random.sample(range(1, 255), 254):
            net = ipaddress.ip_network(f"10.231.{third}.0/24")
            if not any(net.overlaps(other) for other in nets):
                break
        else:
            raise AssertionError("no free 10.231.N.0/24 for the learner engine's bridge")
        self.bridge = "kitb" + secrets.token_hex(3)
        self.gateway = f"10.231.{third}.1"  # the host, as the engine's containers reach it
        for command in (
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", f"10.231.{third}.1/24", "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            subprocess.run(command, check=True, capture_output=True)

    def _start(self) -> LearnerEngine:
        import docker

        self._make_bridge()

        env = dict(os.environ)
        dockerd = DOCKERD
        config = "{}\n"
        if self.generation == 26:
            dockerd = str(ENGINE26 / "usr/sbin/dockerd")
            env["PATH"] = f"{ENGINE26}/usr/sbin:{ENGINE26}/usr/bin:{env.get('PATH', '')}"
            config = '{"features": {"containerd-snapshotter": true}}\n'
        (self.root / "daemon.json").write_text(config)
        self.log = open(self.root / "dockerd.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                dockerd,
                "--config-file",
                f"{self.root}/daemon.json",
                "--data-root",
                f"{self.root}/data",
                "--exec-root",
                f"{self.root}/exec",
                "--pidfile",
                f"{self.root}/docker.pid",
                "--host",
                self.host,
                "--registry-mirror",
                self.mirror,
                "--bridge",
                self.bridge,
                "--iptables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if (self.root / "docker.sock").exists():
                client = docker.DockerClient(base_url=self.host, timeout=120, version="1.41")
                try:
                    client.ping()
                except Exception:
                    client.close()
                else:
                    self.client = client
                    return self
            time.sleep(0.3)
        tail = (self.root / "dockerd.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise AssertionError(f"the learner's dockerd did not answer: {tail}")

    def _children(self) -> list[int]:
        """The processes the daemon started (its containerd), by PID."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if self.process is not None and int(fields[1]) == self.process.pid:
                found.append(int(proc.name))
        return found

    def stop(self) -> None:
        children = self._children() if self.process is not None else []
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in children:  # its containerd ends with it; if not, end it by PID
            with contextlib.suppress(OSError):
                if str(self.root) in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    os.kill(pid, 15)
        with contextlib.suppress(Exception):
            self.client.close()
        with contextlib.suppress(Exception):
            self.log.close()
        if self.bridge:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
            self.bridge = ""
        mounts = [
            line.split()[1]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1].startswith(f"{self.root}/")
        ]
        for mount in sorted(mounts, reverse=True):  # deepest first (exec/netns/default ...)
            subprocess.run(["umount", "-l", mount], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


needs_dockerd = pytest.mark.skipif(
    not (os.access(DOCKERD, os.X_OK) and os.geteuid() == 0),
    reason=f"a learner's engine needs {DOCKERD} (Debian's docker.io) and root",
)


KIT_LABS = Path(__file__).resolve().parents[2] / "labs"


def digest_of(data: bytes) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(data).hexdigest()


def hand_store(root: Path, refs=("alpine:latest",), wheels: dict | None = None):
    """A room store made by hand as the registry lays it out (blobs, the repository's layer,
    revision and tag links) with its room.json: one small linux/amd64 image per ref, and the
    WHEELS {file name: bytes} with their PEP 503 index. No upstream, no registry run."""
    import json

    from workshop.needs import ImageNeed
    from workshop.room.store import Store
    from workshop.room.wheels import write_index

    store = Store(root).make()
    room = {"format": 1, "images": {}, "wheels": {"files": {}, "sets": {}}}
    for ref in refs:
        need = ImageNeed(ref, ("hand",))
        repository, tag = need.repository, need.tag
        layer = f"a layer of {ref}".encode()
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": len(config),
                    "digest": digest_of(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": len(layer),
                        "digest": digest_of(layer),
                    }
                ],
            }
        ).encode()
        repo = store.v2 / "repositories" / repository
        for data, kind in (
            (manifest, "_manifests/revisions"),
            (config, "_layers"),
            (layer, "_layers"),
        ):
            digest = digest_of(data)
            store.blob_path(digest).parent.mkdir(parents=True, exist_ok=True)
            store.blob_path(digest).write_bytes(data)
            link = repo / kind / "sha256" / digest.split(":")[1] / "link"
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_text(digest)
        for link in (
            repo / "_manifests/tags" / tag / "current/link",
            repo / "_manifests/tags" / tag / "index/sha256" / digest_of(manifest)[7:] / "link",
        ):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.write_text(digest_of(manifest))
        room["images"][ref] = {
            "repository": repository,
            "tag": tag,
            "digest": digest_of(manifest),
            "media_type": "application/vnd.docker.distribution.manifest.v2+json",
            "platforms": {
                "linux/amd64": {
                    "manifest": digest_of(manifest),
                    "config": digest_of(config),
                    "layers": [digest_of(layer)],
                    "size": len(config) + len(layer),
                }
            },
            "missing": [],
        }
    for name, data in (wheels or {}).items():
        (store.wheels / name).write_bytes(data)
        room["wheels"]["files"][name] = {"sha256": digest_of(data)[7:], "size": len(data)}
    write_index(store.wheels)
    store.write(room)
    return store


@contextlib.contextmanager
def stub_http(answer, host: str = "127.0.0.1"):
    """A small HTTP server on a free port of HOST (loopback); ANSWER(handler) answers each
    request (handler.command, handler.path, handler.headers; it calls handler.reply). Yields
    its URL."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def reply(self, status: int, body: bytes = b"", headers: dict | None = None):
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def handle_one(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            answer(self)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = handle_one

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
