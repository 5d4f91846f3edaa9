"""A web service in a container, for step checks: its published ports, its logs, what runs and
listens inside it (read through testinfra's docker backend), the kit's own GET on loopback, and
what its Dockerfile declares. Everything here only reads. (What a given server writes in its
log is the lab's to read: a lab keeps such helpers in its folder.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from workshop.journal import KIT_MARK
from workshop.probes import Container, Image


def _exec_failed(stderr: str) -> bool:
    """Did `docker exec` fail (rather than the command it ran)?"""
    return any(
        sign in stderr
        for sign in (
            "Error response from daemon",
            "docker: not found",
            "docker: command not found",
            "Cannot connect to the Docker daemon",
            "No such container",
            "is not running",
            "error during connect",
        )
    )


def published(container: Container, port: str) -> list[tuple[str, str]]:
    """(host address, host port) pairs where the container's `port` (`80/tcp`) is reachable:
    the live bindings of a running container, else what `-p` asked for."""
    live = (container.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    wanted = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
    bindings = live.get(port) if container.running else wanted.get(port)
    return [(b.get("HostIp") or "", b.get("HostPort") or "") for b in bindings or []]


def published_ports(container: Container) -> list[str]:
    """Every container port published with `-p` (`80/tcp`, ...)."""
    wanted = (container.attrs.get("HostConfig") or {}).get("PortBindings") or {}
    return sorted(port for port, bindings in wanted.items() if bindings)


def logs(container: Container, tail: int | str = "all") -> str:
    """What the container wrote to stdout and stderr (`docker container logs`)."""
    return container.logs(tail)


@dataclass(frozen=True)
class Process:
    pid: int
    name: str
    uid: int


class Inside:
    """A running container seen from inside, through testinfra's docker backend (`docker exec`).

    It needs only `sh`, `grep`, `cat` and `test` in the image: no `ps`, `ss` or `netstat`, which
    slim images lack (testinfra's own Socket and Process modules need them). Every command
    carries the kit's mark, so the kit's own looks never count as the learner's execs. When the
    look itself fails (the docker CLI missing, or talking to another engine), that is said as
    such: it is never the learner's mistake.
    """

    def __init__(self, container: Container):
        import testinfra

        self.container = container
        self.host = testinfra.get_host(f"docker://{container.id}")

    def run(self, command: str, *args: str):
        """Run a shell command inside; raise LookInsideFailed if docker exec itself failed."""
        result = self.host.run(f": {KIT_MARK}; {command}", *args)
        if result.rc in (125, 126, 127) and _exec_failed(result.stderr):
            from workshop.checks import LookInsideFailed

            said = " ".join(result.stderr.split())[:200]
            hint = (
                " Your docker command may talk to another engine than the kit: "
                "`workshop doctor` compares them."
                if "No such container" in said
                else ""
            )
            raise LookInsideFailed(
                f"The kit could not look inside container {self.container.short_id} with "
                f"`docker exec` ({said}): make sure the docker command works in this terminal "
                f"(`docker container ls`), then try again.{hint}"
            )
        return result

    def read(self, path: str) -> bytes | None:
        """The bytes of a file in the container, or None if it cannot be read."""
        result = self.run("cat -- %s", path)
        return result.stdout_bytes if result.rc == 0 else None

    def exists(self, path: str) -> bool:
        return self.run("test -e %s", path).rc == 0

    @cached_property
    def processes(self) -> list[Process]:
        """Every process in the container, from /proc (the probe's own included)."""
        out = self.run("grep -H -e '^Name:' -e '^Uid:' /proc/[0-9]*/status").stdout
        fields: dict[int, dict[str, str]] = {}
        for line in out.splitlines():
            where, _, rest = line.partition(":")
            key, _, value = rest.partition(":")
            pid = where.split("/")[2] if where.count("/") >= 2 else ""
            if pid.isdigit():
                fields.setdefault(int(pid), {})[key] = value.strip()
        return [
            Process(pid, f.get("Name", ""), int(f["Uid"].split()[0]))
            for pid, f in sorted(fields.items())
            if f.get("Uid", "").split() and f["Uid"].split()[0].isdigit()
        ]

    def processes_named(self, name: str) -> list[Process]:
        return [p for p in self.processes if p.name == name]

    def user_name(self, uid: int) -> str:
        """The name /etc/passwd in the container gives `uid`, else the number."""
        passwd = (self.read("/etc/passwd") or b"").decode("utf-8", errors="replace")
        for line in passwd.splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2] == str(uid):
                return parts[0]
        return str(uid)

    def listening(self) -> list[tuple[str, int]]:
        """(address, port) of every listening TCP socket, read from /proc/net/tcp and tcp6."""
        found = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            text = (self.read(table) or b"").decode("ascii", errors="replace")
            for line in text.splitlines()[1:]:
                parts = line.split()
                if len(parts) > 3 and parts[3] == "0A":  # TCP_LISTEN
                    found.append(_socket_address(parts[1]))
        return found

    def listening_on(self, port: int) -> list[str]:
        """The addresses the container listens on at `port` (`0.0.0.0`, `127.0.0.1`, `::`)."""
        return [address for address, number in self.listening() if number == port]


def _socket_address(field: str) -> tuple[str, int]:
    """`0100007F:0050` -> ('127.0.0.1', 80): /proc/net/tcp writes each 32-bit word of the
    address in the host's (little-endian) byte order."""
    import ipaddress

    address, _, port = field.partition(":")
    raw = bytes.fromhex(address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.IPv4Address(words) if len(words) == 4 else ipaddress.IPv6Address(words)
    return str(ip), int(port, 16)


def get_json(url: str, agent: str, timeout: float = 3.0) -> tuple[int, object]:
    """GET `url` (no proxy) and return (status, parsed JSON body or the text if not JSON).
    Network errors are raised as OSError."""
    import json
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    text = body.decode("utf-8", errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Dockerfile:
    """What a Dockerfile declares for the image's configuration (CMD, USER, EXPOSE, LABEL,
    HEALTHCHECK), read from its text, to compare with an image built from it."""

    def __init__(self, path):
        from pathlib import Path

        self.path = Path(path)
        self.instructions = _instructions(self.path.read_text(encoding="utf-8"))

    def _all(self, keyword: str) -> list[str]:
        return [args for word, args in self.instructions if word == keyword]

    @property
    def cmd(self) -> list[str]:
        found = self._all("CMD")
        return _exec_form(found[-1]) if found else []

    @property
    def user(self) -> str:
        found = self._all("USER")
        return found[-1].strip() if found else ""

    @property
    def exposed_ports(self) -> set[str]:
        ports = set()
        for args in self._all("EXPOSE"):
            for port in args.split():
                ports.add(port if "/" in port else f"{port}/tcp")
        return ports

    @property
    def labels(self) -> dict[str, str]:
        import shlex

        labels = {}
        for args in self._all("LABEL"):
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                labels[key] = value
        return labels

    @property
    def healthcheck(self) -> list[str]:
        found = self._all("HEALTHCHECK")
        if not found:
            return []
        match = re.match(r"^(?:--\S+\s+)*(CMD|NONE)\b\s*(.*)$", found[-1].strip(), re.S)
        if not match or match[1] == "NONE":
            return ["NONE"]
        argv = _exec_form(match[2])
        return ["CMD-SHELL", argv[2]] if argv[:2] == ["/bin/sh", "-c"] else ["CMD", *argv]

    def differences(self, image: Image) -> list[str]:
        """How the image's configuration differs from what this Dockerfile declares."""

        def shown(argv: list[str]) -> str:
            return " ".join(argv) or "nothing"

        found = []
        if image.cmd != self.cmd:
            found.append(f"its CMD is `{shown(image.cmd)}`, not `{shown(self.cmd)}`")
        if image.user != self.user:
            found.append(f"its USER is {image.user or 'unset (root)'!r}, not {self.user!r}")
        if not self.exposed_ports <= image.exposed_ports:
            found.append(
                f"it exposes {', '.join(sorted(image.exposed_ports)) or 'no port'}, not "
                f"{', '.join(sorted(self.exposed_ports))}"
            )
        labels = image.labels
        for key, value in self.labels.items():
            if labels.get(key) != value:
                found.append(f"its label {key} is {labels.get(key)!r}, not {value!r}")
        if image.healthcheck != self.healthcheck:
            found.append("its HEALTHCHECK differs")
        return found


def _instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction: comments dropped, `\\` continuations joined."""
    found, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            word, _, args = whole.partition(" ")
            found.append((word.upper(), args.strip()))
    if pending.strip():
        word, _, args = pending.strip().partition(" ")
        found.append((word.upper(), args.strip()))
    return found


def _exec_form(args: str) -> list[str]:
    """`["a", "b"]` (exec form) as a list; anything else is shell form, run by /bin/sh -c."""
    import json

    text = args.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", text]
