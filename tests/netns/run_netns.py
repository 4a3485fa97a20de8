#!/usr/bin/env python3
"""Fault tests in network namespaces (run as root): five members on a bridge,

  1. 20% random loss from nftables while every host writes, then convergence;
  2. a partition of 2 against 3 for 30 s with writes (and conflicts) on both
     sides, then a heal after which the cluster must converge (within a
     generous 15 s deadline: tests do not assert timing; the time it took is
     printed; bench/README.md sets heal times against the 2 s target);
  3. kill -9 of a member, restarted once the others have declared it down,
     and of another restarted at once while the rest keep writing; each
     restarted member must rejoin and converge.

Members run tests/netns/netns_node (the public C API) in their own
namespaces; this script drives them over pipes. Configuration that differs
from the defaults, and why:
  - cache_pulse=10m: the periodic anti-entropy round never runs during the
    test, so convergence after a heal or a restart is the work of the
    membership path (recovered/joined/restarted -> digests at once), and the
    loss phase's convergence the work of NACKs plus explicit mccache_sync.
  - listen_port fixed (one per namespace, the same number everywhere), so
    the loss rule can match unicast repairs as well as the multicast group.
  - heartbeat_interval=250ms and member_timeout=3s are the defaults, set
    explicitly so that the timings printed below have a known basis.
Restarts keep the member's node_id: a supervisor restarts a process with
its configured identity, and that is the harder case (the others must see a
new incarnation of a known id, reset its stream, and still order the
versions its previous life wrote).
Environment: MCCACHE_NETNS_SEED replays a run's workload and choices;
MCCACHE_NETNS_PARTITION_PAUSE_US sets the write pace during the partition.
Prints `N passed, N failed`; exits 1 on any failure.
"""
import argparse
import os
import random
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_cluster import Node, NodeError, compare_maps, fmt_entry, fnv1a64, wait_converged, wait_until  # noqa: E402
from netns_env import EnvError, Network, clean_stale, loss_rules, missing_prerequisites, partition_rules  # noqa: E402
from netns_harness import Results, phase, report  # noqa: E402

HOSTS = 5
# A deadline, not a target: the heal's time is printed and benchmarked.
HEAL_DEADLINE_S = 15.0


class Scenario:
    def __init__(self, args, net, logdir, res):
        self.args = args
        self.net = net
        self.res = res
        self.rng = random.Random(args.seed)
        self.mport = 20000 + self.rng.randrange(20000)
        self.lport = self.mport + 1
        cluster = "netns-%d-%d" % (os.getpid(), self.rng.randrange(1 << 30))
        group = "239.255.77.%d" % self.rng.randrange(1, 255)
        self.nodes = []
        for i, (ns, addr) in enumerate(zip(net.hosts, net.addrs), 1):
            settings = {
                "interface": addr, "cluster_name": cluster, "transport": "multicast",
                "multicast_ip": "%s:%d" % (group, self.mport), "listen_port": self.lport,
                "node_id": 1000 + i, "cache_pulse": "10m", "heartbeat_interval": "250ms",
                "member_timeout": "3s", "log_level": "info",
            }
            self.nodes.append(Node("h%d" % i, ns, args.node, settings, logdir))
        print("cluster %s, group %s:%d, unicast port %d, seed %d"
              % (cluster, group, self.mport, self.lport, args.seed), flush=True)

    # ---- helpers ----

    def wait_alive(self, nodes, expect, deadline_s=10.0):
        got = {}

        def ok():
            for n in nodes:
                got[n.name] = n.members_alive()
            return all(got[n.name] == expect for n in nodes)

        return wait_until(ok, deadline_s, 0.1), got

    def workload(self, nodes, **kw):
        for n in nodes:
            n.start_work(seed=self.rng.randrange(1, 1 << 62), shared=64, **kw)

    def wait_workload(self, nodes):
        totals = {}
        for n in nodes:
            for k, v in n.wait_work().items():
                totals[k] = totals.get(k, 0) + int(v)
        self.res.check("workload ran without API errors on %s" % ",".join(n.name for n in nodes),
                       totals.get("errors", 0) == 0, "ops %(ops)d, inserts %(inserts)d, updates "
                       "%(updates)d, deletes %(deletes)d, large %(large)d" % totals)
        return totals

    def converge_and_compare(self, label, nodes, deadline_s, sync_every_s, since=None):
        took, sums = wait_converged(nodes, deadline_s, sync_every_s, since=since)
        how = "with mccache_sync every %.0f s" % sync_every_s if sync_every_s else "with no sync call"
        self.res.check("%s: checksums and lengths agree" % label, took is not None,
                       ("after %.2f s (%s)" % (took, how)) if took is not None else
                       "not within %.0f s (%s): %s" % (deadline_s, how,
                                                       ", ".join("%s=%s/%d" % (n.name, s[0][:8], s[1])
                                                                 for n, s in zip(nodes, sums))))
        ok, text = compare_maps(nodes)
        self.res.check("%s: identical (key, version, value hash) maps" % label, ok, text)
        return took

    def cluster_totals(self, keys):
        """Sums over the running members; "replayed" is rejected.replayed and
        "rcvbuf_err" the kernel's count of datagrams a full socket buffer dropped."""
        totals = dict.fromkeys(keys, 0)
        for n in self.nodes:
            if n.alive():
                c = n.metrics()["cluster"]
                c["replayed"] = c.get("rejected", {}).get("replayed", 0)
                if "rcvbuf_err" in keys:
                    c["rcvbuf_err"] = self.net.udp_counters(n.netns).get("RcvbufErrors", 0)
                for k in keys:
                    totals[k] += c.get(k, 0)
        return totals

    def log_has(self, node, text):
        with open(node.log_path, errors="replace") as f:
            return text in f.read()

    # ---- phases ----

    def start_cluster(self):
        phase("start: %d members on the bridge" % HOSTS)
        for n in self.nodes:
            n.start()
        ok, got = self.wait_alive(self.nodes, HOSTS - 1)
        self.res.check("every member sees the %d others over multicast across the bridge" % (HOSTS - 1),
                       ok, str(got))
        return ok

    def loss(self):
        phase("loss: %d%% of the cluster's UDP dropped on input by nftables, writes on all hosts"
              % self.args.loss)
        rules = loss_rules([self.mport, self.lport], self.args.loss)
        self.net.set_rules_all({h: rules for h in self.net.hosts})
        before = self.cluster_totals(["nacks_sent", "retransmits", "gaps_unrepairable"])
        self.workload(self.nodes, ms=6000, ops=2500, pause_us=1000)
        self.wait_workload(self.nodes)
        # A burst with no pause: batching, back-to-back fragments.
        self.workload(self.nodes, ms=3000, ops=400, pause_us=0)
        self.wait_workload(self.nodes)
        # Convergence under the same loss: NACKs, retries and anti-entropy
        # rounds lose messages too.
        took = self.converge_and_compare("after loss", self.nodes, 30.0, 1.0)
        dropped = {h[-2:]: self.net.dropped(h) for h in self.net.hosts}
        self.res.check("nftables dropped packets on every host", all(v > 0 for v in dropped.values()),
                       str(dropped))
        after = self.cluster_totals(["nacks_sent", "retransmits", "gaps_unrepairable"])
        delta = {k: after[k] - before[k] for k in after}
        self.res.check("the loss was repaired by NACK and retransmission",
                       delta["nacks_sent"] > 0 and delta["retransmits"] > 0, str(delta))
        self.net.set_rules_all({h: [] for h in self.net.hosts})
        if took is not None:
            self.res.fact("convergence under %d%% loss: %.2f s after the writers stopped"
                          % (self.args.loss, took))

    def conflict_writes(self, a, b):
        """Deterministic conflicts across the partition, 60 ms apart (so the
        later write has the later HLC on this one clock)."""
        gap = 0.06
        expect = {}
        a[0].cmd("put c:1 side-A"); time.sleep(gap); b[0].cmd("put c:1 side-B")
        expect["c:1"] = "side-B"  # the later put wins
        b[1].cmd("put c:2 side-B"); time.sleep(gap); a[1].cmd("del c:2")
        expect["c:2"] = None  # the later delete wins
        a[1].cmd("del c:3"); time.sleep(gap); b[2].cmd("put c:3 side-B-after-delete")
        expect["c:3"] = "side-B-after-delete"  # a delete does not block a newer put
        b[2].cmd("del c:4"); time.sleep(gap); a[0].cmd("put c:4 side-A-after-delete")
        expect["c:4"] = "side-A-after-delete"
        return expect

    def partition(self):
        n = self.nodes
        a, b = n[:2], n[2:]
        addr = dict(zip(self.net.hosts, self.net.addrs))
        a_addrs = [addr[x.netns] for x in a]
        b_addrs = [addr[x.netns] for x in b]
        phase("partition: {h1,h2} | {h3,h4,h5} for %d s, writes and conflicts on both sides"
              % self.args.partition)
        for i in range(1, 5):  # keys both sides will fight over, known to all first
            n[0].cmd("put c:%d base" % i)
        self.converge_and_compare("before the partition", n, 10.0, 1.0)

        t_part = time.monotonic()
        self.net.set_rules_all({**{x.netns: partition_rules(b_addrs) for x in a},
                                **{x.netns: partition_rules(a_addrs) for x in b}})
        work_ms = int((self.args.partition - 3.0) * 1000)
        self.workload(n, ms=work_ms, ops=100000, pause_us=self.args.partition_pause_us)
        ok_a, got_a = self.wait_alive(a, 1, 10.0)
        ok_b, got_b = self.wait_alive(b, 2, 1.0)
        self.res.check("each side sees only its own members during the partition", ok_a and ok_b,
                       "%s %s" % (got_a, got_b))
        expect = self.conflict_writes(a, b)
        self.wait_workload(n)
        pre = [x.dump() for x in n]
        sums = [x.sum() for x in n]
        self.res.check("the two sides diverged during the partition",
                       all(s not in sums[2:] for s in sums[:2]),
                       ", ".join("%s=%s/%d" % (x.name, s[0][:8], s[1]) for x, s in zip(n, sums)))

        remaining = t_part + self.args.partition - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)  # the partition's length is the scenario, not a wait for a condition
        heal_keys = ["retransmits", "nacks_sent", "gaps_unrepairable", "ae_rounds", "ae_keys_repaired",
                     "replayed", "rcvbuf_err"]
        before = self.cluster_totals(heal_keys)
        held = time.monotonic() - t_part
        t_heal = time.monotonic()
        self.net.set_rules_all({x.netns: [] for x in n})
        # Timed from before the rules change: the heal's own cost counts.
        took, sums = wait_converged(n, HEAL_DEADLINE_S, since=t_heal)
        self.res.check("heal after %.1f s: converged (no sync call; deadline %.0f s)" % (held, HEAL_DEADLINE_S),
                       took is not None,
                       ("%.3f s" % took) if took is not None else "not within %.0f s: %s" % (HEAL_DEADLINE_S, sums))
        after = self.cluster_totals(heal_keys)
        differ = len({k for k in set(pre[0]) | set(pre[2]) if pre[0].get(k) != pre[2].get(k)})
        if took is not None:
            self.res.fact("convergence after the heal: %.3f s (partition held %.1f s, %d keys differed "
                          "between the sides)" % (took, held, differ))
        self.res.fact("during the heal: " + ", ".join("%s %d" % (k, after[k] - before[k]) for k in heal_keys))

        post = [x.dump() for x in n]
        ok, text = compare_maps(n, post)
        self.res.check("after the heal: identical (key, version, value hash) maps", ok, text)
        self.check_newest_wins(pre, post[0])
        bad = []
        for k, v in expect.items():
            got = post[0].get(k)
            want = None if v is None else fnv1a64(v.encode())
            if (got[3] if got else None) != want:
                bad.append("%s: want %s, got %s" % (k, v or "absent", fmt_entry(got)))
        self.res.check("conflicting writes and deletes across the partition resolved by version",
                       not bad, "; ".join(bad) or "c:1..c:4 as expected")
        ok, got = self.wait_alive(n, HOSTS - 1, 5.0)
        self.res.check("every member alive again after the heal", ok, str(got))

    def check_newest_wins(self, pre, post):
        """A key live after the heal holds the newest version any member had
        before it (a newer tombstone would have removed it instead)."""
        bad = []
        for k, e in post.items():
            seen = [d[k] for d in pre if k in d]
            if seen and max(seen)[:2] != e[:2]:
                bad.append("%s: %s, newest before the heal %s" % (k, fmt_entry(e), fmt_entry(max(seen))))
        self.res.check("every surviving key holds the newest pre-heal version", not bad,
                       "; ".join(bad[:5]) or "%d keys checked" % len(post))

    def kill_after_down(self):
        n = self.nodes
        victim, rest = n[4], n[:4]
        phase("kill -9 %s, writes meanwhile, restart (same node_id) once the others declare it down"
              % victim.name)
        victim.kill9()
        self.workload(rest, ms=2000, ops=1500, pause_us=1000)
        self.wait_workload(rest)
        ok, got = self.wait_alive(rest, HOSTS - 2, 10.0)
        self.res.check("the others declare %s down" % victim.name, ok, str(got))
        t0 = time.monotonic()
        victim.start()
        ok, got = self.wait_alive(n, HOSTS - 1, 10.0)
        self.res.check("%s rejoins (every member sees 4 others)" % victim.name, ok, str(got))
        took = self.converge_and_compare("%s restarted after down" % victim.name, n, 15.0, None, t0)
        if took is not None:
            self.res.fact("restart after down: converged %.2f s after the new process started" % took)
        tag = "member %016x restarted" % victim.node_id
        self.res.check("the others reported a new incarnation of %s" % victim.name,
                       all(self.log_has(x, tag) for x in rest), tag)

    def kill_and_restart_at_once(self):
        n = self.nodes
        victim = n[3]
        rest = [x for x in n if x is not victim]
        phase("kill -9 %s and restart it at once (same node_id), writes on the others throughout"
              % victim.name)
        self.workload(rest, ms=3000, ops=3000, pause_us=1000)
        time.sleep(1.0)  # mid-workload, by design
        victim.kill9()
        victim.start()
        self.wait_workload(rest)
        ok, got = self.wait_alive(n, HOSTS - 1, 10.0)
        self.res.check("%s is back (every member sees 4 others)" % victim.name, ok, str(got))
        took = self.converge_and_compare("%s restarted at once" % victim.name, n, 15.0, 1.0)
        if took is not None:
            self.res.fact("restart at once: converged %.2f s after the writers stopped" % took)

    def finish(self):
        phase("metrics")
        keys = ["packets_in", "packets_out", "nacks_sent", "retransmits", "duplicates",
                "gaps_unrepairable", "ae_rounds", "ae_keys_repaired", "stale_records",
                "reassembly_dropped", "send_queue_overflow"]
        # rcvbuf_err: datagrams the kernel dropped because a socket buffer
        # was full (not the nftables loss): bursts the engine sent too fast.
        print("%-4s " % "" + " ".join("%10s" % k[:10] for k in keys + ["replayed", "rcvbuf_err"]))
        for x in self.nodes:
            if x.alive():
                c = x.metrics()["cluster"]
                row = [c.get(k, 0) for k in keys] + [c.get("rejected", {}).get("replayed", 0),
                                                     self.net.udp_counters(x.netns).get("RcvbufErrors", 0)]
                print("%-4s " % x.name + " ".join("%10d" % v for v in row))
        codes = {x.name: x.quit() for x in self.nodes}
        self.res.check("every member closes cleanly", all(c == 0 for c in codes.values()), str(codes))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", required=True, help="path to the netns_node executable")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("MCCACHE_NETNS_SEED", "0")) or
                    random.randrange(1, 1 << 31))
    ap.add_argument("--loss", type=int, default=20, help="percent of UDP dropped in the loss phase")
    ap.add_argument("--partition", type=float, default=30.0, help="seconds the partition holds")
    # McCache's own test paces operations about 10 ms apart: with five
    # members that is ~2.5k keys diverging over 30 s. A shorter pause is a
    # heavier heal (2000 us: ~11k keys).
    ap.add_argument("--partition-pause-us", type=int,
                    default=int(os.environ.get("MCCACHE_NETNS_PARTITION_PAUSE_US", "10000")),
                    help="pause between each member's operations during the partition (default 10000)")
    ap.add_argument("--keep-logs", action="store_true")
    args = ap.parse_args()

    res = Results()
    problems = missing_prerequisites()
    if not os.access(args.node, os.X_OK):
        problems.append("netns_node not found or not executable: %s" % args.node)
    if problems:
        print("Netns::faults cannot run here, and does not pretend to pass:")
        for p in problems:
            print("  - " + p)
        print("0 passed, 1 failed")
        return 1

    # A ctest timeout or ^C still tears the namespaces down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logdir = tempfile.mkdtemp(prefix="mccache-netns-")
    net = Network(HOSTS)
    sc = None
    started = time.monotonic()
    try:
        clean_stale()
        net.up()
        sc = Scenario(args, net, logdir, res)
        if sc.start_cluster():
            for step in (sc.loss, sc.partition, sc.kill_after_down, sc.kill_and_restart_at_once):
                try:
                    step()
                except (NodeError, EnvError) as e:
                    res.check("%s completes" % step.__name__, False, str(e))
                if not all(x.alive() for x in sc.nodes):
                    res.check("every member still running after %s" % step.__name__, False,
                              ", ".join("%s exit %s" % (x.name, x.proc.poll()) for x in sc.nodes
                                        if not x.alive()))
                    break
        sc.finish()
    except (NodeError, EnvError) as e:
        res.check("the scenario completes", False, str(e))
    finally:
        if sc:
            for x in sc.nodes:
                if x.alive():
                    x.kill9()
        net.down()

    return report(res, logdir, started, args)


if __name__ == "__main__":
    sys.exit(main())
