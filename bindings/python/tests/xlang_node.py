#!/usr/bin/env python3
"""The Python member of the cross-language cluster test (tests/xlang/run_xlang.py).

It speaks the line protocol of tests/xlang/README.md on stdin/stdout, as the
C, Go, Rust and Java node programs do, through this package's public API
only (a Node, a Cache used as a dict, its change callback). Logs go to
stderr; stdout carries protocol lines only.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

import mccache

CACHE_NAME = "xlang"


class State:
    def __init__(self, label: str, index: int, keys: int, shared: int):
        self.lock = threading.Lock()
        self.label, self.index, self.keys, self.shared = label, index, keys, shared
        self.self_id = 0
        self.prefixes: dict[str, dict] = {}
        self.mine_own: dict[int, tuple[int, int]] = {}
        self.mine_shared: dict[int, tuple[int, int]] = {}

    def on_change(self, ctx: dict) -> None:
        """Runs on the node's Python callback thread."""
        key = ctx["key"]
        if not isinstance(key, str) or "-" not in key:
            return
        prefix, _, idx_text = key.partition("-")
        if not idx_text.isdigit():
            return
        idx = int(idx_text)
        with self.lock:
            p = self.prefixes.setdefault(prefix, {"local": 0, "remote": 0, "repair": 0,
                                                  "seen": set(), "from": {}})
            origin = ctx["origin"]
            p[origin] += 1
            if origin != "local" and ctx["event"] in ("insert", "update"):
                p["seen"].add(idx)
                value = ctx["value"]
                if isinstance(value, str) and ":" in value:
                    writer = value.split(":", 1)[0]
                    p["from"][writer] = p["from"].get(writer, 0) + 1
            hlc, node = ctx["version"]
            if node == self.self_id:
                slot = None
                if prefix == "shared" and idx < self.shared:
                    slot = self.mine_shared
                elif prefix == self.label and idx < self.keys:
                    slot = self.mine_own
                if slot is not None and slot.get(idx, (0, 0)) < (hlc, node):
                    slot[idx] = (hlc, node)

    def events_json(self) -> str:
        with self.lock:
            return json.dumps({name: {"local": p["local"], "remote": p["remote"], "repair": p["repair"],
                                      "seen": sorted(p["seen"]), "from": p["from"]}
                               for name, p in self.prefixes.items()}, separators=(",", ":"))


def record_own_version(st: State, cache: mccache.Cache, key: str, slot: dict, idx: int) -> None:
    """Our own write's version, recorded at the write. The change events that also
    record it reach this Python thread later, and a probe may come first. If another
    member's newer write landed in between, ours is not the final one and need not
    be known."""
    md = cache.metadata[key]
    if md["version_node"] == st.self_id:
        with st.lock:
            if slot.get(idx, (0, 0)) < (md["version_hlc"], md["version_node"]):
                slot[idx] = (md["version_hlc"], md["version_node"])


def write_phase(st: State, cache: mccache.Cache, phase: int) -> str:
    """The write phases; tests/xlang/README.md defines them for every language."""
    ops = errors = 0
    start = time.monotonic()
    for i in range(st.keys):
        # Each writer starts the shared keys at another quarter (the protocol's
        # formula, whatever the number of nodes).
        j = (i + st.index * (st.shared // 4)) % st.shared
        value = f"{st.label}:{phase}:{i}"
        key = f"{st.label}-{i}"
        try:
            if phase == 1 or i % 5 == 1:
                cache.set(key, value, ttl=float("inf"))
                ops += 1
                record_own_version(st, cache, key, st.mine_own, i)
            elif i % 5 == 0:
                del cache[key]
                ops += 1
        except (KeyError, mccache.MccacheError) as e:
            print(f"xlang_node(python): {key}: {e!r}", file=sys.stderr)
            errors += 1
        key = f"shared-{j}"
        try:
            if phase == 2 and j % 8 == 0:
                if i < st.shared and (j // 8) % 4 == st.index:
                    del cache[key]
                    ops += 1
            else:
                cache.set(key, value, ttl=float("inf"))
                ops += 1
                record_own_version(st, cache, key, st.mine_shared, j)
        except (KeyError, mccache.MccacheError) as e:
            print(f"xlang_node(python): {key}: {e!r}", file=sys.stderr)
            errors += 1
        # Pacing, not synchronisation: iteration i+1 starts pace * (i+1) after the phase began.
        delay = start + (i + 1) * st.pace - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return f"written {phase} {ops} {errors}"


def probe(st: State, cache: mccache.Cache, keys: list[str]) -> str:
    out = {}
    for key in keys:
        row: dict = {}
        value = cache.get(key)
        md = None
        if value is not None:
            try:
                md = cache.metadata[key]
            except KeyError:
                value = None
        if value is not None and md is not None:
            row = {"value": value, "hlc": f"{md['version_hlc']:016x}", "node": f"{md['version_node']:016x}"}
        else:
            row = {"value": None}
        prefix, _, idx_text = key.partition("-")
        mine = None
        if idx_text.isdigit():
            with st.lock:
                if prefix == "shared":
                    mine = st.mine_shared.get(int(idx_text))
                elif prefix == st.label:
                    mine = st.mine_own.get(int(idx_text))
        if mine is not None:
            row["mine"] = [f"{mine[0]:016x}", f"{mine[1]:016x}"]
        out[key] = row
    return "probe " + json.dumps(out, separators=(",", ":"))


def main() -> int:
    p = argparse.ArgumentParser()
    for name in ("--label", "--cluster", "--group"):
        p.add_argument(name, required=True)
    for name in ("--index", "--port", "--keys", "--shared", "--pace-us"):
        p.add_argument(name, type=int, required=True)
    a = p.parse_args()
    st = State(a.label, a.index, a.keys, a.shared)
    st.pace = a.pace_us / 1e6  # type: ignore[attr-defined]

    # Loopback only, whatever the caller says; no MCCACHE_* environment, no pyproject.toml.
    node = mccache.Node({"interface": "127.0.0.1", "cluster_name": a.cluster, "transport": "multicast",
                         "multicast_ip": a.group, "multicast_port": a.port},
                        pyproject=False, env=False)
    st.self_id = node.id
    cache = node.cache(CACHE_NAME, st.on_change)
    iface = node.config()["node"]["interface"]["value"]
    print(f"ready {node.id_hex} {iface}", flush=True)

    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "members":
            reply = f"members {len(node.alive_members())}"
        elif cmd.startswith("write "):
            reply = write_phase(st, cache, int(cmd[6:]))
        elif cmd == "sync":
            node.sync()
            reply = "synced"
        elif cmd == "checksum":
            reply = f"checksum {cache.checksum():016x} {len(cache)}"
        elif cmd == "events":
            reply = "events " + st.events_json()
        elif cmd.startswith("probe "):
            reply = probe(st, cache, cmd[6:].split())
        elif cmd == "quit":
            break
        else:
            print(f"xlang_node(python): unknown command {cmd!r}", file=sys.stderr)
            reply = "error unknown command"
        print(reply, flush=True)
    node.close()
    print("bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
