"""What two kits share (the labs' digest and what differs) and how a learner's client trusts an
HTTPS room (the certificate's pin): pure logic, on the fixture curriculum."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.kit import curriculum
from workshop import report
from workshop.errors import UsageError
from workshop.labs import differences, digest, inventory, load_labs, summary


@pytest.fixture
def labs(tmp_path):
    return curriculum.write(tmp_path)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_inventory_holds_lab_step_and_mistake_ids(labs):
    (held,) = inventory(load_labs(labs))
    assert held["id"] == "demo" and held["steps"] == ["first", "second"]
    assert held["mistakes"] == sorted(held["mistakes"])
    # the ones the lab declares (the kit's generic ones are the same for every kit of a release)
    assert held["mistakes"] == ["no-first-flag", "no-second-flag"]


def test_the_digest_is_stable_and_ignores_what_reports_do_not_carry(labs, tmp_path):
    before = digest(load_labs(labs))
    assert before == digest(inventory(load_labs(labs))) and len(before) == 16
    edit(labs / "demo" / "lab.toml", 'hint = "Touch the first flag."', 'hint = "Another hint."')
    (labs / "demo" / "steps" / "first.md").write_text("Other words.\n")
    assert digest(load_labs(labs)) == before


@pytest.mark.parametrize(
    "old, new",
    [
        ('id = "second"', 'id = "later"'),  # a step renamed
        ('id = "no-first-flag"', 'id = "no-flag"'),  # a mistake renamed
        ('id = "demo"', 'id = "intro"'),  # the lab renamed
    ],
)
def test_the_digest_changes_with_any_id(labs, old, new):
    before = digest(load_labs(labs))
    edit(labs / "demo" / "lab.toml", old, new)  # mistake ids are data in the manifest
    assert digest(load_labs(labs)) != before


def test_the_digest_of_the_steps_order_differs():
    one = [{"id": "a", "steps": ["x", "y"], "mistakes": []}]
    two = [{"id": "a", "steps": ["y", "x"], "mistakes": []}]
    assert digest(one) != digest(two)
    assert differences(two, one) == ["has the steps of lab 'a' in another order"]


ROOM = [
    {"id": "demo", "steps": ["first", "second", "third"], "mistakes": ["m1", "m2"]},
    {"id": "more", "steps": ["fourth"], "mistakes": []},
]


def test_differences_say_what_the_kit_lacks_first_then_what_it_has_more():
    theirs = [{"id": "demo", "steps": ["first", "second", "extra"], "mistakes": ["m1", "m3"]}]
    assert differences(theirs, ROOM) == [
        "lacks step 'third' of lab 'demo'",
        "lacks mistake 'm2' of lab 'demo'",
        "lacks lab 'more'",
        "has step 'extra' in lab 'demo' that the room does not",
        "has mistake 'm3' in lab 'demo' that the room does not",
    ]
    assert differences(ROOM, ROOM) == []


def test_a_summary_is_one_clause():
    phrases = differences([{"id": "demo", "steps": ["first"], "mistakes": []}], ROOM)
    assert summary(phrases) == (
        "lacks step 'second' of lab 'demo'; lacks step 'third' of lab 'demo' "
        "(and 3 more differences)"
    )
    assert summary(phrases[:1]) == "lacks step 'second' of lab 'demo'"
    assert summary([]) == ""


def test_the_room_compares_a_kit_and_records_what_the_dashboard_shows(labs):
    from workshop.classroom.catalog import load

    room = load(labs)
    same = {"version": room.version, "digest": room.digest, "labs": list(room.inventory)}
    record, yours = room.compare(same)
    assert record == {
        "version": room.version,
        "digest": room.digest,
        "differs": False,
        "what": "",
    }
    assert yours == ""
    older = {"version": "0.0.9", "digest": "", "labs": [{**room.inventory[0], "steps": ["first"]}]}
    record, yours = room.compare(older)
    assert record["differs"] is True and record["version"] == "0.0.9"
    assert (
        yours
        == f"is version 0.0.9, the room runs {room.version}; lacks step 'second' of lab 'demo'"
    )
    assert record["what"] == f"Their kit {yours}."
    record, yours = room.compare(None)  # a client from before kits were told
    assert record["differs"] is True and "older than the room's" in record["what"]
    assert room.newer(older) is False and room.newer(same) is False and room.newer(None) is False
    ahead = {**same, "labs": [{**room.inventory[0], "steps": ["first", "mid", "second"]}]}
    assert room.newer(ahead) is True  # every id of the room's, in its order, and more
    swapped = {**same, "labs": [{**room.inventory[0], "steps": ["second", "first"]}]}
    assert room.newer(swapped) is False


# -- pins --------------------------------------------------------------------------------------

DER = b"any certificate's DER bytes"
DIGEST = hashlib.sha256(DER).digest()


def test_a_pin_is_short_base64url_of_the_certificates_sha256():
    pin = report.fingerprint(DER)
    assert pin == "sha256:" + base64.urlsafe_b64encode(DIGEST).decode().rstrip("=")
    assert len(pin) == len("sha256:") + 43


@pytest.mark.parametrize(
    "typed",
    [
        report.fingerprint(DER),
        report.fingerprint(DER)[len("sha256:") :],
        "sha256:" + DIGEST.hex(),
        DIGEST.hex().upper(),
        "sha256 Fingerprint=" + ":".join(f"{b:02X}" for b in DIGEST),  # openssl x509 -fingerprint
    ],
)
def test_a_pin_is_read_as_printed_or_as_openssl_prints_it(typed):
    assert report.parse_pin(typed) == report.fingerprint(DER)


@pytest.mark.parametrize(
    "typed", ["sha256:", "sha256:abc", "md5:" + DIGEST.hex(), report.fingerprint(DER)[:-1] + "!"]
)
def test_a_pin_that_is_not_one_is_a_usage_error(typed):
    with pytest.raises(UsageError, match="is not a certificate fingerprint"):
        report.parse_pin(typed)


@pytest.mark.parametrize(
    "kit, words",
    [
        ("0.1.0", "must be an object"),
        ({"version": "0.1.0", "digest": "", "labs": "demo"}, "list of at most"),
        ({"version": "0.1.0", "digest": "", "labs": [{"id": "demo"}]}, "steps"),
        ({"version": "0.1.0", "digest": "", "labs": [{}] * 101}, "at most 100 labs"),
        (
            {"version": "0.1.0", "digest": "", "labs": [{"id": "d", "steps": [1], "mistakes": []}]},
            "ids",
        ),
        ({"version": 1, "digest": "", "labs": []}, "`version`"),
        ({"version": "0.1.0", "digest": "", "labs": [], "token": "x"}, "unknown field"),
    ],
)
def test_a_join_with_a_malformed_kit_is_refused(kit, words):
    from workshop.classroom import validate

    body = {"code": "ABCD-EFGH", "name": "Ada", "kit": kit}
    with pytest.raises(validate.Invalid, match=words):
        validate.join(body)
    assert validate.join({"code": "ABCD-EFGH", "name": "Ada"})[3] is None  # an older client


def test_the_fix_for_a_differing_kit_fits_how_it_was_installed(tmp_path):
    """A clone is updated with `git pull`; an installed kit (pip, pipx, uv tool) has no folder
    to pull in, so it is installed again."""
    from workshop import labs as kit_labs

    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    assert report.update_fix(clone) == (
        f"run `git pull` in the kit's folder ({clone}), then paste the join line again"
    )
    installed = report.update_fix(kit_labs._PACKAGE / "kit")
    assert "git pull" not in installed and "kit's folder" not in installed
    assert "pipx install --force" in installed and "pip install --upgrade" in installed
    assert installed.endswith("then paste the join line again")
