"""McCache's change callback: its ctx, callback_win, the Python thread it runs on."""

from __future__ import annotations

import threading
import time

import mccache

from conftest import wait_until


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.ctxs = []
        self.threads = set()

    def __call__(self, ctx):
        with self.lock:
            self.ctxs.append(ctx)
            self.threads.add(threading.get_ident())

    def snapshot(self):
        with self.lock:
            return list(self.ctxs)


def test_local_changes_and_ctx(node):
    rec = Recorder()
    c = node.cache("cb", rec)
    c["k"] = "v1"
    assert c["k"] == "v1"
    c["k"] = "v2"
    del c["k"]
    ctxs = wait_until(lambda: len(rec.snapshot()) >= 3 and rec.snapshot(), 10, "3 events")
    assert [x["event"] for x in ctxs] == ["insert", "update", "delete"]
    assert [x["typ"] for x in ctxs] == [mccache.UPDATE, mccache.UPDATE, mccache.DELETE]
    assert all(x["origin"] == "local" and x["nms"] == "cb" and x["key"] == "k" for x in ctxs)
    assert [x["value"] for x in ctxs] == ["v1", "v2", "v2"]  # a delete reports the old value
    upd = ctxs[1]
    assert upd["lkp"] > 0 and upd["tsm"] >= upd["lkp"] and upd["elp"] == upd["tsm"] - upd["lkp"]
    assert upd["version"][1] == node.id and ctxs[2]["version"][0] > upd["version"][0]
    assert set(upd) >= {"typ", "nms", "key", "lkp", "tsm", "elp", "prvcrc", "newcrc"}  # McCache's ctx
    # On the node's Python callback thread: not the caller, not an engine thread.
    assert rec.threads == {node.callback_thread_ident}
    assert node.callback_thread_ident != threading.get_ident()
    assert threading.main_thread().ident != node.callback_thread_ident


def test_callback_win_reports_only_recently_read_keys(make_node):
    n = make_node(callback_win="10s")
    rec = Recorder()
    c = n.cache("win", rec)
    c["unread"] = "1"
    c["read"] = "1"
    assert c["read"] == "1"
    c["unread"] = "2"
    c["read"] = "2"
    c["marker"] = "x"
    assert c["marker"] == "x"
    c["marker"] = "y"
    wait_until(lambda: any(x["key"] == "marker" for x in rec.snapshot()), 10, "the marker event")
    keys = [x["key"] for x in rec.snapshot()]
    assert keys == ["read", "marker"]  # McCache: only changes within callback_win of a lookup
    assert all(0 <= x["elp"] < 10_000_000_000 and x["lkp"] > 0 for x in rec.snapshot())  # ms resolution


def test_remote_changes_reach_the_callback(make_node):
    a = make_node()
    b = make_node()
    rec = Recorder()
    cb = b.cache("shared", rec)
    ca = a.cache("shared")
    wait_until(lambda: a.alive_members() and b.alive_members(), 15, "the two nodes to see each other")
    ca["x"] = {"n": 1}
    del ca["x"]
    ctxs = wait_until(lambda: [x for x in rec.snapshot() if x["event"] == "delete"] and rec.snapshot(),
                      15, "the remote delete")
    ins = [x for x in ctxs if x["event"] in ("insert", "update")]
    assert ins and ins[0]["origin"] in ("remote", "repair") and ins[0]["value"] == {"n": 1}
    assert ins[0]["version"][1] == a.id
    assert "x" not in cb


def test_callbacks_may_use_the_cache_and_a_failing_one_does_not_stop_others(node, caplog):
    seen = []

    def callback(ctx):
        if ctx["key"] == "boom":
            raise RuntimeError("callback failure")
        if ctx["key"] == "ping" and ctx["event"] == "insert":
            c["pong"] = c["ping"] + "!"  # a write from the callback thread
        seen.append(ctx["key"])

    c = node.cache("reentrant", callback)
    c["boom"] = "x"
    c["ping"] = "p"
    wait_until(lambda: "pong" in seen, 10, "the callback's own write to be reported")
    assert c["pong"] == "p!"
    assert any("callback raised" in r.getMessage() for r in caplog.records)


def test_slow_callback_blocks_neither_writers_nor_close(make_node):
    n = make_node()
    gate = threading.Event()
    done = []

    def slow(ctx):
        gate.wait(5)
        done.append(ctx["key"])

    c = n.cache("slow", slow)
    t0 = time.monotonic()
    for i in range(200):
        c[str(i)] = "v"
    assert len(c) == 200  # writes went through while the first callback waits
    gate.set()
    n.close()  # delivers what was queued, then returns
    assert len(done) == 200 and time.monotonic() - t0 < 60


def test_replace_and_remove_callback(node):
    first, second = Recorder(), Recorder()
    c = node.cache("swap", first)
    c["a"] = "1"
    wait_until(lambda: first.snapshot(), 10, "first callback")
    node.cache("swap", second)  # get_cache again with a callback replaces it
    c["b"] = "1"
    wait_until(lambda: second.snapshot(), 10, "second callback")
    c.set_callback(None)
    c["c"] = "1"
    c2 = Recorder()
    c.set_callback(c2)
    c["d"] = "1"
    wait_until(lambda: c2.snapshot(), 10, "third callback")
    assert [x["key"] for x in first.snapshot()] == ["a"]
    assert [x["key"] for x in second.snapshot()] == ["b"]
    assert [x["key"] for x in c2.snapshot()] == ["d"]


def test_close_from_the_callback_thread(make_node):
    n = make_node()
    closed = threading.Event()

    def callback(ctx):
        n.close()  # on the Python callback thread: allowed (not the engine's dispatcher)
        closed.set()

    c = n.cache("closeme", callback)
    c["x"] = "1"
    assert closed.wait(10)
    assert n.closed


def test_engine_log_lines_go_to_logging(make_node, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="mccache"):
        n = make_node(log_level="info")
        n.cache("logged")  # the engine logs each cache it opens, at info
        rec = wait_until(lambda: [r for r in caplog.records if 'cache "logged" open' in r.getMessage()],
                         10, "the log line")
    assert rec[0].levelno == logging.INFO and rec[0].threadName.startswith("mccache-callbacks-")
