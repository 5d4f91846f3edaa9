"""A hands-on Docker workshop: labs whose steps are checked against the learner's real engine."""

from workshop.version import VERSION as __version__

__all__ = ["__version__"]
