#!/usr/bin/env python3
"""Multi-process stress test in McCache's style, with a strict oracle.

Starts N stress_node processes on loopback (one cluster member each), runs a
paced phase (about 10 ms between operations, McCache's TEST_APERTURE) and
then an unpaced burst, with injected loss, duplication and reordering. Every
member stops writing at the same wall-clock time, waits for quiescence plus a
forced anti-entropy round, and dumps its full map and its own writes.

The oracle, stricter than McCache's (which ignored keys missing on one node
and never compared whole caches):
  1. every member's (key, version, checksum) map is identical, keys missing
     on one member included;
  2. that map is the one the writes imply: for every key, the newest write
     of any member wins, and a newest delete means absent;
  3. every value read during the run and in the final map is whole and was
     written under that key by the member its version names.

Environment: MCCACHE_STRESS_SECONDS (default 60) sets the total length.
Prints "N passed, N failed" last and exits non-zero on any failure.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

EXIT_NAMES = {1: "setup error", 2: "not converged", 3: "integrity failure", 4: "barrier timeout"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--node", required=True, help="path of the stress_node executable")
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--seconds", type=float,
                   default=float(os.environ.get("MCCACHE_STRESS_SECONDS", "60")),
                   help="total length of the run (env MCCACHE_STRESS_SECONDS)")
    p.add_argument("--burst-fraction", type=float, default=1 / 3,
                   help="share of the writing time spent unpaced")
    p.add_argument("--pause-us", type=int, default=10000, help="pause between paced operations")
    p.add_argument("--shared-keys", type=int, default=500)
    p.add_argument("--private-keys", type=int, default=100)
    p.add_argument("--size-mix", default="200,90,10",
                   help="per mille of values of 1-4 KB, 5-50 KB and 200 KB; the rest are 16-200 B")
    p.add_argument("--seed", type=int, default=None, help="replay a run's seed")
    # 20% loss in all: part on the sending side (every receiver misses the
    # datagram) and part on the receiving side (receivers miss different ones).
    p.add_argument("--drop", type=int, default=10, help="fault_drop (%% of datagrams sent)")
    p.add_argument("--drop-recv", type=int, default=11, help="fault_drop_recv (%% received)")
    p.add_argument("--duplicate", type=int, default=5)
    p.add_argument("--delay", type=int, default=5)
    p.add_argument("--delay-max", default="20ms")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="extra engine setting for every node")
    p.add_argument("--work-dir", default=None, help="where run directories go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the run directory even on success")
    return p.parse_args()


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS  {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}" + (f": {detail}" if detail else ""))
        return ok


def schedule(args):
    """Absolute wall-clock times (Unix ms) shared by every member."""
    now = int(time.time() * 1000)
    start = now + 3000  # process start and membership
    writing = max(10.0, args.seconds - 18) * 1000
    burst = start + int(writing * (1 - args.burst_fraction))
    stop = start + int(writing)
    quiesce = int(max(60.0, args.seconds / 2) * 1000)
    return start, burst, stop, quiesce


def launch(args, run_dir, cluster, seed, times):
    start, burst, stop, quiesce = times
    pid = os.getpid()
    # A group and port of its own, so that concurrent runs (other tests,
    # other engineers) do not even share the socket.
    group = f"239.255.{(pid >> 8) & 255}.{pid & 255}"
    port = 20000 + pid % 20000
    settings = [
        f"multicast_ip={group}", f"multicast_port={port}",
        f"fault_drop={args.drop}", f"fault_drop_recv={args.drop_recv}",
        f"fault_duplicate={args.duplicate}", f"fault_delay={args.delay}",
        f"fault_delay_max={args.delay_max}",
        # Ethernet's MTU, as between hosts: loopback's (65507 by default)
        # would carry the 5-50 KiB values whole, and this run fragments them.
        "packet_mtu=1472",
    ] + args.set
    procs = []
    for i in range(args.nodes):
        cmd = [args.node, "--index", str(i), "--nodes", str(args.nodes), "--cluster", cluster,
               "--out", run_dir, "--seed", str(seed), "--start-at", str(start),
               "--burst-at", str(burst), "--stop-at", str(stop), "--pause-us", str(args.pause_us),
               "--shared-keys", str(args.shared_keys), "--private-keys", str(args.private_keys),
               "--size-mix", args.size_mix, "--quiesce-ms", str(quiesce), "--barrier-ms", "30000",
               "--set", f"fault_seed={seed * 100 + i + 1}"]
        for s in settings:
            cmd += ["--set", s]
        log = open(os.path.join(run_dir, f"node{i}.log"), "w")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
    print(f"cluster {cluster}: {args.nodes} nodes on {group}:{port}, seed {seed}, size mix {args.size_mix}, "
          f"paced {(burst - start) / 1000:.0f} s (pause {args.pause_us} us), "
          f"burst {(stop - burst) / 1000:.0f} s, loss {args.drop}% out + {args.drop_recv}% in, "
          f"duplicate {args.duplicate}%, delay {args.delay}% up to {args.delay_max}")
    print(f"run directory: {run_dir}")
    for i, (p, _) in enumerate(procs):
        print(f"  node{i}: pid {p.pid}")
    sys.stdout.flush()
    return procs


def wait_all(procs, deadline):
    codes = []
    for p, log in procs:
        left = deadline - time.monotonic()
        try:
            codes.append(p.wait(timeout=max(0.1, left)))
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            codes.append("killed (timeout)")
        log.close()
    return codes


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_dump(path):
    """key -> (hlc, node, checksum, size); and the entries with a bad verdict."""
    entries, bad = {}, []
    try:
        with open(path) as f:
            for line in f:
                key, hlc, node, checksum, mine, size, origin, verdict = line.split()
                entries[key] = (hlc, node, checksum, int(size))
                if verdict != "ok":
                    bad.append((key, verdict, origin, checksum, mine))
    except OSError:
        return None, []
    return entries, bad


def read_writes(run_dir, nodes):
    """Every member's own writes, with their exact versions, per key."""
    writes, ambiguous = {}, set()
    for i in range(nodes):
        for name, target in (("writes", writes), ("ambiguous", None)):
            try:
                with open(os.path.join(run_dir, f"node{i}.{name}")) as f:
                    for line in f:
                        parts = line.split()
                        if target is None:
                            ambiguous.add(parts[1])
                        else:
                            op, key, hlc, node, checksum = parts
                            target.setdefault(key, []).append((int(hlc, 16), int(node, 16), op, checksum, i))
            except OSError:
                pass
    return writes, ambiguous


def key_text(hexkey):
    try:
        return bytes.fromhex(hexkey).decode()
    except ValueError:
        return hexkey


def version_text(v):
    if v is None:
        return "absent"
    hlc, node = int(v[0], 16), int(v[1], 16)
    return f"{hlc >> 16}.{hlc & 0xffff}@n{node - 1}"


def show_history(key, writes, last=8):
    history = sorted(writes.get(key, []))
    if len(history) > last:
        print(f"        ... {len(history) - last} older writes")
    for hlc, node, op, checksum, writer in history[-last:]:
        what = "put" if op == "P" else "delete"
        print(f"        {what:6} {hlc >> 16}.{hlc & 0xffff}@n{node - 1} (checksum {checksum}) by node{writer}")


def compare_maps(checks, dumps, writes):
    """Oracle 1: identical maps, keys missing on one member included."""
    keys = set()
    for d in dumps:
        keys |= d.keys()
    differing = sorted(k for k in keys if len({d.get(k) for d in dumps}) > 1)
    ok = checks.check(not differing, "every member holds the identical (key, version, checksum) map",
                      f"{len(differing)} of {len(keys)} keys differ")
    if not ok:
        print("    first differing keys (version as ms.counter@writer, and value size, per member):")
        for k in differing[:20]:
            cells = "  ".join(f"n{i}={version_text(d.get(k))}" + (f"/{d[k][3]}B" if k in d else "")
                              for i, d in enumerate(dumps))
            print(f"      {key_text(k):12} {cells}")
        # Which writes fail to spread says a lot: group by the newest value's size.
        classes = {}
        for k in differing:
            newest = max((d[k] for d in dumps if k in d), key=lambda v: (v[0], v[1]))
            size = newest[3]
            label = "<=1408 B (1 datagram)" if size <= 1408 else "<=4 KB" if size <= 4096 else \
                "5-50 KB" if size <= 51200 else "200 KB"
            holders = sum(1 for d in dumps if d.get(k) == newest)
            classes.setdefault(label, []).append(holders)
        for label, holders in sorted(classes.items()):
            print(f"    newest value {label}: {len(holders)} keys, held by "
                  f"{min(holders)}..{max(holders)} of {len(dumps)} members")
        for k in differing[:5]:
            print(f"    write history of {key_text(k)}:")
            show_history(k, writes)
    return ok


def expected_map(writes, ambiguous):
    expected = {}
    for key, ws in writes.items():
        if key in ambiguous:
            continue
        hlc, node, op, checksum, _ = max(ws)
        if op == "P":
            expected[key] = (f"{hlc:016x}", f"{node:016x}", checksum)
    return expected


def truth_problems(dump, writes, ambiguous):
    expected = expected_map(writes, ambiguous)
    problems = []
    for key in sorted((set(expected) | set(dump)) - ambiguous):
        want = expected.get(key)
        have = dump.get(key)
        if have is not None and key not in writes:
            problems.append((key, "present but never written"))
        elif want is None and have is not None:
            problems.append((key, f"resurrected: newest write is a delete, holds {version_text(have)}"))
        elif want is not None and have is None:
            problems.append((key, f"lost: newest write {version_text(want)} is a put, key absent"))
        elif want is not None and have[:3] != want:
            problems.append((key, f"wrong version: holds {version_text(have)}, newest write {version_text(want)}"))
    return problems


def compare_truth(checks, dump, writes, ambiguous):
    """Oracle 2: the converged map is the one the writes imply."""
    problems = truth_problems(dump, writes, ambiguous)
    ok = checks.check(not problems, "the converged map is the newest write of every key",
                      f"{len(problems)} keys wrong ({len(ambiguous)} keys not predictable, skipped)")
    if not ok:
        for key, why in problems[:20]:
            print(f"      {key_text(key):12} {why}")
        for key, _ in problems[:5]:
            print(f"    write history of {key_text(key)}:")
            show_history(key, writes)
    return ok


def metric(summary, name, stage="metrics_final"):
    m = (summary or {}).get(stage) or {}
    return (m.get("cluster") or {}).get(name, 0)


def cache_metric(summary, name, stage="metrics_final"):
    m = (summary or {}).get(stage) or {}
    return ((m.get("caches") or {}).get("stress") or {}).get(name, 0)


def ops(counts):
    return sum(counts.get(k, 0) for k in ("gets", "inserts", "updates", "deletes", "contains", "metadata"))


def report(summaries):
    print("\nper node:")
    print("  node  paced ops/s  burst ops/s  ins/upd/del (all)    nacks s/r  retrans  dups  gaps_unrep"
          "  ae_rounds  ae_repaired(run/quiesce)  lag avg/max ms  sq_overflow  converge ms (stream/ae)")
    for i, s in enumerate(summaries):
        if not s:
            print(f"  n{i}    (no summary)")
            continue
        p, b = s["paced"], s["burst"]
        pr = ops(p) / max(s["paced_seconds"], 1e-9)
        br = ops(b) / max(s["burst_seconds"], 1e-9) if s["burst_seconds"] > 0 else 0
        writes = f"{p['inserts'] + b['inserts']}/{p['updates'] + b['updates']}/{p['deletes'] + b['deletes']}"
        rep_run = metric(s, "ae_keys_repaired", "metrics_at_stop")
        rep_all = metric(s, "ae_keys_repaired")
        print(f"  n{i}   {pr:11.0f}  {br:11.0f}  {writes:19}  "
              f"{metric(s, 'nacks_sent')}/{metric(s, 'nacks_received'):<6}  {metric(s, 'retransmits'):7}  "
              f"{metric(s, 'duplicates'):4}  {metric(s, 'gaps_unrepairable'):10}  {metric(s, 'ae_rounds'):9}  "
              f"{rep_run:>11}/{rep_all - rep_run:<12}  "
              f"{metric(s, 'replication_lag_avg_ms'):6.1f}/{metric(s, 'replication_lag_max_ms'):<6}  "
              f"{metric(s, 'send_queue_overflow'):11}  {s['stream_converge_ms']}/{s['sync_converge_ms']}")
    totals = {}
    for s in filter(None, summaries):
        for k in ("packets_out", "packets_in", "fragments_sent", "retransmits", "nacks_sent", "gaps_unrepairable",
                  "ae_keys_repaired", "ae_keys_pulled", "reassembly_dropped", "stale_records", "send_queue_overflow"):
            totals[k] = totals.get(k, 0) + metric(s, k)
        for k, v in (metric(s, "faults") or {}).items():
            totals["faults." + k] = totals.get("faults." + k, 0) + v
        for k in ("collects", "complete_collects", "remote_events", "repair_events"):
            totals[k] = totals.get(k, 0) + s.get(k, 0)
    print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


def main():
    args = parse_args()
    if args.nodes < 2 or args.nodes > 64:
        print("--nodes must be 2..64")
        return 2
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little") | 1
    cluster = f"stress-{os.getpid()}-{int(time.time())}"
    base = args.work_dir or os.environ.get("TMPDIR", "/tmp")
    os.makedirs(base, exist_ok=True)
    run_dir = os.path.join(base, cluster)
    os.makedirs(run_dir)

    times = schedule(args)
    procs = launch(args, run_dir, cluster, seed, times)
    start, burst, stop, quiesce = times
    # Nothing may hang CI: every process gets the writing time, the
    # quiescence deadline and the barrier, plus a margin; then SIGKILL.
    deadline = time.monotonic() + (stop - time.time() * 1000) / 1000 + quiesce / 1000 + 30 + 30
    try:
        codes = wait_all(procs, deadline)
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    checks = Checks()
    print()
    for i, code in enumerate(codes):
        checks.check(code == 0, f"node{i} exited 0",
                     f"{code} ({EXIT_NAMES.get(code, 'crash or signal')}); see node{i}.log")
    summaries = [read_json(os.path.join(run_dir, f"node{i}.json")) for i in range(args.nodes)]
    dumps, bad = [], []
    for i in range(args.nodes):
        d, b = read_dump(os.path.join(run_dir, f"node{i}.dump"))
        dumps.append(d)
        bad += [(i,) + x for x in b]
    have_all = checks.check(all(d is not None for d in dumps), "every member wrote its dump")
    writes, ambiguous = read_writes(run_dir, args.nodes)

    if have_all:
        identical = compare_maps(checks, dumps, writes)
        dropped_events = sum(((s or {}).get("metrics_final") or {}).get("node", {}).get("events_dropped", 0)
                             for s in summaries)
        complete = all(s and s.get("write_log_complete") for s in summaries) and dropped_events == 0
        if checks.check(complete, "every member's write log is complete (no change event dropped)",
                        f"{dropped_events} events dropped"):
            if identical:
                compare_truth(checks, dumps[0], writes, ambiguous)
            else:
                # Say which members hold the newest writes; details for the worst.
                wrong = [len(truth_problems(d, writes, ambiguous)) for d in dumps]
                worst = wrong.index(max(wrong))
                checks.check(False, "the converged map is the newest write of every key",
                             "members differ; keys not at their newest write: " +
                             ", ".join(f"node{i} {n}" for i, n in enumerate(wrong)))
                for key, why in truth_problems(dumps[worst], writes, ambiguous)[:10]:
                    print(f"      node{worst} {key_text(key):12} {why}")
    failures = sum((s or {}).get("paced", {}).get("integrity_failures", 0) +
                   (s or {}).get("burst", {}).get("integrity_failures", 0) for s in summaries)
    checks.check(not bad and failures == 0, "every value read is whole and belongs to its key and writer",
                 f"{failures} bad reads during the run, {len(bad)} bad entries in the dumps "
                 + "; ".join(f"node{i} {key_text(k)} {v} (written {o})" for i, k, v, o, _, _ in bad[:5]))
    anomalies = sum((s or {}).get("anomalies", 0) for s in summaries)
    evictions = sum((cache_metric(s, "evictions") or {}).get("total", 0) for s in summaries)
    checks.check(anomalies == 0 and evictions == 0, "no eviction or expiry (they would diverge by design)",
                 f"{anomalies} events, {evictions} evictions")
    dropped = sum((metric(s, "faults") or {}).get("dropped_out", 0) + (metric(s, "faults") or {}).get("dropped_in", 0)
                  for s in summaries)
    checks.check(dropped > 0, "loss was really injected", "faults.dropped_* are 0")
    all_members = all(s and s.get("members_at_start") == args.nodes for s in summaries)
    checks.check(all_members, "every member saw the full membership before writing")

    report([s or None for s in summaries])
    if dumps and dumps[0] is not None:
        print(f"final map: {len(dumps[0])} keys; {len(ambiguous)} keys with an unpredictable delete")

    if checks.failed == 0 and not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        print(f"run directory kept: {run_dir}  (replay: --seed {seed})")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
