#!/usr/bin/env python3
"""CLI::cluster: the mccache tool against a cluster of three... two members on
loopback, then a third that disagrees. Every command, its output (text and
--json) and its exit code.

usage: run_cli.py --cli build/bin/mccache --exporter build/examples/prometheus_exporter
Prints `N passed, N failed`; exits 1 on any failure."""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_env import Cluster  # noqa: E402

passed, failed = [], []


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print("[%s] %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail and not ok else ""),
          flush=True)
    return ok


def show(r):
    return "exit %d, stdout %r, stderr %r" % (r.returncode, r.stdout[-600:], r.stderr[-600:])


def offline(c):
    """Commands that need no cluster."""
    r = c.cli("--help")
    check("--help exits 0 and lists exit codes", r.returncode == 0 and "Exit codes" in r.stdout
          and "config-check FILE" in r.stdout, show(r))
    r = c.cli("put", "--help")
    check("put --help", r.returncode == 0 and "--ttl" in r.stdout, show(r))
    r = c.cli("frobnicate")
    check("unknown command: exit 2", r.returncode == 2 and "unknown command" in r.stderr, show(r))
    r = c.cli("get", "onlycache")
    check("missing argument: exit 2 with usage", r.returncode == 2 and "usage: mccache get" in r.stderr, show(r))
    r = c.cli("keygen", "--prometheus")
    check("option of another command: exit 2", r.returncode == 2, show(r))
    r = c.cli("put", "c", "k", "v", "--ttl", "soon")
    check("bad --ttl: exit 2", r.returncode == 2 and "--ttl" in r.stderr, show(r))
    if c.doc:
        doc = open(c.doc, encoding="utf-8").read()
        r = c.cli("--help")
        check("docs/CLI.md carries `mccache --help` as it is", "```\n" + r.stdout + "```" in doc,
              "regenerate the Usage block of docs/CLI.md")
        for name in ("status", "members", "metrics", "checksum", "get", "put", "delete", "watch", "keygen",
                     "config-check", "mtu", "hops"):
            r = c.cli(name, "--help")
            if not check("docs/CLI.md carries `mccache %s --help`" % name, "```\n" + r.stdout + "```" in doc):
                break
    r = c.cli("--version")
    check("--version", r.returncode == 0 and "libmccache" in r.stdout, show(r))

    r = c.cli("keygen")
    key = r.stdout.strip()
    check("keygen: 32 bytes of base64", r.returncode == 0 and len(base64.b64decode(key)) == 32, show(r))
    r = c.cli("keygen", "--json")
    check("keygen --json", r.returncode == 0 and len(json.loads(r.stdout)["crypto_key"]) == 44, show(r))

    with tempfile.TemporaryDirectory() as d:
        good = os.path.join(d, "good.ini")
        with open(good, "w") as f:
            f.write("[mccache]\ncluster_name = orders\ncache_ttl = 15m\n\n[sessions]\nttl = 30s\n")
        r = c.cli("config-check", good)
        check("config-check of a good file: exit 0", r.returncode == 0 and "OK" in r.stdout, show(r))
        r = c.cli("config-check", good, "--json")
        doc = json.loads(r.stdout) if r.returncode == 0 else {}
        ttl = doc.get("node", {}).get("cache_ttl", {})
        check("config-check --json: values and their sources", r.returncode == 0 and "good.ini" in
              ttl.get("source", ""), show(r))
        bad = os.path.join(d, "bad.ini")
        with open(bad, "w") as f:
            f.write("[mccache]\ncluster_name = orders\ncache_ttl = abc\n")
        r = c.cli("config-check", bad)
        check("config-check of a bad value: exit 5, the library's message with file and line",
              r.returncode == 5 and 'cache_ttl: invalid value "abc"' in r.stderr and "bad.ini:3" in r.stderr,
              show(r))
        cross = os.path.join(d, "cross.ini")
        with open(cross, "w") as f:
            f.write("[mccache]\ntombstone_ttl = 1s\ncache_pulse = 1m\n")
        r = c.cli("config-check", cross)
        check("config-check of settings that contradict: exit 5 naming both",
              r.returncode == 5 and "tombstone_ttl" in r.stderr and "cache_pulse" in r.stderr, show(r))
        r = c.cli("config-check", cross, "--set", "tombstone_ttl=10m")
        check("config-check --set fixes it", r.returncode == 0, show(r))
        r = c.cli("config-check", good, env={"MCCACHE_CACHE_MAX": "-4"})
        check("config-check reads the environment: exit 5 naming the variable",
              r.returncode == 5 and "MCCACHE_CACHE_MAX" in r.stderr, show(r))
        r = c.cli("config-check", good, "--no-env", env={"MCCACHE_CACHE_MAX": "-4"})
        check("config-check --no-env ignores it", r.returncode == 0, show(r))
        r = c.cli("config-check", os.path.join(d, "missing.ini"))
        check("config-check of a missing file: non-zero, names the file",
              r.returncode != 0 and "missing.ini" in r.stderr, show(r))

    r = c.cli("mtu", "127.0.0.1", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    check("mtu 127.0.0.1: 65535, payload 65507", doc.get("mtu") == 65535 and doc.get("payload") == 65507, show(r))
    r = c.cli("mtu", "127.0.0.1")
    check("mtu text output", r.returncode == 0 and "path MTU 65535" in r.stdout, show(r))
    r = c.cli("hops", "127.0.0.1", "4")
    check("hops 127.0.0.1: 1", r.returncode == 0 and "127.0.0.1: 1 hop(s)" in r.stdout, show(r))
    r = c.cli("hops", "127.0.0.1", "999")
    check("hops MAX out of range: exit 2", r.returncode == 2, show(r))

    # A cluster nobody runs: nothing to hear.
    r = c.cli("status", "--wait", "300", "--set", "cluster_name=nobody-here-%d" % os.getpid())
    check("status of an empty cluster: exit 4", r.returncode == 4 and "no other member" in r.stderr, show(r))


def online(c):
    c.start_member()
    c.start_member()
    check("two members heard", c.wait_members(2), "")

    r = c.cli("status", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    check("status --json: 2 alive, 2 answered", doc.get("alive") == 2 and doc.get("answered") == 2, show(r))
    r = c.cli("status")
    check("status text: a line per member", r.returncode == 0 and "2 of 2 members answered" in r.stdout
          and r.stdout.count("127.0.0.1:") == 2, show(r))
    r = c.cli("members")
    check("members: 2 alive", r.returncode == 0 and r.stdout.count(" alive ") == 2, show(r))

    r = c.cli("put", "users", "alice", "hello world")
    check("put: confirmed on both members", r.returncode == 0 and "stored on 2 member(s)" in r.stderr, show(r))
    r = c.cli("get", "users", "alice")
    check("get from another process: the value", r.returncode == 0 and r.stdout == "hello world", show(r))
    r = c.cli("get", "users", "nobody")
    check("get of a missing key: exit 3", r.returncode == 3 and "no key" in r.stderr, show(r))
    r = c.cli("put", "users", "bin", "-", "--ttl", "1h", stdin="\x01\x02 binary")
    check("put from stdin with --ttl", r.returncode == 0, show(r))
    r = c.cli("get", "users", "bin", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    check("get --json: hex for binary, version, expiry", doc.get("value_hex") == "01022062696e617279"
          and "version" in doc and doc.get("expires_ms", 0) > time.time() * 1000, show(r))

    r = c.cli("checksum", "users", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    members = doc.get("caches", {}).get("users", {}).get("members", {})
    check("checksum --json: coherent, 2 members with 2 entries", doc.get("coherent") is True and len(members) == 2
          and all(m["entries"] == 2 for m in members.values()), show(r))
    r = c.cli("checksum", "nosuchcache")
    check("checksum of a cache nobody has: exit 3", r.returncode == 3, show(r))

    # watch streams the changes another process makes.
    w = subprocess.Popen([c.cli_path, "watch", "users", "--json", "--count", "2", "--for", "60"],
                         env=c.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = w.stderr.readline()
    r1 = c.cli("put", "users", "bob", "v2")
    r2 = c.cli("delete", "users", "alice")
    try:
        out, err = w.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        w.kill()
        out, err = w.communicate()
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    check("put and delete while watching", r1.returncode == 0 and r2.returncode == 0, show(r1) + show(r2))
    check("watch: an insert then a delete, remote, with key and value",
          "watching" in started and w.returncode == 0 and len(events) == 2
          and events[0]["type"] == "insert" and events[0]["key"] == "bob" and events[0]["value"] == "v2"
          and events[0]["origin"] == "remote" and events[1]["type"] == "delete" and events[1]["key"] == "alice",
          "exit %s, events %r, stderr %r" % (w.returncode, events, started + err))
    r = c.cli("get", "users", "alice")
    check("deleted: get exits 3", r.returncode == 3, show(r))
    r = c.cli("delete", "users", "alice")
    check("delete of a missing key: exit 3", r.returncode == 3, show(r))

    r = c.cli("metrics", "--json")
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    replies = doc.get("replies", {})
    check("metrics --json: both members' metrics", len(replies) == 2 and all(
        m["caches"]["users"]["entries"] == 2 for m in replies.values()), show(r))
    r = c.cli("metrics", "--prometheus")
    lines = [l for l in r.stdout.splitlines() if l.startswith('mccache_cache_entries{')]
    check("metrics --prometheus: one series per member, labelled", r.returncode == 0 and len(lines) == 2
          and all('node="' in l and 'cache="users"' in l and l.endswith(" 2") for l in lines), show(r))

    # A member that does not take new keys (update mode) disagrees.
    c.start_member(cache_mode="update")
    check("a third member heard", c.wait_members(3), "")
    r = c.cli("checksum", "users")
    check("checksum: the update-mode member differs, exit 6", r.returncode == 6 and "DIFFERS" in r.stdout, show(r))
    r = c.cli("put", "users", "carol", "v3", "--wait", "1500")
    check("put that cannot converge: exit 4", r.returncode == 4 and "did not converge" in r.stderr, show(r))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--doc", help="docs/CLI.md: checked against the tool's --help")
    a = ap.parse_args()
    c = Cluster(a.exporter, a.cli)
    c.doc = a.doc
    try:
        offline(c)
        online(c)
    finally:
        c.stop()
    print("%d passed, %d failed" % (len(passed), len(failed)))
    for f in failed:
        print("  failed: " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
