"""The registry API client: Docker Hub's anonymous token dance (a 401 names the token service;
the token is asked for once per repository and sent after), digests checked."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from urllib.parse import parse_qs, urlparse

import pytest

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "0" * 64, "size": 2},
        "layers": [],
    }
).encode()


@pytest.fixture
def hub():
    """A registry that, like Docker Hub, wants a bearer token from its token service."""
    seen: dict = {"token_requests": [], "authorized": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/token":
                seen["token_requests"].append(parse_qs(url.query))
                body = json.dumps({"token": "t0ken"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            elif self.headers.get("Authorization") != "Bearer t0ken":
                port = self.server.server_address[1]
                body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="http://127.0.0.1:{port}/token",service="registry.test",'
                    'scope="repository:library/alpine:pull"',
                )
            elif url.path == "/v2/library/alpine/manifests/latest":
                seen["authorized"] += 1
                body = MANIFEST
                self.send_response(200)
                self.send_header(
                    "Content-Type", "application/vnd.docker.distribution.manifest.v2+json"
                )
            else:
                body = b"{}"
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_the_token_dance_once_per_repository(hub):
    from workshop.room import v2

    base, seen = hub
    with v2.Client(base) as client:
        first = client.manifest("library/alpine", "latest")
        again = client.manifest("library/alpine", "latest")
    assert first.digest == "sha256:" + hashlib.sha256(MANIFEST).hexdigest() == again.digest
    assert not first.is_index
    assert seen["token_requests"] == [
        {"scope": ["repository:library/alpine:pull"], "service": ["registry.test"]}
    ]
    assert seen["authorized"] == 2


def test_a_registry_that_does_not_answer_is_one_sentence():
    from tests.kit.room_parts import free_port
    from workshop.room import v2
    from workshop.room.store import RoomError

    with (
        v2.Client(f"http://127.0.0.1:{free_port()}", timeout=5) as client,
        pytest.raises(RoomError, match="does not answer"),
    ):
        client.manifest("library/alpine", "latest")


def test_platforms_match_with_and_without_variant():
    from workshop.room.v2 import platform_matches, platform_name

    arm = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    assert platform_matches("linux/arm64", arm)
    assert platform_matches("linux/arm64/v8", arm)
    assert not platform_matches(
        "linux/arm/v7", {"os": "linux", "architecture": "arm", "variant": "v6"}
    )
    assert not platform_matches("linux/amd64", arm)
    assert platform_name(arm) == "linux/arm64/v8"


def test_an_upstream_that_stops_mid_blob_is_one_sentence():
    """A network failure inside a blob's download is the room's sentence, not a requests error
    (which the command line would take for the Docker engine's)."""
    from tests.kit.room_parts import stub_http
    from workshop.room import v2
    from workshop.room.store import RoomError

    def answer(handler):  # says 1 MB, sends 10 bytes, hangs up
        handler.send_response(200)
        handler.send_header("Content-Length", str(1 << 20))
        handler.end_headers()
        handler.wfile.write(b"0123456789")
        handler.wfile.flush()
        handler.close_connection = True

    with (
        stub_http(answer) as base,
        v2.Client(base, timeout=5, name=f"The upstream {base}") as client,
        pytest.raises(RoomError) as caught,
    ):
        client.blob("library/alpine", "sha256:" + "0" * 64)
    assert str(caught.value) == (
        f"The upstream {base} stopped answering while sending blob sha256:{'0' * 64} of "
        "library/alpine (ChunkedEncodingError): run `workshop room prepare` again; what was "
        "fetched is kept."
    )


@pytest.mark.parametrize("status", [401, 403, 429])
def test_a_login_or_a_pull_limit_is_said_with_what_to_do(status):
    from tests.kit.room_parts import stub_http
    from workshop.room import v2
    from workshop.room.store import RoomError

    def answer(handler):  # no token service to ask: the refusal stands
        body = b'{"errors":[{"code":"DENIED","message":"requested access is denied"}]}'
        handler.reply(status, body, {"Retry-After": "3600"} if status == 429 else {})

    with stub_http(answer) as base, v2.Client(base, timeout=5) as client:
        with pytest.raises(RoomError) as caught:
            client.manifest("library/alpine", "latest")
        with pytest.raises(RoomError) as blob:
            client.blob("library/alpine", "sha256:" + "0" * 64)
    said = str(caught.value)
    assert "errors" not in said and "DENIED" not in said
    if status == 429:
        assert said == (
            f"{base} refuses library/alpine:latest: this address reached Docker Hub's pull "
            "limit (HTTP 429); run the command again in 3600 seconds, or set "
            "WORKSHOP_UPSTREAM_USER and WORKSHOP_UPSTREAM_PASSWORD to an account (its limit is "
            "higher)."
        )
    else:
        assert said == (
            f"{base} refuses library/alpine:latest without an account (HTTP {status}): set "
            "WORKSHOP_UPSTREAM_USER and WORKSHOP_UPSTREAM_PASSWORD to an account that may pull "
            "it, then run the command again."
        )
    assert "WORKSHOP_UPSTREAM_USER" in str(blob.value)


def test_ping_says_why_a_registry_does_not_answer():
    """An https address on a plain-HTTP server: the TLS failure is the reason given."""
    from tests.kit.room_parts import free_port, stub_http
    from workshop.room import v2

    with stub_http(lambda handler: handler.reply(200, b"{}")) as base:
        with v2.Client(base.replace("http://", "https://")) as client:
            assert not client.ping()
            assert client.unanswered().startswith("[SSL: WRONG_VERSION_NUMBER]")
        with v2.Client(base) as client:
            assert client.ping() and client.unanswered() == ""
    with v2.Client(f"http://127.0.0.1:{free_port()}") as client:
        assert client.unanswered().endswith("Connection refused")


def test_room_check_lists_each_platform_the_mirror_fails_on(tmp_path):
    """A mirror that fails on one platform's manifest: that platform is one missing line, and
    the other platform is still checked (the check does not end at the first failure)."""
    from tests.kit.room_parts import digest_of, free_port, stub_http
    from workshop.needs import CourseNeeds, ImageNeed
    from workshop.room.check import check
    from workshop.room.store import Store

    arm64 = json.dumps(json.loads(MANIFEST) | {"layers": []}).encode()
    amd64 = b'{"schemaVersion": 2, "the": "amd64 one"}'
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [
                {"digest": digest_of(amd64), "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": digest_of(arm64), "platform": {"os": "linux", "architecture": "arm64"}},
            ],
        }
    ).encode()
    kind = "application/vnd.docker.distribution.manifest.list.v2+json"

    def answer(handler):
        path = handler.path
        if path == "/v2/":
            handler.reply(200, b"{}")
        elif path == "/v2/library/alpine/manifests/latest":
            handler.reply(200, index, {"Content-Type": kind})
        elif path == f"/v2/library/alpine/manifests/{digest_of(amd64)}":
            handler.reply(500, b"the disk broke")
        elif path == f"/v2/library/alpine/manifests/{digest_of(arm64)}":
            handler.reply(200, arm64, {"Content-Type": json.loads(MANIFEST)["mediaType"]})
        elif path.startswith("/v2/library/alpine/blobs/"):
            handler.reply(200)
        else:
            handler.reply(404, b"{}")

    needs = CourseNeeds(images=(ImageNeed("alpine:latest", ("x",)),), packages=(), disk_gb=0)
    down = f"http://127.0.0.1:{free_port()}/simple/"
    with stub_http(answer) as mirror:
        health = check(
            Store(tmp_path / "store"),
            mirror=mirror,
            index=down,
            platforms=("linux/amd64", "linux/arm64"),
            needs=needs,
        )
    assert (
        f"alpine:latest linux/amd64: {mirror}: library/alpine:{digest_of(amd64)} answered "
        "HTTP 500 (the disk broke)." in health.missing
    )
    assert f"alpine:latest linux/arm64: served ({digest_of(arm64)[:19]})" in health.ok
