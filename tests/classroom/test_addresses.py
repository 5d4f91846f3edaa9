"""Which of this machine's addresses the join lines offer (pure logic on `ip -j` output), and the
same choice on this machine's real interfaces."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from workshop.classroom import addresses
from workshop.classroom.addresses import choose, parse_ip


def link(name, flags=("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), state="UP", *infos, kind=None):
    raw = {"ifname": name, "flags": list(flags), "operstate": state, "addr_info": list(infos)}
    if kind:
        raw["link_type"] = kind
    return raw


def inet(address, scope="global", **extra):
    return {"family": "inet", "local": address, "prefixlen": 24, "scope": scope, **extra}


def inet6(address, scope="global", **extra):
    return {"family": "inet6", "local": address, "prefixlen": 64, "scope": scope, **extra}


# A Debian laptop in a classroom: Wi-Fi with the default route, a wired link with no cable, a
# dock's Ethernet up too, Docker's bridge and a container's veth, libvirt's bridge, a VPN.
LAPTOP = [
    link(
        "lo",
        ("LOOPBACK", "UP", "LOWER_UP"),
        "UNKNOWN",
        inet("127.0.0.1", "host"),
        inet6("::1", "host"),
        kind="loopback",
    ),
    link("enp0s31f6", ("NO-CARRIER", "BROADCAST", "MULTICAST", "UP"), "DOWN", inet("10.9.9.9")),
    link(
        "wlp2s0",
        ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"),
        "UP",
        inet("192.168.1.20"),
        inet6("2001:db8:1::20"),
        inet6("2001:db8:1::abcd", temporary=True),
        inet6("fe80::1", "link"),
    ),
    link("enx00e04c", ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), "UP", inet("172.20.0.7")),
    link("docker0", ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), "UP", inet("172.17.0.1")),
    link("br-5f1e2a", ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), "UP", inet("172.18.0.1")),
    link("veth1a2b3c", ("BROADCAST", "MULTICAST", "UP", "LOWER_UP"), "UP"),
    link("virbr0", ("BROADCAST", "MULTICAST", "UP"), "DOWN", inet("192.168.122.1")),
    link(
        "tun0", ("POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"), "UNKNOWN", inet("10.8.0.5")
    ),
    link("lo:1", ("LOOPBACK", "UP", "LOWER_UP"), "UNKNOWN", inet("127.0.1.1", "host")),
]
ROUTES = [
    {"dst": "default", "gateway": "172.20.0.1", "dev": "enx00e04c", "metric": 600},
    {"dst": "default", "gateway": "192.168.1.1", "dev": "wlp2s0", "metric": 100},
]


def laptop(routes=ROUTES):
    return parse_ip(json.dumps(LAPTOP), json.dumps(routes))


def test_the_default_routes_interface_comes_first_and_bridges_are_left_out():
    interfaces, defaults = laptop()
    assert defaults == ["wlp2s0", "enx00e04c"]  # lowest metric first
    assert choose(interfaces, defaults) == ["192.168.1.20", "172.20.0.7", "10.8.0.5"]


def test_without_a_default_route_the_order_is_by_name():
    interfaces, defaults = laptop(routes=[])
    assert choose(interfaces, defaults) == [
        "172.20.0.7",
        "10.8.0.5",
        "192.168.1.20",
    ]  # enx, tun, wlp


def test_listening_on_both_families_adds_stable_global_ipv6_after_ipv4():
    interfaces, defaults = laptop()
    chosen = choose(interfaces, defaults, frozenset({4, 6}))
    assert chosen == ["192.168.1.20", "172.20.0.7", "10.8.0.5", "2001:db8:1::20"]


def test_loopback_never_even_127_0_1_1_on_another_link():
    raw = [link("eth0", ("UP", "LOWER_UP"), "UP", inet("127.0.1.1"), inet("10.0.0.2"))]
    interfaces, _ = parse_ip(json.dumps(raw))
    assert choose(interfaces, []) == ["10.0.0.2"]


def test_link_local_comes_last_and_nothing_up_gives_nothing():
    raw = [
        link("eth0", ("UP", "LOWER_UP"), "UP", inet("169.254.3.4", "link")),
        link("eth1", ("UP", "LOWER_UP"), "UP", inet("10.1.2.3")),
    ]
    interfaces, _ = parse_ip(json.dumps(raw))
    assert choose(interfaces, []) == ["10.1.2.3", "169.254.3.4"]
    down = [link("eth0", ("BROADCAST",), "DOWN", inet("10.1.2.3"))]
    assert choose(parse_ip(json.dumps(down))[0], []) == []


@pytest.mark.parametrize(
    "name",
    ["docker0", "docker_gwbridge", "br-0a1b", "veth9", "cni0", "virbr1", "flannel.1", "cali12"],
)
def test_container_and_vm_bridges_are_virtual(name):
    assert addresses.virtual(name)


@pytest.mark.parametrize("name", ["eth0", "wlan0", "enp3s0", "wlp2s0", "bridge0", "tun0"])
def test_the_rooms_links_are_not(name):
    assert not addresses.virtual(name)


@pytest.mark.skipif(shutil.which("ip") is None, reason="needs iproute2's `ip` (Linux)")
def test_this_machines_addresses():
    """The real reading: no loopback, no Docker bridge address, the default route's first."""
    chosen = addresses.machine_addresses()
    everything = json.loads(subprocess.run(["ip", "-j", "addr"], capture_output=True).stdout)
    bridges = {
        info["local"]
        for raw in everything
        if addresses.virtual(raw["ifname"])
        for info in raw.get("addr_info", [])
    }
    assert not any(a.startswith("127.") for a in chosen)
    assert not bridges & set(chosen)
    default = json.loads(
        subprocess.run(["ip", "-j", "-4", "route", "show", "default"], capture_output=True).stdout
    )
    if default:
        first = next(raw for raw in everything if raw["ifname"] == default[0]["dev"])
        ours = [i["local"] for i in first["addr_info"] if i["family"] == "inet"]
        assert chosen[0] in ours


def test_host_double_colon_serves_ipv4_and_ipv6(make_server, db):
    """`--host ::` prints IPv4 lines as well as IPv6 ones: both families must answer (asyncio
    binds :: as IPv6 only unless told otherwise), with one worker or several."""
    import http.client

    workers = ["--workers", "2"] if db.startswith("postgresql") else []
    server = make_server(db, "--host", "::", *workers)
    for host in ("127.0.0.1", "::1"):
        connection = http.client.HTTPConnection(host, server.port, timeout=5)
        try:
            connection.request("GET", "/api/v1/health")
            assert connection.getresponse().status == 200, host
        finally:
            connection.close()
