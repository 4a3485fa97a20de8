#!/usr/bin/env python3
"""One process of the Python benchmark (driven by bench.py over stdin/stdout).

    bench_node.py IMPL IP CLUSTER_JSON

IMPL is ``libmccache`` (this package), ``mccache`` (McCache-Python 0.4.12
from PyPI, in its own venv), ``ttlcache`` (cachetools.TTLCache) or ``dict``.
Commands, one JSON reply line each:

    local N           per-operation costs of N-key batches (set, update, get, miss, in, del)
    hello             makes McCache's process heard (a write to another cache)
    members           how many other members it sees
    burst K PREFIX    writes K keys as fast as it can: start/end (CLOCK_MONOTONIC)
    watch K PREFIX QUIET DEADLINE
                      polls its cache until K keys of PREFIX arrived, or none arrived for
                      QUIET s, or DEADLINE s passed: how many, when the last one came
    quit

McCache-Python identifies a member by its IP address (gethostname() ->
getaddrinfo) and ignores datagrams from its own addresses, so two McCache
processes on one host never hear each other. To run two in one network
namespace, this shim gives each process its own loopback address: IP is
what gethostname() returns, and the multicast sockets it creates send from
IP (IP_MULTICAST_IF). Nothing else of McCache is touched.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

IMPL, IP = sys.argv[1], sys.argv[2]
CLUSTER = json.loads(sys.argv[3])
VALUE = "v" * 100  # a 100-character str value for every implementation


def mccache_shim(ip: str) -> None:
    socket.gethostname = lambda: ip  # type: ignore[assignment]
    base = socket.socket

    class PinnedSocket(base):  # type: ignore[misc, valid-type]
        def sendto(self, data, *args):  # type: ignore[no-untyped-def, override]
            if not getattr(self, "_pinned", False):
                self.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
                self._pinned = True
            return super().sendto(data, *args)

    socket.socket = PinnedSocket  # type: ignore[misc]


def open_cache():  # type: ignore[no-untyped-def]
    if IMPL == "libmccache":
        import mccache

        node = mccache.Node(CLUSTER, pyproject=False, env=False)
        return node.cache("bench"), (lambda: len(node.alive_members())), node.close
    if IMPL == "mccache":
        mccache_shim(IP)
        import mccache  # McCache-Python 0.4.12: starts its threads at import

        c = mccache.get_cache("bench")
        return c, (lambda: len(mccache._mcMember)), (lambda: None)
    if IMPL == "ttlcache":
        import cachetools

        return cachetools.TTLCache(maxsize=1_000_000, ttl=3600), (lambda: 0), (lambda: None)
    if IMPL == "dict":
        return {}, (lambda: 0), (lambda: None)
    raise SystemExit(f"unknown implementation {IMPL}")


def local_costs(c, n: int) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """ns per operation, one figure per batch of 1000 operations."""
    pc = time.perf_counter_ns
    keys = [f"local-{os.getpid()}-{i}" for i in range(n)]
    misses = [f"absent-{i}" for i in range(n)]
    out: dict[str, list[float]] = {k: [] for k in ("set", "update", "get", "miss", "in", "del")}
    batch = 1000
    for lo in range(0, n, batch):
        ks = keys[lo:lo + batch]
        ms = misses[lo:lo + batch]
        t = pc()
        for k in ks:
            c[k] = VALUE
        out["set"].append((pc() - t) / len(ks))
        t = pc()
        for k in ks:
            c[k] = VALUE
        out["update"].append((pc() - t) / len(ks))
        t = pc()
        for k in ks:
            c[k]
        out["get"].append((pc() - t) / len(ks))
        t = pc()
        for k in ms:
            c.get(k)
        out["miss"].append((pc() - t) / len(ks))
        t = pc()
        for k in ks:
            k in c  # noqa: B015
        out["in"].append((pc() - t) / len(ks))
    for lo in range(0, n, batch):
        ks = keys[lo:lo + batch]
        t = pc()
        for k in ks:
            del c[k]
        out["del"].append((pc() - t) / len(ks))
    return out


def count_prefix(c, prefix: str) -> int:  # type: ignore[no-untyped-def]
    # Keys of a burst are the only ones in the cache during a replication run.
    return len(c)


def main() -> int:
    c, members, close = open_cache()
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "local":
            reply = local_costs(c, int(cmd[1]))
        elif cmd[0] == "hello":
            # McCache learns a member only from its datagrams: a write to another
            # cache makes this process heard without touching the measured one.
            if IMPL == "mccache":
                import mccache

                mccache.get_cache("hello")[IP] = IP
            reply = {"hello": True}
        elif cmd[0] == "members":
            reply = {"members": members()}
        elif cmd[0] == "burst":
            k, prefix = int(cmd[1]), cmd[2]
            keys = [f"{prefix}{i}" for i in range(k)]
            start = time.monotonic()
            for key in keys:
                c[key] = VALUE
            end = time.monotonic()
            reply = {"start": start, "end": end}
        elif cmd[0] == "watch":
            k, prefix, quiet, deadline = int(cmd[1]), cmd[2], float(cmd[3]), float(cmd[4])
            t0 = time.monotonic()
            last_n, last_t = count_prefix(c, prefix), time.monotonic()
            first_t = None
            while True:
                now = time.monotonic()
                n = count_prefix(c, prefix)
                if n != last_n:
                    if first_t is None and last_n == 0:
                        first_t = now
                    last_n, last_t = n, now
                if n >= k or now - last_t > quiet or now - t0 > deadline:
                    break
                time.sleep(0.001)  # poll interval; QUIET and DEADLINE bound the wait
            reply = {"count": last_n, "first": first_t, "last": last_t}
        elif cmd[0] == "quit":
            break
        else:
            reply = {"error": line.strip()}
        print(json.dumps(reply), flush=True)
    close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
