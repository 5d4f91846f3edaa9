"""The room on the day, with real parts: a learner on another host (a network namespace joined to
this machine by a veth pair) pastes the line serve printed; a learner whose labs differ is told
at join and a refused report is kept and said once; an HTTPS room trusted by the fingerprint in
its join line (or a CA file), a wrong fingerprint refused before anything is sent.

Learners are `workshop` processes with their own state folders on the fixture curriculum (its
checks touch files, not the engine). No traffic goes to any address but loopback and the
test's own namespace."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import random
import shutil
import sqlite3
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.classroom.support import KIT, row
from tests.kit import curriculum
from workshop import report
from workshop.errors import Exit


@pytest.fixture
def labs(tmp_path):
    """The server's labs: the kit's fixture curriculum (checks need no engine)."""
    return curriculum.write(tmp_path / "kit")


@dataclass
class Result:
    code: int
    out: str

    def __str__(self) -> str:
        return f"exit {self.code}:\n{self.out}"


def workshop(home: Path, labs: Path, *args: str, netns: str = "") -> Result:
    """`workshop ARGS` as a learner's process (inside network namespace `netns` if given)."""
    argv = [sys.executable, "-m", "workshop", *map(str, args)]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    env = {
        **os.environ,
        "WORKSHOP_HOME": str(home),
        "WORKSHOP_LABS": str(labs),
        "WORKSHOP_REGISTRY": "off",  # readiness asks no registry
        "NO_COLOR": "1",
        "COLUMNS": "300",
    }
    done = subprocess.run(
        argv,
        env=env,
        cwd=KIT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout + done.stderr)


def pasted(line: str, name: str) -> list[str]:
    """The arguments of a printed join line, as a learner pastes it with their name."""
    words = line.split()
    assert words[:2] == ["workshop", "join"], line
    return [name if w == "NAME" else w for w in words[2:]]


def export(server, labs: Path) -> dict:
    done = workshop(server.home, labs, "classroom", "export", "--json", "--db", server.db)
    assert done.code == 0, done
    return json.loads(done.out)


# -- a learner on another host -------------------------------------------------------------------


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /30 in 10.213.0.0/16 that no address or route of this machine touches."""
    taken = []
    for raw in json.loads(_ip("-j", "addr").stdout):
        for info in raw.get("addr_info", []):
            if info.get("family") == "inet":
                taken.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", False))
    for route in json.loads(_ip("-j", "route").stdout):
        with contextlib.suppress(ValueError):
            if route.get("dst") not in (None, "default"):
                taken.append(ipaddress.ip_network(route["dst"], False))
    choices = list(range(256))
    random.shuffle(choices)
    for third in choices:
        subnet = ipaddress.ip_network(f"10.213.{third}.{4 * random.randrange(64)}/30")
        if not any(subnet.overlaps(other) for other in taken):
            return subnet
    pytest.skip("no free /30 in 10.213.0.0/16 on this machine")


@dataclass
class Namespace:
    name: str
    host_end: str
    host_ip: str
    learner_ip: str


@pytest.fixture
def other_host():
    """A network namespace (a learner's laptop) joined to this machine by a veth pair, with
    addresses of the test's own; removed after."""
    if os.geteuid() != 0:
        pytest.skip("making a network namespace and a veth pair needs root")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's `ip` (Linux)")
    tag = f"{os.getpid() % 100000}{random.randrange(100)}"
    # the host's end is named like a room's link, not like a container's veth (left out)
    space = Namespace(f"wsk-learner-{tag}", f"wskroom{tag}"[:15], "", "")
    peer = f"wsklrn{tag}"[:15]
    subnet = _free_subnet()
    host_ip, learner_ip = (str(a) for a in list(subnet.hosts())[:2])
    space.host_ip, space.learner_ip = host_ip, learner_ip
    try:
        _ip("netns", "add", space.name)
        _ip("link", "add", space.host_end, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", space.name)
        _ip("addr", "add", f"{host_ip}/30", "dev", space.host_end)
        _ip("link", "set", space.host_end, "up")
        _ip("-n", space.name, "addr", "add", f"{learner_ip}/30", "dev", peer)
        _ip("-n", space.name, "link", "set", peer, "up")
        _ip("-n", space.name, "link", "set", "lo", "up")
        yield space
    finally:
        _ip("netns", "del", space.name, check=False)  # takes the veth pair with it
        _ip("link", "del", space.host_end, check=False)


def test_a_learner_on_another_host_joins_with_the_printed_line(
    other_host, make_server, labs, tmp_path
):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}", "--host", "0.0.0.0")
    output = server.output()
    ours = [line for line in server.lines if f"://{other_host.host_ip}:" in line]
    assert len(ours) == 1, output
    assert not any("://127." in line or "://172.17." in line for line in server.lines), output
    # the dashboard and the instructor's line are printed apart, after the room's part
    room_part, _, mine = output.partition("NOT for the projector")
    assert server.secret not in room_part and server.secret in mine
    assert all(line in room_part for line in server.lines)

    home = tmp_path / "ada"
    # from the learner's host, this machine's loopback is not the server's: only the line works
    port = server.url.rsplit(":", 1)[1]
    astray = workshop(
        home,
        labs,
        "join",
        f"http://127.0.0.1:{port}",
        server.code,
        "--name",
        "Ada",
        netns=other_host.name,
    )
    assert astray.code == Exit.ERROR and "No classroom server answers" in astray.out, astray

    joined = workshop(home, labs, "join", *pasted(ours[0], "Ada"), netns=other_host.name)
    assert joined.code == 0, joined
    assert f"Joined the classroom at http://{other_host.host_ip}:{port} as Ada." in joined.out
    assert "Your kit" not in joined.out  # the same labs as the room's
    checked = workshop(home, labs, "check", "first", netns=other_host.name)
    assert checked.code == Exit.NOT_DONE, checked
    assert not report.pending(home)  # delivered, nothing left waiting

    ada = next(one for one in export(server, labs)["learners"] if one["name"] == "Ada")
    assert ada["current"] == "first" and ada["mistake"] == "no-first-flag"
    assert ada["kit"]["differs"] is False and ada["kit"]["what"] == ""


def test_url_names_the_one_address_learners_use(make_server, tmp_path):
    server = make_server(
        f"sqlite:///{tmp_path / 'room.sqlite3'}", "--url", "https://room.example.org/workshop/"
    )
    assert server.lines == [
        f"workshop join https://room.example.org/workshop {server.code} --name NAME"
    ]
    assert server.url == f"http://127.0.0.1:{server.port}"  # the instructor's, on this machine
    room_part, marker, mine = server.output().partition("NOT for the projector")
    assert marker and server.secret not in room_part and "#key=" not in room_part
    assert f"Dashboard: http://127.0.0.1:{server.port}/#key={server.secret}" in mine
    assert f"Projector page with the line and a QR code: {server.url}/join" in room_part


def test_a_server_on_loopback_says_learners_elsewhere_cannot_reach_it(make_server, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    assert server.lines == [f"workshop join {server.url} {server.code} --name NAME"]
    assert "learners on other machines cannot reach it" in server.output()
    assert "--host 0.0.0.0" in server.output()


# -- a learner whose labs differ --------------------------------------------------------------

EXTRA_STEP = """
[[steps]]
id = "extra"
title = "A step the room does not have"
instructions = "steps/extra.md"
check = "test_extra"
hint = "Touch the extra flag."
solution = ["true"]

[[steps.mistakes]]
id = "no-extra-flag"
reproduce = ["true"]
"""

EXTRA_CHECK = """

def test_extra():
    missing("The extra flag is missing.", mistake="no-extra-flag")
"""


def a_kit_with_an_extra_step(root: Path) -> Path:
    labs = curriculum.write(root)
    (labs / "demo" / "lab.toml").write_text((labs / "demo" / "lab.toml").read_text() + EXTRA_STEP)
    (labs / "demo" / "steps" / "extra.md").write_text("# Extra\n\nRun `true`.\n")
    checks = labs / "demo" / "checks.py"
    checks.write_text(checks.read_text() + EXTRA_CHECK)
    return labs


def a_kit_without_the_second_step(root: Path) -> Path:
    labs = curriculum.write(root)
    manifest = labs / "demo" / "lab.toml"
    text = manifest.read_text()
    manifest.write_text(text[: text.index('[[steps]]\nid = "second"')])
    return labs


def test_a_kit_that_differs_is_told_at_join_and_a_refused_report_is_kept_and_said_once(
    make_server, labs, tmp_path
):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    theirs = a_kit_with_an_extra_step(tmp_path / "newer")
    home = tmp_path / "eve"

    joined = workshop(home, theirs, "join", *pasted(server.lines[0], "Eve"))
    assert joined.code == 0, joined  # a differing kit still joins
    told = [line for line in joined.out.splitlines() if line.startswith("Your kit")]
    assert len(told) == 1, joined
    assert "has step 'extra' in lab 'demo' that the room does not" in told[0]
    assert "newer than the room's, so tell your instructor" in told[0]  # git pull would not help

    eve = row(server.room(), "Eve")
    assert eve["kit"]["differs"] is True and eve["kit"]["version"]
    assert "has step 'extra' in lab 'demo'" in eve["kit"]["what"]
    assert eve["kit"]["digest"] != server.kit()["digest"]

    first = workshop(home, theirs, "check", "extra")
    assert first.code == Exit.NOT_DONE, first
    said = [line for line in first.out.splitlines() if "refused a report" in line]
    assert len(said) == 1, first
    assert "There is no step 'extra' in lab 'demo' on this server" in said[0]
    assert "git pull" in said[0] and str(home / report.REFUSED) in said[0]
    second = workshop(home, theirs, "check", "extra")
    assert "refused" not in second.out, second  # said once, not on every command

    kept = report.refused(home)
    assert [k["report"]["step"] for k in kept] == ["extra", "extra"]
    assert all(k["status"] == 422 and "no step 'extra'" in k["reason"] for k in kept)
    assert all(k["refused_at"].endswith("Z") for k in kept)
    assert not report.pending(home)  # nothing stuck in the outbox behind them
    # what the room knows still arrives
    assert workshop(home, theirs, "check", "first").code == Exit.NOT_DONE
    assert row(server.room(), "Eve")["mistake"] == "no-first-flag"

    # the export carries the kit too, in JSON and CSV
    eve = next(one for one in export(server, labs)["learners"] if one["name"] == "Eve")
    assert eve["kit"]["differs"] is True
    csv = workshop(server.home, labs, "classroom", "export", "--csv", "--db", server.db)
    header, line = csv.out.splitlines()[:2]
    assert header.endswith("kit_version,kit_differs,kit_differs_how")
    assert ",yes," in line and "has step 'extra'" in line


def test_a_kit_that_lacks_a_step_is_told_what_it_lacks(make_server, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    older = a_kit_without_the_second_step(tmp_path / "older")
    joined = workshop(tmp_path / "bo", older, "join", *pasted(server.lines[0], "Bo"))
    assert joined.code == 0, joined
    assert "Your kit lacks step 'second' of lab 'demo'" in joined.out
    assert "run `git pull` in the kit's folder" in joined.out
    assert "then paste the join line again" in joined.out and "newer" not in joined.out
    assert "lacks step 'second'" in row(server.room(), "Bo")["kit"]["what"]


def test_pasting_the_line_again_after_an_update_rejoins_as_the_same_learner(
    make_server, labs, tmp_path
):
    """The fix the room gives (update the kit, then paste the join line again) works: the
    learner who holds the name's token gets it back, with their reports and the mark cleared;
    anyone else still meets a taken name."""
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    older = a_kit_without_the_second_step(tmp_path / "older")
    home = tmp_path / "bo"
    assert workshop(home, older, "join", *pasted(server.lines[0], "Bo")).code == 0
    assert workshop(home, older, "check", "first").code == Exit.NOT_DONE
    assert row(server.room(), "Bo")["kit"]["differs"] is True

    again = workshop(home, labs, "join", *pasted(server.lines[0], "Bo"))  # after the update
    assert again.code == 0, again
    assert "Joined the classroom" in again.out and "Your kit" not in again.out
    bo = [one for one in server.room()["learners"] if one["name"] == "Bo"]
    assert len(bo) == 1 and bo[0]["kit"]["differs"] is False, bo
    assert workshop(home, labs, "check", "second").code == Exit.NOT_DONE
    with contextlib.closing(sqlite3.connect(tmp_path / "room.sqlite3")) as store:
        seqs = [
            seq
            for (seq,) in store.execute(
                "SELECT seq FROM reports JOIN learners ON learners.id = learner_id "
                "WHERE name = 'Bo' ORDER BY reports.id"
            )
        ]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 4, seqs  # nothing lost
    assert row(server.room(), "Bo")["mistake"] == "no-second-flag"  # a step it lacked before
    assert not report.pending(home)

    twin = workshop(tmp_path / "twin", labs, "join", *pasted(server.lines[0], "Bo"))
    assert twin.code == Exit.ERROR and "already called 'Bo'" in twin.out, twin


def test_a_room_restarted_with_https_is_said_once_and_the_new_line_takes_the_reports(
    make_server, labs, tmp_path
):
    """The instructor restarts the room with --tls-self-signed on the same port: a learner who
    joined over http is told once (not left queueing in silence), and pasting the new line
    delivers what waited."""
    db = f"sqlite:///{tmp_path / 'room.sqlite3'}"
    plain = make_server(db)
    home = tmp_path / "gus"
    assert workshop(home, labs, "join", *pasted(plain.lines[0], "Gus")).code == 0
    plain.stop()
    tls = make_server(db, "--tls-self-signed", port=plain.port)

    first = workshop(home, labs, "check", "first")
    assert first.code == Exit.NOT_DONE, first
    said = [line for line in first.out.splitlines() if line.startswith("Note:")]
    assert len(said) == 1, first
    assert f"The classroom at {plain.url} closed the connection" in said[0]
    assert "https://" in said[0] and "paste the join line" in said[0]
    second = workshop(home, labs, "check", "first")
    assert "Note:" not in second.out, second  # said once
    assert len(report.pending(home)) == 2
    old_line = workshop(home, labs, "join", *pasted(plain.lines[0], "Gus"))
    assert old_line.code == Exit.ERROR and "Traceback" not in old_line.out, old_line
    assert "closed the connection without answering" in old_line.out and "https://" in (
        old_line.out
    )

    again = workshop(home, labs, "join", *pasted(tls.lines[0], "Gus"))
    assert again.code == 0, again
    assert not report.pending(home)
    assert row(tls.room(), "Gus")["mistake"] == "no-first-flag"


def test_a_learner_who_left_joins_again_under_their_name(make_server, labs, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    home = tmp_path / "hal"
    assert workshop(home, labs, "join", *pasted(server.lines[0], "Hal")).code == 0
    assert workshop(home, labs, "check", "first").code == Exit.NOT_DONE
    assert workshop(home, labs, "leave").code == 0
    assert row(server.room(), "Hal")["left"] is True
    assert not (home / report.MEMBERSHIP).exists()  # nothing is sent after leaving

    back = workshop(home, labs, "join", *pasted(server.lines[0], "Hal"))
    assert back.code == 0 and "Joined the classroom" in back.out, back
    assert workshop(home, labs, "check", "first").code == Exit.NOT_DONE
    assert not report.pending(home)  # the server took it: its seq is above what it holds
    hal = [one for one in server.room()["learners"] if one["name"] == "Hal"]
    assert len(hal) == 1 and hal[0]["left"] is False, hal
    with contextlib.closing(sqlite3.connect(tmp_path / "room.sqlite3")) as store:
        kinds = [kind for (kind,) in store.execute("SELECT kind FROM reports ORDER BY id")]
    assert kinds[-3:] == ["left", "readiness", "verdict"], kinds

    other = workshop(tmp_path / "other", labs, "join", *pasted(server.lines[0], "Hal"))
    assert other.code == Exit.ERROR and "already called 'Hal'" in other.out, other


def test_a_client_older_than_kits_is_marked(make_server, tmp_path):
    server = make_server(f"sqlite:///{tmp_path / 'room.sqlite3'}")
    server.join("Old", kit={})
    answer = server.request(
        "POST", "/api/v1/join", {"code": server.code, "name": "New", "kit": server.kit()}
    )
    assert answer.body["kit"] == {
        "differs": False,
        "yours": "",
        "newer": False,
        "version": server.kit()["version"],
        "digest": server.kit()["digest"],
    }
    room = server.room()
    assert room["kit"] == {"version": server.kit()["version"], "digest": server.kit()["digest"]}
    assert row(room, "Old")["kit"]["differs"] is True
    assert "older than the room's" in row(room, "Old")["kit"]["what"]
    assert row(room, "New")["kit"] == {
        "version": server.kit()["version"],
        "digest": server.kit()["digest"],
        "differs": False,
        "what": "",
    }


# -- HTTPS a learner can trust -------------------------------------------------------------------


def der_fingerprint(pem: Path) -> str:
    return report.fingerprint(ssl.PEM_cert_to_DER_cert(pem.read_text()))


def test_a_self_signed_room_is_joined_with_the_printed_line_and_pinned(make_server, labs, tmp_path):
    db = f"sqlite:///{tmp_path / 'room.sqlite3'}"
    server = make_server(db, "--tls-self-signed")
    cert = server.home / "classroom-tls" / "cert.pem"
    [line] = server.lines
    pin = der_fingerprint(cert)
    assert line.startswith("workshop join https://127.0.0.1:") and line.endswith(f"--pin {pin}")
    assert len(line) < 120  # it fits a projected line
    assert "Made a self-signed certificate" in server.output()
    ada = tmp_path / "ada"
    joined = workshop(ada, labs, "join", *pasted(line, "Ada"))
    assert joined.code == 0, joined
    assert json.loads((ada / report.MEMBERSHIP).read_text())["pin"] == pin
    assert workshop(ada, labs, "check", "first").code == Exit.NOT_DONE
    assert row(server.room(), "Ada")["mistake"] == "no-first-flag"  # came over pinned HTTPS

    # a wrong fingerprint (one character off, inside: the last one holds only 4 bits of the
    # digest) is refused before anything is sent
    wrong = pin[:20] + ("A" if pin[20] != "A" else "B") + pin[21:]
    refused = workshop(tmp_path / "bo", labs, "join", *pasted(line.replace(pin, wrong), "Bo"))
    assert refused.code == Exit.ERROR, refused
    assert f"fingerprint is {pin}, not the {wrong} of your join line" in refused.out
    assert "nothing was sent" in refused.out and "Traceback" not in refused.out
    # without the pin, this machine does not trust the room's certificate: said, not bypassed
    bare = workshop(tmp_path / "cy", labs, "join", *pasted(line, "Cy")[:4])
    assert bare.code == Exit.ERROR and "does not trust" in bare.out and "--pin" in bare.out
    assert {r["name"] for r in server.room()["learners"]} == {"Ada"}

    # a restart reuses the certificate: the pin the learners hold stays true
    server.stop()
    again = make_server(db, "--tls-self-signed", port=server.port)
    assert again.lines == [line] and "Made a self-signed" not in again.output()
    assert workshop(ada, labs, "check", "second").code == Exit.NOT_DONE
    assert row(again.room(), "Ada")["mistake"] == "no-second-flag"


def _certificate(subject: str, key, issuer=None, issuer_key=None, ca=False, ip=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(path: Path, certificate=None, key=None) -> Path:
    from cryptography.hazmat.primitives import serialization

    if certificate is not None:
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


def test_a_room_with_its_own_ca_and_a_given_certificate(make_server, labs, tmp_path):
    """--tls-cert/--tls-key print their fingerprint too; a learner may trust the room's CA."""
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("Room CA", ca_key, ca=True)
    leaf = _certificate("room", key, issuer=ca.subject, issuer_key=ca_key, ip="127.0.0.1")
    ca_pem = _pem(tmp_path / "ca.pem", ca)
    cert, key_pem = _pem(tmp_path / "cert.pem", leaf), _pem(tmp_path / "key.pem", key=key)
    context = ssl.create_default_context(cafile=str(ca_pem))
    server = make_server(
        f"sqlite:///{tmp_path / 'room.sqlite3'}",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key_pem),
        context=context,
    )
    [line] = server.lines
    assert line.endswith(f"--pin {der_fingerprint(cert)}")
    pinned = workshop(tmp_path / "ada", labs, "join", *pasted(line, "Ada"))
    assert pinned.code == 0, pinned
    by_ca = workshop(
        tmp_path / "bo", labs, "join", *pasted(line, "Bo")[:4], "--ca-file", str(ca_pem)
    )
    assert by_ca.code == 0, by_ca
    assert json.loads((tmp_path / "bo" / report.MEMBERSHIP).read_text())["ca_file"] == str(ca_pem)
    assert workshop(tmp_path / "bo", labs, "check", "first").code == Exit.NOT_DONE
    assert row(server.room(), "Bo")["mistake"] == "no-first-flag"
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _pem(tmp_path / "other.pem", _certificate("Other CA", other_key, ca=True))
    foreign = workshop(tmp_path / "cy", labs, "join", *pasted(line, "Cy")[:4], "--ca-file", other)
    assert foreign.code == Exit.ERROR and "does not trust" in foreign.out, foreign
    missing = workshop(
        tmp_path / "di", labs, "join", *pasted(line, "Di")[:4], "--ca-file", tmp_path / "no.pem"
    )
    assert missing.code == Exit.USAGE and "does not exist" in missing.out, missing
    assert {r["name"] for r in server.room()["learners"]} == {"Ada", "Bo"}


def test_a_room_whose_certificate_changed_gets_nothing_and_the_learner_is_told_once(
    make_server, labs, tmp_path
):
    db = f"sqlite:///{tmp_path / 'room.sqlite3'}"
    server = make_server(db, "--tls-self-signed")
    ada = tmp_path / "ada"
    assert workshop(ada, labs, "join", *pasted(server.lines[0], "Ada")).code == 0
    held = json.loads((ada / report.MEMBERSHIP).read_text())["pin"]
    server.stop()
    shutil.rmtree(server.home / "classroom-tls")  # another certificate: another server, for all
    again = make_server(db, "--tls-self-signed", port=server.port)  # the client can tell
    assert again.lines != server.lines

    first = workshop(ada, labs, "check", "first")
    assert first.code == Exit.NOT_DONE, first
    told = [line for line in first.out.splitlines() if "another certificate" in line]
    assert len(told) == 1 and f"not the {held} you joined with" in told[0], first
    second = workshop(ada, labs, "check", "first")
    assert "another certificate" not in second.out, second
    assert [r["step"] for r in report.pending(ada) if r["kind"] == "verdict"] == ["first", "first"]
    assert row(again.room(), "Ada")["mistake"] == ""  # no verdict reached the new server
