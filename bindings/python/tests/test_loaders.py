"""Loaders: get_or_load (one load per key on a node and across the cluster), a loader's
failure, negative caching, set_loader, memoize, namespaces. The engine does the
coordination; these check that Python's callables cross the C boundary intact."""

from __future__ import annotations

import threading
import time

import pytest

import mccache

from conftest import wait_until


def test_a_miss_loads_once_and_then_hits(node):
    c = node.cache("loads")
    calls = []

    def load(key):
        calls.append(key)
        return {"user": key, "n": len(calls)}

    assert c.get_or_load("u1", load) == {"user": "u1", "n": 1}
    assert c.get_or_load("u1", load) == {"user": "u1", "n": 1}
    assert calls == ["u1"]
    assert c["u1"] == {"user": "u1", "n": 1}  # stored as a put would
    assert c.metrics()["loader"]["loads"] >= 1


def test_concurrent_callers_on_every_member_share_one_load(make_node):
    nodes = [make_node(), make_node(), make_node()]
    caches = [n.cache("stampede") for n in nodes]
    wait_until(lambda: all(len(n.alive_members()) == 2 for n in nodes), what="three members meeting")
    calls = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def slow_load(key):
        with lock:
            calls.append(key)
        time.sleep(0.3)  # long enough for every caller to be waiting
        return "loaded:" + key

    results = []

    def caller(c):
        start.wait()
        results.append(c.get_or_load("hot", slow_load, timeout=30))

    threads = [threading.Thread(target=caller, args=(caches[i % 3],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == ["loaded:hot"] * 12
    assert calls == ["hot"], "one load for twelve callers on three members"
    wait_until(lambda: all(c.get("hot") == "loaded:hot" for c in caches), what="the value on every member")


class Unavailable(Exception):
    pass


def test_a_failure_reaches_the_caller_and_is_remembered(make_node):
    c = make_node(negative_ttl="30s").cache("failing")
    calls = []

    def broken(key):
        calls.append(key)
        raise Unavailable("backend down")

    with pytest.raises(Unavailable, match="backend down"):
        c.get_or_load("k", broken)
    # Remembered for negative_ttl: no second load, the engine's code and text.
    with pytest.raises(mccache.UserError, match="Unavailable: backend down"):
        c.get_or_load("k", broken)
    assert calls == ["k"]
    assert "k" not in c


def test_waiters_get_the_loaders_failure(node):
    c = node.cache("failing-waiters")
    entered = threading.Event()

    def broken(key):
        entered.set()
        time.sleep(0.3)
        raise Unavailable("no")

    errors = []

    def waiter():
        entered.wait(10)
        try:
            c.get_or_load("k", lambda k: "never", timeout=30)
        except mccache.MccacheError as e:
            errors.append(e)

    t = threading.Thread(target=waiter)
    t.start()
    with pytest.raises(Unavailable):
        c.get_or_load("k", broken)
    t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], mccache.UserError), errors


def test_set_loader_and_memoize(node):
    c = node.cache("memo")
    seen = []
    c.set_loader(lambda key: seen.append(key) or key.upper())
    assert c.get_or_load("abc") == "ABC"
    assert seen == ["abc"]
    c.set_loader(None)
    with pytest.raises(mccache.InvalidArgumentError):
        c.get_or_load("other")  # no loader given or registered

    runs = []

    @c.memoize(ttl=60)
    def square(x, *, plus=0):
        runs.append(x)
        return x * x + plus

    assert square(7) == 49 and square(7) == 49
    assert square(7, plus=1) == 50
    assert runs == [7, 7]
    assert square.__name__ == "square"


def test_a_namespace_bump_invalidates_every_member(make_node):
    a, b = make_node(key_prefix="app:"), make_node(key_prefix="app:")
    ca, cb = a.cache("ns"), b.cache("ns")
    wait_until(lambda: a.alive_members() and b.alive_members(), what="two members meeting")
    ca["k"] = "v1"
    wait_until(lambda: cb.get("k") == "v1", what="k on b")
    generation = ca.bump_namespace()
    assert generation >= 1 and ca.namespace_generation == generation
    assert "k" not in ca
    wait_until(lambda: cb.namespace_generation == generation and "k" not in cb, what="the bump on b")
