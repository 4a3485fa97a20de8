#!/usr/bin/env python3
"""Prometheus::format: the exposition text, read by a real parser.

Runs with the Python of a venv that holds prometheus_client (made by the
Prometheus::venv fixture). Two members on loopback; the CLI writes to a
plain cache and to one whose name needs escaping; then:
  - a member's /metrics (examples/prometheus_exporter, mccache_metrics_prometheus)
  - `mccache metrics --prometheus` (mccache_prometheus_from_json, every member)
are parsed with prometheus_client.parser and checked against the metrics
table as docs/METRICS.md (generated from it) lists it: every family there,
with its type and help, and the label values read back exactly.

usage: check_prometheus.py --cli ... --exporter ... --metrics-doc docs/METRICS.md"""
import argparse
import os
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_env import Cluster  # noqa: E402

WEIRD = 'we"ird\\name ünï'
passed, failed = [], []


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print("[%s] %s%s" % ("PASS" if ok else "FAIL", name, (": " + str(detail)[:800]) if detail and not ok else ""),
          flush=True)


def documented(path):
    """{family name: (type, description)} from the Prometheus column of docs/METRICS.md."""
    fams = {}
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) < 5 or not cells[3].startswith("`mccache_"):
            continue
        kind, name, desc = cells[1], cells[3].strip("`"), cells[4].rstrip(" |")
        if kind == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]  # the parser names a counter's family without it
        fams[name] = (kind, desc.replace("\\|", "|"))
    return fams


def parse(text, what):
    try:
        return {f.name: f for f in text_string_to_metric_families(text)}
    except Exception as e:  # the parser's verdict is the test
        check("%s parses" % what, False, repr(e))
        return {}


def verify(fams, docs, what, members):
    check("%s parses" % what, bool(fams))
    missing = [n for n in docs if n not in fams]
    check("%s: every documented family present" % what, not missing, missing)
    wrong = [(n, fams[n].type, docs[n][0]) for n in docs if n in fams and fams[n].type != docs[n][0]]
    check("%s: types as documented" % what, not wrong, wrong)
    nohelp = [n for n in docs if n in fams and not fams[n].documentation.startswith(docs[n][1].split(" Unit:")[0][:40])]
    check("%s: HELP is the documented description" % what, not nohelp, nohelp[:5])
    extra = [n for n in fams if n not in docs and not n.endswith("_info")]
    check("%s: nothing undocumented" % what, not extra, extra)
    caches = {s.labels.get("cache") for s in fams.get("mccache_cache_entries", {}).samples} if fams else set()
    check("%s: label values read back exactly (escaping)" % what, {"users", WEIRD} <= caches, caches)
    entries = {(s.labels.get("node", ""), s.labels["cache"]): s.value
               for s in fams["mccache_cache_entries"].samples} if fams else {}
    check("%s: entries per cache, per member" % what,
          sorted(v for (n, c), v in entries.items() if c == "users") == [3.0] * members
          and sorted(v for (n, c), v in entries.items() if c == WEIRD) == [1.0] * members, entries)
    hits = [s for s in fams["mccache_cache_hits"].samples] if fams else []
    check("%s: counters' samples end in _total" % what, hits and all(s.name == "mccache_cache_hits_total"
                                                                     for s in hits), hits[:2])
    info = fams.get("mccache_node_info")
    check("%s: node info carries the id" % what, info is not None and len(info.samples) == members and all(
        re.fullmatch("[0-9a-f]{16}", s.labels.get("id", "")) and s.value == 1 for s in info.samples),
        info.samples if info else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--metrics-doc", required=True)
    a = ap.parse_args()
    docs = documented(a.metrics_doc)
    check("docs/METRICS.md lists Prometheus families", len(docs) > 100, len(docs))
    c = Cluster(a.exporter, a.cli)
    try:
        port = c.start_member()
        c.start_member()
        check("two members heard", c.wait_members(2))
        for k in ("a", "b", "c"):
            r = c.cli("put", "users", k, "v-" + k)
            check("put users %s" % k, r.returncode == 0, r.stderr)
        r = c.cli("put", WEIRD, "k", "v")
        check("put into a cache whose name needs escaping", r.returncode == 0, r.stderr)

        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as resp:
            ctype = resp.headers.get("Content-Type", "")
            text = resp.read().decode("utf-8")
        check("exporter: text format's content type", ctype.startswith("text/plain; version=0.0.4"), ctype)
        verify(parse(text, "exporter /metrics"), docs, "exporter /metrics", 1)

        r = c.cli("metrics", "--prometheus")
        check("mccache metrics --prometheus exits 0", r.returncode == 0, r.stderr)
        fams = parse(r.stdout, "mccache metrics --prometheus")
        verify(fams, docs, "mccache metrics --prometheus", 2)
        nodes = {s.labels.get("node") for s in fams["mccache_node_caches"].samples} if fams else set()
        check("cluster exposition: a node label per member", len(nodes) == 2 and None not in nodes, nodes)
    finally:
        c.stop()
    print("%d passed, %d failed" % (len(passed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
