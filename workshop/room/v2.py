"""A small client of the registry HTTP API (distribution v2 / OCI distribution), with Docker
Hub's anonymous token dance (a 401 names the token service; its token is asked for once per
scope). requests is already installed with docker-py."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from workshop.room.store import RoomError

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)


@dataclass(frozen=True)
class Manifest:
    body: bytes
    media_type: str
    digest: str

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES or "manifests" in self.json


def reference(need) -> str:
    """What to ask a registry for an image the labs name: its digest when pinned, else its tag."""
    full = need.full
    if "@" in full:
        return full.split("@", 1)[1]
    return full.rsplit(":", 1)[1]


def platform_name(platform: dict) -> str:
    name = f"{platform.get('os', 'linux')}/{platform.get('architecture', '?')}"
    return name + (f"/{platform['variant']}" if platform.get("variant") else "")


def platform_matches(wanted: str, platform: dict) -> bool:
    """linux/arm64 matches linux/arm64/v8; linux/arm/v7 only linux/arm/v7."""
    parts = wanted.split("/")
    if platform.get("os", "linux") != parts[0] or platform.get("architecture") != parts[1]:
        return False
    return len(parts) < 3 or platform.get("variant") == parts[2]


class Client:
    def __init__(self, base: str, timeout: float = 60, name: str | None = None):
        """NAME is what its refusals call it (prepare's registry in the middle fetches from the
        upstream: "The upstream https://registry-1.docker.io"); by default its address."""
        import requests

        self.base = base.rstrip("/")
        self.name = name or self.base
        self.timeout = timeout
        self.session = requests.Session()
        self.tokens: dict[str, str] = {}

    def _request(self, method: str, path: str, repository: str, **kwargs):
        import requests

        headers = dict(kwargs.pop("headers", {}))
        scope = f"repository:{repository}:pull"
        if scope in self.tokens:
            headers["Authorization"] = f"Bearer {self.tokens[scope]}"
        url = self.base + path
        try:
            response = self.session.request(
                method, url, headers=headers, timeout=self.timeout, **kwargs
            )
            if response.status_code == 401 and scope not in self.tokens:
                token = self._token(response.headers.get("WWW-Authenticate", ""), scope)
                if token:
                    self.tokens[scope] = token
                    headers["Authorization"] = f"Bearer {token}"
                    response = self.session.request(
                        method, url, headers=headers, timeout=self.timeout, **kwargs
                    )
        except requests.RequestException as exc:
            raise RoomError(f"{self.base} does not answer ({type(exc).__name__}: {exc}).") from None
        return response

    def _token(self, challenge: str, scope: str) -> str | None:
        if not challenge.lower().startswith("bearer "):
            return None
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        if "realm" not in fields:
            return None
        params = {"scope": fields.get("scope", scope)}
        if "service" in fields:
            params["service"] = fields["service"]
        response = self.session.get(fields["realm"], params=params, timeout=self.timeout)
        if response.status_code != 200:
            return None
        data = response.json()
        return data.get("token") or data.get("access_token")

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def ping(self) -> bool:
        return not self.unanswered()

    def unanswered(self) -> str:
        """Why the registry API does not answer here ("" when it does: /v2/ says 200 or 401)."""
        import requests

        try:
            status = self.session.get(self.base + "/v2/", timeout=5).status_code
        except requests.RequestException as exc:
            return _reason(exc)
        return "" if status in (200, 401) else f"/v2/ answered HTTP {status}"

    def manifest(self, repository: str, reference: str) -> Manifest | None:
        """The manifest (or index) REFERENCE (a tag or digest) names; None when not served."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            repository,
            headers={"Accept": ACCEPT},
        )
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _refused(self.name, f"{repository}:{reference}", response)
        body = response.content
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        if reference.startswith("sha256:") and reference != digest:
            raise RoomError(f"{self.base}: {repository}@{reference} came back altered ({digest}).")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not media_type or media_type == "application/json":
            media_type = json.loads(body).get("mediaType", "")
        return Manifest(body, media_type, digest)

    def has_manifest(self, repository: str, reference: str) -> bool:
        response = self._request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            repository,
            headers={"Accept": ACCEPT},
        )
        return response.status_code == 200

    def has_blob(self, repository: str, digest: str) -> bool:
        response = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", repository, allow_redirects=True
        )
        return response.status_code == 200

    def blob(self, repository: str, digest: str) -> bytes:
        return b"".join(self.stream_blob(repository, digest))

    def stream_blob(
        self, repository: str, digest: str, progress: Callable[[int], None] | None = None
    ) -> Iterator[bytes]:
        """The blob's bytes, checked against its digest at the end."""
        import requests

        response = self._request("GET", f"/v2/{repository}/blobs/{digest}", repository, stream=True)
        if response.status_code != 200:
            with response:
                raise _refused(self.name, f"blob {digest} of {repository}", response)
        hasher = hashlib.sha256()
        with response:
            try:
                for chunk in response.iter_content(1 << 20):
                    hasher.update(chunk)
                    if progress:
                        progress(len(chunk))
                    yield chunk
            except requests.RequestException as exc:
                raise RoomError(
                    f"{self.name} stopped answering while sending blob {digest} of "
                    f"{repository} ({type(exc).__name__}): run `workshop room prepare` again; "
                    "what was fetched is kept."
                ) from None
        if "sha256:" + hasher.hexdigest() != digest:
            raise RoomError(f"{self.base}: blob {digest} of {repository} came back altered.")


def _reason(exc: BaseException) -> str:
    """The cause under a requests error (a TLS verify failure, a refused connection), not the
    connection pool's wrapping of it."""
    seen = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    seen = getattr(seen, "reason", None) or seen
    return re.sub(r"^\w+Connection(Pool)?\([^)]*\): ", "", str(seen))


def _refused(base: str, what: str, response) -> RoomError:
    """A registry's refusal, as one sentence with what to do: an account for 401 and 403,
    Docker Hub's pull limit for 429."""
    from workshop.room.registry import PASSWORD_ENV, USER_ENV

    status = response.status_code
    if status in (401, 403):
        return RoomError(
            f"{base} refuses {what} without an account (HTTP {status}): set {USER_ENV} and "
            f"{PASSWORD_ENV} to an account that may pull it, then run the command again."
        )
    if status == 429:
        after = response.headers.get("Retry-After", "")
        when = (
            f"in {after} seconds"
            if after.isdigit()
            else "in a few hours (the limit is per 6 hours)"
        )
        return RoomError(
            f"{base} refuses {what}: this address reached Docker Hub's pull limit (HTTP 429); "
            f"run the command again {when}, or set {USER_ENV} and {PASSWORD_ENV} to an account "
            "(its limit is higher)."
        )
    body = response.text[:200].strip()
    return RoomError(f"{base}: {what} answered HTTP {status}" + (f" ({body})." if body else "."))
