#!/usr/bin/env python3
"""Loss repair whose cost per member does not grow with the cluster (issue
17), eight hosts (--hosts) in network namespaces.

The cluster writes a fixed total of --rate operations/s (600; each host its
share; 95% puts and 5% deletes over 2,000 shared keys, values log-uniform
10 B..1,000 B, so one datagram each) in --bursts bursts of --burst-s
seconds (3 x 3 s), twice over with the same seeds:

  1. with no loss: the baseline of what every member receives;
  2. with 20% (--loss) of the cluster's UDP dropped on every host's input
     by nftables. A member's "own losses" are that host's nftables drop
     counter, plus the datagrams its full socket buffer dropped (the
     kernel's RcvbufErrors in its namespace; zero unless the machine
     starves the member).

After each burst the writers stop and the members must converge (equal
checksums and lengths, then identical (key, version, value hash) maps)
with no mccache_sync call, within a generous deadline (30 s; no timing is
asserted: the times are printed, and bench/netns_sweep.py reports them).

Asserted on counts, per member (the issue's goal: the repair traffic a
member receives is proportional to its own losses, not to the cluster):

  extra datagrams <= 2 x own losses, where extra is what reached the host
    under loss (received + own losses) less what reached it with
    no loss, both less the heartbeats (N-1 peers x window / interval)
    since the windows' lengths differ a little;
  duplicates <= 2 x own losses (messages or fragments received twice: a
    repair for somebody else's loss, or a second repair for one's own).

Printed: per-member datagrams in and out, duplicates, NACKs, retransmits
(unicast and multicast), unrepairable gaps, CPU seconds.

measure() is also what bench/netns_sweep.py runs over 2..12 members.
Prints `N passed, N failed`; exits 1 on any failure.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_cluster import compare_maps, wait_converged  # noqa: E402
from netns_env import loss_rules  # noqa: E402
from netns_harness import Cluster, phase, run_scenario  # noqa: E402

KEYS = 2000
VMIN, VMAX = 10, 1000
TABLE_KEYS = ["arrived", "packets_out", "lost", "duplicates", "nacks_sent", "retransmit_datagrams",
              "retransmits_multicast", "gaps_unrepairable", "ae_rounds", "ae_digests_received",
              "repair.exchange_sent", "repair.messages_sent", "rcvbuf_err", "cpu_ms"]


def cpu_ms(node):
    """User + system CPU of the node's process so far, in ms."""
    with open("/proc/%d/stat" % node.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def measure(c, net, res, loss, rate, bursts, burst_s, seeds, deadline_s=30.0, label=None):
    """`bursts` bursts of writes at `rate` operations/s in all under `loss`
    percent, each followed by convergence. Returns {"converge_s": [..] (None
    for a burst that missed the deadline), "elapsed_s", "writes",
    "members": {name: counter deltas plus arrived, cpu_ms, heartbeats}}."""
    label = label or "%d%% loss" % loss
    n = len(c.nodes)
    per_host = max(1, rate // n)
    rules = loss_rules([c.mport, c.lport], loss) if loss else []
    net.set_rules_all({x.netns: rules for x in c.nodes})  # resets the drop counters
    before = c.snapshot()
    cpu0 = {x.name: cpu_ms(x) for x in c.nodes}
    t0 = time.monotonic()
    out = {"loss": loss, "members_n": n, "rate": per_host * n, "converge_s": [], "writes": 0}
    for b in range(bursts):
        for x, s in zip(c.nodes, seeds[b]):
            x.start_work(seed=s, profile=1, rate=per_host, shared=KEYS, vmin=VMIN, vmax=VMAX,
                         ms=int(burst_s * 1000), ops=int(per_host * burst_s))
        totals = c.wait_workload(res)
        out["writes"] += totals.get("updates", 0) + totals.get("deletes", 0)
        t_stop = time.monotonic()
        took, sums = wait_converged(c.nodes, deadline_s, since=t_stop)
        res.check("%s, burst %d: converged after the writers stopped (no sync call; deadline %.0f s)"
                  % (label, b + 1, deadline_s), took is not None,
                  ("%.2f s" % took) if took is not None else "not within %.0f s: %s" % (deadline_s, ", ".join(
                      "%s=%s/%d" % (x.name, s[0][:8], s[1]) for x, s in zip(c.nodes, sums))))
        out["converge_s"].append(None if took is None else round(took, 3))
        if took is None:
            break
    elapsed = time.monotonic() - t0
    after = c.snapshot()
    cpu1 = {x.name: cpu_ms(x) for x in c.nodes}
    if rules:
        net.set_rules_all({x.netns: [] for x in c.nodes})
    ok, text = compare_maps(c.nodes)
    res.check("%s: identical (key, version, value hash) maps" % label, ok, text)
    d = c.delta(after, before)
    beats = (n - 1) * elapsed * 1000.0 / c.heartbeat_ms
    for name, x in d.items():
        # Everything that reached the host for the cluster: what the node
        # read, what nftables dropped before it could, and what a full
        # socket buffer dropped (a starved member's own losses too).
        x["lost"] = x["dropped"] + x["rcvbuf_err"]
        x["arrived"] = x["packets_in"] - x["own_datagrams_in"] + x["lost"]
        x["cpu_ms"] = cpu1[name] - cpu0[name]
        x["heartbeats"] = round(beats)
    c.print_table(d, TABLE_KEYS, "%s: %.1f s, %d writes, per member:" % (label, elapsed, out["writes"]))
    out["elapsed_s"] = round(elapsed, 2)
    out["members"] = d
    return out


def new_seeds(rng, bursts, n):
    return [[rng.randrange(1, 1 << 62) for _ in range(n)] for _ in range(bursts)]


def extra_over(base, lossy):
    """Per member: datagrams that reached it under loss beyond the loss-free
    run, heartbeats of each window taken out."""
    out = {}
    for name, x in lossy["members"].items():
        b = base["members"][name]
        out[name] = (x["arrived"] - x["heartbeats"]) - (b["arrived"] - b["heartbeats"])
    return out


def scenario(args, net, logdir, res):
    rng = random.Random(args.seed)
    c = Cluster(args, net, logdir, rng)
    try:
        phase("start: %d members" % len(c.nodes))
        if not c.start(res):
            return
        seeds = new_seeds(rng, args.bursts, len(c.nodes))
        phase("no loss: %d x %.0f s of writes, %d operations/s in all" % (args.bursts, args.burst_s, args.rate))
        base = measure(c, net, res, 0, args.rate, args.bursts, args.burst_s, seeds)
        phase("%d%% loss on every host's input: the same writes" % args.loss)
        lossy = measure(c, net, res, args.loss, args.rate, args.bursts, args.burst_s, seeds)
        extra = extra_over(base, lossy)
        lost = {name: x["lost"] for name, x in lossy["members"].items()}
        dups = {name: x["duplicates"] for name, x in lossy["members"].items()}
        res.check("nftables dropped packets on every host",
                  all(x["dropped"] > 0 for x in lossy["members"].values()),
                  str({name: x["dropped"] for name, x in lossy["members"].items()}))
        show = lambda v: ", ".join("%s %d/%d" % (k, v[k], lost[k]) for k in sorted(v))  # noqa: E731
        res.check("extra datagrams per member <= 2 x its own losses", all(extra[k] <= 2 * lost[k] for k in lost),
                  "extra/lost: " + show(extra))
        res.check("duplicates per member <= 2 x its own losses", all(dups[k] <= 2 * lost[k] for k in lost),
                  "duplicates/lost: " + show(dups))
        ratio = max(extra[k] / lost[k] for k in lost if lost[k])
        res.fact("%d members, %d%% loss: extra datagrams / own losses at most %.2f; duplicates / own losses at "
                 "most %.2f" % (len(c.nodes), args.loss, ratio, max(dups[k] / lost[k] for k in lost if lost[k])))
        for lab, r in (("no loss", base), ("%d%% loss" % args.loss, lossy)):
            res.fact("%s: converged %s s after each burst" % (lab, ", ".join(str(t) for t in r["converge_s"])))
        c.stop(res)
    finally:
        c.kill_all()


def add_args(ap):
    ap.add_argument("--hosts", type=int, default=8)
    ap.add_argument("--loss", type=int, default=20, help="percent dropped on every host's input")
    ap.add_argument("--rate", type=int, default=600, help="operations/s, the whole cluster")
    ap.add_argument("--bursts", type=int, default=3)
    ap.add_argument("--burst-s", type=float, default=3.0)


if __name__ == "__main__":
    sys.exit(run_scenario(__doc__, lambda a: a.hosts, scenario, add_args))
