#!/usr/bin/env python3
"""Bench::report: bench/report turns the committed result files into a
report with its plots, without running a bench; a section whose file is
missing says so; python.json, when present, adds its section.

usage: check_report.py --report bench/report --results bench/results"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

passed, failed = [], []


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print("[%s] %s%s" % ("PASS" if ok else "FAIL", name, (": " + str(detail)[-800:]) if detail and not ok else ""),
          flush=True)


def run(report, results, out):
    return subprocess.run([sys.executable, report, "--results", results, "--out", out], capture_output=True,
                          text=True, timeout=300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--results", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        res = os.path.join(d, "results")
        shutil.copytree(a.results, res, ignore=shutil.ignore_patterns("report", "python.json"))
        out = os.path.join(d, "out")
        r = run(a.report, res, out)
        check("report from the committed results exits 0", r.returncode == 0, r.stderr)
        md = open(os.path.join(out, "REPORT.md"), encoding="utf-8").read() if r.returncode == 0 else ""
        for png in ("hitratio.png", "kv_latency_cdf.png", "latency_cdf.png", "throughput_value_size.png",
                    "netns_sweep.png", "seal.png", "bindings.png"):
            p = os.path.join(out, png)
            ok = os.path.exists(p) and open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and "](%s)" % png in md
            check("%s written and linked" % png, ok)
        check("hit ratio section compares with Caffeine", "libmccache minus Caffeine over 24 rows" in md, md[:400])
        check("without python.json the section says so", "No result file for McCache-Python" in md)

        # A python.json with the shape bindings/python/bench writes.
        ops = {o: {"p50_ns": 1000.0 * (i + 1), "p99_ns": 2000.0, "batches": 1}
               for i, o in enumerate(("set", "get"))}
        doc = {"bench": "bindings/python/bench", "date": "test",
               "local": {k: ops for k in ("dict", "libmccache", "mccache")},
               "replication": {"libmccache": {"rate_keys_per_s_median": 123456, "lost_max": 0},
                               "mccache": {"rate_keys_per_s_median": 654, "lost_max": 7}}}
        json.dump(doc, open(os.path.join(res, "python.json"), "w"))
        os.remove(os.path.join(res, "seal.md"))
        out2 = os.path.join(d, "out2")
        r = run(a.report, res, out2)
        md = open(os.path.join(out2, "REPORT.md"), encoding="utf-8").read() if r.returncode == 0 else ""
        check("python.json adds its plot and table", os.path.exists(os.path.join(out2, "python.png"))
              and "| McCache-Python | 654 | 7 |" in md, r.stderr + md[-600:])
        check("a missing seal.md: the section names the command", "build/bench/seal_bench > bench/results/seal.md"
              in md and not os.path.exists(os.path.join(out2, "seal.png")))
    print("%d passed, %d failed" % (len(passed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
