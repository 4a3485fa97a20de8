"""get_mtu() and get_hops(): against loopback, and through a router between two
network namespaces this test creates (marked netns: root, run by Python::netns)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import mccache

from conftest import child_env


def test_loopback_mtu_and_hops():
    assert mccache.get_mtu("127.0.0.1") == 65535  # lo's 65536 capped to the largest IP packet
    assert mccache.get_hops("127.0.0.1") == 1
    assert mccache.get_hops("127.0.0.1", max_hops=1) == 1


def test_bad_arguments():
    with pytest.raises(ValueError):
        mccache.get_mtu("not-an-address")
    with pytest.raises(ValueError):
        mccache.get_hops("127.0.0.1", max_hops=0)


def _run(*argv: str) -> str:
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


@pytest.fixture
def routed_namespaces():
    """A --- R --- B: 10.78.1.0/24 at MTU 1500, then 10.78.2.0/24 at MTU 1280, R forwarding."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("Python::netns needs root and iproute2 (ip netns); it creates its own namespaces")
    tag = f"mcpy{os.getpid()}"
    a, r, b = f"{tag}a", f"{tag}r", f"{tag}b"
    made = []
    try:
        for ns in (a, r, b):
            _run("ip", "netns", "add", ns)
            made.append(ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "link", "add", f"{tag}x", "netns", a, "type", "veth", "peer", "name", f"{tag}y", "netns", r)
        _run("ip", "link", "add", f"{tag}z", "netns", r, "type", "veth", "peer", "name", f"{tag}w", "netns", b)
        _run("ip", "-n", r, "link", "set", f"{tag}z", "mtu", "1280")
        _run("ip", "-n", b, "link", "set", f"{tag}w", "mtu", "1280")
        _run("ip", "-n", a, "addr", "add", "10.78.1.1/24", "dev", f"{tag}x")
        _run("ip", "-n", r, "addr", "add", "10.78.1.2/24", "dev", f"{tag}y")
        _run("ip", "-n", r, "addr", "add", "10.78.2.1/24", "dev", f"{tag}z")
        _run("ip", "-n", b, "addr", "add", "10.78.2.2/24", "dev", f"{tag}w")
        for ns, dev in ((a, "x"), (r, "y"), (r, "z"), (b, "w")):
            _run("ip", "-n", ns, "link", "set", f"{tag}{dev}", "up")
        _run("ip", "-n", a, "route", "add", "default", "via", "10.78.1.2")
        _run("ip", "-n", b, "route", "add", "default", "via", "10.78.2.1")
        _run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield a
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _probe_from(ns: str, code: str) -> str:
    p = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=60, env=child_env())
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.mark.netns
def test_mtu_and_hops_through_a_router(routed_namespaces):
    out = _probe_from(routed_namespaces, "import mccache\n"
                      "print(mccache.get_mtu('10.78.1.2'), mccache.get_hops('10.78.1.2'), "
                      "mccache.get_mtu('10.78.2.2'), mccache.get_hops('10.78.2.2'), "
                      "mccache.get_hops('10.78.2.2', max_hops=1))")
    near_mtu, near_hops, far_mtu, far_hops, capped = out.split()
    assert (int(near_mtu), int(near_hops)) == (1500, 1)
    # 1280 is learnt from the router's "fragmentation needed": A's own link is 1500.
    assert (int(far_mtu), int(far_hops)) == (1280, 2)
    assert capped == "None"  # not reached within one hop
