"""The addresses of this machine that learners in the room could reach, for the join lines.

Read from `ip -j addr` and `ip -j route` where they exist (Linux); elsewhere the address the
default route leaves from (a UDP socket "connected" to a documentation address: no packet is
sent). The choice itself (`choose`) is pure: interfaces that are up, not loopback, not a
container or VM bridge; the default route's interface first. 127.0.0.0/8 never (Debian's
hostname resolves to 127.0.1.1).
"""

from __future__ import annotations

import contextlib
import fnmatch
import ipaddress
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

# Bridges and links that container engines, Kubernetes and VM managers make: learners cannot
# reach them (or reach only the instructor's containers through them).
VIRTUAL = (
    "docker*",
    "br-*",
    "veth*",
    "cni*",
    "flannel*",
    "cali*",
    "cilium*",
    "weave*",
    "vxlan*",
    "genev*",
    "kube*",
    "virbr*",
    "vnet*",
    "lxcbr*",
    "lxdbr*",
    "podman*",
    "nerdctl*",
    "vboxnet*",
    "vmnet*",
    "tunl*",
    "ifb*",
    "dummy*",
)


@dataclass(frozen=True)
class Address:
    family: int  # 4 or 6
    address: str
    scope: str = "global"  # ip's scope: global, link, host
    usable: bool = True  # False: temporary, deprecated or tentative (IPv6)


@dataclass(frozen=True)
class Interface:
    name: str
    up: bool
    loopback: bool
    addresses: tuple[Address, ...]


def parse_ip(addr_json: str, route_json: str = "[]") -> tuple[list[Interface], list[str]]:
    """`ip -j addr` and `ip -j route show default` (IPv4 and IPv6 concatenated as lists are
    fine) as interfaces, and the default routes' interface names, lowest metric first."""
    interfaces = []
    for raw in json.loads(addr_json or "[]"):
        flags = raw.get("flags", [])
        up = "UP" in flags and "NO-CARRIER" not in flags and raw.get("operstate") != "DOWN"
        found = []
        for info in raw.get("addr_info", []):
            family = {"inet": 4, "inet6": 6}.get(info.get("family"))
            if family is None or not info.get("local"):
                continue
            usable = not any(info.get(k) for k in ("temporary", "deprecated", "tentative"))
            usable = usable and not info.get("dadfailed")
            found.append(Address(family, info["local"], info.get("scope", "global"), usable))
        interfaces.append(
            Interface(
                name=raw.get("ifname", ""),
                up=up,
                loopback="LOOPBACK" in flags or raw.get("link_type") == "loopback",
                addresses=tuple(found),
            )
        )
    routes = json.loads(route_json or "[]")
    defaults_only = ("default", "0.0.0.0/0", "::/0")
    routes = [r for r in routes if r.get("dst") in defaults_only and r.get("dev")]
    routes.sort(key=lambda r: r.get("metric", 0))
    defaults = list(dict.fromkeys(r["dev"] for r in routes))
    return interfaces, defaults


def virtual(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in VIRTUAL)


def choose(
    interfaces: list[Interface], defaults: list[str], families: frozenset[int] = frozenset({4})
) -> list[str]:
    """The addresses learners could use, best first: the default route's interface first, then
    the others by name; IPv4 before IPv6; link-local (169.254/16) last; never loopback, a
    container or VM bridge, an interface that is down, or IPv6 other than global and stable."""
    chosen: list[tuple[tuple, str]] = []
    for interface in interfaces:
        if not interface.up or interface.loopback or virtual(interface.name):
            continue
        rank = defaults.index(interface.name) if interface.name in defaults else len(defaults)
        for address in interface.addresses:
            if address.family not in families or not address.usable:
                continue
            ip = ipaddress.ip_address(address.address)
            if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
                continue
            if address.family == 6 and (address.scope != "global" or ip.is_link_local):
                continue
            local = address.family == 4 and ip.is_link_local
            key = (local, address.family, rank, interface.name)
            chosen.append((key, address.address))
    chosen.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(address for _, address in chosen))


def _ip_json(*args: str) -> str | None:
    tool = shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None
    )
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, "-j", *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 and done.stdout.strip() else None


def _leaving(family: int) -> str | None:
    """The source address of the default route: a UDP socket's connect() picks it and sends
    nothing (192.0.2.1 and 2001:db8::1 are documentation addresses)."""
    kind, target = (
        (socket.AF_INET, ("192.0.2.1", 9)) if family == 4 else (socket.AF_INET6, ("2001:db8::1", 9))
    )
    with contextlib.suppress(OSError), socket.socket(kind, socket.SOCK_DGRAM) as probe:
        probe.connect(target)
        return probe.getsockname()[0]
    return None


def machine_addresses(families: frozenset[int] = frozenset({4})) -> list[str]:
    """This machine's addresses learners could use (see `choose`), best first."""
    addr = _ip_json("addr")
    if addr is not None:
        routes = []
        for flag in ("-4", "-6"):
            with contextlib.suppress(ValueError):
                routes += json.loads(_ip_json(flag, "route", "show", "default") or "[]")
        with contextlib.suppress(ValueError):
            interfaces, defaults = parse_ip(addr, json.dumps(routes))
            return choose(interfaces, defaults, families)
    found = []
    for family in sorted(families):
        address = _leaving(family)
        if address and not ipaddress.ip_address(address).is_loopback:
            found.append(address)
    return found


WILDCARDS = ("0.0.0.0", "::", "")


def families_of(host: str) -> frozenset[int]:
    """Which address families a listening host serves: 0.0.0.0 IPv4, :: both (Linux's
    dual-stack default)."""
    return frozenset({4, 6}) if host == "::" else frozenset({4})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    return False


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
