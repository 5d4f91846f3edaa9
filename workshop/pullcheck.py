"""Can this learner fetch what the course needs? `workshop doctor`'s network half.

For the room (`roomurls.Room`: its mirror and package index, or none for an online room) and the
course's needs (`needs.course_needs`): does the engine pull through the room's mirror; is each
image here, or pullable (a HEAD on its manifest: no pull is spent; on the room's mirror, which has
no pull limit, its index is read and the engine's platform's manifest asked for); does the package
index answer and hold each pinned requirement; how many anonymous Docker Hub pulls are left.
Every probe is bounded by a short timeout and they run side by side; whatever fails becomes a
finding with one sentence and its fix. Nothing here pulls, and nothing changes the engine's
settings.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from html.parser import HTMLParser

from workshop.doctor import FAIL, OK, WARN, Finding
from workshop.roomurls import Room, normalise

TIMEOUT = 2.5  # seconds for each request
DEADLINE = 4.0  # seconds for all of them, side by side
HUB = "https://registry-1.docker.io"
PYPI = "https://pypi.org/simple/"
MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
)
# Docker documents this request for reading the anonymous pull limit without spending a pull
RATE_REPOSITORY, RATE_TAG = "ratelimitpreview/test", "latest"
PRESENT, PULLABLE, MISSING, UNKNOWN = "present", "pullable", "missing", "unknown"
# the room's mirror lists the engine's platform of an image (or not) but has not its copy; it
# holds one image of another platform only
NO_PLATFORM, ONE_OTHER = "no platform", "one other platform"
# the kernel's names of architectures (`docker info`), as images name them (Go's, `docker version`)
ARCHITECTURES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm/v7",
    "armv6l": "arm/v6",
    "i386": "386",
    "i686": "386",
}


class Unreachable(Exception):
    """No answer (no route, no name, refused, timed out); `str()` says which, briefly."""


def _request(url: str, method: str = "HEAD", headers: dict | None = None):
    """(status, headers) of one bounded request; an HTTP error status is an answer too."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            body = answer.read(2_000_000) if method == "GET" else b""
            return answer.status, answer.headers, body
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers, b""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        said = getattr(reason, "strerror", None) or str(reason) or type(exc).__name__
        raise Unreachable(re.sub(r"^\[Errno -?\d+\] ", "", said)) from None


def _challenge(header: str) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer realm="...",service="..."` challenge."""
    if not header.lower().startswith("bearer "):
        return {}
    return dict(re.findall(r'(\w+)="([^"]*)"', header[7:]))


def _token(challenge: dict[str, str], repository: str) -> str:
    """An anonymous pull token from the registry's auth service ("" when none is given)."""
    realm = challenge.get("realm", "")
    if not realm.startswith(("https://", "http://")):
        return ""
    query = {"scope": f"repository:{repository}:pull"}
    if challenge.get("service"):
        query["service"] = challenge["service"]
    status, _, body = _request(f"{realm}?{urllib.parse.urlencode(query)}", "GET")
    if status != 200:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("token") or data.get("access_token") or "")


def _registry(base: str, repository: str, path: str, method: str = "HEAD"):
    """(status, headers, body) of one request for `repository`'s `path` (manifests/..., blobs/...)
    at registry `base`, with an anonymous token when the registry asks for one (Docker Hub does)."""
    url = f"{base.rstrip('/')}/v2/{repository}/{path}"
    headers = {"Accept": MANIFESTS}
    status, answer, body = _request(url, method, headers)
    if status == 401:
        token = _token(_challenge(answer.get("WWW-Authenticate", "")), repository)
        if token:
            authorised = {**headers, "Authorization": f"Bearer {token}"}
            status, answer, body = _request(url, method, authorised)
    return status, answer, body


def head_manifest(base: str, repository: str, reference: str):
    """(status, headers) of a HEAD on the manifest at registry `base`. A HEAD spends no pull."""
    status, answer, _ = _registry(base, repository, f"manifests/{reference}")
    return status, answer


def parse_ratelimit(headers) -> tuple[int, int] | None:
    """(remaining, limit) from Docker Hub's `ratelimit-remaining: 76;w=21600` and
    `ratelimit-limit: 100;w=21600` headers; None when they are absent (no limit applies)."""
    values = []
    for name in ("ratelimit-remaining", "ratelimit-limit"):
        raw = headers.get(name) if headers is not None else None
        match = re.match(r"\s*(\d+)", str(raw or ""))
        if not match:
            return None
        values.append(int(match.group(1)))
    return values[0], values[1]


def window_hours(headers) -> float | None:
    match = re.search(r"w=(\d+)", str(headers.get("ratelimit-limit") or ""))
    return int(match.group(1)) / 3600 if match else None


# --- the package index ---------------------------------------------------------------------


def canonical(name: str) -> str:
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;,]+)")


def pins(lines: list[str]) -> list[tuple[str, str]]:
    """(name, version) of each `name==version` requirement (extras and markers left out)."""
    out = []
    for line in lines:
        match = _PIN.match(line)
        if match:
            out.append((match.group(1), match.group(2)))
    return out


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.files: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href") or ""
            path = urllib.parse.urlsplit(href).path
            self.files.append(urllib.parse.unquote(path.rsplit("/", 1)[-1]))


def file_names(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return [name for name in parser.files if name]


def holds(files: list[str], name: str, version: str) -> bool:
    """A project page's files hold a wheel or sdist of `name` at exactly `version`."""
    want = (canonical(name), version.lower())
    for file in files:
        lower = file.lower()
        if lower.endswith(".whl"):
            parts = file.split("-")
            if len(parts) >= 5 and (canonical(parts[0]), parts[1].lower()) == want:
                return True
            continue
        for ending in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
            if lower.endswith(ending):
                stem = file[: -len(ending)]
                project, _, found = stem.rpartition("-")
                if (canonical(project), found.lower()) == want:
                    return True
    return False


def course_pythons(refs: list[str]) -> list[str]:
    """The Python versions of the course's python images (python:3.12-slim -> 3.12), which its
    builds pip-install into; [] when it has none."""
    found = set()
    for ref in refs:
        name, _, tag = ref.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")
        match = re.match(r"(\d+)\.(\d+)", tag)
        if name == "python" and match:
            found.add(f"{match[1]}.{match[2]}")
    return sorted(found)


def _python_fits(interpreters: str, abis: str, python: str) -> bool:
    """A wheel's Python and ABI tags (`cp312`, `py3`, `cp38` with `abi3`) install on `python`
    (3.12), as pip's own tag order takes them; a free-threaded build's (`cp313t`) do not."""
    major, minor = (int(part) for part in python.split("."))
    abi = abis.split(".")
    if all(tag.endswith("t") and tag.startswith("cp") for tag in abi):
        return False
    for tag in interpreters.split("."):
        match = re.fullmatch(r"(py|cp)(\d)(\d*)", tag)
        if not match or int(match[2]) != major:
            continue
        wanted = int(match[3]) if match[3] else None
        if match[1] == "py" and (wanted is None or wanted <= minor):
            return True
        if match[1] == "cp" and (wanted == minor or ("abi3" in abi and (wanted or 0) <= minor)):
            return True
    return False


# a wheel's platform tag for glibc Linux: manylinux1_x86_64, manylinux_2_17_aarch64, linux_armv7l
_LINUX = re.compile(r"(?:manylinux(?:1|2010|2014|_2_(?P<glibc>\d+))|linux)_(?P<arch>\w+)")


def _platform_fits(platforms: str, arch: str, glibc: int) -> bool:
    """A wheel's platform tags install on Linux `arch` (aarch64) with glibc 2.`glibc`."""
    for tag in platforms.split("."):
        match = _LINUX.fullmatch(tag)
        if tag == "any" or (match and match["arch"] == arch and int(match["glibc"] or 17) <= glibc):
            return True
    return False


def wheel_fit(
    files: list[str], name: str, version: str, platform: str, pythons: list[str]
) -> tuple[str, set[str]]:
    """Can pip install `name==version` from these files on `platform` (linux/arm64), for each of
    `pythons` (none: any Python)? ("wheel", _) a wheel fits; ("source", _) none does, but the
    source is there (pip builds it); ("none", _) neither. And the architectures (x86_64) its
    platform-specific wheels are built for: it has compiled parts."""
    from workshop.room.wheels import ARCH, GLIBC

    go_arch = platform.split("/")[1]
    arch = ARCH.get(go_arch, go_arch)
    want = (canonical(name), version.lower())
    fits = {python: False for python in pythons or [""]}
    built_for: set[str] = set()
    for file in files:
        if not file.lower().endswith(".whl"):
            continue
        parts = file[:-4].split("-")
        if len(parts) not in (5, 6) or (canonical(parts[0]), parts[1].lower()) != want:
            continue
        interpreters, abis, platforms = parts[-3:]
        for tag in platforms.split("."):
            match = _LINUX.fullmatch(tag)
            if match:
                built_for.add(match["arch"])
        if not _platform_fits(platforms, arch, GLIBC):
            continue
        for python in fits:
            fits[python] = fits[python] or not python or _python_fits(interpreters, abis, python)
    if all(fits.values()):
        return "wheel", built_for
    source = holds([file for file in files if not file.lower().endswith(".whl")], name, version)
    return ("source" if source else "none"), built_for


def project_files(index: str, name: str) -> list[str] | None:
    """The files the PEP 503 index lists for `name`; None when it has no such project."""
    status, _, body = _request(f"{index.rstrip('/')}/{canonical(name)}/", "GET")
    if status == 404:
        return None
    if status != 200:
        raise Unreachable(f"HTTP {status}")
    return file_names(body.decode("utf-8", "replace"))


# --- what the learner is told ----------------------------------------------------------------


@dataclass
class Pull:
    """The `pull` fact readiness carries: can this learner fetch what the course needs?
    `can` is True, False (`because` says why) or None (could not be checked)."""

    can: bool | None = True
    because: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"can": self.can, "because": list(self.because)}


def _host_port(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc


def mirror_fix(mirror: str, kind: str, rootless: bool = False) -> str:
    """How to point this engine at the room's mirror, in one sentence: Docker Desktop's settings
    page, Podman's registries.conf, or daemon.json (a rootless engine's own) and a restart."""
    lines = {"registry-mirrors": [mirror]}
    if mirror.startswith("http://"):
        lines["insecure-registries"] = [_host_port(mirror)]
    settings = json.dumps(lines)[1:-1]
    if kind == "Docker Desktop":
        return (
            f"in Docker Desktop, open Settings → Docker Engine, add {settings} to its JSON, "
            "then Apply & restart"
        )
    if kind == "Podman":
        insecure = "insecure = true " if mirror.startswith("http://") else ""
        return (
            "add to /etc/containers/registries.conf (on a Mac or Windows, inside `podman "
            'machine ssh`): [[registry]] location = "docker.io" [[registry.mirror]] '
            f'location = "{_host_port(mirror)}" {insecure}then restart Podman'
        )
    where, restart = "/etc/docker/daemon.json", "sudo systemctl restart docker"
    if rootless:
        where, restart = "~/.config/docker/daemon.json", "systemctl --user restart docker"
    return (
        f"add {settings} to {where} (make it if there is none: {{{settings}}}), then "
        f"`{restart}` (Docker Desktop: Settings → Docker Engine, the same lines, Apply & restart)"
    )


def uses_mirror(info: dict, mirror: str) -> bool:
    """The engine pulls Docker Hub's images through `mirror` (compared as addresses)."""
    config = info.get("RegistryConfig") or {}
    mirrors = list(config.get("Mirrors") or [])
    hub = (config.get("IndexConfigs") or {}).get("docker.io")
    if isinstance(hub, dict):
        mirrors += hub.get("Mirrors") or []
    return normalise(mirror) in {normalise(m) for m in mirrors}


def rootless(info: dict) -> bool:
    """A rootless Docker engine: its daemon.json is the user's own."""
    return any("rootless" in str(option) for option in info.get("SecurityOptions") or [])


def insecure_ok(info: dict, mirror: str) -> bool:
    """An http mirror is one the engine may use over plain http: listed as insecure, or in an
    insecure address range (127.0.0.0/8 is by default)."""
    if not mirror.startswith("http://"):
        return True
    config = info.get("RegistryConfig") or {}
    host_port = _host_port(mirror)
    entry = (config.get("IndexConfigs") or {}).get(host_port)
    if isinstance(entry, dict) and entry.get("Secure") is False:
        return True
    host = urllib.parse.urlsplit(mirror).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for cidr in config.get("InsecureRegistryCIDRs") or []:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


def engine_platform(info: dict, version: dict | None = None) -> str:
    """The platform the engine pulls images for, as an image index names it: linux/amd64,
    linux/arm64, linux/arm/v7; "" when the engine does not say. `docker version` gives Go's names
    (Os, Arch: arm64), `docker info` the kernel's (OSType, Architecture: aarch64)."""
    version = version or {}
    system = str(version.get("Os") or info.get("OSType") or "").lower()
    arch = str(version.get("Arch") or info.get("Architecture") or "").lower()
    if not system or not arch:
        return ""
    arch = ARCHITECTURES.get(arch, arch)
    if arch == "arm":  # Go's arm: the kernel's name says which
        kernel = ARCHITECTURES.get(str(info.get("Architecture", "")).lower(), "")
        arch = kernel if kernel.startswith("arm/") else arch
    return f"{system}/{arch}"


def internet_off() -> bool:
    """WORKSHOP_REGISTRY=off: ask nothing on the internet (the room's own servers still are)."""
    return os.environ.get("WORKSHOP_REGISTRY", "").strip().lower() == "off"


def examine(
    room: Room,
    info: dict,
    present: dict[str, bool],
    needs,
    kind: str = "",
    platform: str | None = None,
):
    """The findings about fetching the course's needs, and the `pull` fact. `present`: each
    image need's ref -> whether the engine has it; `platform`: the engine's (linux/arm64;
    default: what `info` says, `engine_platform`)."""
    platform = engine_platform(info) if platform is None else platform
    found: list[Finding] = []
    pull = Pull()
    failed: list[str] = []
    unknown: list[str] = []
    off = internet_off()

    # every image the labs need is on the engine already: the mirror would be for later pulls
    all_here = all(present.get(need.ref) for need in needs.images)
    ready_here = "but every image the labs need is here already: ready"
    if room.mirror:
        fix = mirror_fix(room.mirror, kind, rootless(info))
        if not uses_mirror(info, room.mirror):
            said = f"your engine does not pull through the room's mirror {room.mirror}"
            if all_here:
                sentence = f"{said}, {ready_here} (to pull through the room later: {fix})"
                found.append(Finding(WARN, "room mirror", sentence))
            else:
                sentence = (
                    f"{said}, so pulls go to Docker Hub, which this room may not reach: {fix}"
                )
                found.append(Finding(FAIL, "room mirror", sentence))
                failed.append(f"engine does not use the room's mirror {room.mirror}")
        elif not insecure_ok(info, room.mirror):
            said = (
                f"your engine lists the room's mirror {room.mirror} but may not use it over "
                "plain http"
            )
            if all_here:
                sentence = f"{said}, {ready_here} (to pull through the room later: {fix})"
                found.append(Finding(WARN, "room mirror", sentence))
            else:
                found.append(Finding(FAIL, "room mirror", f"{said}: {fix}"))
                failed.append(f"engine may not use the http mirror {room.mirror}")
        else:
            found.append(
                Finding(
                    OK, "room mirror", f"your engine pulls through the room's mirror {room.mirror}"
                )
            )

    # what to ask, side by side
    jobs: dict = {}
    absent = [need for need in needs.images if not present.get(need.ref)]
    pool = ThreadPoolExecutor(max_workers=8)
    try:
        for need in absent:
            _, base = _registry_of(need, room)
            if base is None:
                continue
            if room.mirror and base == room.mirror and platform:
                job = pool.submit(_mirror_image_status, base, need, platform)
            else:
                job = pool.submit(_image_status, base, need)
            jobs[("image", need.ref)] = job
        if room.mirror:
            jobs[("mirror",)] = pool.submit(_request, f"{room.mirror}/v2/", "GET")
        engine_mirrors = (info.get("RegistryConfig") or {}).get("Mirrors") or []
        if not room.mirror and not engine_mirrors and not off:
            jobs[("rate",)] = pool.submit(head_manifest, HUB, RATE_REPOSITORY, RATE_TAG)
        index = room.index or ("" if off else PYPI)
        requirements = [pin for package in needs.packages for pin in pins(package.lines())]
        if index:
            for name, version in requirements:
                jobs[("pin", name, version)] = pool.submit(project_files, index, name)
        results = {}
        deadline = time.monotonic() + DEADLINE
        for key, future in jobs.items():
            try:
                results[key] = ("ok", future.result(max(0.0, deadline - time.monotonic())))
            except Unreachable as exc:
                results[key] = ("down", str(exc))
            except FutureTimeout:
                results[key] = ("down", f"no answer within {DEADLINE:g} s")
            except Exception as exc:  # a probe never stops doctor: it is said, as not answering
                results[key] = ("down", f"{type(exc).__name__}: {exc}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    mirror_down = ""
    if ("mirror",) in results and results[("mirror",)][0] == "ok":
        status = results[("mirror",)][1][0]
        if status not in (200, 401):
            mirror_down = f"HTTP {status} at /v2/: is it the registry's address?"
    if ("mirror",) in results and results[("mirror",)][0] == "down":
        mirror_down = results[("mirror",)][1]
    if mirror_down and all_here:
        found.append(
            Finding(
                WARN,
                "room mirror",
                f"the room's mirror {room.mirror} does not answer from this machine "
                f"({mirror_down}), {ready_here} (to pull through the room later, join the "
                "room's network, its Wi-Fi)",
            )
        )
    elif mirror_down:
        here = [need.ref for need in needs.images if present.get(need.ref)]
        found.append(
            Finding(
                FAIL,
                "room mirror",
                f"the room's mirror {room.mirror} does not answer from this machine "
                f"({mirror_down}): join the room's network (its Wi-Fi), or ask your instructor "
                "whether the mirror runs" + (f"; {', '.join(here)} here already" if here else ""),
            )
        )
        failed.append(f"the room's mirror {room.mirror} does not answer ({mirror_down})")

    # images
    silent: dict[str, list[str]] = {}  # where -> images that could not be checked there
    for need in needs.images:
        if present.get(need.ref):
            found.append(Finding(OK, f"image {need.ref}", "here already"))
            continue
        where, base = _registry_of(need, room)
        outcome = results.get(("image", need.ref))
        if outcome is None:  # nothing asked (WORKSHOP_REGISTRY=off)
            unknown.append(f"{need.ref}: not here, and not checked")
            continue
        state, value = outcome
        if state == "down" and mirror_down and where.startswith("the room's mirror"):
            continue  # said once above
        if state == "down":
            silent.setdefault(f"{where} ({value})", []).append(need.ref)
            continue
        status, platforms = value
        if status == PULLABLE:
            found.append(Finding(OK, f"image {need.ref}", f"not here yet; pullable from {where}"))
        elif status == NO_PLATFORM:
            wanted = " ".join(f"--platform {p}" for p in sorted({*platforms, platform}))
            sentence = (
                f"not here, and the room's mirror has no copy of it for your engine's {platform} "
                f"(it holds {', '.join(platforms) or 'none of its platforms'}): ask your "
                f"instructor to prepare {platform} too (`workshop room prepare {wanted}`)"
            )
            found.append(Finding(FAIL, f"image {need.ref}", sentence))
            failed.append(f"{need.ref}: no {platform} copy on {where}")
        elif status == ONE_OTHER:
            other = platforms[0]
            sentence = (
                f"not here; {where} holds it for {other} only (one image, no other platform), "
                f"not for your engine's {platform}: it runs only if your engine emulates {other} "
                "(Docker Desktop does)"
            )
            found.append(Finding(WARN, f"image {need.ref}", sentence))
        elif status == MISSING:
            fix = (
                "ask your instructor: the room's mirror is missing it (`workshop room check`)"
                if room.mirror and where.startswith("the room's mirror")
                else "check the name in the lab, or the registry's address"
            )
            sentence = f"not here, and {where} does not have it: {fix}"
            found.append(Finding(FAIL, f"image {need.ref}", sentence))
            failed.append(f"{need.ref}: not on {where}")
        else:
            silent.setdefault(f"{where} ({status})", []).append(need.ref)
    for where, refs in silent.items():
        what = ", ".join(refs)
        if room.mirror and where.startswith("the room's mirror"):
            found.append(
                Finding(
                    FAIL,
                    "room mirror",
                    f"cannot check {what}: {where} gives no clear answer; ask your "
                    "instructor (`workshop room check` checks the mirror)",
                )
            )
            failed.append(f"{what}: {where} gives no clear answer")
        else:
            found.append(
                Finding(
                    WARN,
                    "images",
                    f"cannot check whether {what} can be pulled: {where} does not answer from "
                    "this machine; pull them while you are online, or check the network",
                )
            )
            unknown.append(f"{what}: cannot check")

    # Docker Hub's anonymous pulls
    if ("rate",) in results:
        state, value = results[("rate",)]
        needed = sum(1 for need in absent if need.full.startswith("docker.io/"))
        if state == "down":
            found.append(
                Finding(
                    WARN,
                    "Docker Hub pulls",
                    f"cannot check the anonymous pulls left: Docker Hub does not answer ({value})",
                )
            )
        else:
            status, headers = value
            found.append(rate_finding(parse_ratelimit(headers), needed, window_hours(headers)))
            if found[-1].status == FAIL:
                failed.append("Docker Hub's anonymous pull limit is used up")

    # the package index
    if index and requirements:
        named = "the room's package index" if room.index else "PyPI"
        down = [v for key, (state, v) in results.items() if key[0] == "pin" and state != "ok"]
        if down:
            severity = FAIL if room.index else WARN
            found.append(
                Finding(
                    severity,
                    "package index",
                    f"{named} {index} does not answer from this machine ({down[0]}): builds that "
                    "pip install will fail; "
                    + (
                        "join the room's network, or ask your instructor whether it runs"
                        if room.index
                        else "check the network or the proxy settings"
                    ),
                )
            )
            (failed if room.index else unknown).append(f"{named} does not answer")
        else:
            lacking = []
            for name, version in requirements:
                files = results[("pin", name, version)][1]
                if files is None or not holds(files, name, version):
                    lacking.append(f"{name}=={version}")
            if lacking:
                found.append(
                    Finding(
                        FAIL,
                        "package index",
                        f"{named} {index} has no {', '.join(lacking)}: the image builds' pip "
                        "install will fail"
                        + ("; ask your instructor (`workshop room check`)" if room.index else ""),
                    )
                )
                failed.append(f"{named} lacks {', '.join(lacking)}")
            held = {
                (name, version): results[("pin", name, version)][1]
                for name, version in requirements
                if f"{name}=={version}" not in lacking
            }
            if held and platform.startswith("linux/"):
                pythons = course_pythons(needs.refs())
                said, fails = wheels_finding(held, named, index, platform, pythons, room.index)
                found += said
                failed += fails
            elif not lacking:
                pinned = ", ".join(f"{n}=={v}" for n, v in requirements)
                found.append(Finding(OK, "package index", f"{named} {index} has {pinned}"))

    if failed:
        pull.can, pull.because = False, failed
    elif unknown:
        pull.can, pull.because = None, unknown
    return found, pull


def wheels_finding(
    held: dict[tuple[str, str], list[str]],
    named: str,
    index: str,
    platform: str,
    pythons: list[str],
    room_index: str = "",
) -> tuple[list[Finding], list[str]]:
    """Does the index hold, for each pinned requirement it has (`held`: (name, version) -> its
    files), a wheel pip installs in the course's images on the engine's `platform`, as the
    files' names tell? Their dependencies are not resolved: the sentence says so. (findings,
    reasons the learner cannot pull)."""
    from workshop.room.wheels import ARCH

    what = f"Python {', '.join(pythons)} on {platform}" if pythons else platform
    fits: dict[str, tuple[str, set[str]]] = {
        f"{name}=={version}": wheel_fit(files, name, version, platform, pythons)
        for (name, version), files in held.items()
    }
    arch = ARCH.get(platform.split("/")[1], platform.split("/")[1])
    unfit = [pin for pin, (how, _) in fits.items() if how == "none"]
    compiled = [pin for pin, (how, built) in fits.items() if how == "source" and built]
    source = [pin for pin, (how, built) in fits.items() if how == "source" and not built]
    found: list[Finding] = []
    failed: list[str] = []
    if unfit:
        built = {a for pin in unfit for a in fits[pin][1]}
        if room_index and built and arch not in built:
            names = {wheel: go for go, wheel in ARCH.items()}
            platforms = sorted({f"linux/{names.get(a, a)}" for a in built} | {platform})
            fix = (
                f"; ask your instructor to prepare {platform} too (`workshop room prepare "
                + " ".join(f"--platform {p}" for p in platforms)
                + "`)"
            )
        elif room_index:
            fix = "; ask your instructor (`workshop room check`)"
        else:
            fix = "; tell your instructor"
        found.append(
            Finding(
                FAIL,
                "package index",
                f"{named} {index} has no wheel of {', '.join(unfit)} for {what}, nor its source: "
                f"the image builds' pip install will fail on your engine{fix}",
            )
        )
        failed.append(f"{named} has no wheel of {', '.join(unfit)} for {what}")
    for pin in compiled:
        built = ", ".join(sorted(fits[pin][1]))
        found.append(
            Finding(
                WARN,
                "package index",
                f"{named} {index} has {pin} for {what} only as its source (its wheels are built "
                f"for {built}): pip builds it in the image, which fails if it needs a compiler "
                "the image lacks",
            )
        )
    good = [pin for pin, (how, _) in fits.items() if how == "wheel"]
    if good or source:
        sentence = f"{named} {index} has " + ", ".join(good + source)
        if good:
            sentence += f"; a wheel for {what} of " + (
                "each" if len(good) == len(fits) else ", ".join(good)
            )
        if source:
            sentence += f"; only the source of {', '.join(source)}, which pip builds"
        sentence += " (the pinned requirements only, not what they depend on)"
        found.append(Finding(OK, "package index", sentence))
    return found, failed


def rate_finding(read: tuple[int, int] | None, needed: int, hours: float | None = None) -> Finding:
    """Docker Hub's anonymous pulls left for this address, against the pulls the labs need."""
    if read is None:
        return Finding(OK, "Docker Hub pulls", "no anonymous pull limit reported for this address")
    remaining, limit = read
    window = f" in {hours:g} h" if hours else ""
    said = f"{remaining} of {limit} anonymous pulls left for this address{window}"
    if remaining < max(needed, 1):
        status = FAIL if remaining == 0 else WARN
        return Finding(
            status,
            "Docker Hub pulls",
            f"{said}, and the labs need {needed}: everyone behind the same address (the room's "
            "network) shares them; `docker login` (a free account has more), or pull the images "
            "where the limit is not spent, or ask for the room's mirror",
        )
    return Finding(OK, "Docker Hub pulls", f"{said}; the labs need {needed}")


def _registry_of(need, room: Room) -> tuple[str, str | None]:
    """(where, base URL) to ask for an image: the room's mirror for Docker Hub's images when
    the room has one, else the image's own registry (None: asked nothing)."""
    full = need.full
    host = full.split("/", 1)[0]
    if host == "docker.io":
        if room.mirror:
            return f"the room's mirror {room.mirror}", room.mirror
        return "Docker Hub", None if internet_off() else HUB
    if internet_off():
        return host, None
    return host, f"https://{host}"


def _reference(need) -> str:
    return need.full.split("@", 1)[1] if "@" in need.full else need.tag


def _image_status(base: str, need) -> tuple[str, list[str]]:
    """(PULLABLE, MISSING, or the HTTP status as text: an answer that says neither; [])."""
    status, _ = head_manifest(base, need.repository, _reference(need))
    if status == 200:
        return PULLABLE, []
    if status == 404:
        return MISSING, []
    return f"HTTP {status}", []


def _mirror_image_status(base: str, need, platform: str) -> tuple[str, list[str]]:
    """On the room's mirror, which has no pull limit, the manifest is read, not only HEADed: a
    store prepared for some platforms serves the tag's index of every platform, and the
    manifests of those it was prepared for only. (PULLABLE, []) when the engine's `platform`'s
    manifest is there; (NO_PLATFORM, the platforms whose manifests are there) when not;
    (ONE_OTHER, [its platform]) for an image of one platform, another; else as
    `_image_status`."""
    from workshop.room.v2 import platform_matches, platform_name

    repository = need.repository
    status, _, body = _registry(base, repository, f"manifests/{_reference(need)}", "GET")
    if status == 404:
        return MISSING, []
    if status != 200:
        return f"HTTP {status}", []
    try:
        manifest = json.loads(body)
    except ValueError:
        return "HTTP 200 without a manifest", []
    if isinstance(manifest.get("manifests"), list):  # an index: one manifest per platform
        listed = [
            entry
            for entry in manifest["manifests"]
            if isinstance(entry.get("platform"), dict)
            and entry["platform"].get("os") != "unknown"  # attestations, not images
        ]
        mine = [entry for entry in listed if platform_matches(platform, entry["platform"])]
        for entry in mine[:1]:
            status, _ = head_manifest(base, repository, entry["digest"])
            if status == 200:
                return PULLABLE, []
            if status != 404:
                return f"HTTP {status}", []
        held = []
        for entry in listed:
            if entry not in mine and head_manifest(base, repository, entry["digest"])[0] == 200:
                held.append(platform_name(entry["platform"]))
        return NO_PLATFORM, sorted(set(held))
    config = (manifest.get("config") or {}).get("digest")
    if not config:
        return PULLABLE, []
    status, _, body = _registry(base, repository, f"blobs/{config}", "GET")
    try:
        own = json.loads(body) if status == 200 else {}
    except ValueError:
        own = {}
    if not own.get("architecture") or platform_matches(platform, own):
        return PULLABLE, []  # its config does not say, or says the engine's platform
    return ONE_OTHER, [platform_name(own)]
