"""Every input the server takes, checked before anything is stored (pure: no I/O).

A bad field raises `Invalid` with one sentence and the HTTP status to answer; the whole request is
then refused, so a batch with one bad report stores none of them.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from workshop import report as protocol  # the client's side: one contract, never two
from workshop.classroom.catalog import Catalog

MAX_BODY = protocol.BODY_MAX
MAX_REPORTS = protocol.BATCH
MAX_SENTENCE = protocol.SENTENCE_MAX
MAX_DEMO_TEXT = protocol.DEMO_MAX
MAX_FINDINGS = 50
MAX_SHORT = 200  # engine fields, finding topics, context names
MAX_DETAIL = 600
MAX_IMAGES = 50
NAME_MAX = 40
_NAME_CHARS = re.compile(r"^[\w .'\-]+$")
VIAS = set(protocol.VIAS)
ROLES = {"learner", "instructor"}


class Invalid(Exception):
    """A request the server refuses; `str()` is the sentence for the JSON error."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


def _need(body: dict, key: str, kind, what: str):
    value = body.get(key)
    if kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise Invalid(f"`{key}` is missing or is not {what}.")
    return value


def _text(body: dict, key: str, limit: int, *, empty: bool = True) -> str:
    value = _need(body, key, str, "a string")
    if len(value) > limit:
        raise Invalid(f"`{key}` is longer than {limit} characters.")
    if not empty and not value.strip():
        raise Invalid(f"`{key}` is empty.")
    if "\x00" in value:
        raise Invalid(f"`{key}` holds a NUL character.")
    return value


def _only(body: dict, allowed: set[str], what: str) -> None:
    extra = set(body) - allowed
    if extra:
        raise Invalid(f"{what} has unknown field(s): {', '.join(sorted(extra))}.")


def name(raw) -> str:
    """A learner's name: 1-40 characters, letters of any script, digits, space, . - _ ' ;
    trimmed."""
    if not isinstance(raw, str):
        raise Invalid("`name` must be a string.")
    if any(c.isspace() and c != " " for c in raw.strip()):
        raise Invalid("A name is one line of letters, digits and spaces; choose another.")
    trimmed = " ".join(raw.split())
    if not 1 <= len(trimmed) <= NAME_MAX:
        raise Invalid(f"A name is 1 to {NAME_MAX} characters; choose another.")
    if not _NAME_CHARS.match(trimmed):
        raise Invalid("A name may hold letters, digits, spaces and . - _ ' only; choose another.")
    return trimmed


MAX_LABS = 100
MAX_IDS = 500  # steps or mistakes of one lab


def _ids(lab: dict, key: str) -> list[str]:
    values = lab.get(key)
    if (
        not isinstance(values, list)
        or len(values) > MAX_IDS
        or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values)
    ):
        raise Invalid(f"`kit.labs[].{key}` must be a list of at most {MAX_IDS} ids.")
    return values


def kit(raw) -> dict | None:
    """The kit a join request describes: {version, digest, labs: [{id, steps, mistakes}]}, or
    None when the client is too old to send one."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Invalid("`kit` must be an object.")
    _only(raw, {"version", "digest", "labs"}, "`kit`")
    labs = raw.get("labs")
    if not isinstance(labs, list) or len(labs) > MAX_LABS:
        raise Invalid(f"`kit.labs` must be a list of at most {MAX_LABS} labs.")
    clean = []
    for lab in labs:
        if not isinstance(lab, dict):
            raise Invalid("Each of `kit.labs` must be an object.")
        _only(lab, {"id", "steps", "mistakes"}, "A lab of `kit`")
        clean.append(
            {
                "id": _text(lab, "id", 100, empty=False),
                "steps": _ids(lab, "steps"),
                "mistakes": _ids(lab, "mistakes"),
            }
        )
    return {
        "version": _text(raw, "version", 100),
        "digest": _text(raw, "digest", 100),
        "labs": clean,
    }


def join(body) -> tuple[str, str, str, dict | None]:
    """(code, name, role, kit) of a join request."""
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.")
    _only(body, {"code", "name", "role", "kit", "token"}, "A join request")
    code = _text(body, "code", 200, empty=False)
    role = body.get("role", "learner")
    if role not in ROLES:
        raise Invalid("`role` must be learner or instructor.")
    return code, name(body.get("name")), role, kit(body.get("kit"))


def earlier_token(body: dict) -> str:
    """The token a learner already holds for this name (a join pasted again, after a `git
    pull` say), or "" for a first join."""
    return _text(body, "token", 200) if "token" in body else ""


def when(raw) -> float:
    """An RFC 3339 time with a zone, as seconds since the epoch."""
    if not isinstance(raw, str) or len(raw) > 40:
        raise Invalid("`at` must be an RFC 3339 time such as 2026-11-25T09:30:00Z.")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("`at` must be an RFC 3339 time such as 2026-11-25T09:30:00Z.") from None
    if moment.tzinfo is None:
        raise Invalid("`at` needs a time zone (Z or +hh:mm).")
    return moment.timestamp()


def _verdict(report: dict, catalog: Catalog) -> dict:
    _only(
        report,
        set(protocol.FIELDS["verdict"]),
        "A verdict",
    )
    lab = _text(report, "lab", 100)
    step = _text(report, "step", 100)
    if not catalog.knows(lab, step):
        raise Invalid(f"There is no step {step!r} in lab {lab!r} on this server.")
    passed = _need(report, "passed", bool, "true or false")
    mistake = _text(report, "mistake", 100)
    if mistake and mistake not in catalog.mistakes.get(lab, ()):
        raise Invalid(f"Lab {lab!r} names no mistake {mistake!r}.")
    sentence = _text(report, "sentence", MAX_SENTENCE)
    via = report.get("via")
    if via not in VIAS:
        raise Invalid(f"`via` must be one of {', '.join(sorted(VIAS))}.")
    return {
        "lab": lab,
        "step": step,
        "passed": passed,
        "mistake": mistake,
        "sentence": sentence,
        "via": via,
    }


def _readiness(report: dict) -> dict:
    _only(
        report,
        set(protocol.FIELDS["readiness"]),
        "A readiness report",
    )
    ready = _need(report, "ready", bool, "true or false")
    findings = _need(report, "findings", list, "a list")
    if len(findings) > MAX_FINDINGS:
        raise Invalid(f"`findings` holds more than {MAX_FINDINGS} entries.")
    clean = []
    for finding in findings:
        if not isinstance(finding, dict):
            raise Invalid("Each finding must be an object.")
        _only(finding, {"status", "topic", "detail"}, "A finding")
        if finding.get("status") not in {"ok", "warn", "fail"}:
            raise Invalid("A finding's `status` must be ok, warn or fail.")
        clean.append(
            {
                "status": finding["status"],
                "topic": _text(finding, "topic", MAX_SHORT),
                "detail": _text(finding, "detail", MAX_DETAIL),
            }
        )
    engine = report.get("engine", {})
    if not isinstance(engine, dict):
        raise Invalid("`engine` must be an object.")
    _only(engine, {"version", "api", "os", "kind"}, "`engine`")
    engine = {key: _text(engine, key, MAX_SHORT) for key in engine}
    builder = report.get("builder", "")
    if builder not in {"buildkit", "legacy", ""}:
        raise Invalid("`builder` must be buildkit, legacy or empty.")
    context = _text(report, "context", MAX_SHORT) if "context" in report else ""
    disk = report.get("disk_free_gb")
    if disk is not None:
        disk = _need(report, "disk_free_gb", float, "a number or null")
    images = report.get("lab_images", {})
    if (
        not isinstance(images, dict)
        or len(images) > MAX_IMAGES
        or not all(
            isinstance(k, str) and len(k) <= MAX_SHORT and isinstance(v, bool)
            for k, v in images.items()
        )
    ):
        raise Invalid("`lab_images` must map image names to true or false.")
    registry = report.get("registry")
    if registry is not None and not isinstance(registry, bool):
        raise Invalid("`registry` must be true, false or null.")
    pull = _pull(report.get("pull", {"can": None, "because": []}))
    return {
        "ready": ready,
        "findings": clean,
        "engine": engine,
        "builder": builder,
        "context": context,
        "disk_free_gb": disk,
        "lab_images": images,
        "registry": registry,
        "pull": pull,
    }


def _pull(pull) -> dict:
    """Can the learner fetch what the course needs: {"can": true|false|null, "because": [...]}."""
    if not isinstance(pull, dict):
        raise Invalid("`pull` must be an object.")
    _only(pull, {"can", "because"}, "`pull`")
    can = pull.get("can")
    if can is not None and not isinstance(can, bool):
        raise Invalid("`pull.can` must be true, false or null.")
    because = pull.get("because", [])
    if (
        not isinstance(because, list)
        or len(because) > MAX_FINDINGS
        or not all(isinstance(b, str) and len(b) <= MAX_DETAIL for b in because)
    ):
        raise Invalid(f"`pull.because` must be a list of sentences of {MAX_DETAIL} characters.")
    return {"can": can, "because": [b.replace("\x00", "") for b in because]}


def _demo(report: dict) -> dict:
    _only(report, set(protocol.FIELDS["demo"]), "A demo report")
    what = report.get("what")
    if what not in {"step", "command", "output"}:
        raise Invalid("A demo report's `what` must be step, command or output.")
    return {"what": what, "text": _text(report, "text", MAX_DEMO_TEXT)}


def reports(body, role: str, catalog: Catalog) -> list[dict]:
    """The reports of one POST /api/v1/reports, each as {seq, at, kind, data}, in seq order."""
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.")
    _only(body, {"reports"}, "The body")
    batch = body.get("reports")
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_REPORTS:
        raise Invalid(f"`reports` must be a list of 1 to {MAX_REPORTS} reports.")
    out = []
    for report in batch:
        if not isinstance(report, dict):
            raise Invalid("Each report must be an object.")
        seq = _need(report, "seq", int, "a whole number")
        if not 1 <= seq <= 2**62:
            raise Invalid("`seq` must be a positive whole number.")
        at = report.get("at")
        when(at)
        kind = report.get("kind")
        if kind == "verdict":
            data = _verdict(report, catalog)
        elif kind == "readiness":
            data = _readiness(report)
        elif kind == "left":
            _only(report, set(protocol.FIELDS["left"]), "A left report")
            data = {}
        elif kind == "demo":
            if role != "instructor":
                raise Invalid("Only the instructor may send demo reports.", status=403)
            data = _demo(report)
        else:
            raise Invalid("`kind` must be verdict, readiness, left or demo.")
        out.append({"seq": seq, "at": at, "kind": kind, "data": data})
    seqs = [r["seq"] for r in out]
    if seqs != sorted(set(seqs)):
        raise Invalid("The reports' `seq` must increase strictly within a request.")
    return out
