#!/usr/bin/env python3
"""Netns::probe: `mccache mtu` and `mccache hops` across routers in network
namespaces this test creates (never the host's interfaces):

    client --(mtu 1500)-- r1 --(mtu 1400)-- r2 --(mtu 1500)-- server
    10.78.1.1       10.78.1.2/10.78.2.1  10.78.2.2/10.78.3.1     10.78.3.2

The path MTU to the server is 1400 (r1 answers "fragmentation needed"), it
is three hops away (r1 and r2 answer "time exceeded"), and the routers
themselves are one and two hops away. Needs root and iproute2; without them
it fails and says what is missing.

usage: netns_probe.py --cli build/bin/mccache
Prints `N passed, N failed`; exits 1 on any failure."""
import argparse
import json
import os
import shutil
import subprocess
import sys

passed, failed = [], []
TAG = "mcpr%d" % os.getpid()
NS = {n: "%s%s" % (TAG, n) for n in ("c", "r1", "r2", "s")}


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print("[%s] %s%s" % ("PASS" if ok else "FAIL", name, (": " + str(detail)[-800:]) if detail and not ok else ""),
          flush=True)
    return ok


def run(*argv, check_rc=True):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p


def link(a, ip_a, b, ip_b, mtu, n):
    va, vb = "%sv%da" % (TAG, n), "%sv%db" % (TAG, n)
    run("ip", "link", "add", va, "netns", NS[a], "mtu", str(mtu), "type", "veth", "peer", "name", vb,
        "netns", NS[b], "mtu", str(mtu))
    for ns, dev, ip in ((a, va, ip_a), (b, vb, ip_b)):
        run("ip", "-n", NS[ns], "addr", "add", ip + "/24", "dev", dev)
        run("ip", "-n", NS[ns], "link", "set", dev, "up")


def up():
    for ns in NS.values():
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    link("c", "10.78.1.1", "r1", "10.78.1.2", 1500, 1)
    link("r1", "10.78.2.1", "r2", "10.78.2.2", 1400, 2)
    link("r2", "10.78.3.1", "s", "10.78.3.2", 1500, 3)
    for r in ("r1", "r2"):
        run("ip", "netns", "exec", NS[r], "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # Every probe gets its ICMP answer: no rate limit inside the test's routers.
        run("ip", "netns", "exec", NS[r], "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0")
    run("ip", "-n", NS["c"], "route", "add", "default", "via", "10.78.1.2")
    run("ip", "-n", NS["r1"], "route", "add", "10.78.3.0/24", "via", "10.78.2.2")
    run("ip", "-n", NS["r2"], "route", "add", "10.78.1.0/24", "via", "10.78.2.1")
    run("ip", "-n", NS["s"], "route", "add", "default", "via", "10.78.3.1")


def down():
    for ns in NS.values():
        run("ip", "netns", "del", ns, check_rc=False)


def cli(path, *args):
    return run("ip", "netns", "exec", NS["c"], path, *args, check_rc=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    a = ap.parse_args()
    problems = []
    if os.geteuid() != 0:
        problems.append("not root: network namespaces need root")
    if shutil.which("ip") is None:
        problems.append("'ip' not found: apt-get install iproute2")
    if problems:
        check("prerequisites", False, "; ".join(problems))
        print("0 passed, 1 failed")
        return 1
    try:
        up()
        r = cli(a.cli, "mtu", "10.78.3.2", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        check("mtu across a 1400-byte link: 1400, payload 1372",
              doc.get("mtu") == 1400 and doc.get("payload") == 1372, (r.returncode, r.stdout, r.stderr))
        check("mtu: the router on the narrow link said so",
              any(p.get("from") == "10.78.1.2" and p.get("mtu") == 1400 for p in doc.get("probes", [])), doc)
        r = cli(a.cli, "mtu", "10.78.3.2")
        check("mtu text output", r.returncode == 0 and "path MTU 1400" in r.stdout, (r.stdout, r.stderr))
        r = cli(a.cli, "mtu", "10.78.1.2", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        check("mtu to the first router: 1500", doc.get("mtu") == 1500, (r.stdout, r.stderr))

        r = cli(a.cli, "hops", "10.78.3.2", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        route = [h.get("from") for h in doc.get("route", [])]
        check("hops to the server: 3, through r1 and r2", doc.get("hops") == 3
              and route == ["10.78.1.2", "10.78.2.2", "10.78.3.2"], (r.returncode, r.stdout, r.stderr))
        r = cli(a.cli, "hops", "10.78.3.2")
        check("hops text output", r.returncode == 0 and "10.78.3.2: 3 hop(s)" in r.stdout, (r.stdout, r.stderr))
        r = cli(a.cli, "hops", "10.78.2.2", "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        check("hops to r2: 2", doc.get("hops") == 2, (r.stdout, r.stderr))
        r = cli(a.cli, "hops", "10.78.3.2", "2", "--timeout", "500")
        check("hops with MAX below the distance: exit 4", r.returncode == 4 and "not reached" in r.stderr,
              (r.returncode, r.stdout, r.stderr))
        # No route: the client knows no 10.99/16 beyond its default router, which has none.
        r = cli(a.cli, "mtu", "10.99.0.1", "--timeout", "300")
        check("mtu to an unreachable host: non-zero, says why", r.returncode != 0 and r.stderr.strip(),
              (r.returncode, r.stdout, r.stderr))
    except RuntimeError as e:
        check("namespaces set up", False, e)
    finally:
        down()
    print("%d passed, %d failed" % (len(passed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
