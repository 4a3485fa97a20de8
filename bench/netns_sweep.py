#!/usr/bin/env python3
"""Repair cost against cluster size (issues 12 and 17): 2, 3, 5, 8 and 12
members in network namespaces on one bridge, at 0% and 20% loss (nftables
dropping the cluster's UDP at random on every member's input, inside the
namespaces only).

Each size runs one cluster. The cluster writes a fixed total of --rate
operations/s (600; each member its share; 95% puts, 5% deletes over 2,000
shared keys; values 10 B..1,000 B, log-uniform) in --bursts bursts of
--burst-s seconds; after each burst the writers stop and the time until
every member holds the same state (checksums and lengths; no sync call) is
one sample. Then the same writes (same seeds) again under loss.

Reported per size and loss (per member: the mean over members, and the
worst member where it matters):
  - time to converge after the writers stop: p50 and p99 over the bursts
    (nearest rank: with 8 samples, p99 is the largest);
  - datagrams in and out per second, and per write (all members' datagrams
    out / writes);
  - CPU per member (cores: user + system seconds / elapsed);
  - own losses (the host's nftables drops and its socket buffer's), duplicates, NACKs sent,
    datagrams retransmitted (unicast to the asker / multicast to all),
    unrepairable gaps, repair-channel messages (anti-entropy);
  - extra datagrams that reached a member under loss over the loss-free
    run (heartbeats taken out), per second and as a ratio to its own
    losses (issue 17's goal: at most 2 at every size).

Needs root, iproute2 and nftables (like the Netns tests). Writes
bench/results/netns_sweep.json (--out) and prints a Markdown table for
bench/README.md. Takes about 4 minutes on the 2-core VM.

  sudo python3 bench/netns_sweep.py --node build/tests/netns/netns_node
"""
import json
import os
import platform
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "netns"))
from netns_harness import Cluster, phase, run_scenario  # noqa: E402
from netns_loss import extra_over, measure, new_seeds  # noqa: E402


def pct(samples, p):
    """Nearest-rank percentile; None if any sample missed its deadline."""
    if not samples or any(s is None for s in samples):
        return None
    s = sorted(samples)
    return s[max(0, min(len(s) - 1, -(-p * len(s) // 100) - 1))]


def summarize(r, extra=None):
    m = r["members"]
    n = len(m)
    t = r["elapsed_s"]

    def mean(f):
        return sum(f(x) for x in m.values()) / n

    out = {
        "members": n, "loss_pct": r["loss"], "writes": r["writes"], "elapsed_s": t,
        "converge_s": r["converge_s"], "converged": all(x is not None for x in r["converge_s"]),
        "converge_p50_s": pct(r["converge_s"], 50),
        "converge_p99_s": pct(r["converge_s"], 99),
        "datagrams_in_per_s": round(mean(lambda x: x["packets_in"] - x["own_datagrams_in"]) / t),
        "datagrams_out_per_s": round(mean(lambda x: x["packets_out"]) / t),
        "datagrams_out_per_write": round(sum(x["packets_out"] for x in m.values()) / max(1, r["writes"]), 2),
        "cpu_cores": round(mean(lambda x: x["cpu_ms"]) / 1000.0 / t, 3),
        "cpu_cores_max": round(max(x["cpu_ms"] for x in m.values()) / 1000.0 / t, 3),
        "own_losses": round(mean(lambda x: x["lost"])),
        "duplicates": round(mean(lambda x: x["duplicates"])),
        "nacks_sent": round(mean(lambda x: x["nacks_sent"])),
        "retransmit_unicast": round(mean(lambda x: x["retransmit_datagrams"])),
        "retransmit_multicast": round(mean(lambda x: x["retransmits_multicast"])),
        "gaps_unrepairable": round(mean(lambda x: x["gaps_unrepairable"])),
        "repair_messages": round(mean(lambda x: x["repair.messages_sent"])),
        "rcvbuf_errors": round(mean(lambda x: x["rcvbuf_err"])),
    }
    if extra is not None:
        out["extra_in_per_s"] = round(sum(extra.values()) / n / t)
        ratios = [extra[k] / m[k]["lost"] for k in m if m[k]["lost"]]
        out["extra_over_own_losses_max"] = round(max(ratios), 2) if ratios else None
        out["extra_over_own_losses_mean"] = round(sum(ratios) / len(ratios), 2) if ratios else None
    return out


def fmt(v, spec="%.2f"):
    return "-" if v is None else spec % v


def table(rows):
    lines = ["| members | loss | converge p50 / p99 (s) | dgrams in/s | out/s | out/write | CPU/member (cores) "
             "| own losses | duplicates | NACKs | resent uni / multi | gaps to AE | AE repairs "
             "| extra in/s | extra / own losses (max) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %d | %d%% | %s / %s | %d | %d | %.2f | %.3f | %d | %d | %d | %d / %d | %d | %d | %s | %s |" % (
            r["members"], r["loss_pct"],
            fmt(r["converge_p50_s"]) if r["converged"] else "**not within 30 s**", fmt(r["converge_p99_s"]),
            r["datagrams_in_per_s"], r["datagrams_out_per_s"], r["datagrams_out_per_write"], r["cpu_cores"],
            r["own_losses"], r["duplicates"], r["nacks_sent"], r["retransmit_unicast"], r["retransmit_multicast"],
            r["gaps_unrepairable"], r["repair_messages"], fmt(r.get("extra_in_per_s"), "%+d"),
            fmt(r.get("extra_over_own_losses_max"))))
    return "\n".join(lines)


def sweep(args, net, logdir, res):
    rng = random.Random(args.seed)
    rows = []
    for n in args.sizes:
        phase("%d members" % n)
        c = Cluster(args, net, logdir, rng, hosts=n, tag="n%d" % n)
        try:
            if not c.start(res):
                continue
            seeds = new_seeds(rng, args.bursts, n)
            base = None
            for loss in args.losses:
                r = measure(c, net, res, loss, args.rate, args.bursts, args.burst_s, seeds,
                            label="%d members, %d%% loss" % (n, loss))
                if loss == 0:
                    base = r
                rows.append(summarize(r, extra_over(base, r) if base and loss else None))
            c.stop(res)
        finally:
            c.kill_all()
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    doc = {"bench": "netns_sweep", "commit": commit, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
           "settings": {"rate_total": args.rate, "bursts": args.bursts, "burst_s": args.burst_s,
                        "keys": 2000, "values": "10..1000 B log-uniform", "heartbeat_interval": "250ms",
                        "cache_pulse": "10m", "seed": args.seed},
           "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    phase("results (%s)" % args.out)
    print(table(rows))


def add_args(ap):
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[2, 3, 5, 8, 12])
    ap.add_argument("--losses", type=lambda s: [int(x) for x in s.split(",")], default=[0, 20],
                    help="percent; 0 first gives the baseline for 'extra'")
    ap.add_argument("--rate", type=int, default=600, help="operations/s, the whole cluster")
    ap.add_argument("--bursts", type=int, default=8)
    ap.add_argument("--burst-s", type=float, default=1.5)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "netns_sweep.json"))


if __name__ == "__main__":
    sys.exit(run_scenario(__doc__, lambda a: max(a.sizes), sweep, add_args, name="netns_sweep"))
