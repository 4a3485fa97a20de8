"""The network for the fault tests: a bridge namespace, host namespaces on
veth pairs, and nftables rules inside the hosts for loss and partitions.

Everything lives in namespaces this module creates: the host's own
interfaces, routes and firewall are never touched. Names carry the pid of
the run, so a later run can tell a crashed run's leftovers from a live one.
"""
import json
import os
import re
import shutil
import subprocess

PREFIX = "mcnt"
SUBNET = "10.77.0"
TABLE = "mcnt"
_NAME = re.compile(r"^%s(\d+)[bh]\d*$" % PREFIX)


class EnvError(RuntimeError):
    pass


def run(*argv, check=True, stdin=None):
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise EnvError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


def missing_prerequisites():
    """What this machine lacks to run the tests, in words; empty if nothing."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (euid %d): network namespaces and nftables need root" % os.geteuid())
    for tool, pkg in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            problems.append("'%s' not found: apt-get install %s" % (tool, pkg))
    return problems


def _run_is_alive(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            # Every scenario script and the bench sweep have "netns" in their name.
            return b"netns" in f.read()
    except OSError:
        return False


def clean_stale(log=print):
    """Remove namespaces left by runs that died (their processes first)."""
    for line in run("ip", "netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        m = _NAME.match(name)
        if not m or _run_is_alive(int(m.group(1))):
            continue
        for pid in run("ip", "netns", "pids", name, check=False).split():
            try:
                os.kill(int(pid), 9)  # a node of the dead run, still holding the namespace
            except (OSError, ValueError):
                pass
        run("ip", "netns", "del", name, check=False)
        log("removed stale namespace %s" % name)


class Network:
    """A bridge namespace and N host namespaces, 10.77.0.1..N on one L2 segment."""

    def __init__(self, hosts):
        tag = "%s%d" % (PREFIX, os.getpid())
        self.bridge = tag + "b"
        self.hosts = ["%sh%d" % (tag, i) for i in range(1, hosts + 1)]
        self.addrs = ["%s.%d" % (SUBNET, i) for i in range(1, hosts + 1)]
        self.created = []

    def up(self):
        b = self.bridge
        self._add_ns(b)
        run("ip", "-n", b, "link", "set", "lo", "up")
        # No IGMP snooping: with no querier on this segment it could prune
        # the group; a plain flooding bridge is what a small LAN does.
        run("ip", "-n", b, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        run("ip", "-n", b, "link", "set", "br0", "up")
        for i, (h, addr) in enumerate(zip(self.hosts, self.addrs), 1):
            self._add_ns(h)
            # Created inside the bridge namespace with the peer sent straight
            # into the host: neither end ever appears in the root namespace.
            run("ip", "-n", b, "link", "add", "vh%d" % i, "type", "veth", "peer", "name", "eth0",
                "netns", h)
            run("ip", "-n", b, "link", "set", "vh%d" % i, "master", "br0")
            run("ip", "-n", b, "link", "set", "vh%d" % i, "up")
            run("ip", "-n", h, "link", "set", "lo", "up")
            run("ip", "-n", h, "addr", "add", addr + "/24", "dev", "eth0")
            run("ip", "-n", h, "link", "set", "eth0", "up")
            run("ip", "-n", h, "route", "add", "224.0.0.0/4", "dev", "eth0")
            self.set_rules(h, [])  # fails early if nf_tables is unavailable here

    def _add_ns(self, name):
        run("ip", "netns", "add", name)
        self.created.append(name)

    def down(self):
        for name in reversed(self.created):
            for pid in run("ip", "netns", "pids", name, check=False).split():
                try:
                    os.kill(int(pid), 9)
                except (OSError, ValueError):
                    pass
            run("ip", "netns", "del", name, check=False)
        self.created = []

    # ---- nftables, inside one host namespace ----

    @staticmethod
    def _script(rules):
        # Declaring then deleting the table makes the replacement one atomic
        # transaction whether or not the table existed.
        body = "\n".join("    " + r for r in rules)
        return ("table inet {t}\ndelete table inet {t}\n"
                "table inet {t} {{\n  chain in {{\n"
                "    type filter hook input priority 0; policy accept;\n{body}\n  }}\n}}\n"
                ).format(t=TABLE, body=body)

    def set_rules(self, host, rules):
        run("ip", "netns", "exec", host, "nft", "-f", "-", stdin=self._script(rules))

    def set_rules_all(self, rules_by_host):
        """Apply every host's rules concurrently, so a heal is one moment, not five."""
        procs = [subprocess.Popen(["ip", "netns", "exec", h, "nft", "-f", "-"],
                                  stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for h in rules_by_host]
        errors = []
        for p, (h, rules) in zip(procs, rules_by_host.items()):
            _, err = p.communicate(self._script(rules), timeout=30)
            if p.returncode != 0:
                errors.append("%s: %s" % (h, err.strip()))
        if errors:
            raise EnvError("nft: " + "; ".join(errors))

    def dropped(self, host):
        """Packets dropped so far by the counters of this host's rules."""
        doc = json.loads(run("ip", "netns", "exec", host, "nft", "-j", "list", "table", "inet", TABLE))
        total = 0
        for item in doc.get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    total += expr["counter"].get("packets", 0)
        return total

    def udp_counters(self, host):
        """The kernel's UDP counters inside a host (RcvbufErrors: datagrams a
        full socket buffer dropped, which no nftables rule explains)."""
        lines = [l.split() for l in run("ip", "netns", "exec", host, "cat", "/proc/net/snmp").splitlines()
                 if l.startswith("Udp:")]
        return dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))


def loss_rules(ports, percent):
    """The docs' recipe: drop a random share of the cluster's UDP on input."""
    return ["udp dport { %s } numgen random mod 100 < %d counter drop"
            % (", ".join(str(p) for p in ports), percent)]


def partition_rules(others):
    return ["ip saddr { %s } counter drop" % ", ".join(others)]
