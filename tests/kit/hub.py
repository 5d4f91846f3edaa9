"""A stand-in for Docker Hub's registry on loopback, for the tests: it asks for an anonymous
bearer token (WWW-Authenticate, a /token endpoint, as auth.docker.io does), answers manifests
(library/alpine only) and the rate-limit preview repository with Docker's ratelimit headers.
It records each request's method and path."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELD = {"library/alpine", "ratelimitpreview/test"}


@contextlib.contextmanager
def hub():
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, status: int, headers: dict, body: bytes = b"") -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self._serve()

        def do_HEAD(self):
            self._serve()

        def _serve(self):
            seen.append((self.command, self.path))
            parts = urllib.parse.urlsplit(self.path)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if parts.path == "/token":
                scope = urllib.parse.parse_qs(parts.query).get("scope", [""])[0]
                body = json.dumps({"token": "t:" + scope}).encode()
                return self._answer(200, {"Content-Type": "application/json"}, body)
            if "/manifests/" not in parts.path:
                return self._answer(404, {})
            repository = parts.path.removeprefix("/v2/").split("/manifests/")[0]
            wanted = f"Bearer t:repository:{repository}:pull"
            if self.headers.get("Authorization") != wanted:
                challenge = (
                    f'Bearer realm="{base}/token",service="registry.docker.io",'
                    f'scope="repository:{repository}:pull"'
                )
                return self._answer(401, {"WWW-Authenticate": challenge})
            if repository not in HELD:
                return self._answer(404, {})
            headers = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            if repository == "ratelimitpreview/test":
                headers["ratelimit-limit"] = "100;w=21600"
                headers["ratelimit-remaining"] = "76;w=21600"
            return self._answer(200, headers)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def registry(files: dict[str, tuple[str, bytes]]):
    """A registry without auth on loopback (a room's mirror, as the tests want it): /v2/ answers,
    and each path in `files` (/v2/<repository>/manifests/<reference> or blobs/<digest>) is served
    with its content type, to GET and HEAD; anything else is 404. It records each request's
    method and path."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self._serve()

        def do_HEAD(self):
            self._serve()

        def _serve(self):
            seen.append((self.command, self.path))
            path = urllib.parse.urlsplit(self.path).path
            if path == "/v2/":
                kind, body, status = "application/json", b"{}", 200
            elif path in files:
                (kind, body), status = files[path], 200
            else:
                kind, body, status = "application/json", b'{"errors":[]}', 404
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
