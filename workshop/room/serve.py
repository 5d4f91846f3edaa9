"""`workshop room serve-images`: the room's registry mirror and Python package index.

The mirror is the distribution registry on the store: offline, read-only on what the store
holds; online, a pull-through cache of the upstream that keeps what it fetches. The index is
the store's static PEP 503 index (wheels/simple/), served by the standard library's threaded
HTTP server: pip needs nothing but files, so no index server is added to the kit.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass

from workshop.room.registry import Registry, claim, url_host
from workshop.room.store import RoomError, Store


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args) -> None:  # one line per request is noise in a room of 30
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def index_server(store: Store, host: str, port: int) -> _Server:
    import socket

    handler = functools.partial(_Quiet, directory=str(store.wheels))
    server_class = _Server
    if ":" in host:
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    try:
        return server_class((host, port), handler)
    except OSError as exc:
        raise RoomError(
            f"The package index cannot listen on {host}:{port} ({exc.strerror}): choose another "
            "port with --index-port."
        ) from None


@dataclass(frozen=True)
class Addresses:
    mirrors: list[str]
    indexes: list[str]
    note: str = ""


def addresses(host: str, registry_port: int, index_port: int) -> Addresses:
    from workshop.classroom import addresses as room_addresses

    note = ""
    if host in room_addresses.WILDCARDS:
        found = room_addresses.machine_addresses(room_addresses.families_of(host))
        if not found:
            found = ["127.0.0.1"]
            note = "No address of this machine reaches the room (no network?): loopback only."
    else:
        found = [host]
        if room_addresses.is_loopback(host):
            note = (
                f"Listening on {host}: only this machine can use it; "
                "`--host 0.0.0.0` serves the room."
            )
    return Addresses(
        [f"http://{url_host(a)}:{registry_port}" for a in found],
        [f"http://{url_host(a)}:{index_port}/simple/" for a in found],
        note,
    )


def learner_lines(mirror: str, index: str) -> list[str]:
    """Exactly what a learner (and the instructor's classroom server) sets for this room."""
    hostport = mirror.split("://", 1)[1]
    daemon = json.dumps({"registry-mirrors": [mirror], "insecure-registries": [hostport]})
    index_host = index.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return [
        "A learner's engine uses the room's mirror:",
        "  Docker Engine on Linux: put these two keys in /etc/docker/daemon.json (merge with",
        "  what is there), then `sudo systemctl restart docker`:",
        f"    {daemon}",
        "  Docker Desktop: Settings → Docker Engine, add the same two keys to the JSON shown,",
        "  then Apply & restart.",
        "  Check it: `docker info` lists the mirror under Registry Mirrors.",
        "A learner's builds use the room's package index:",
        f"  docker build --build-arg PIP_INDEX_URL={index} "
        f"--build-arg PIP_TRUSTED_HOST={index_host} ...",
        "Your classroom server tells the learners (and their readiness checks) both:",
        f"  workshop classroom serve --host 0.0.0.0 --mirror {mirror} --index {index}",
    ]


def serve(
    store: Store,
    host: str = "0.0.0.0",
    registry_port: int = 5000,
    index_port: int = 3141,
    online: bool = False,
    upstream: str | None = None,
    say: Callable[[str], None] = print,
    ready: Callable[[Registry, _Server], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; then stop both servers and return (exit 0)."""
    if online:
        from workshop.room.prepare import normalise_upstream

        upstream = normalise_upstream(upstream or "https://registry-1.docker.io")
    data = store.read()
    if not online and not data["images"]:
        raise RoomError(
            f"The room store {store.root} holds no images: run `workshop room prepare` (online) "
            "or `workshop bundle load FILE` first, or serve with --online."
        )
    if not data["wheels"]["files"]:
        say(
            "The store holds no wheels: the index serves an empty list "
            "(`workshop room prepare` downloads them)."
        )
    store.make()
    (store.wheels / "simple").mkdir(exist_ok=True)
    if not (store.wheels / "simple" / "index.html").exists():
        from workshop.room.wheels import write_index

        write_index(store.wheels)
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    registry = Registry(
        store,
        host=host,
        port=registry_port,
        upstream=upstream if online else None,
        readonly=not online,
    )
    index = thread = None
    try:
        claim(host, registry_port, "--registry-port")
        claim(host, index_port, "--index-port")
        index = index_server(store, host, index_port)
        registry.start()
        thread = threading.Thread(target=index.serve_forever, name="room-index", daemon=True)
        thread.start()
        found = addresses(host, registry.port, index.server_address[1])
        mode = (
            f"online: pulling through from {upstream}, keeping what it fetches"
            if online
            else f"offline: the {len(data['images'])} images in the store"
        )
        say(f"Room mirror ({mode}): {', '.join(found.mirrors)}")
        say(f"Package index ({len(data['wheels']['files'])} wheels): {', '.join(found.indexes)}")
        if found.note:
            say(found.note)
        for line in learner_lines(found.mirrors[0], found.indexes[0]):
            say(line)
        say("Ctrl-C stops both.")
        if ready:
            ready(registry, index)
        while not stop.wait(0.5):
            if not registry.alive():
                raise RoomError(
                    f"The registry stopped by itself (its log: {registry.log}): serve again."
                )
    finally:
        if thread is not None:
            index.shutdown()
        if index is not None:
            index.server_close()
        registry.stop()
        if online:
            store.forget_schedule()
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
    say("Stopped the room's mirror and index.")
