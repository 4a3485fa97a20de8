"""Cluster members as processes in their namespaces (netns_node), and the
project's convergence oracle over them."""
import json
import queue
import subprocess
import threading
import time


class NodeError(RuntimeError):
    pass


class Node:
    """One netns_node process, spoken to over its stdin/stdout line protocol."""

    def __init__(self, name, netns, binary, settings, logdir):
        self.name = name  # h1..h5, also the workload's key tag
        self.netns = netns
        self.binary = binary
        self.settings = settings
        self.logdir = logdir
        self.proc = None
        self.lines = None
        self.node_id = None
        self.starts = 0

    @property
    def log_path(self):
        return "%s/%s.log" % (self.logdir, self.name)

    def start(self, timeout=10.0):
        self.starts += 1
        tag = self.name if self.starts == 1 else "%sr%d" % (self.name, self.starts - 1)
        log = open(self.log_path, "a")
        log.write("==== start %d (tag %s)\n" % (self.starts, tag))
        log.flush()
        argv = ["ip", "netns", "exec", self.netns, self.binary, "--tag", tag]
        argv += ["%s=%s" % kv for kv in self.settings.items()]
        # ip netns exec execs the node, so proc.pid is the node itself and
        # kill() reaches it with no shell in between.
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, text=True, bufsize=1)
        log.close()
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()
        first = self._next(timeout)
        if not first.startswith("ready "):
            raise NodeError("%s did not start: %s" % (self.name, first))
        self.node_id = int(first.split()[1], 16)

    @staticmethod
    def _read(proc, q):
        for line in proc.stdout:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise NodeError("%s: no answer within %.0f s" % (self.name, timeout))
        if line is None:
            raise NodeError("%s exited (status %s); see %s" % (self.name, self.proc.wait(), self.log_path))
        return line

    def cmd(self, line, timeout=15.0):
        if self.proc is None or self.proc.poll() is not None:
            raise NodeError("%s is not running" % self.name)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._next(timeout)
        if not reply.startswith("ok"):
            raise NodeError("%s: %s -> %s" % (self.name, line, reply))
        return reply[3:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        self.proc.kill()  # SIGKILL: no goodbye, no flush
        self.proc.wait()

    def quit(self, timeout=15.0):
        if not self.alive():
            return self.proc.returncode if self.proc else None
        try:
            self.cmd("quit", timeout)
        except NodeError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    # ---- typed commands ----

    def sum(self):
        c, n = self.cmd("sum").split()
        return c, int(n)

    def metrics(self):
        return json.loads(self.cmd("metrics"))

    def members_alive(self):
        return self.metrics()["cluster"]["members_alive"]

    def dump(self):
        """{key: (hlc, node, vlen, value_hash)} of the live entries."""
        n = int(self.cmd("dump", timeout=60))
        out = {}
        for _ in range(n):
            k, hlc, node, vlen, vh = self._next(30).split()
            out[bytes.fromhex(k).decode("utf-8", "replace")] = (int(hlc, 16), int(node, 16), int(vlen), vh)
        end = self._next(30)
        if end != "end":
            raise NodeError("%s: dump ended with %r" % (self.name, end))
        return out

    def start_work(self, **kw):
        self.cmd("work " + " ".join("%s=%d" % kv for kv in kw.items()))

    def wait_work(self, timeout=120.0):
        return dict(kv.split("=") for kv in self.cmd("wait", timeout).split()[1:])


def wait_until(pred, deadline_s, poll_s=0.05):
    end = time.monotonic() + deadline_s
    while True:
        if pred():
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(poll_s)


def wait_converged(nodes, deadline_s, sync_every_s=None, poll_s=0.02, since=None):
    """The oracle's first half: every node's checksum and length agree.

    Returns (seconds until they first agreed or None, last sums). With
    sync_every_s, each node is asked for an anti-entropy round that often
    (a round's messages can be lost too, and are retried by the next one).
    Times count from `since` (a time.monotonic() value) when given.
    """
    t0 = time.monotonic() if since is None else since
    next_sync = t0
    while True:
        now = time.monotonic()
        if sync_every_s is not None and now >= next_sync:
            for n in nodes:
                n.cmd("sync")
            next_sync = now + sync_every_s
        sums = [n.sum() for n in nodes]
        if all(s == sums[0] for s in sums):
            return time.monotonic() - t0, sums
        if now - t0 >= deadline_s:
            return None, sums
        time.sleep(poll_s)


def compare_maps(nodes, dumps=None, show=8):
    """The oracle's second half: identical (key, version, value hash) maps.

    Returns (ok, text describing the first differences)."""
    dumps = dumps or [n.dump() for n in nodes]
    ref = dumps[0]
    keys = set()
    for d in dumps:
        keys |= set(d)
    diff = sorted(k for k in keys if any(d.get(k) != ref.get(k) for d in dumps))
    if not diff:
        return True, "%d keys identical on %d nodes" % (len(ref), len(nodes))
    lines = ["%d of %d keys differ; first ones:" % (len(diff), len(keys))]
    for k in diff[:show]:
        lines.append("  %r: " % k + "; ".join(
            "%s=%s" % (n.name, fmt_entry(d.get(k))) for n, d in zip(nodes, dumps)))
    return False, "\n".join(lines)


def fmt_entry(e):
    if e is None:
        return "absent"
    hlc, node, vlen, vh = e
    return "(%d.%d@%d len %d #%s)" % (hlc >> 16, hlc & 0xFFFF, node, vlen, vh[:8])


def fnv1a64(data):
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h
