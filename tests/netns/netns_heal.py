#!/usr/bin/env python3
"""A partition of five hosts, 2 | 3, healed while large values are still
being written (issue 12's setup), in the clear or sealed (--sealed):

  - every host writes 200 operations/s (95% puts, 5% deletes) over 2,000
    shared keys, values log-uniform from 10 B to 200 KiB (as many of
    10..100 B as of 20..200 KiB: half fit one datagram, one in 25 spans over
    a hundred fragments; 20 KB on average), from a few seconds before the
    partition until 2 s after the heal;
  - the partition ({h1,h2} | {h3,h4,h5}, nftables dropping the other side's
    source addresses) holds --partition seconds (15 by default; by then
    nearly every shared key has been written on both sides);
  - after the writers stop, the members must converge (equal checksums and
    lengths, then identical (key, version, value hash) maps) with no
    mccache_sync call: the heal is the membership path's work (recovered ->
    digests at once) plus the repair channel.

Asserted: the partition held (each side saw only its own members, nftables
dropped packets on every host), the workload ran without API errors,
convergence within a generous deadline (--deadline, 30 s: tests assert no
timing), identical maps, every member alive and closing cleanly. Printed as
facts, not asserted: how long convergence took after the heal and after
the writers stopped (bench/README.md, "Partition and heal", sets them against the 2 s target), and
what the heal cost (repairs, resends, datagrams lost to full socket
buffers).

cache_pulse is 10 min so that no periodic round helps; heartbeat_interval
250 ms and member_timeout 3 s are the defaults, set explicitly.
--sealed sets a fresh random crypto_key (32 bytes, base64) on every member.
Prints `N passed, N failed`; exits 1 on any failure.
"""
import base64
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_cluster import compare_maps, wait_converged  # noqa: E402
from netns_env import partition_rules  # noqa: E402
from netns_harness import Cluster, phase, run_scenario  # noqa: E402

HOSTS = 5
WARM_S = 3.0     # writes before the partition
AFTER_S = 2.0    # writes after the heal
RATE = 200       # operations per second per host
KEYS = 2000
VMIN, VMAX = 10, 200 * 1024

HEAL_KEYS = ["packets_in", "packets_out", "gaps_unrepairable", "ae_rounds", "ae_keys_repaired",
             "ae_keys_pulled", "repair.messages_sent", "repair.datagrams_resent", "repair.losses",
             "retransmits", "rcvbuf_err"]


def heal(args, net, logdir, res, report=None):
    """The scenario; returns its measurements (convergence times, heal totals)."""
    rng = random.Random(args.seed)
    settings = {}
    if args.sealed:
        settings["crypto_key"] = base64.b64encode(os.urandom(32)).decode()
    if getattr(args, "socket_buffer", None):
        settings["socket_buffer"] = args.socket_buffer
    c = Cluster(args, net, logdir, rng, **settings)
    out = {"sealed": bool(args.sealed), "partition_s": args.partition}
    try:
        phase("start: %d members%s" % (HOSTS, ", sealed" if args.sealed else ""))
        if not c.start(res):
            return out
        a, b = c.nodes[:2], c.nodes[2:]
        work_ms = int((WARM_S + args.partition + AFTER_S) * 1000)
        phase("writes: %d ops/s per host over %d shared keys, values %d B..%d KiB, %.0f s"
              % (RATE, KEYS, VMIN, VMAX // 1024, work_ms / 1000))
        t_work = time.monotonic()
        c.workload(profile=1, rate=RATE, shared=KEYS, vmin=VMIN, vmax=VMAX, ms=work_ms,
                   ops=RATE * work_ms // 1000 + 10)
        time.sleep(WARM_S)  # the scenario's timeline, not a wait for a condition

        phase("partition {%s} | {%s} for %.0f s, writes continuing"
              % (",".join(x.name for x in a), ",".join(x.name for x in b), args.partition))
        t_part = time.monotonic()
        net.set_rules_all({**{x.netns: partition_rules([c.addr[y.netns] for y in b]) for x in a},
                           **{x.netns: partition_rules([c.addr[y.netns] for y in a]) for x in b}})
        ok_a, got_a = c.wait_alive(a, 1, args.partition)
        ok_b, got_b = c.wait_alive(b, 2, 2.0)
        res.check("each side sees only its own members during the partition", ok_a and ok_b,
                  "%s %s" % (got_a, got_b))
        remaining = t_part + args.partition - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)  # the partition's length is the scenario
        before = c.snapshot()
        t_heal = time.monotonic()
        net.set_rules_all({x.netns: [] for x in c.nodes})
        phase("healed after %.1f s; writers stop %.0f s later" % (t_heal - t_part, AFTER_S))
        c.wait_workload(res)
        t_stop = max(time.monotonic(), t_work + work_ms / 1000.0)
        took, sums = wait_converged(c.nodes, args.deadline, since=t_stop)
        res.check("converged after the writers stopped (no sync call; deadline %.0f s)" % args.deadline,
                  took is not None, ("%.2f s" % took) if took is not None else
                  "not within %.0f s: %s" % (args.deadline, ", ".join(
                      "%s=%s/%d" % (n.name, s[0][:8], s[1]) for n, s in zip(c.nodes, sums))))
        after = c.snapshot()
        # Read before the heal: replacing the rules resets their counters.
        dropped = {x.name: before[x.name]["dropped"] for x in c.nodes}
        res.check("nftables dropped the other side's packets on every host",
                  all(v > 0 for v in dropped.values()), str(dropped))
        ok, text = compare_maps(c.nodes)
        res.check("identical (key, version, value hash) maps", ok, text)
        ok, got = c.wait_alive(c.nodes, HOSTS - 1, 5.0)
        res.check("every member alive after the heal", ok, str(got))

        for x in after.values():
            x["dropped"] = 0  # the counters restarted with the empty rule set
        d = c.delta(after, before)
        tot = c.totals(d, HEAL_KEYS)
        c.print_table(d, HEAL_KEYS, "from the heal to convergence, per member:")
        if took is not None:
            out["converge_after_stop_s"] = round(took, 3)
            out["converge_after_heal_s"] = round(t_stop + took - t_heal, 3)
            res.fact("%s: converged %.2f s after the writers stopped (%.2f s after the heal; target 2 s)"
                     % ("sealed" if args.sealed else "plain", took, t_stop + took - t_heal))
        res.fact("from the heal to convergence, all members: " +
                 ", ".join("%s %d" % (k, v) for k, v in tot.items()))
        out["heal_totals"] = tot
        c.stop(res)
    finally:
        c.kill_all()
    return out


def add_args(ap):
    ap.add_argument("--sealed", action="store_true", help="every member gets the same random crypto_key")
    ap.add_argument("--partition", type=float, default=15.0, help="seconds the partition holds")
    ap.add_argument("--deadline", type=float, default=30.0, help="seconds allowed to converge")


if __name__ == "__main__":
    sys.exit(run_scenario(__doc__, HOSTS, heal, add_args))
