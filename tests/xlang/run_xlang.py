#!/usr/bin/env python3
"""Cross-language cluster test: a C, a Go, a Rust and a Java node in one cluster.

Starts the four node programs (one process each, every one on interface
127.0.0.1, in a cluster of this run's own: a unique cluster_name, multicast
group and port) and drives them over stdin/stdout with the line protocol of
tests/xlang/README.md:

  1. every node is ready and (where its binding can tell) sees the other three;
  2. phase 1, all four at once: each writes its own keys and the shared keys
     (the same keys, different values from each language: conflicts);
  3. quiescence: anti-entropy rounds until the four checksums agree;
  4. phase 2, all four at once: updates and deletes of own keys, a second
     round of conflicting shared writes, and deletes of some shared keys;
  5. quiescence again, then the checks:
     - the four checksums and entry counts are equal;
     - each node got remote (or repair) events for the keys of each of the
       other three, covering every one of their live own keys, and none for
       its own keys;
     - every shared key and a sample of own keys read the same value and
       version on all four; the value is the expected one; on a shared key
       the version is the highest of the four writers' last writes, and the
       value is the one that writer wrote; deleted keys are absent everywhere.

Every wait has a deadline. On failure each node's stderr is printed. Prints
"N passed, N failed" last and exits non-zero on any failure.
"""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

LABELS = ["c", "go", "rust", "java"]  # "python" is appended when --python-node is given


class Failure(Exception):
    pass


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
        sys.stdout.flush()
        return ok


class NodeProc:
    """One node program: commands on its stdin, reply lines from its stdout."""

    def __init__(self, label, cmd, run_dir):
        self.label = label
        self.cmd = cmd
        self.stderr_path = os.path.join(run_dir, f"{label}.stderr")
        self.stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.id = None

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # EOF

    def send(self, command):
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise Failure(f"{self.label}: cannot send {command.split()[0]!r}: {e} "
                          f"(exit code {self.proc.poll()})")

    def expect(self, word, deadline):
        """The next reply line, which must start with `word`; its remainder."""
        left = deadline - time.monotonic()
        try:
            line = self.lines.get(timeout=max(0.0, left))
        except queue.Empty:
            raise Failure(f"{self.label}: no {word!r} line within the deadline")
        if line is None:
            raise Failure(f"{self.label}: exited (code {self.proc.wait()}) while waiting for {word!r}")
        if line.startswith(("WARNING in native method", "FATAL ERROR in native method")):
            raise Failure(f"{self.label}: -Xcheck:jni: {line}")
        head, _, rest = line.partition(" ")
        if head != word:
            raise Failure(f"{self.label}: expected {word!r}, got {line[:200]!r}")
        return rest

    def ask(self, command, word, seconds):
        self.send(command)
        return self.expect(word, time.monotonic() + seconds)

    def stop(self, deadline):
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return "(unreadable)"


def ask_all(nodes, command, word, seconds):
    """Sends `command` to every node first, then collects the replies, so
    that the four act at the same time."""
    deadline = time.monotonic() + seconds
    for n in nodes:
        n.send(command)
    return {n.label: n.expect(word, deadline) for n in nodes}


def wait_members(nodes, seconds):
    """Until every node sees the other three alive."""
    deadline = time.monotonic() + seconds
    while True:
        counts = {label: int(r) for label, r in ask_all(nodes, "members", "members", 10).items()}
        if all(c == len(nodes) - 1 for c in counts.values()):
            return counts
        if time.monotonic() > deadline:
            raise Failure(f"membership did not form: alive members seen {counts}")
        time.sleep(0.1)  # poll interval; the deadline bounds the wait


def converge(nodes, seconds, what):
    """Forces anti-entropy rounds until the four checksums and lengths agree."""
    start = time.monotonic()
    deadline = start + seconds
    rounds = 0
    next_sync = start
    while True:
        now = time.monotonic()
        if now >= next_sync:
            ask_all(nodes, "sync", "synced", 10)
            rounds += 1
            next_sync = now + 0.5
        sums = ask_all(nodes, "checksum", "checksum", 10)
        if len(set(sums.values())) == 1:
            took = time.monotonic() - start
            print(f"      {what}: converged in {took:.2f} s ({rounds} sync rounds): "
                  f"checksum {next(iter(sums.values()))}")
            return sums
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not converged after {seconds} s: {sums}")
        time.sleep(0.05)  # poll interval; the deadline bounds the wait


def write_phase(nodes, phase, check):
    replies = ask_all(nodes, f"write {phase}", "written", 60)
    for label, r in replies.items():
        p, ops, errors = (int(x) for x in r.split())
        check.check(p == phase and ops > 0 and errors == 0,
                    f"{label}: phase {phase} writes ({ops} operations)", f"{errors} errors")


def live_own(keys):
    return {i for i in range(keys) if i % 5 != 0}


def events_ok(label, ev, keys):
    """Problems with one node's event counts (empty when it is all right)."""
    problems = []
    for other in LABELS:
        e = ev.get(other, {})
        if other == label:
            if e.get("remote", 0) or e.get("repair", 0):
                problems.append(f"{e.get('remote')} remote / {e.get('repair')} repair events "
                                f"for its own keys")
            continue
        # Which of remote (the stream) and repair (anti-entropy) delivers a
        # key is a race, so only their union is checked; a write of another
        # node is never local here.
        if e.get("local", 0):
            problems.append(f"{e.get('local')} local events for the keys of {other}")
        missing = live_own(keys) - set(e.get("seen", []))
        if missing:
            problems.append(f"{len(missing)} live keys of {other} never reported "
                            f"(e.g. {other}-{min(missing)})")
    return problems


def wait_events(nodes, keys, seconds):
    """Events are delivered on each node's callback thread after the store
    changes: poll until every node's counts are complete, or the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        events = {label: json.loads(r) for label, r in ask_all(nodes, "events", "events", 10).items()}
        problems = {label: events_ok(label, ev, keys) for label, ev in events.items()}
        if not any(problems.values()) or time.monotonic() > deadline:
            return events, problems
        time.sleep(0.1)  # poll interval; the deadline bounds the wait


def check_probes(nodes, ids, keys, shared, check):
    probe_keys = [f"shared-{j}" for j in range(shared)]
    probe_keys += [f"{label}-{i}" for label in LABELS for i in range(min(keys, 12))]
    probes = {label: json.loads(r)
              for label, r in ask_all(nodes, "probe " + " ".join(probe_keys), "probe", 30).items()}
    by_id = {v: k for k, v in ids.items()}
    bad_agree, bad_value, bad_winner, shown = [], [], [], 0
    winners = {}
    for key in probe_keys:
        views = {label: probes[label].get(key) for label in probes}
        seen = {json.dumps({k: v for k, v in (p or {}).items() if k != "mine"}, sort_keys=True)
                for p in views.values()}
        if len(seen) != 1:
            bad_agree.append(f"{key}: {views}")
            continue
        final = next(iter(views.values())) or {}
        value = final.get("value")
        prefix, idx = key.rsplit("-", 1)
        idx = int(idx)
        if prefix == "shared":
            if idx % 8 == 0:
                if value is not None:
                    bad_value.append(f"{key} was deleted in phase 2 but reads {value!r}")
                continue
            if value is None:
                bad_value.append(f"{key} is absent")
                continue
            writer, phase, i = value.split(":")
            winners[writer] = winners.get(writer, 0) + 1
            offset = LABELS.index(writer) * (shared // 4) if writer in LABELS else 0
            if phase != "2" or (int(i) + offset) % shared != idx:
                bad_value.append(f"{key} reads {value!r}: not a phase-2 write of that key")
            if by_id.get(final["node"]) != writer:
                bad_value.append(f"{key} reads {value!r} but its version names node "
                                 f"{final['node']} ({by_id.get(final['node'])})")
            # Highest version wins: the final version is the newest of the four
            # writers' last writes (each node reports its own, from its local events).
            mine = [tuple(int(x, 16) for x in p["mine"]) for p in views.values() if p and "mine" in p]
            newest = max(mine) if mine else None
            got = (int(final["hlc"], 16), int(final["node"], 16))
            if len(mine) != len(nodes) or got != newest:
                bad_winner.append(f"{key}: final version {got}, writers' last writes {sorted(mine)}")
            elif shown < 3:
                shown += 1
                print(f"      {key} = {value!r} on all four (version {final['hlc']}@{final['node']}, "
                      f"the newest of {len(mine)} writers)")
        else:
            want = None if idx % 5 == 0 else f"{prefix}:{2 if idx % 5 == 1 else 1}:{idx}"
            if value != want:
                bad_value.append(f"{key} reads {value!r}, expected {want!r}")
            elif value is not None and by_id.get(final["node"]) != prefix:
                bad_value.append(f"{key}: version names node {final['node']}, not {prefix}")
    print(f"      shared keys won by: {winners} (the newest write wins, whatever its language)")
    check.check(not bad_agree, f"{len(probe_keys)} probe keys read the same value and version on all four",
                "; ".join(bad_agree[:5]))
    check.check(not bad_value, "probe values are the expected ones; deleted keys are absent everywhere",
                "; ".join(bad_value[:5]))
    check.check(not bad_winner, "each shared key holds the highest version of the four writers' writes",
                "; ".join(bad_winner[:5]))


def run(args, run_dir, check):
    pid = os.getpid()
    cluster = f"xlang-{pid}-{int(time.time())}"
    # A group and port of this run's own (and a unique cluster_name), so that
    # concurrent test runs never mix. The nodes themselves pin interface=127.0.0.1.
    group = f"239.254.{(pid >> 8) & 255}.{pid & 255}"
    port = str(21000 + pid % 10000)
    common = ["--cluster", cluster, "--group", group, "--port", port,
              "--keys", str(args.keys), "--shared", str(args.shared), "--pace-us", str(args.pace_us)]
    commands = {
        "c": [args.c_node],
        "go": [args.go_node],
        "rust": [args.rust_node],
        # -Xcheck:jni as in Java::unit: its warnings land on stdout, where
        # expect() reports them.
        "java": [args.java, "-Xcheck:jni", f"-Dmccache.native.path={args.java_native}",
                 "-cp", args.java_classpath, "io.libmccache.xlang.XLangNode"],
    }
    if args.python_node:
        commands["python"] = [args.python, args.python_node]
    print(f"cluster {cluster} on {group}:{port} (interface 127.0.0.1), nodes {', '.join(LABELS)}, "
          f"{args.keys} own keys per node, {args.shared} shared keys; run directory {run_dir}")
    nodes = []
    try:
        for index, label in enumerate(LABELS):
            cmd = commands[label] + ["--label", label, "--index", str(index)] + common
            nodes.append(NodeProc(label, cmd, run_dir))

        # 1. ready, on loopback, distinct ids, membership.
        deadline = time.monotonic() + args.start_timeout
        ids = {}
        for n in nodes:
            node_id, iface = n.expect("ready", deadline).split()
            ids[n.label] = n.id = node_id
            check.check(iface == "127.0.0.1", f"{n.label}: ready, node {node_id}, interface {iface}")
        check.check(len(set(ids.values())) == len(nodes), f"the {len(nodes)} node ids are distinct", str(ids))
        counts = wait_members(nodes, args.phase_timeout)
        check.check(True, f"membership formed (alive members seen: {counts})")

        # 2-3. concurrent conflicting writes, then quiescence.
        write_phase(nodes, 1, check)
        converge(nodes, args.phase_timeout, "phase 1")

        # 4-5. updates, deletes, more conflicts; quiescence; checks.
        write_phase(nodes, 2, check)
        sums = converge(nodes, args.phase_timeout, "phase 2")
        sum_values = {v.split()[0] for v in sums.values()}
        lens = {v.split()[1] for v in sums.values()}
        check.check(len(sum_values) == 1 and len(lens) == 1,
                    f"the {len(nodes)} checksums agree ({sums['c']})", str(sums))

        events, problems = wait_events(nodes, args.keys, args.phase_timeout)
        for label in LABELS:
            ev = events[label]
            summary = ", ".join(f"{p}: {ev[p]['remote']} remote + {ev[p]['repair']} repair"
                                for p in LABELS if p != label and p in ev)
            check.check(not problems[label],
                        f"{label}: change events for the keys of the other three ({summary})",
                        "; ".join(problems[label]))
            shared = ev.get("shared", {})
            print(f"      {label}: shared-key events {shared.get('remote', 0)} remote + "
                  f"{shared.get('repair', 0)} repair, by writer {shared.get('from', {})}")

        check_probes(nodes, ids, args.keys, args.shared, check)

        deadline = time.monotonic() + 30
        for n in nodes:
            n.send("quit")
        for n in nodes:
            n.expect("bye", deadline)
        for n in nodes:
            n.stop(deadline)
            check.check(n.proc.returncode == 0, f"{n.label}: closed and exited",
                        f"exit code {n.proc.returncode}")
    except Failure as e:
        check.check(False, "run", str(e))
    finally:
        for n in nodes:
            if n.proc.poll() is None:
                n.proc.kill()
            n.stop(time.monotonic() + 5)
        if check.failed:
            for n in nodes:
                print(f"----- {n.label} stderr ({' '.join(n.cmd)}) -----")
                print(n.stderr_text().rstrip() or "(empty)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--c-node", required=True, help="the C node program")
    p.add_argument("--go-node", required=True, help="the Go node program")
    p.add_argument("--rust-node", required=True, help="the Rust node program")
    p.add_argument("--java", default="java", help="the java launcher")
    p.add_argument("--java-classpath", required=True, help="the binding's classes and XLangNode's")
    p.add_argument("--java-native", required=True, help="absolute path of libmccache_jni.so")
    p.add_argument("--python", default=sys.executable, help="the Python interpreter for --python-node")
    p.add_argument("--python-node", default=None,
                   help="bindings/python/tests/xlang_node.py: adds a Python node (label python, index 4)")
    p.add_argument("--keys", type=int, default=200, help="own keys per node")
    p.add_argument("--shared", type=int, default=40, help="shared keys (all four write them)")
    p.add_argument("--pace-us", type=int, default=500,
                   help="pause of each writer between iterations, so that the four overlap in time")
    p.add_argument("--start-timeout", type=float, default=60, help="seconds for the four to be ready")
    p.add_argument("--phase-timeout", type=float, default=30, help="seconds for each later wait")
    p.add_argument("--work-dir", default=None, help="where run directories go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the run directory even on success")
    args = p.parse_args()
    if args.keys < 12 or args.shared < 32:
        p.error("--keys must be at least 12 and --shared at least 32 (every writer deletes a shared key)")

    if args.python_node:
        LABELS.append("python")
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="xlang-", dir=args.work_dir)
    check = Checks()
    start = time.monotonic()
    run(args, run_dir, check)
    print(f"took {time.monotonic() - start:.1f} s")
    if check.failed or args.keep:
        print(f"run directory kept: {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)
    print(f"{check.passed} passed, {check.failed} failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
