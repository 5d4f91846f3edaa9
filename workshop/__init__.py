"""A hands-on Docker workshop: labs whose steps are checked against the learner's real engine."""

__version__ = "0.1.0"
