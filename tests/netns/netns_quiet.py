#!/usr/bin/env python3
"""After convergence the cluster goes quiet (issue 12), five hosts in
network namespaces, periodic anti-entropy every --pulse (2 s):

  --scenario idle: for each mode (replicate, update, invalidate), a fresh
    cluster runs the mixed workload (each member inserts keys of its own,
    all update and delete shared ones: in update and invalidate modes the
    members end up holding different keys, which is what kept their
    digests different forever), converges, and then must go quiet.
  --scenario capacity: replicate mode with cache_max 1000 and a working
    set twice that (2,000 shared keys, half the operations gets, so each
    member's eviction policy keeps a different half). Anti-entropy must
    not re-pull what a member evicted (the room rule, docs/PROTOCOL.md
    §4.3), and the members must stay coherent.

What "converged" means per mode: in replicate mode, identical (key,
version, value hash) maps (under capacity pressure members legitimately
hold different keys, so there, and in the other modes: every key held by
several members has the same version and value on all of them, the
promise in README). Deadline 30 s (no timing is asserted).

"Quiet": anti-entropy's work counters (buckets compared, keys pulled and
repaired, repair-channel messages) stop moving for two pulses, within a
30 s deadline. Then, over a --window (10 s) measured on each member:

  datagrams out <= 2 x W / heartbeat_interval
  datagrams in  <= 2 x (N - 1) x W / heartbeat_interval   (own multicast
                                                           looped back excluded)

that is, at most twice what heartbeats alone produce (4/s each at the
default 250 ms). A pulse adds one DigestL1 per member and cache (0.5/s
here), which fits; a round that still finds work does not. In the window
no key is compared, pulled, repaired or evicted: zero, not "few".

Prints `N passed, N failed`; exits 1 on any failure.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_cluster import compare_maps, wait_until  # noqa: E402
from netns_harness import Cluster, parse_ms, phase, run_scenario, wait_coherent  # noqa: E402

HOSTS = 5
AE_WORK = ["ae_buckets_compared", "ae_keys_pulled", "ae_keys_repaired", "repair.messages_sent",
           "repair.exchange_sent"]
WINDOW_KEYS = ["packets_out", "packets_in", "own_datagrams_in", "ae_rounds", "ae_digests_received",
               "ae_groups_agreed"] + AE_WORK + ["evictions"]


def converge(c, res, label, identical):
    took, ok, shared, text = wait_coherent(c.nodes, 30.0)
    res.check("%s: every key held by several members has one version on all of them" % label, ok,
              ("after %.2f s: " % took if took is not None else "not within 30 s: ") + text)
    if identical:
        ok, text = compare_maps(c.nodes)
        res.check("%s: identical (key, version, value hash) maps" % label, ok, text)
    return took


def wait_quiet(c, res, label, pulse_s):
    """Until anti-entropy's work counters hold still for two pulses."""
    hold = 2 * pulse_s + 0.5
    state = {"last": None, "since": time.monotonic()}

    def still():
        snap = c.snapshot()
        work = tuple(sum(s.get(k, 0) for s in snap.values()) for k in AE_WORK)
        now = time.monotonic()
        if work != state["last"]:
            state["last"], state["since"] = work, now
        return now - state["since"] >= hold

    t0 = time.monotonic()
    ok = wait_until(still, 30.0, 0.5)
    return res.check("%s: anti-entropy goes quiet (no work for %.1f s)" % (label, hold), ok,
                     "after %.1f s" % (time.monotonic() - t0) if ok else "still working after 30 s: " +
                     ", ".join("%s %d" % kv for kv in zip(AE_WORK, state["last"] or ())))


def idle_window(c, res, label, window_s):
    """The traffic bound over the window; returns the per-member deltas."""
    n = len(c.nodes)
    beats = window_s * 1000.0 / c.heartbeat_ms
    before = c.snapshot()
    time.sleep(window_s)  # the measurement window itself
    d = c.delta(c.snapshot(), before)
    c.print_table(d, WINDOW_KEYS, "%s: %.0f s idle window, per member:" % (label, window_s))
    out_max = max(x["packets_out"] for x in d.values())
    in_max = max(x["packets_in"] - x["own_datagrams_in"] for x in d.values())
    res.check("%s: idle datagrams out per member <= 2 x heartbeats (%.0f)" % (label, 2 * beats),
              out_max <= 2 * beats, "max %d" % out_max)
    res.check("%s: idle datagrams in per member <= 2 x heartbeats of %d others (%.0f)"
              % (label, n - 1, 2 * (n - 1) * beats), in_max <= 2 * (n - 1) * beats, "max %d" % in_max)
    work = {k: sum(x.get(k, 0) for x in d.values()) for k in AE_WORK + ["evictions"]}
    res.check("%s: nothing compared, pulled, repaired or evicted while idle" % label,
              not any(work.values()), str(work))
    res.fact("%s idle: per member, datagrams out <= %d, in <= %d over %.0f s (heartbeats alone: %.0f out, "
             "%.0f in)" % (label, out_max, in_max, window_s, beats, (n - 1) * beats))
    return d


def idle(args, net, logdir, res):
    rng = random.Random(args.seed)
    pulse_s = parse_ms(args.pulse) / 1000.0
    for mode in args.modes.split(","):
        phase("%s mode: mixed writes, convergence, then idle" % mode)
        c = Cluster(args, net, logdir, rng, tag=mode[0], cache_mode=mode, cache_pulse=args.pulse)
        try:
            if not c.start(res):
                continue
            c.workload(shared=64, ms=4000, ops=1500, pause_us=2000)
            c.wait_workload(res)
            converge(c, res, mode, identical=(mode == "replicate"))
            if wait_quiet(c, res, mode, pulse_s):
                idle_window(c, res, mode, args.window)
            c.stop(res)
        finally:
            c.kill_all()


def capacity(args, net, logdir, res):
    rng = random.Random(args.seed)
    pulse_s = parse_ms(args.pulse) / 1000.0
    cap = args.cache_max
    phase("replicate mode, cache_max %d, a working set of %d keys, writes and gets on every member"
          % (cap, 2 * cap))
    c = Cluster(args, net, logdir, rng, cache_mode="replicate", cache_pulse=args.pulse, cache_max=cap)
    try:
        if not c.start(res):
            return
        c.workload(profile=1, shared=2 * cap, gets=50, vmin=10, vmax=1000, rate=200, ms=8000, ops=1700)
        c.wait_workload(res)
        converge(c, res, "capacity", identical=False)
        snap = c.snapshot()
        res.check("every member evicted under the pressure", all(s["evictions"] > 0 for s in snap.values()),
                  ", ".join("%s %d" % (k, s["evictions"]) for k, s in sorted(snap.items())))
        keysets = [frozenset(x.dump()) for x in c.nodes]
        differ = len(frozenset.union(*keysets) - frozenset.intersection(*keysets))
        # The test means something only if the members kept different keys.
        res.check("the members hold different key sets (they evicted differently)", differ > 0,
                  "%d keys held by some members and not others; %s entries" %
                  (differ, ", ".join("%s %d" % (x.name, len(k)) for x, k in zip(c.nodes, keysets))))
        if wait_quiet(c, res, "capacity", pulse_s):
            idle_window(c, res, "capacity", args.window)
        took, ok, shared, text = wait_coherent(c.nodes, 0.0)
        res.check("capacity, after the idle window: still coherent", ok, text)
        c.stop(res)
    finally:
        c.kill_all()


def add_args(ap):
    ap.add_argument("--scenario", choices=["idle", "capacity"], required=True)
    ap.add_argument("--modes", default="replicate,update,invalidate", help="idle: the modes, in order")
    ap.add_argument("--pulse", default="2s", help="cache_pulse")
    ap.add_argument("--window", type=float, default=10.0, help="seconds of the idle window")
    ap.add_argument("--cache-max", type=int, default=1000, help="capacity: cache_max")


def main(args, net, logdir, res):
    (idle if args.scenario == "idle" else capacity)(args, net, logdir, res)


if __name__ == "__main__":
    sys.exit(run_scenario(__doc__, HOSTS, main, add_args))
