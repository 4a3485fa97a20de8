"""What every namespace scenario shares: the pass/fail record, a cluster of
netns_node processes on a Network, traffic accounting, and the wrapper that
checks prerequisites, builds the network and always tears it down.

A scenario script calls run_scenario(description, hosts, body, add_args):
body(args, net, logdir, res) runs the phases; run_scenario prints
"N passed, N failed" and returns the exit status.
"""
import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns_cluster import Node, NodeError, wait_until  # noqa: E402
from netns_env import EnvError, Network, clean_stale, missing_prerequisites  # noqa: E402


class Results:
    def __init__(self):
        self.passed = []
        self.failed = []
        self.facts = []

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name)
        print("[%s] %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""),
              flush=True)
        return ok

    def fact(self, text):
        self.facts.append(text)
        print("  - " + text, flush=True)


def phase(title):
    print("\n== %s" % title, flush=True)


def parse_ms(text):
    """A duration setting ("250ms", "3s", "10m") in milliseconds."""
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60000), ("h", 3600000)):
        if text.endswith(suffix) and text[:-len(suffix)].isdigit():
            return int(text[:-len(suffix)]) * scale
    raise ValueError("not a duration: %r" % text)


class Cluster:
    """netns_node members on the hosts of `net` (all of them, or the first
    `hosts`), one cluster name and group per instance, so that scenarios
    that start several clusters one after another on one network never
    hear each other. `settings` override the defaults below for everyone."""

    def __init__(self, args, net, logdir, rng, hosts=None, tag="", **settings):
        self.net = net
        self.rng = rng
        self.mport = 20000 + rng.randrange(20000)
        self.lport = self.mport + 1
        self.name = "netns-%d-%d" % (os.getpid(), rng.randrange(1 << 30))
        group = "239.255.77.%d" % rng.randrange(1, 255)
        base = {
            "transport": "multicast", "multicast_ip": "%s:%d" % (group, self.mport),
            "listen_port": self.lport, "cluster_name": self.name,
            "cache_pulse": "10m", "heartbeat_interval": "250ms", "member_timeout": "3s",
            "log_level": "info",
        }
        base.update({k: str(v) for k, v in settings.items()})
        self.settings = base
        self.nodes = []
        n = hosts or len(net.hosts)
        for i, (ns, addr) in enumerate(list(zip(net.hosts, net.addrs))[:n], 1):
            s = dict(base, interface=addr, node_id=1000 + i)
            self.nodes.append(Node("%sh%d" % (tag, i), ns, args.node, s, logdir))
        self.addr = {x.netns: a for x, a in zip(self.nodes, net.addrs)}
        print("cluster %s: %d members, group %s:%d, unicast port %d, %s"
              % (self.name, n, group, self.mport, self.lport,
                 ", ".join("%s=%s" % kv for kv in sorted(settings.items()) if kv[0] != "crypto_key")
                 + (", sealed" if "crypto_key" in settings else "")), flush=True)

    @property
    def heartbeat_ms(self):
        return parse_ms(self.settings["heartbeat_interval"])

    def start(self, res):
        for n in self.nodes:
            n.start()
        ok, got = self.wait_alive(self.nodes, len(self.nodes) - 1)
        return res.check("every member sees the %d others" % (len(self.nodes) - 1), ok, str(got))

    def stop(self, res):
        codes = {x.name: x.quit() for x in self.nodes}
        res.check("every member closes cleanly", all(c == 0 for c in codes.values()), str(codes))

    def kill_all(self):
        for x in self.nodes:
            if x.alive():
                x.kill9()

    def wait_alive(self, nodes, expect, deadline_s=10.0):
        got = {}

        def ok():
            for n in nodes:
                got[n.name] = n.members_alive()
            return all(got[n.name] == expect for n in nodes)

        return wait_until(ok, deadline_s, 0.1), got

    def workload(self, nodes=None, **kw):
        for n in nodes or self.nodes:
            n.start_work(seed=self.rng.randrange(1, 1 << 62), **kw)

    def wait_workload(self, res, nodes=None, timeout=120.0):
        nodes = nodes or self.nodes
        totals = {}
        for n in nodes:
            for k, v in n.wait_work(timeout).items():
                totals[k] = totals.get(k, 0) + int(v)
        res.check("workload ran without API errors on %s" % ",".join(n.name for n in nodes),
                  totals.get("errors", 0) == 0, "ops %(ops)d, gets %(gets)d, inserts %(inserts)d, updates "
                  "%(updates)d, deletes %(deletes)d, large %(large)d" % totals)
        return totals

    def counters(self, node):
        """One member's traffic counters: the engine's cluster metrics, plus
        what its host saw below the engine: `dropped` (nftables' counters on
        its input) and `rcvbuf_err` (datagrams a full socket buffer lost),
        and its store's `evictions` and `entries`."""
        m = node.metrics()
        c = m["cluster"]
        flat = {"evictions": m["node"]["evictions"], "entries": m["node"]["entries"]}
        for k, v in c.items():
            if isinstance(v, dict):
                for k2, v2 in v.items():
                    if isinstance(v2, (int, float)):
                        flat["%s.%s" % (k, k2)] = v2
            elif isinstance(v, (int, float)):
                flat[k] = v
        flat["dropped"] = self.net.dropped(node.netns)
        flat["rcvbuf_err"] = self.net.udp_counters(node.netns).get("RcvbufErrors", 0)
        return flat

    def snapshot(self):
        return {n.name: self.counters(n) for n in self.nodes if n.alive()}

    @staticmethod
    def delta(after, before):
        return {name: {k: v - before[name].get(k, 0) for k, v in a.items()}
                for name, a in after.items() if name in before}

    @staticmethod
    def totals(delta, keys):
        return {k: sum(d.get(k, 0) for d in delta.values()) for k in keys}

    def print_table(self, delta, keys, title=None):
        if title:
            print(title)
        print("%-5s " % "" + " ".join("%11s" % k[-11:] for k in keys))
        for name, d in sorted(delta.items()):
            print("%-5s " % name + " ".join("%11d" % d.get(k, 0) for k in keys))
        sys.stdout.flush()


def coherence(dumps, names):
    """The promise in README for every mode: a key held (live) by several
    members has the same version and value on all of them. Returns (ok,
    keys held by several, text)."""
    holders = {}
    for name, d in zip(names, dumps):
        for k, e in d.items():
            holders.setdefault(k, []).append((name, e))
    shared = {k: v for k, v in holders.items() if len(v) > 1}
    bad = [k for k, v in shared.items() if any(e != v[0][1] for _, e in v)]
    if not bad:
        return True, len(shared), "%d keys held by several members, all alike" % len(shared)
    from netns_cluster import fmt_entry
    lines = ["%d of %d keys held by several members differ; first ones:" % (len(bad), len(shared))]
    for k in sorted(bad)[:8]:
        lines.append("  %r: " % k + "; ".join("%s=%s" % (n, fmt_entry(e)) for n, e in holders[k]))
    return False, len(shared), "\n".join(lines)


def wait_coherent(nodes, deadline_s, poll_s=0.25):
    """Waits until coherence() holds; returns (seconds or None, ok, shared, text)."""
    t0 = time.monotonic()
    while True:
        dumps = [n.dump() for n in nodes]
        ok, shared, text = coherence(dumps, [n.name for n in nodes])
        if ok:
            return time.monotonic() - t0, ok, shared, text
        if time.monotonic() - t0 >= deadline_s:
            return None, ok, shared, text
        time.sleep(poll_s)


def run_scenario(description, hosts, body, add_args=None, name=None):
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", required=True, help="path to the netns_node executable")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("MCCACHE_NETNS_SEED", "0")) or
                    random.randrange(1, 1 << 31))
    ap.add_argument("--keep-logs", action="store_true")
    if add_args:
        add_args(ap)
    args = ap.parse_args()
    name = name or os.path.basename(sys.argv[0])

    res = Results()
    problems = missing_prerequisites()
    if not os.access(args.node, os.X_OK):
        problems.append("netns_node not found or not executable: %s" % args.node)
    if problems:
        print("%s cannot run here, and does not pretend to pass:" % name)
        for p in problems:
            print("  - " + p)
        print("0 passed, 1 failed")
        return 1

    # A ctest timeout or ^C still tears the namespaces down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logdir = tempfile.mkdtemp(prefix="mccache-netns-")
    net = Network(hosts(args) if callable(hosts) else hosts)
    started = time.monotonic()
    print("seed %d" % args.seed, flush=True)
    try:
        clean_stale()
        net.up()
        body(args, net, logdir, res)
    except (NodeError, EnvError) as e:
        res.check("the scenario completes", False, str(e))
    finally:
        net.down()  # kills whatever still runs in the namespaces

    return report(res, logdir, started, args)


def report(res, logdir, started, args):
    """Prints the facts and failures (with each member's last log lines when
    something failed), removes the logs unless kept, and returns the exit code."""
    phase("summary (%.0f s, seed %d)" % (time.monotonic() - started, args.seed))
    for f in res.facts:
        print("  - " + f)
    for name in res.failed:
        print("  FAILED: " + name)
    if res.failed or args.keep_logs:
        print("member logs kept in %s" % logdir)
        if res.failed:
            for name in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, name), errors="replace") as f:
                    tail = f.readlines()[-15:]
                print("--- %s (last lines)\n%s" % (name, "".join(tail)), end="")
    else:
        shutil.rmtree(logdir, ignore_errors=True)
    print("%d passed, %d failed" % (len(res.passed), len(res.failed)))
    return 1 if res.failed else 0
