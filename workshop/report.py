"""The learner's side of the classroom: membership, the outbox, and delivery to the server.

Opt-in: nothing is sent until the learner runs `workshop join`. Then each command that makes a
verdict appends a report to the outbox (`outbox.jsonl` in the state folder, under a lock, each
report with the next `seq`), and the command ends by delivering the outbox, oldest first, with a
bounded wait. The server stores each `seq` once and answers the highest it holds; only then is a
report removed from the outbox. So a report is delivered exactly once and in order, whatever the
network does and wherever a command is interrupted: what was not confirmed is sent again by the
next command, and the server ignores what it already has.

What leaves the machine is exactly what `FIELDS` lists; never a typed command or a file's
contents (the instructor's demo, which sends the solution's commands and their output, is sent
only for a member who joined with `--instructor`).

Reporting never raises into the command: a server that is down or slow leaves the reports
queued; a report the server refuses for good (a step or mistake it does not know: the kits
differ) is moved to `refused.jsonl` with the server's reason, and the learner is told once. An
HTTPS server is trusted by the certificate's pin from the join line, a CA file, or the system's
authorities; never with verification off. Only stdlib here (`http.client`, `ssl`), so importing
this module costs nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from workshop import state
from workshop.errors import UsageError, WorkshopError

MEMBERSHIP = state.MEMBERSHIP
OUTBOX = state.OUTBOX
REFUSED = "refused.jsonl"  # reports the server refused for good, each with its reason
# after `leave`: the room left, with its token, so that the same learner may join it again under
# their name (nothing is sent with it until they do)
LEFT = "classroom-left.json"
LOCK = "outbox.lock"
WAIT = 1.0  # seconds a command may spend delivering, in all
BATCH = 100  # reports per request, the server's limit
SENTENCE_MAX = 600
DEMO_MAX = 16 * 1024
BODY_MAX = 64 * 1024
VIAS = ("next", "check", "solve", "goto", "watch", "test")

# Exactly what each report holds (the README lists these).
FIELDS = {
    "verdict": ("seq", "at", "kind", "lab", "step", "passed", "mistake", "sentence", "via"),
    "readiness": (
        "seq",
        "at",
        "kind",
        "ready",
        "findings",
        "engine",
        "builder",
        "context",
        "disk_free_gb",
        "lab_images",
        "registry",
        "pull",
    ),
    "left": ("seq", "at", "kind"),
    "demo": ("seq", "at", "kind", "what", "text"),
}


class ClassroomError(WorkshopError):
    """Joining or leaving failed; the message says why and what to do."""


@dataclass(frozen=True)
class Membership:
    server: str  # the server's base URL, without a trailing slash
    token: str
    name: str
    role: str  # "learner" or "instructor"
    learner: int = 0
    pin: str = ""  # "sha256:..." of the server's certificate, checked before anything is sent
    ca_file: str = ""  # a PEM file of the room's own certificate authority
    mirror: str = ""  # the room's registry mirror (an offline room), as join gave it; or ""
    index: str = ""  # the room's Python package index (an offline room); or ""

    def to_json(self) -> dict:
        return {
            "server": self.server,
            "token": self.token,
            "name": self.name,
            "role": self.role,
            "learner": self.learner,
            "pin": self.pin,
            "ca_file": self.ca_file,
            "mirror": self.mirror,
            "index": self.index,
        }


def _home() -> Path:
    from workshop.state import home

    return home()


def membership(directory: Path | None = None, file: str = MEMBERSHIP) -> Membership | None:
    """This learner's membership, or None when not joined (or the file is unreadable); with
    `file=LEFT`, the room they last left."""
    path = (directory or _home()) / file
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Membership(
            server=str(raw["server"]),
            token=str(raw["token"]),
            name=str(raw["name"]),
            role=str(raw.get("role", "learner")),
            learner=int(raw.get("learner", 0)),
            pin=str(raw.get("pin") or ""),
            ca_file=str(raw.get("ca_file") or ""),
            mirror=str(raw.get("mirror") or ""),
            index=str(raw.get("index") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def server_url(text: str) -> str:
    """The server's base URL as the learner typed it, checked; UsageError with the fix if not."""
    raw = text.strip()
    fix = (
        "paste the `workshop join http://HOST:PORT CODE --name NAME` line your instructor "
        "shows, with the address as it is"
    )
    if any(c.isspace() for c in raw):  # the whole line pasted inside quotes, say
        raise UsageError(
            f"{text!r} has a space in it, so it is more than the server's address: {fix} "
            "(without quotes around it)."
        )
    try:
        parts = urlsplit(raw)
    except ValueError:  # an IPv6 bracket left open
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{text!r} is not a classroom server address (http://HOST:PORT): {fix}.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(
            f"{text!r} carries more than the server's address (a query, a #key, or a password): "
            f"{fix}."
        )
    try:
        parts.port  # noqa: B018 -- raises ValueError on a port that is no number, or too big
    except ValueError:
        raise UsageError(
            f"{text!r} has a port that is not a number from 1 to 65535: {fix}."
        ) from None
    if parts.path.rstrip("/").rsplit("/", 1)[-1] in ("join", "demo"):
        raise UsageError(
            f"{text!r} is the projector page's address, not the server's: {fix} (the address "
            "ends before /join)."
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


# --- trusting an HTTPS room -------------------------------------------------------------------
# A room's self-signed certificate is trusted by its fingerprint, which the join line carries:
# the client checks the certificate the server shows against it right after the TLS handshake,
# before a byte of the request is sent, and remembers it for every later report. A room with its
# own certificate authority passes --ca-file; a public certificate needs neither. Verification is
# never off: an HTTPS server is trusted by a pin, a CA file, or the system's authorities.


def fingerprint(der: bytes) -> str:
    """The pin of a certificate (DER bytes): "sha256:" and its SHA-256 in unpadded base64url
    (43 characters: short enough for a projected line)."""
    import base64
    import hashlib

    digest = hashlib.sha256(der).digest()
    return "sha256:" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def parse_pin(text: str) -> str:
    """A pin as typed, in the form `fingerprint` prints; also takes the hex SHA-256 that
    `openssl x509 -fingerprint -sha256` prints (with or without colons). UsageError if not."""
    import base64
    import binascii

    value = "".join(text.split())
    for prefix in ("sha256:", "sha256=", "sha256fingerprint="):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
            break
    hexed = value.replace(":", "")
    digest = None
    if len(hexed) == 64:
        with contextlib.suppress(binascii.Error, ValueError):
            digest = bytes.fromhex(hexed)
    if digest is None and ":" not in value:
        with contextlib.suppress(binascii.Error, ValueError):
            padded = value + "=" * (-len(value) % 4)
            decoded = base64.b64decode(padded, altchars=b"-_", validate=True)
            digest = decoded if len(decoded) == 32 else None
    if digest is None:
        raise UsageError(
            f"{text!r} is not a certificate fingerprint: copy the `--pin sha256:...` part of the "
            "join line your instructor shows, as it is."
        )
    return "sha256:" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class _PinMismatch(Exception):
    """The server showed another certificate than the pinned one: nothing was sent."""

    def __init__(self, shown: str):
        super().__init__(shown)
        self.shown = shown


class _Untrusted(Exception):
    """The server's certificate is not trusted (no pin, and no authority vouches for it)."""


def _https(host: str, port: int | None, timeout: float, pin: str, ca_file: str):
    """An HTTPS connection that trusts the pinned certificate only, or the CA file's, or the
    system's authorities; nothing is sent before that is checked."""
    import http.client
    import ssl

    if pin:
        # The chain is not what is trusted here: the exact certificate is. The handshake still
        # proves the server holds that certificate's key; then the pin is compared.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=ca_file or None)

    class Pinned(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            if pin:
                import hmac

                shown = fingerprint(self.sock.getpeercert(binary_form=True) or b"")
                if not hmac.compare_digest(shown, pin):
                    self.sock.close()
                    raise _PinMismatch(shown)

    return Pinned(host, port, timeout=timeout, context=context)


# --- the outbox -------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    from workshop.state import held

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK, "a+") as handle, held(handle):
        yield


def _read(directory: Path) -> list[dict]:
    """The outbox's reports, in order; a line that is not a whole report (the last one, torn by
    a crash mid-write) is skipped."""
    try:
        lines = (directory / OUTBOX).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    reports = []
    for line in lines:
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and isinstance(report.get("seq"), int):
            reports.append(report)
    return reports


def _state(directory: Path, file: str = MEMBERSHIP) -> dict:
    try:
        raw = json.loads((directory / file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o600)  # the token is this learner's alone
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _rewrite(directory: Path, reports: list[dict]) -> None:
    path = directory / OUTBOX
    if not reports:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".outbox-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in reports)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def queue(reports: Iterable[dict], directory: Path | None = None) -> list[int]:
    """Append reports to the outbox of a joined learner, each with the next `seq` (kept across
    commands: above every seq in the outbox and every seq the server confirmed). Returns the
    seqs given; nothing (and no error) when not joined or the state folder is not writable."""
    directory = directory or _home()
    reports = list(reports)
    if not reports or not (directory / MEMBERSHIP).is_file():
        return []
    try:
        with _locked(directory):
            state = _state(directory)
            if not state.get("token"):
                return []
            last = max([int(state.get("confirmed", 0))] + [r["seq"] for r in _read(directory)])
            path = directory / OUTBOX
            seqs = []
            lines = []
            for report in reports:
                last += 1
                seqs.append(last)
                lines.append(json.dumps({"seq": last, **report}, ensure_ascii=False) + "\n")
            with open(path, "ab") as out:
                if out.tell() and not _ends_with_newline(path):
                    out.write(b"\n")  # a torn line stays a line of its own, and is skipped
                out.write("".join(lines).encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            return seqs
    except OSError:
        return []


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def pending(directory: Path | None = None) -> list[dict]:
    """The reports waiting in the outbox, oldest first."""
    return _read(directory or _home())


# --- what is reported -------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verdict_report(lab: str, verdict, via: str) -> dict:
    """One check's verdict: its step, passed or not, the mistake's id and its sentence."""
    failed = not verdict.passed
    return {
        "at": _now(),
        "kind": "verdict",
        "lab": lab,
        "step": verdict.step,
        "passed": bool(verdict.passed),
        "mistake": verdict.mistake if failed else "",
        "sentence": _clip(verdict.message, SENTENCE_MAX) if failed else "",
        "via": via if via in VIAS else "check",
    }


def verdicts(lab: str, judged: Iterable, via: str) -> None:
    """Queue the verdicts of `lab`'s steps (`workshop.checks.Verdict`), made by command `via`
    (`workshop watch` passes "watch"). Never raises; does nothing when not joined."""
    with contextlib.suppress(Exception):
        queue(verdict_report(lab, verdict, via) for verdict in judged)


def watched(lab: str, judged: Iterable) -> None:
    """For `workshop watch`: report the verdicts it just made, and deliver them (bounded, and a
    server found down is not tried again for `RETRY` seconds, so watching never stalls)."""
    verdicts(lab, judged, "watch")
    deliver()


def readiness(findings: Iterable, facts) -> None:
    """Queue `workshop doctor`'s result: its findings and the facts behind them."""
    with contextlib.suppress(Exception):
        found = [
            {"status": f.status, "topic": f.topic, "detail": _clip(f.detail, SENTENCE_MAX)}
            for f in findings
        ]
        report = {
            "at": _now(),
            "kind": "readiness",
            "ready": all(f["status"] != "fail" for f in found),
            "findings": found,
            **facts.to_json(),
        }
        queue([report])


def demo(what: str, text: str) -> None:
    """For an instructor only: queue one entry of the live demo (`step`, `command`, `output`),
    split into pieces the server takes, and deliver at once (a server found down in this
    command is not waited for again)."""
    with contextlib.suppress(Exception):
        member = membership()
        if member is None or member.role != "instructor" or not text:
            return
        pieces = [text[i : i + DEMO_MAX // 4] for i in range(0, len(text), DEMO_MAX // 4)]
        queue({"at": _now(), "kind": "demo", "what": what, "text": p} for p in pieces)
        deliver()


def is_instructor() -> bool:
    member = membership()
    return member is not None and member.role == "instructor"


class DemoStream:
    """What `workshop solve` shows, streamed to the room's demo page (instructors only): the
    step's title, each command before it runs, and its output, sent about once a second (and
    at each command's end) rather than line by line."""

    def __init__(self):
        self._buffer: list[str] = []
        self._since = time.monotonic()

    def step(self, title: str) -> None:
        demo("step", title)

    def command(self, text: str) -> None:
        self.flush()
        demo("command", text)

    def output(self, text: str) -> None:
        self._buffer.append(text)
        if time.monotonic() - self._since >= 1.0 or sum(map(len, self._buffer)) >= DEMO_MAX // 4:
            self.flush()

    def flush(self) -> None:
        text = "".join(self._buffer)
        self._buffer.clear()
        self._since = time.monotonic()
        if text:
            demo("output", text)


# --- delivery ---------------------------------------------------------------------------------


class _Unreachable(Exception):
    """The server did not answer (down, slow, or not a classroom server)."""


class _Closed(_Unreachable):
    """An http:// server accepted the connection and closed it without an answer: what a
    server that now speaks HTTPS on that port does with plain HTTP."""


class _Gone(Exception):
    """The server does not know this token any more (401)."""


class _Refused(Exception):
    """The server refused a batch as invalid (4xx other than 401 and 429): it stores nothing."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.reason, self.status = reason, status


RETRY = 30.0  # seconds a process waits, after a delivery failed, before it tries again
_down_until = [0.0]  # monotonic time before which this process does not try (watch runs long)


def _give_up() -> None:
    _down_until[0] = time.monotonic() + RETRY


def _post(
    url: str,
    body: dict,
    token: str | None,
    timeout: float,
    pin: str = "",
    ca_file: str = "",
) -> tuple[int, dict]:
    """POST JSON; (status, JSON body). Raises _Unreachable on any failure to get an answer,
    _PinMismatch or _Untrusted when an HTTPS server is not the one trusted (nothing sent)."""
    import http.client
    import ssl

    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "User-Agent": "docker-workshop-kit"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    wait = max(timeout, 0.05)
    try:
        if parts.scheme == "https":
            connection = _https(parts.hostname, parts.port, wait, pin, ca_file)
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=wait)
    except (OSError, ssl.SSLError) as exc:  # a CA file that cannot be read
        raise _Untrusted(str(exc)) from None
    try:
        connection.request("POST", parts.path, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read(BODY_MAX)
        status = response.status
    except ssl.SSLCertVerificationError as exc:
        raise _Untrusted(exc.verify_message or str(exc)) from None
    except ConnectionResetError as exc:  # RemoteDisconnected too
        if parts.scheme == "http":
            raise _Closed(str(exc) or type(exc).__name__) from None
        raise _Unreachable(str(exc) or type(exc).__name__) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _Unreachable(str(exc) or type(exc).__name__) from None
    finally:
        connection.close()
    try:
        answer = json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


def _send(member: Membership, batch: list[dict], deadline: float) -> int:
    """Send one batch; the `stored_through` the server answers."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Unreachable("out of time")
    status, answer = _post(
        f"{member.server}/api/v1/reports",
        {"reports": batch},
        member.token,
        left,
        member.pin,
        member.ca_file,
    )
    if status == 200 and isinstance(answer.get("stored_through"), int):
        return answer["stored_through"]
    if status == 401:
        raise _Gone()
    if 400 <= status < 500 and status not in (408, 429):
        raise _Refused(str(answer.get("error") or f"HTTP {status}"), status)
    raise _Unreachable(f"HTTP {status}")


def _batches(reports: list[dict], size: int) -> Iterator[list[dict]]:
    """Oldest first, at most `size` reports and BODY_MAX bytes each."""
    batch: list[dict] = []
    weight = 16
    for report in reports:
        cost = len(json.dumps(report, ensure_ascii=False).encode("utf-8")) + 1
        if batch and (len(batch) >= size or weight + cost > BODY_MAX - 1024):
            yield batch
            batch, weight = [], 16
        batch.append(report)
        weight += cost
    if batch:
        yield batch


def _confirm(directory: Path, stored_through: int, dropped: set[int] = frozenset()) -> None:
    """Remove from the outbox what the server holds (and what it refused for good)."""
    with _locked(directory):
        state = _state(directory)
        if not state.get("token"):
            return
        if stored_through > int(state.get("confirmed", 0)):
            state["confirmed"] = stored_through
            _write_json(directory / MEMBERSHIP, state)
        reports = _read(directory)
        kept = [r for r in reports if r["seq"] > stored_through and r["seq"] not in dropped]
        if len(kept) != len(reports):
            _rewrite(directory, kept)


def _forget(directory: Path) -> None:
    with _locked(directory):
        for name in (MEMBERSHIP, OUTBOX):
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()


def update_fix(root: Path | None = None) -> str:
    """How a learner brings their kit (`root`, this one's by default) in line with the room's:
    one clause for a sentence. A clone pulls; an installed kit has no folder to pull in."""
    from workshop.labs import is_packaged, kit_root

    root = root or kit_root()
    if is_packaged(root):
        return (
            "install the room's kit again as you installed it (`pipx install --force KIT`, "
            "`uv tool install --force KIT` or `pip install --upgrade KIT`, KIT being the room's "
            "kit folder or wheel: ask your instructor), then paste the join line again"
        )
    where = f" ({root})" if (root / ".git").exists() else ""
    return f"run `git pull` in the kit's folder{where}, then paste the join line again"


def _keep_refused(directory: Path, reports: list[dict], reason: str, status: int) -> None:
    """Move reports the server will never take from the outbox to `refused.jsonl`, each with
    the server's reason and when, so nothing is lost without a trace."""
    with _locked(directory):
        stamp = _now()
        with open(directory / REFUSED, "a", encoding="utf-8") as out:
            out.writelines(
                json.dumps(
                    {"refused_at": stamp, "status": status, "reason": reason, "report": r},
                    ensure_ascii=False,
                )
                + "\n"
                for r in reports
            )
            out.flush()
            os.fsync(out.fileno())
        gone = {r["seq"] for r in reports}
        kept = [r for r in _read(directory) if r["seq"] not in gone]
        _rewrite(directory, kept)


def refused(directory: Path | None = None) -> list[dict]:
    """What `refused.jsonl` holds: {refused_at, status, reason, report}, oldest first."""
    try:
        lines = ((directory or _home()) / REFUSED).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    kept = []
    for line in lines:
        with contextlib.suppress(ValueError):
            kept.append(json.loads(line))
    return kept


def _tell_once(directory: Path, key: str, sentence: str, told: list[str]) -> None:
    """Say `sentence` the first time `key` happens in this membership, never again after."""
    with _locked(directory):
        state = _state(directory)
        if not state.get("token") or key in state.get("told", []):
            return
        state["told"] = [*state.get("told", []), key]
        _write_json(directory / MEMBERSHIP, state)
    told.append(sentence)


def _deliver_until(directory: Path, deadline: float, told: list[str]) -> None:
    member = membership(directory)
    if member is None:
        return
    size = BATCH
    while time.monotonic() < deadline:
        reports = _read(directory)
        if not reports:
            return
        batch = next(_batches(reports, size))
        try:
            stored = _send(member, batch, deadline)
        except _Refused as exc:
            if len(batch) > 1:
                size = max(1, len(batch) // 2)  # find the one report it will never take
                continue
            _keep_refused(directory, batch, exc.reason, exc.status)
            _tell_once(
                directory,
                "refused",
                f"The classroom refused a report ({exc.reason.rstrip('.')}): your kit and the "
                f"room's differ, so {update_fix()}, or, if yours is the newer, tell your "
                f"instructor; refused reports are kept in {directory / REFUSED}.",
                told,
            )
            continue
        except _Gone:
            left = _read(directory)
            if left:
                _keep_refused(directory, left, "the room no longer knows this learner", 401)
            _forget(directory)
            kept = f" (the {len(left)} report(s) not sent are kept in {directory / REFUSED})"
            told.append(
                f"The classroom at {member.server} no longer knows you (its store was reset, or "
                f"you were removed), so nothing more is sent{kept if left else ''}: ask your "
                f"instructor for the join code and run `workshop join {member.server} CODE "
                "--name NAME` again."
            )
            return
        except _Closed:
            _tell_once(
                directory,
                "closed",
                f"The classroom at {member.server} closed the connection without answering: "
                "if your instructor restarted it with HTTPS, paste the join line they show now "
                "(it starts with https://); your reports wait until then.",
                told,
            )
            _give_up()
            return
        except _PinMismatch as exc:
            _tell_once(
                directory,
                "pin",
                f"The classroom at {member.server} now shows another certificate ({exc.shown}, "
                f"not the {member.pin} you joined with), so nothing is sent to it: paste the "
                "join line your instructor shows now (reports wait until then).",
                told,
            )
            _give_up()
            return
        except _Untrusted as exc:
            _tell_once(
                directory,
                "untrusted",
                f"The classroom at {member.server} shows a certificate this machine does not "
                f"trust ({exc}), so nothing is sent to it: paste the join line with its --pin, "
                "or join with --ca-file PEM (reports wait until then).",
                told,
            )
            _give_up()
            return
        _confirm(directory, stored)
        if stored < batch[-1]["seq"]:  # the server held less than it was sent: try later
            return


def deliver(wait: float = WAIT, directory: Path | None = None) -> None:
    """Send the outbox, oldest first, for at most `wait` seconds in all; never raises. A server
    that does not answer in time leaves the rest queued for the next command (and this process
    does not wait for it again)."""
    try:
        directory = directory or _home()
        if time.monotonic() < _down_until[0] or not (directory / OUTBOX).is_file():
            return
        told: list[str] = []
        finished = threading.Event()

        def run() -> None:
            try:
                _deliver_until(directory, time.monotonic() + wait, told)
            except Exception:  # unreachable, or anything else: reporting never breaks the command
                _give_up()
            finally:
                finished.set()

        # A thread, so that nothing (a name lookup, a server that trickles) holds the command
        # past the bound; a delivery cut off is sent again and the server keeps it once.
        worker = threading.Thread(target=run, name="workshop-report", daemon=True)
        worker.start()
        if not finished.wait(wait + 0.2):
            _give_up()
        for sentence in told:
            print(f"Note: {sentence}", file=sys.stderr)
    except Exception:  # reporting never breaks the command
        return


# --- joining and leaving ----------------------------------------------------------------------


def kit() -> dict:
    """What join tells the room of this kit: its version, and its labs' ids and digest."""
    from workshop.labs import digest, inventory, load_labs
    from workshop.version import kit_version

    try:
        held = inventory(load_labs())
    except WorkshopError:
        held = []
    return {"version": kit_version(), "digest": digest(held), "labs": held}


@dataclass(frozen=True)
class Joined:
    member: Membership
    differs: str = ""  # how this kit differs from the room's, a sentence with the fix; or ""
    not_ready: str = ""  # join_room: the first failing readiness finding ("topic: detail"); or ""


def join(
    url: str,
    code: str,
    name: str,
    instructor: bool = False,
    wait: float = 5.0,
    pin: str = "",
    ca_file: str = "",
) -> Joined:
    """Join the classroom at `url`: the server gives a token, kept in the state folder (with the
    pin or CA file that HTTPS is trusted by). Any earlier membership (and what its outbox still
    held) is replaced. The room is told this kit's version and labs; a kit that differs still
    joins, and `Joined.differs` says what differs and the fix."""
    server = server_url(url)
    name = " ".join(name.split())
    if not 1 <= len(name) <= 40:
        raise UsageError("A name is 1 to 40 characters: pass the name the room knows you by.")
    if name.strip("<>").upper() in ("NAME", "YOUR NAME"):  # the projected line, pasted as is
        raise UsageError(
            f"--name {name} is the join line's placeholder: put your own name in place of NAME "
            "(your first name and an initial, say), then run the command again."
        )
    if not code.strip():
        raise UsageError("The join code is empty: pass the code your instructor shows.")
    pin = parse_pin(pin) if pin else ""
    if (pin or ca_file) and not server.startswith("https:"):
        raise UsageError(
            f"--pin and --ca-file are for an https:// classroom, and {server} is not: paste the "
            "join line as your instructor shows it."
        )
    if ca_file:
        ca_file = str(Path(ca_file).expanduser().resolve())
        if not Path(ca_file).is_file():
            raise UsageError(f"The CA file {ca_file} does not exist: pass the PEM file's path.")
    role = "instructor" if instructor else "learner"
    kept = MEMBERSHIP if membership(_home()) is not None else LEFT
    earlier = membership(_home(), kept)
    # the line pasted again under the same name (after updating the kit, or to a server's new
    # address): the token held proves it is the same learner, who gets their place back
    if earlier is not None and (earlier.name.lower(), earlier.role) != (name.lower(), role):
        earlier = None
    body = {"code": code.strip(), "name": name, "role": role, "kit": kit()}
    if earlier is not None:
        body["token"] = earlier.token
    try:
        status, answer = _post(
            f"{server}/api/v1/join",
            body,
            None,
            wait,
            pin,
            ca_file,
        )
    except _PinMismatch as exc:
        raise ClassroomError(
            f"The server at {server} shows a certificate whose fingerprint is {exc.shown}, not "
            f"the {pin} of your join line, so nothing was sent: check the line against the one "
            "your instructor shows (a mistyped character?), or ask them."
        ) from None
    except _Untrusted as exc:
        raise ClassroomError(
            f"The server at {server} shows a certificate this machine does not trust ({exc}), "
            "so nothing was sent: paste the whole join line with its `--pin sha256:...`, or "
            "pass --ca-file with your room's CA certificate."
        ) from None
    except _Closed:
        raise ClassroomError(
            f"The server at {server} closed the connection without answering, as a server "
            "that speaks HTTPS does with plain HTTP: paste the join line your instructor shows "
            "now, with its https:// and --pin, then run the command again."
        ) from None
    except _Unreachable as exc:
        raise ClassroomError(
            f"No classroom server answers at {server} ({exc}): check the address your "
            "instructor shows and that you are on the room's network, then run the command "
            "again."
        ) from None
    said = str(answer.get("error") or "").strip().rstrip(".")
    if status == 403:
        what = "instructor secret" if instructor else "join code"
        raise ClassroomError(
            f"The classroom at {server} did not accept that {what}: check it against the "
            "`workshop join` line your instructor shows (letters and digits as shown), then "
            "run the command again."
        )
    if status == 409:
        raise ClassroomError(
            f"Someone in the room is already called {name!r}: choose another name with "
            "--name (your first name and an initial, say)."
        )
    if status == 429:
        raise ClassroomError(
            f"The classroom at {server} is busy right now: wait a few seconds, then run the "
            "command again."
        )
    if status not in (200, 201) or not isinstance(answer.get("token"), str):
        detail = f" ({said})" if said else ""
        raise ClassroomError(
            f"The classroom at {server} refused to join you (HTTP {status}){detail}: fix what "
            "it says, or ask your instructor."
        )
    member = Membership(
        server=server,
        token=answer["token"],
        name=str(answer.get("name") or name),
        role=str(answer.get("role") or role),
        learner=int(answer.get("learner") or 0),
        pin=pin,
        ca_file=ca_file,
        **_room_urls(answer.get("room")),
    )
    directory = _home()
    with _locked(directory):
        if earlier is not None and member.token == earlier.token:  # the same learner again:
            state = _state(directory, kept)  # their outbox and seqs go on
            confirmed = int(state.get("confirmed", 0))
            _write_json(directory / MEMBERSHIP, {**member.to_json(), "confirmed": confirmed})
        else:
            _write_json(directory / MEMBERSHIP, {**member.to_json(), "confirmed": 0})
            with contextlib.suppress(FileNotFoundError):
                (directory / OUTBOX).unlink()  # the old room's reports are not this room's
        with contextlib.suppress(FileNotFoundError):
            (directory / LEFT).unlink()
    _down_until[0] = 0.0
    room = answer.get("kit") if isinstance(answer.get("kit"), dict) else {}
    differs = ""
    if room.get("differs"):
        what = str(room.get("yours") or "differs from the room's").strip().rstrip(".")
        fix = (
            "it is newer than the room's, so tell your instructor (their kit needs a `git pull` "
            "and a restart of the server); until then the room refuses what it does not know"
            if room.get("newer")
            else update_fix()
        )
        differs = f"Your kit {what}: {fix}."
    return Joined(member, differs)


def _room_urls(room) -> dict:
    """The mirror and index a join answer names (an offline room), each checked as an address;
    what is missing or not an address is left out (an online room)."""
    from workshop.roomurls import check_url

    out = {}
    if isinstance(room, dict):
        for key in ("mirror", "index"):
            try:
                out[key] = check_url(str(room.get(key) or ""), f"--{key}") if room.get(key) else ""
            except UsageError:
                out[key] = ""
    return out


def join_room(
    url: str, code: str, name: str, instructor: bool = False, pin: str = "", ca_file: str = ""
) -> Joined:
    """`workshop join`: join the room (`join`), then examine this machine (`workshop doctor`'s
    findings) and queue its readiness for the room; `Joined.not_ready` names the first finding
    that fails, if one does."""
    from workshop.doctor import FAIL, examine

    joined = join(url, code, name, instructor=instructor, pin=pin, ca_file=ca_file)
    findings, facts = examine()
    readiness(findings, facts)
    failing = [f for f in findings if f.status == FAIL]
    if not failing:
        return joined
    return replace(joined, not_ready=f"{failing[0].topic}: {failing[0].detail}")


@dataclass(frozen=True)
class Left:
    member: Membership
    delivered: bool  # every report, `left` included, reached the server
    waiting: int  # how many reports did not


def leave(wait: float = WAIT) -> Left | None:
    """Tell the room this learner left, deliver what waits (bounded), and forget the membership.
    None when not joined."""
    directory = _home()
    member = membership(directory)
    if member is None:
        return None
    queue([{"at": _now(), "kind": "left"}], directory)
    deliver(wait, directory)
    waiting = len(_read(directory))
    with _locked(directory):
        # every seq given so far: the room may hold any of them, so a join again goes on above
        given = max(
            [int(_state(directory).get("confirmed", 0))] + [r["seq"] for r in _read(directory)]
        )
        _write_json(directory / LEFT, {**member.to_json(), "confirmed": given})
    _forget(directory)
    return Left(member, delivered=waiting == 0, waiting=waiting)
