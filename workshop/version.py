"""The kit's version, from one place (the package's `__version__`)."""

from __future__ import annotations


def kit_version() -> str:
    from workshop import __version__

    return __version__
