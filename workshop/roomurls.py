"""The room's mirror and package index: where an offline room's learners fetch images and packages.

The instructor gives them to `workshop classroom serve --mirror URL --index URL`; the room hands
them to each learner at join, and the learner's membership keeps them. `workshop doctor --mirror
--index` and the environment (WORKSHOP_MIRROR, WORKSHOP_INDEX) override what the room said. A
room without them is an online room: nothing changes for it (Docker Hub and PyPI, as always).

Step texts reach them through placeholders (`render`): `{room:mirror}`, `{room:index}`, and
`{room:pip-build-args}`, which is empty online and, offline, the `--build-arg` options that point
a Dockerfile's `ARG PIP_INDEX_URL` (and `PIP_TRUSTED_HOST`, for an http index) at the room's index.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import NamedTuple
from urllib.parse import urlsplit

from workshop.errors import UsageError

MIRROR_ENV = "WORKSHOP_MIRROR"
INDEX_ENV = "WORKSHOP_INDEX"
# `{room:index}`, `{room:mirror}`, `{room:pip-build-args}` in a step's text, hint or solution
PLACEHOLDER = re.compile(r"\{room:([a-z-]+)\}")
KEYS = ("mirror", "index", "pip-build-args")


def check_url(text: str, option: str) -> str:
    """`text` as a room's address for `option` (--mirror, --index): http(s)://HOST[:PORT][/PATH],
    nothing more; raises UsageError with one sentence when it is not."""
    raw = (text or "").strip()
    mirror = option in ("--mirror", MIRROR_ENV)
    example = "http://10.0.0.5:5000" if mirror else "http://10.0.0.5:3141/simple/"
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        raise UsageError(
            f"{option} {text!r} has a port that is not a number (e.g. {example})."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{option} {text!r} is not an address learners can reach: write it as {example}."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"{option} {text!r} carries more than an address: drop the ?, # or user.")
    if port == 0:
        raise UsageError(f"{option} {text!r} has port 0: write the port it listens on.")
    if mirror:
        if parts.path.strip("/"):
            raise UsageError(
                f"{option} {text!r} has a path: a registry mirror is HOST:PORT only "
                f"(e.g. {example}), as daemon.json's registry-mirrors wants it."
            )
        return f"{parts.scheme}://{parts.netloc.lower()}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def normalise(url: str) -> str:
    """A registry address to compare by: scheme, lower-case host, explicit port, no path's
    trailing slash (`http://127.0.0.1:5000/` and `HTTP://127.0.0.1:5000` are the same)."""
    parts = urlsplit((url or "").strip())
    if not parts.scheme and not parts.netloc:  # "host:port" as daemon.json may hold it
        parts = urlsplit("https://" + url.strip())
    scheme = parts.scheme.lower() or "https"
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        port = 0
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


class Room(NamedTuple):
    """Where this learner fetches: "" each for an online room (Docker Hub, PyPI)."""

    mirror: str = ""
    index: str = ""

    @property
    def offline(self) -> bool:
        return bool(self.mirror or self.index)

    def pip_build_args(self) -> str:
        """The `docker image build` options that send a Dockerfile's pip to the room's index
        (" --build-arg PIP_INDEX_URL=URL[ --build-arg PIP_TRUSTED_HOST=HOST]"), or ""."""
        if not self.index:
            return ""
        out = f" --build-arg PIP_INDEX_URL={shlex.quote(self.index)}"
        parts = urlsplit(self.index)
        if parts.scheme == "http" and parts.hostname:
            out += f" --build-arg PIP_TRUSTED_HOST={shlex.quote(parts.hostname)}"
        return out

    def render(self, text: str) -> str:
        """`text` with its `{room:...}` placeholders filled from this room."""
        if "{room:" not in text:
            return text
        values = {"mirror": self.mirror, "index": self.index, "pip-build-args": ""}
        values["pip-build-args"] = self.pip_build_args()
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def current(mirror: str = "", index: str = "") -> Room:
    """The room this learner fetches from: the arguments (doctor's --mirror, --index), else
    WORKSHOP_MIRROR / WORKSHOP_INDEX, else what the joined room said; "off" in the environment
    says "online" whatever the room said. A bad address is a UsageError."""
    member = None
    if not (mirror and index):
        from workshop import state

        if state.joined():  # else no room said anything (and the reporting code stays unloaded)
            from workshop.report import membership

            member = membership()

    def pick(given: str, env: str, joined: str, option: str) -> str:
        chosen = given or os.environ.get(env, "").strip()
        if chosen.lower() == "off":
            return ""
        if chosen:
            return check_url(chosen, option if given else env)
        return joined

    return Room(
        mirror=pick(mirror, MIRROR_ENV, member.mirror if member else "", "--mirror"),
        index=pick(index, INDEX_ENV, member.index if member else "", "--index"),
    )


def quietly() -> Room:
    """`current()` for rendering step texts: a bad address in the environment renders as an
    online room rather than stopping every command (doctor says what is wrong with it)."""
    try:
        return current()
    except UsageError:
        return Room()
