"""The kit's own suite: its fixtures live in tests/kit/fixtures.py, a plugin that each lab's own
tests (labs/<id>/tests/, through labs/conftest.py) use too."""

from tests.kit.fixtures import KIT, LABELS, ROBOT, TRACE, Result, Workshop, no_trace

pytest_plugins = ["tests.kit.fixtures"]

__all__ = ["KIT", "LABELS", "ROBOT", "TRACE", "Result", "Workshop", "no_trace"]
