"""The room's mirror and index as addresses, and the `{room:...}` placeholders step texts use."""

from __future__ import annotations

import pytest

from tests.kit import curriculum
from workshop.errors import UsageError
from workshop.labs import lint, load_labs
from workshop.roomurls import Room, check_url, normalise


def test_addresses_are_checked_and_written_one_way():
    assert check_url(" http://10.0.0.5:5000/ ", "--mirror") == "http://10.0.0.5:5000"
    assert check_url("HTTP://Mirror.Example", "--mirror") == "http://mirror.example"
    assert check_url("http://10.0.0.5:3141/simple", "--index") == "http://10.0.0.5:3141/simple/"


@pytest.mark.parametrize(
    ("option", "text", "said"),
    [
        ("--mirror", "10.0.0.5:5000", "is not an address learners can reach: write it as "
         "http://10.0.0.5:5000."),
        ("--mirror", "http://10.0.0.5:5000/v2/", "has a path: a registry mirror is HOST:PORT"),
        ("--index", "http://10.0.0.5:x/simple/", "has a port that is not a number"),
        ("--index", "http://u:p@10.0.0.5/simple/", "carries more than an address"),
        ("--index", "ftp://10.0.0.5/simple/", "write it as http://10.0.0.5:3141/simple/."),
    ],
)  # fmt: skip
def test_a_bad_address_is_one_sentence(option, text, said):
    with pytest.raises(UsageError) as raised:
        check_url(text, option)
    assert str(raised.value).startswith(f"{option} {text!r} ") and said in str(raised.value)


def test_mirrors_compare_as_addresses():
    assert normalise("http://127.0.0.1:5000/") == normalise("HTTP://127.0.0.1:5000")
    assert normalise("https://mirror.example") == normalise("https://mirror.example:443/")
    assert normalise("127.0.0.1:5000") == "https://127.0.0.1:5000"
    assert normalise("http://127.0.0.1:5000") != normalise("http://127.0.0.1:5001")


def test_the_placeholders_are_empty_online_and_the_rooms_offline():
    text = "docker image build{room:pip-build-args} -t x ."
    assert Room().render(text) == "docker image build -t x ."
    assert Room(index="https://pypi.room.example/simple/").render(text) == (
        "docker image build --build-arg PIP_INDEX_URL=https://pypi.room.example/simple/ -t x ."
    )
    assert Room(index="http://10.0.0.5:3141/simple/").render(text) == (
        "docker image build --build-arg PIP_INDEX_URL=http://10.0.0.5:3141/simple/ "
        "--build-arg PIP_TRUSTED_HOST=10.0.0.5 -t x ."
    )
    assert Room("http://10.0.0.5:5000").render("{room:mirror} {room:index}") == (
        "http://10.0.0.5:5000 "
    )


def test_step_texts_take_the_room_from_the_environment(tmp_path, monkeypatch):
    labs = curriculum.write(tmp_path)
    first = labs / "demo" / "steps" / "first.md"
    first.write_text(first.read_text() + "\nThe room's index: `{room:index}`.\n")
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WORKSHOP_INDEX", raising=False)
    step = load_labs(labs)[0].steps[0]
    assert "The room's index: ``." in step.instructions
    monkeypatch.setenv("WORKSHOP_INDEX", "http://10.0.0.5:3141/simple/")
    assert "The room's index: `http://10.0.0.5:3141/simple/`." in step.instructions
    monkeypatch.setenv("WORKSHOP_INDEX", "not a url")  # rendered as online; doctor says why
    assert "The room's index: ``." in step.instructions


def test_lint_finds_a_room_placeholder_that_is_not_one(tmp_path):
    labs = curriculum.write(tmp_path)
    first = labs / "demo" / "steps" / "first.md"
    first.write_text(first.read_text() + "\nBuild with `{room:pip-args}`.\n")
    (problem,) = lint(load_labs(labs))
    assert "`{room:pip-args}` in first.md is no room placeholder" in problem
    assert "{room:pip-build-args}" in problem
