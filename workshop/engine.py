"""The one place that talks to the Docker engine's API: discovery, connection, one-sentence errors.

The kit must talk to the same engine as the learner's `docker` command, so it resolves the engine
the way the CLI does: DOCKER_HOST first, else the CLI's current context (DOCKER_CONTEXT or
`docker context use`), else the platform's default socket. docker-py follows contexts from 7.2 on.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from workshop.errors import EngineUnavailable, WorkshopError

MIN_DOCKER_PY = (7, 2)
DEFAULT_SOCKET = (
    "npipe:////./pipe/docker_engine" if sys.platform == "win32" else "unix:///var/run/docker.sock"
)
START_HINT = (
    "start Docker (Docker Desktop, or `sudo systemctl start docker`; on a classroom machine "
    "with no engine, `make engine` in the kit)"
)


class Target(NamedTuple):
    """Where the engine is expected, and why there."""

    url: str
    source: str  # "DOCKER_HOST", "context NAME" or "default socket"

    @property
    def socket_path(self) -> Path | None:
        return Path(self.url.removeprefix("unix://")) if self.url.startswith("unix://") else None


def _current_context(env) -> str:
    name = env.get("DOCKER_CONTEXT")
    if name:
        return name
    config_dir = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        return (
            json.loads((config_dir / "config.json").read_text()).get("currentContext") or "default"
        )
    except (OSError, ValueError, AttributeError):
        return "default"


def discover(env=None) -> Target:
    """Resolve the engine as the docker CLI would, without contacting it."""
    env = os.environ if env is None else env
    if env.get("DOCKER_HOST"):
        return Target(env["DOCKER_HOST"], "DOCKER_HOST")
    name = _current_context(env)
    if name != "default":
        from docker.context import ContextAPI

        context = ContextAPI.get_context(name)
        if context is None:
            raise EngineUnavailable(
                f"The docker CLI's current context {name!r} does not exist: "
                "run `docker context use default` (or create that context)."
            )
        return Target(context.Host or DEFAULT_SOCKET, f"context {name}")
    return Target(DEFAULT_SOCKET, "default socket")


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def explain(target: Target, exc: BaseException) -> str:
    """One sentence: what is wrong with reaching the engine, and the fix."""
    text = " ".join(str(e) for e in _causes(exc))
    kinds = {type(e) for e in _causes(exc)}
    where = f"{target.url} (from {target.source})"
    if PermissionError in kinds or "Permission denied" in text:
        return (
            f"You may not open the Docker socket {where}: add yourself to the docker group "
            "(`sudo usermod -aG docker $USER`, then log out and in again) or use sudo."
        )
    if target.source == "DOCKER_HOST":
        fix = "unset DOCKER_HOST to use the local engine, or start the engine it names"
    elif target.source.startswith("context"):
        fix = f"{START_HINT}, or switch with `docker context use default`"
    else:
        fix = START_HINT
    if FileNotFoundError in kinds or "No such file" in text:
        return f"No Docker engine answers at {where}: nothing is listening there; {fix}."
    if ConnectionRefusedError in kinds or "Connection refused" in text:
        return f"No Docker engine answers at {where}: the connection was refused; {fix}."
    if "Connection aborted" in text or "RemoteDisconnected" in text or "reset by peer" in text:
        return (
            f"The Docker engine at {where} stopped answering in the middle of the command (it "
            f"closed the connection): make sure it is running (`workshop doctor`; {fix}), then "
            "run the command again."
        )
    if "timed out" in text.lower():
        return f"The Docker engine at {where} did not answer in time; {fix}."
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"Cannot talk to the Docker engine at {where} ({reason}); {fix}."


def engine_fault(exc: BaseException) -> bool:
    """An error from talking to the engine (docker-py, requests, urllib3), not from the kit."""
    return type(exc).__module__.split(".")[0] in ("docker", "requests", "urllib3")


def engine_error(exc: BaseException) -> WorkshopError:
    """The engine failed under a command: one sentence with the fix, as an error (exit 1). The
    engine refused a request (it answered, and said no), or it could not be reached."""
    refusal = getattr(exc, "explanation", None)
    if refusal:
        return WorkshopError(
            f"The Docker engine refused a request ({refusal}); `workshop doctor` checks the "
            "engine, and running the command again often helps."
        )
    return EngineUnavailable(explain(target(), exc))


def _require_docker_py():
    import docker

    version = tuple(int(p) for p in docker.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_DOCKER_PY:
        raise WorkshopError(
            f"The kit needs docker-py 7.2 or newer (it follows `docker context use`, as "
            f"Docker Desktop sets); this environment has {docker.__version__}: run `make setup`."
        )
    return docker


@functools.cache
def target() -> Target:
    return discover()


@functools.cache
def client():
    """A connected docker-py client, shared by everything in this process."""
    docker = _require_docker_py()
    where = target()
    try:
        return docker.from_env(version=_api_version(docker), timeout=30)
    except Exception as exc:  # docker-py raises DockerException, requests' errors, OSError
        raise EngineUnavailable(explain(where, exc)) from None


def _api_version(docker) -> str:
    """The engine's API version, from its ping (as the docker CLI negotiates it): docker-py's
    own negotiation asks /version, which the engine assembles from its parts (about 8 ms on
    Docker 26), where a ping is answered at once. "auto" (docker-py asks) if the ping does not
    say it."""
    probe = docker.from_env(version="1.24", timeout=30)  # asks nothing; its version is unused
    try:
        answer = probe.api.get(f"{probe.api.base_url}/_ping", timeout=30)  # unversioned
    finally:
        probe.close()
    version = answer.headers.get("Api-Version") if answer.ok else None
    return version or "auto"


class Asked:
    """One engine request sent at once on a thread of its own, its answer taken later: the
    engine answers it while the caller waits for another (each is mostly the engine's time)."""

    def __init__(self, call, *args, **kwargs):
        import threading

        self._answer = self._error = None
        self._thread = threading.Thread(target=self._ask, args=(call, args, kwargs), daemon=True)
        self._thread.start()

    def _ask(self, call, args, kwargs) -> None:
        try:
            self._answer = call(*args, **kwargs)
        except BaseException as exc:  # raised again, in the caller, by answer()
            self._error = exc

    def answer(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._answer


def engine_time(engine) -> datetime:
    """The engine's own clock (a Docker Desktop VM's clock may differ from the host's)."""
    return parse_time(engine.info()["SystemTime"])


def parse_time(value: str) -> datetime:
    """RFC 3339 with nanoseconds, as the engine writes it, to an aware datetime."""
    value = value.replace("Z", "+00:00")
    head, dot, rest = value.partition(".")
    if dot:
        digits = re.match(r"\d*", rest).group()
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(value)
