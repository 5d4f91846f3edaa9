"""What a course fetches from the internet: the one answer to "what does this course need".

The labs' manifests say it (`needs.images`, `needs.requirements`); the offline room
(`workshop room prepare`, `bundle`, `serve-images`, `room check`), `workshop doctor` and the
kit's own engine provisioning (scripts/engine) all read it from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from workshop import labs as labs_mod

_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def normalise(ref: str) -> str:
    """An image reference as the engine names it: `alpine` is `docker.io/library/alpine:latest`."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + (name if "/" in name else "library/" + name)
    return name + ("@" + digest if digest else "")


@dataclass(frozen=True)
class ImageNeed:
    ref: str  # as the labs name it (what a learner types): alpine:latest
    labs: tuple[str, ...]  # the labs that need it

    @property
    def full(self) -> str:
        """docker.io/library/alpine:latest"""
        return normalise(self.ref)

    @property
    def repository(self) -> str:
        """library/alpine: the repository's path on its registry"""
        name = self.full.split("@", 1)[0].rsplit(":", 1)[0]
        return name.split("/", 1)[1]

    @property
    def tag(self) -> str:
        name = self.full.split("@", 1)[0]
        return name.rsplit(":", 1)[1]


@dataclass(frozen=True)
class PackageNeed:
    requirements: Path  # a pip requirements file in the kit
    labs: tuple[str, ...]

    def lines(self) -> list[str]:
        """The requirement lines (comments and blanks left out)."""
        out = []
        for raw in self.requirements.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                out.append(line)
        return out


@dataclass(frozen=True)
class CourseNeeds:
    images: tuple[ImageNeed, ...]
    packages: tuple[PackageNeed, ...]
    disk_gb: float

    def refs(self) -> list[str]:
        return [need.ref for need in self.images]


def course_needs(labs: list[labs_mod.Lab] | None = None) -> CourseNeeds:
    """Every image and Python package the labs fetch, once each, in lab order."""
    labs = labs if labs is not None else labs_mod.load_labs()
    by_ref: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for lab in labs:
        for ref in lab.pulls:
            key = normalise(ref)
            names.setdefault(key, ref)
            by_ref.setdefault(key, []).append(lab.id)
    by_file: dict[Path, list[str]] = {}
    for lab in labs:
        for relative in lab.requirements:
            path = lab.paths.root / relative
            by_file.setdefault(path, []).append(lab.id)
    return CourseNeeds(
        images=tuple(ImageNeed(names[key], tuple(ids)) for key, ids in by_ref.items()),
        packages=tuple(PackageNeed(path, tuple(ids)) for path, ids in by_file.items()),
        disk_gb=sum(lab.needs.get("disk_gb", 0.0) for lab in labs),
    )
