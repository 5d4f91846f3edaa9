"""Python wheels for the images' Python, and the static PEP 503 index generated from them.

`pip download --only-binary :all:` with `--python-version` and the manylinux platform tags of
each target architecture fetches exactly what a `pip install -r requirements.txt` inside a
`python:X.Y-slim` build (Debian, glibc 2.36) would install. The index is plain files
(simple/index.html, simple/<project>/index.html with `#sha256=` links): any static HTTP server
serves it, and pip needs nothing else.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import subprocess
import sys
from pathlib import Path

from workshop.room.store import RoomError, Store, sha256_file

ARCH = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "arm": "armv7l",
    "386": "i686",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
}
GLIBC = 36  # Debian 12 (bookworm), the base of python:3.x-slim


def platform_tags(platform: str) -> list[str]:
    """linux/arm64 -> manylinux2014_aarch64, manylinux_2_17_aarch64 ... manylinux_2_36_aarch64."""
    arch = ARCH.get(platform.split("/")[1], platform.split("/")[1])
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC, 16, -1)]
    return [*tags, f"manylinux2014_{arch}", f"linux_{arch}"]


def pythons(image_refs: list[str]) -> list[str]:
    """The Python versions of the course's python images (python:3.12-slim -> 3.12); the kit's
    own Python when the course has none."""
    found = []
    for ref in image_refs:
        name, _, tag = ref.partition(":")
        if name.rsplit("/", 1)[-1] == "python":
            match = re.match(r"(\d+)\.(\d+)", tag or "")
            if match:
                found.append(f"{match[1]}.{match[2]}")
    return sorted(set(found)) or [f"{sys.version_info[0]}.{sys.version_info[1]}"]


def set_key(lines: list[str], python: str, platform: str) -> str:
    text = "\n".join(lines) + f"\n{python}\n{platform}\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pip_download(
    requirements: Path,
    dest: Path,
    python: str,
    platform: str,
    index: str | None = None,
    isolated: bool = False,
) -> tuple[list[str], str]:
    """Run pip download; return (the wheel files it names, its output)."""
    version = python.replace(".", "")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary",
        ":all:",
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--abi",
        f"cp{version}",
        "--abi",
        "abi3",
        "--abi",
        "none",
        "--dest",
        str(dest),
        "-r",
        str(requirements),
    ]
    for tag in platform_tags(platform):
        command += ["--platform", tag]
    if index:
        command += ["--index-url", index]
        host = re.sub(r"^\w+://([^/:]+).*$", r"\1", index)
        command += ["--trusted-host", host]
    if isolated:
        command.insert(3, "--isolated")
        command += ["--no-cache-dir"]
    env = dict(os.environ)
    if isolated:
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        last = [line for line in output.strip().splitlines() if line.strip()][-1:] or ["?"]
        raise RoomError(
            f"pip could not download {requirements.name} for Python {python} {platform}: "
            f"{last[0].strip()}"
        )
    # a whole line: the store's path may hold spaces (macOS: ~/Library/Application Support)
    files = re.findall(r"^\s*(?:Saved|File was already downloaded) (.+\.whl)\s*$", output, re.M)
    return [Path(f).name for f in files], output


def project_of(filename: str) -> str:
    """flask-3.1.3-py3-none-any.whl -> flask (PEP 503 normalised)."""
    return re.sub(r"[-_.]+", "-", filename.split("-", 1)[0]).lower()


def write_index(folder: Path) -> int:
    """simple/index.html and simple/<project>/index.html for the wheels in FOLDER."""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(folder.glob("*.whl")):
        projects.setdefault(project_of(wheel.name), []).append(wheel)
    simple = folder / "simple"
    simple.mkdir(exist_ok=True)
    rows = [f'<a href="{name}/">{name}</a><br>' for name in sorted(projects)]
    _page(simple / "index.html", "Simple index", rows)
    for name, wheels in projects.items():
        rows = [
            f'<a href="../../{html.escape(w.name)}#sha256={sha256_file(w)}">'
            f"{html.escape(w.name)}</a><br>"
            for w in wheels
        ]
        (simple / name).mkdir(exist_ok=True)
        _page(simple / name / "index.html", f"Links for {name}", rows)
    return len(projects)


def _page(path: Path, title: str, rows: list[str]) -> None:
    body = "\n".join(rows)
    path.write_text(
        f'<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{title}</title></head><body>\n{body}\n</body></html>\n"
    )


def fetch(
    store: Store,
    data: dict,
    requirement_files: list[tuple[str, Path]],
    python_versions: list[str],
    platforms: list[str],
    say,
    index: str | None = None,
) -> int:
    """Download the wheels each requirements file needs, for each Python and platform, unless
    room.json already records that set with every file present. Return the files downloaded."""
    wheels = data["wheels"]
    fetched = 0
    for label, path in requirement_files:
        lines = [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()]
        lines = [line for line in lines if line]
        for python in python_versions:
            for platform in platforms:
                key = set_key(lines, python, platform)
                known = wheels["sets"].get(key)
                if known and all(
                    (store.wheels / name).exists()
                    and wheels["files"].get(name, {}).get("size")
                    == (store.wheels / name).stat().st_size
                    for name in known["files"]
                ):
                    say(
                        f"wheels {label} Python {python} {platform}: in the store "
                        f"({len(known['files'])} files)"
                    )
                    continue
                before = {p.name for p in store.wheels.glob("*.whl")}
                names, _ = pip_download(path, store.wheels, python, platform, index)
                new = [n for n in names if n not in before]
                fetched += len(new)
                for name in names:
                    file = store.wheels / name
                    wheels["files"][name] = {
                        "sha256": sha256_file(file),
                        "size": file.stat().st_size,
                    }
                wheels["sets"][key] = {
                    "requirements": label,
                    "python": python,
                    "platform": platform,
                    "files": sorted(names),
                }
                say(
                    f"wheels {label} Python {python} {platform}: {len(names)} files, "
                    f"{len(new)} downloaded"
                )
    write_index(store.wheels)
    return fetched
