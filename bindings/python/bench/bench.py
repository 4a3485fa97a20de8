#!/usr/bin/env python3
"""McCache-Python 0.4.12 and this package side by side (run by run_bench.sh, inside
a network namespace that has nothing but loopback).

1. Local dict operations, one process each: plain dict, cachetools.TTLCache,
   libmccache (this package), McCache-Python. ns per operation from batches of
   1000 (median and p99 of the batches), and ratios.
2. Replication between two processes: a writer writes K keys as fast as it
   can, a receiver watches its own cache fill. Keys/s as the receiver sees
   them arrive, and keys lost (still missing once nothing arrived for QUIET s).

Writes JSON (--out) and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPS = ("set", "update", "get", "miss", "in", "del")


class Proc:
    def __init__(self, python: str, impl: str, ip: str, cluster: dict, workdir: Path, env: dict):
        self.impl = impl
        self.p = subprocess.Popen([python, str(HERE / "bench_node.py"), impl, ip, json.dumps(cluster)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                  cwd=workdir, env=env)
        self.read(60)

    def send(self, cmd: str) -> None:
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def read(self, timeout: float) -> dict:
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"{self.impl}: no reply within {timeout} s")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.impl}: exited with {self.p.wait()}")
        return json.loads(line)

    def ask(self, cmd: str, timeout: float = 600) -> dict:
        self.send(cmd)
        return self.read(timeout)

    def close(self) -> None:
        try:
            self.send("quit")
            self.p.wait(20)
        except Exception:  # noqa: BLE001
            pass
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def cluster_for(run: str) -> dict:
    return {"interface": "127.0.0.1", "cluster_name": f"pybench-{os.getpid()}-{run}", "transport": "multicast",
            "multicast_ip": "239.255.77.1", "multicast_port": 24000, "cache_max": 4_000_000,
            "cache_size": "2GiB", "log_level": "error"}


def local_bench(args, pythons, envs, workdir) -> dict:
    out = {}
    for impl in ("dict", "ttlcache", "libmccache", "mccache"):
        samples: dict[str, list[float]] = {op: [] for op in OPS}
        for rep in range(args.repeats):
            p = Proc(pythons[impl], impl, "127.0.0.1", cluster_for(f"local-{impl}-{rep}"), workdir, envs[impl])
            try:
                r = p.ask(f"local {args.local_keys}")
            finally:
                p.close()
            for op in OPS:
                samples[op].extend(r[op])
        out[impl] = {op: {"p50_ns": round(statistics.median(v), 1), "p99_ns": round(pct(v, 0.99), 1),
                          "batches": len(v)} for op, v in samples.items()}
        print(f"local {impl}: " + ", ".join(f"{op} {out[impl][op]['p50_ns']:.0f} ns" for op in OPS), flush=True)
    return out


def replication_bench(args, pythons, envs, workdir) -> dict:
    out = {}
    for impl in ("libmccache", "mccache"):
        runs = []
        for run in range(args.repeats):
            cluster = cluster_for(f"repl-{impl}-{run}")
            recv = Proc(pythons[impl], impl, "127.0.0.1", cluster, workdir, envs[impl])
            writer = Proc(pythons[impl], impl, "127.0.0.2", cluster, workdir, envs[impl])
            try:
                recv.ask("hello")
                writer.ask("hello")
                deadline = time.monotonic() + 60
                while not (recv.ask("members")["members"] >= 1 and writer.ask("members")["members"] >= 1):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{impl}: the two processes did not see each other in 60 s")
                    time.sleep(0.1)
                prefix = f"r{run}-"
                recv.send(f"watch {args.keys} {prefix} {args.quiet} {args.deadline}")
                w = writer.ask(f"burst {args.keys} {prefix}", args.deadline + 60)
                r = recv.read(args.deadline + 60)
            finally:
                writer.close()
                recv.close()
            elapsed = r["last"] - w["start"]
            row = {"keys": args.keys, "received": r["count"], "lost": args.keys - r["count"],
                   "lost_pct": round(100.0 * (args.keys - r["count"]) / args.keys, 2),
                   "seconds": round(elapsed, 4),
                   "rate_keys_per_s": round(r["count"] / elapsed) if elapsed > 0 else None,
                   "writer_keys_per_s": round(args.keys / (w["end"] - w["start"]))}
            runs.append(row)
            print(f"replication {impl} run {run}: {row}", flush=True)
        rates = [x["rate_keys_per_s"] for x in runs if x["rate_keys_per_s"]]
        out[impl] = {"runs": runs,
                     "rate_keys_per_s_median": statistics.median(rates) if rates else None,
                     "lost_median": statistics.median(x["lost"] for x in runs),
                     "lost_max": max(x["lost"] for x in runs)}
    return out


def markdown(res: dict) -> str:
    loc = res["local"]
    lines = ["| operation (ns, p50 / p99) | dict | cachetools TTLCache | libmccache (this package) | McCache-Python 0.4.12 | McCache / libmccache |",
             "|---|---:|---:|---:|---:|---:|"]
    names = {"set": "insert `c[k] = v`", "update": "update `c[k] = v`", "get": "hit `c[k]`",
             "miss": "miss `c.get(k)`", "in": "`k in c`", "del": "`del c[k]`"}
    for op in OPS:
        cells = [f"{loc[i][op]['p50_ns']:.0f} / {loc[i][op]['p99_ns']:.0f}" for i in ("dict", "ttlcache", "libmccache", "mccache")]
        ratio = loc["mccache"][op]["p50_ns"] / loc["libmccache"][op]["p50_ns"]
        lines.append(f"| {names[op]} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    rep = res["replication"]
    lines += ["", f"| two processes, burst of {res['settings']['keys']} keys | keys/s at the receiver (median; runs) | keys lost (median; max) | writer keys/s (runs) |",
              "|---|---:|---:|---:|"]
    for impl, label in (("libmccache", "libmccache (this package)"), ("mccache", "McCache-Python 0.4.12")):
        r = rep[impl]
        rates = ", ".join(f"{x['rate_keys_per_s']:,}" for x in r["runs"])
        writer = ", ".join(f"{x['writer_keys_per_s']:,}" for x in r["runs"])
        lines.append(f"| {label} | {r['rate_keys_per_s_median']:,} ({rates}) | "
                     f"{r['lost_median']} ({r['lost_max']}) | {writer} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ours-python", required=True, help="interpreter with this package and cachetools")
    ap.add_argument("--orig-python", required=True, help="interpreter with mccache==0.4.12 and cryptography")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--out", required=True, help="JSON results")
    ap.add_argument("--local-keys", type=int, default=20000)
    ap.add_argument("--keys", type=int, default=10000, help="keys per replication burst")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quiet", type=float, default=5.0, help="seconds without a new key that end a run")
    ap.add_argument("--deadline", type=float, default=120.0)
    args = ap.parse_args()
    workdir = Path(args.workdir)
    (workdir / "log").mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MCCACHE_") or k == "MCCACHE_LIBRARY"}
    orig_env = dict(base, MCCACHE_CACHE_MAX="4000000", MCCACHE_CACHE_SIZE=str(2 << 30),
                    MCCACHE_LOG_FILENAME=str(workdir / "log" / "mccache.log"))
    orig_env.pop("PYTHONPATH", None)
    orig_env.pop("MCCACHE_LIBRARY", None)
    pythons = {"dict": args.ours_python, "ttlcache": args.ours_python, "libmccache": args.ours_python,
               "mccache": args.orig_python}
    envs = {"dict": base, "ttlcache": base, "libmccache": base, "mccache": orig_env}
    res = {
        "bench": "bindings/python/bench",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
        "settings": {"local_keys": args.local_keys, "keys": args.keys, "repeats": args.repeats,
                     "quiet_s": args.quiet, "value": "str of 100 characters",
                     "network": "one network namespace, loopback only (127.0.0.1 and 127.0.0.2)"},
    }
    res["local"] = local_bench(args, pythons, envs, workdir)
    res["replication"] = replication_bench(args, pythons, envs, workdir)
    res["markdown"] = markdown(res)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(res["markdown"])
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
