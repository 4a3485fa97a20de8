#!/usr/bin/env python3
"""Turns store_bench JSON output into the markdown table of bench/README.md.

    build/bench/store_bench --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true \
        --benchmark_out=store_bench.json --benchmark_out_format=json
    python3 bench/summarize.py store_bench.json

Uses the median of repetitions (or the single run). "x absl" is how many
raw-map lookups one libmccache call costs (absl ops/s divided by ours);
"vs mutex LRU" is our throughput over the mutex LRU's.
"""
import json
import re
import sys

ROWS = [
    # label, libmccache, absl baseline, mutex-LRU baseline
    ("get hit (get + value_free)", "BM_Mc_GetHit", "BM_Absl_FindHit", "BM_MutexLru_GetHit"),
    ("get hit (get_copy)", "BM_Mc_GetCopyHit", "BM_Absl_FindHit", "BM_MutexLru_GetHit"),
    ("get miss", "BM_Mc_GetMiss", "BM_Absl_FindMiss", None),
    ("put update", "BM_Mc_PutUpdate", None, "BM_MutexLru_PutUpdate"),
    ("put insert (2^20 fresh keys)", "BM_Mc_PutInsert", None, None),
    ("put with eviction", "BM_Mc_PutEvict", None, None),
]


def load(path):
    with open(path) as f:
        doc = json.load(f)
    runs = {}
    for b in doc["benchmarks"]:
        if b.get("error_occurred"):
            key = parse(b.get("run_name", b["name"]))
            runs[key] = "error: " + b.get("error_message", "?")
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        runs[parse(b["run_name"])] = b["items_per_second"]
    return doc.get("context", {}), runs


def parse(run_name):
    """('BM_Mc_GetHit', '10000', 1) from 'BM_Mc_GetHit/entries:10000/real_time/threads:1'."""
    family = run_name.split("/")[0]
    size = re.search(r"/(?:entries|cache_max):(\d+)", run_name)
    threads = re.search(r"/threads:(\d+)", run_name)
    return family, size.group(1) if size else "1048576", int(threads.group(1)) if threads else 1


def fmt(v):
    if isinstance(v, str):
        return v
    return f"{v / 1e6:.2f} M/s"


def main():
    context, runs = load(sys.argv[1])
    print(f"Machine: {context.get('num_cpus', '?')} CPUs at {context.get('mhz_per_cpu', '?')} MHz, "
          f"load average at start {context.get('load_avg', '?')}.\n")
    print("| operation | entries | threads | libmccache | per thread | x absl | absl find "
          "| vs mutex LRU | mutex LRU |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, mc, absl, lru in ROWS:
        keys = sorted({(s, t) for (f, s, t) in runs if f == mc}, key=lambda k: (int(k[0]), k[1]))
        for size, threads in keys:
            ours = runs[(mc, size, threads)]
            a = runs.get((absl, size, threads)) if absl else None
            m = runs.get((lru, size, threads)) if lru else None
            both = isinstance(ours, float)
            per = fmt(ours / threads) if both else "-"
            cost = f"{a / ours:.1f}x" if both and isinstance(a, float) else "-"
            gain = f"{ours / m:.1f}x" if both and isinstance(m, float) else "-"
            print(f"| {label} | {int(size):,} | {threads} | {fmt(ours)} | {per} | {cost} | "
                  f"{fmt(a) if a is not None else '-'} | {gain} | {fmt(m) if m is not None else '-'} |")


if __name__ == "__main__":
    main()
