"""A small cluster on loopback for the CLI tests: members are
examples/prometheus_exporter processes (a node plus its /metrics endpoint),
configured through the environment with a cluster name, group and port of
their own, so that nothing else on this machine hears them."""
import os
import random
import socket
import subprocess
import time


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, exporter, cli, seed=None):
        rng = random.Random(seed)
        self.exporter = exporter
        self.cli_path = cli
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MCCACHE_")}
        self.env.update({
            "MCCACHE_CLUSTER_NAME": "cli-test-%d-%d" % (os.getpid(), rng.randrange(1 << 30)),
            "MCCACHE_INTERFACE": "127.0.0.1",
            "MCCACHE_MULTICAST_IP": "239.255.%d.%d" % (rng.randrange(1, 255), rng.randrange(1, 255)),
            "MCCACHE_MULTICAST_PORT": str(rng.randrange(20000, 60000)),
            "MCCACHE_LOG_LEVEL": "error",
        })
        self.members = []

    def start_member(self, **settings):
        port = free_tcp_port()
        env = dict(self.env)
        env.update({"MCCACHE_" + k.upper(): str(v) for k, v in settings.items()})
        p = subprocess.Popen([self.exporter, "127.0.0.1:%d" % port], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        if "serving" not in line:
            p.kill()
            raise RuntimeError("exporter did not start: %r %s" % (line, p.stderr.read()))
        self.members.append((p, port))
        return port

    def cli(self, *args, stdin=None, timeout=60, env=None):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([self.cli_path] + list(args), input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=e)

    def wait_members(self, n, deadline_s=20):
        """Until `mccache members` lists n live members (or the deadline)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            r = self.cli("members", "--json", "--wait", "1000")
            if r.returncode == 0 and r.stdout.count('"alive"') >= n:
                return True
        return False

    def stop(self):
        for p, _ in self.members:
            p.terminate()
        for p, _ in self.members:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.members = []
