"""Engine discovery follows the docker CLI (DOCKER_HOST, then context, then the default socket),
and every way of not reaching the engine is one sentence with the fix. Pure logic, no engine."""

from __future__ import annotations

import hashlib
import json

import pytest

from workshop.engine import DEFAULT_SOCKET, Target, discover, explain, parse_time
from workshop.errors import EngineUnavailable


def write_context(config_dir, name: str, host: str) -> None:
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps(
            {
                "Name": name,
                "Metadata": {},
                "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}},
            }
        )
    )
    (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))


@pytest.fixture
def cli_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return tmp_path


def test_docker_host_comes_first(cli_config):
    write_context(cli_config, "desktop-linux", "unix:///home/me/.docker/desktop/docker.sock")
    env = {"DOCKER_HOST": "tcp://127.0.0.1:2375", "DOCKER_CONFIG": str(cli_config)}
    assert discover(env) == Target("tcp://127.0.0.1:2375", "DOCKER_HOST")


def test_the_clis_current_context_comes_next(cli_config):
    write_context(cli_config, "desktop-linux", "unix:///home/me/.docker/desktop/docker.sock")
    target = discover({"DOCKER_CONFIG": str(cli_config)})
    assert target == Target("unix:///home/me/.docker/desktop/docker.sock", "context desktop-linux")


def test_docker_context_variable_overrides_the_config(cli_config):
    write_context(cli_config, "desktop-linux", "unix:///desktop.sock")
    env = {"DOCKER_CONFIG": str(cli_config), "DOCKER_CONTEXT": "default"}
    assert discover(env) == Target(DEFAULT_SOCKET, "default socket")


def test_a_missing_context_is_named(cli_config):
    (cli_config / "config.json").write_text(json.dumps({"currentContext": "gone"}))
    with pytest.raises(
        EngineUnavailable, match=r"context 'gone' does not exist.*docker context use default"
    ):
        discover({"DOCKER_CONFIG": str(cli_config)})


def test_default_socket_when_nothing_is_set(cli_config):
    assert discover({"DOCKER_CONFIG": str(cli_config)}) == Target(DEFAULT_SOCKET, "default socket")


def wrapped(inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("Error while fetching server API version") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("target", "inner", "words"),
    [
        (
            Target(DEFAULT_SOCKET, "default socket"),
            PermissionError(13, "Permission denied"),
            "You may not open the Docker socket unix:///var/run/docker.sock (from default socket): "
            "add yourself to the docker group",
        ),
        (
            Target(DEFAULT_SOCKET, "default socket"),
            FileNotFoundError(2, "No such file"),
            "nothing is listening there; start Docker",
        ),
        (
            Target("tcp://10.0.0.9:2375", "DOCKER_HOST"),
            ConnectionRefusedError(111, "refused"),
            "the connection was refused; unset DOCKER_HOST",
        ),
        (
            Target("unix:///d.sock", "context desktop"),
            FileNotFoundError(2, "No such file"),
            "or switch with `docker context use default`",
        ),
    ],
)
def test_failures_to_connect_are_one_sentence_with_the_fix(target, inner, words):
    message = explain(target, wrapped(inner))
    assert words in message and "\n" not in message


def test_engine_times_keep_their_nanoseconds_to_the_microsecond():
    stamp = parse_time("2026-11-24T15:16:32.123456789Z")
    assert stamp.microsecond == 123456 and stamp.utcoffset().total_seconds() == 0
    assert parse_time("2026-11-24T15:16:32Z").second == 32
