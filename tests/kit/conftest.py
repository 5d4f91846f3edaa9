"""The kit's own suite: its fixtures live in tests/kit/fixtures.py, a plugin that each lab's own
tests (labs/<id>/tests/, through labs/conftest.py) use too."""

pytest_plugins = ["tests.kit.fixtures"]


def __getattr__(name: str):
    """`from tests.kit.conftest import KIT, ROBOT, ...` still works: the names are the plugin's."""
    import tests.kit.fixtures

    return getattr(tests.kit.fixtures, name)
