"""Python processes in one cluster stay coherent; the module API's cluster queries; McCache's example."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mccache

from conftest import child_env, wait_until

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "readme_example.py"


class Peer:
    def __init__(self, settings, label):
        self.label = label
        self.proc = subprocess.Popen([sys.executable, str(HERE / "peer.py"), json.dumps(settings), label],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                     env=child_env())
        self.id = self.expect("ready", 30)

    def expect(self, word, timeout):
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            pytest.fail(f"peer {self.label}: no {word!r} within {timeout} s")
        line = self.proc.stdout.readline().rstrip("\n")
        head, _, rest = line.partition(" ")
        assert head == word, f"peer {self.label}: expected {word!r}, got {line[:200]!r}"
        return rest

    def ask(self, cmd, word, timeout=30):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.expect(word, timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ask("quit", "bye", 30)
                self.proc.wait(30)
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
        return self.proc.wait()


def test_two_python_processes_stay_coherent(cluster, default_node_env):
    a = Peer(cluster, "a")
    b = Peer(cluster, "b")
    try:
        me = mccache.get_cache("coherent")  # this process is a third member
        n = mccache.default_node()
        wait_until(lambda: len(n.alive_members()) == 2 and a.ask("members", "members") == "2"
                   and b.ask("members", "members") == "2", 20, "three members")
        # Both write at once: own keys and shared keys of mixed types, conflicting.
        for p, seed in ((a, 1), (b, 2)):
            p.proc.stdin.write(f"work {seed} 3000\n")
            p.proc.stdin.flush()
        assert a.expect("done", 120) == "3000" and b.expect("done", 120) == "3000"

        def converged():
            a.ask("sync", "synced")
            b.ask("sync", "synced")
            sa, sb = a.ask("checksum", "checksum"), b.ask("checksum", "checksum")
            mine = f"{me.checksum():016x} {len(me)}"
            return sa == sb == mine and sa

        summary = wait_until(converged, 30, "the three checksums to agree")
        dump_a = json.loads(a.ask("dump", "dump"))
        dump_b = json.loads(b.ask("dump", "dump"))
        mine = sorted([repr(k), repr(v)] for k, v in me.items())
        assert dump_a == dump_b == mine
        assert int(summary.split()[1]) == len(mine) > 50
        # Nothing lost: every process's last write to its own keys is what everyone holds.
        for p in (a, b):
            for k, v in json.loads(p.ask("own", "own")).items():
                assert me.get(k) == v, f"{k}: {p.label} last wrote {v!r}, this member holds {me.get(k)!r}"
        # The cluster queries see the same digest on all three.
        sums = mccache.get_cluster_checksum("coherent", timeout=5)
        assert set(sums) == {a.id, b.id, n.id_hex}
        assert {s["checksum"] for s in sums.values()} == {summary.split()[0]}
        assert {s["entries"] for s in sums.values()} == {len(mine)}
        only_a = mccache.get_cluster_checksum("coherent", node=a.id, timeout=5)
        assert set(only_a) == {a.id}
    finally:
        codes = [a.close(), b.close()]
    assert codes == [0, 0]


def test_cluster_metrics_and_checksums(make_node, default_node_env):
    n = mccache.default_node()
    other = make_node()  # a second node in the same cluster (same process)
    c = mccache.get_cache("m")
    oc = other.cache("m")
    wait_until(lambda: n.alive_members() and other.alive_members(), 15, "the two nodes to meet")
    c["x"] = "1"
    wait_until(lambda: oc.get("x") == "1", 15, "replication")
    metrics = mccache.get_cluster_metrics(timeout=5)
    assert set(metrics) == {n.id_hex, other.id_hex}
    assert all("node" in m and "caches" in m for m in metrics.values())
    per_cache = mccache.get_cluster_metrics("m", timeout=5)
    assert set(per_cache) == {n.id_hex, other.id_hex} and all(isinstance(v, dict) and v for v in per_cache.values())
    assert set(mccache.get_cluster_metrics(node=other.id, timeout=5)) == {other.id_hex}
    sums = mccache.get_cluster_checksum("m", timeout=5)
    assert sums[n.id_hex] == sums[other.id_hex] == {"checksum": f"{c.checksum():016x}", "entries": 1}
    missing = mccache.get_cluster_checksum("nowhere", timeout=5)
    assert set(missing) == {n.id_hex, other.id_hex}
    assert all(v == {"checksum": "0" * 16, "entries": 0} for v in missing.values())
    with pytest.raises(mccache.NotSupportedError):
        mccache.get_cluster_checksum("m", key="x", node=other.id)
    assert mccache.get_cluster_checksum("m", key="x", node=n.id) == {
        n.id_hex: {"x": mccache.get_local_checksum("m", "x")["x"]}}
    with pytest.raises(mccache.InvalidArgumentError):
        mccache.get_cluster_metrics(node="10.9.9.9")


def test_local_checksum_metrics_and_clear(make_node, default_node_env):
    c = mccache.get_cache("lc")
    d = mccache.get_cache("lc2")
    for i in range(5):
        c[f"k{i}"] = i
    d["z"] = "z"
    sums = mccache.get_local_checksum("lc")
    assert list(sums) == [f"k{i}" for i in range(5)]
    assert sums["k3"]["crc"] == f"{c.key_checksum('k3'):016x}" and sums["k3"]["tsm"] > 0
    assert mccache.get_local_checksum("lc", "k1") == {"k1": sums["k1"]}
    assert mccache.get_local_checksum("lc", "absent") == {}
    m = mccache.get_local_metrics("lc")
    assert isinstance(m, dict) and m
    allm = mccache.get_local_metrics()
    assert {"lc", "lc2"} <= set(allm["caches"])
    other = make_node()
    oc = other.cache("lc")
    wait_until(lambda: len(oc) == 5, 15, "replication of lc")
    with pytest.raises(mccache.NotSupportedError):
        mccache.clear_cache("lc", node=other.id)
    assert mccache.clear_cache("lc") == {"lc": 5}
    assert len(c) == 0
    wait_until(lambda: len(oc) == 0, 15, "the clear to replicate")
    cleared = mccache.clear_cache()
    assert cleared["lc2"] == 1 and len(d) == 0


def test_mccache_readme_example_runs(tmp_path, cluster):
    """Seed 000's README example, with its one change (a codec for datetime values)."""
    text = EXAMPLE.read_text()
    changed = [line for line in text.splitlines() if "CHANGED" in line and not line.startswith("#")]
    assert len(changed) == 1
    env = {k: v for k, v in child_env().items() if not k.startswith("MCCACHE_") or k == "MCCACHE_LIBRARY"}
    env.update({"MCCACHE_INTERFACE": "127.0.0.1", "MCCACHE_CLUSTER_NAME": cluster["cluster_name"],
                "MCCACHE_MULTICAST_IP": cluster["multicast_ip"],
                "MCCACHE_MULTICAST_PORT": str(cluster["multicast_port"])})
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout
    assert "Inserted on " in lines and "+00:00" in lines
    assert "Updated  on " in lines
    assert "Metadata for key 'k1' is {" in lines and "'tsm':" in lines and "'lkp':" in lines
    assert " k1  is not in the cache." in lines
    assert "'k2': {'crc':" in lines and "'k1'" not in lines.split("'k2': {'crc':")[1].split("}")[0]
    assert time.monotonic() - t0 < 120
