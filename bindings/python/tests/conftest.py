"""Shared fixtures. Every node here pins interface 127.0.0.1 and lives in a
cluster of its own test (a unique cluster_name; group and port from the pid),
reads no MCCACHE_* environment and no pyproject.toml unless a test says so."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mccache

_seq = itertools.count()


def cluster_settings(name: str | None = None) -> dict[str, Any]:
    """Settings for a new cluster on loopback that no other test or run shares."""
    pid = os.getpid()
    i = next(_seq)
    return {
        "interface": "127.0.0.1",
        "cluster_name": name or f"pytest-{pid}-{i}",
        "transport": "multicast",
        "multicast_ip": f"239.253.{(pid >> 8) & 255}.{pid & 255}",
        "multicast_port": 20000 + (pid * 13 + i) % 20000,
        # Quick failure detection and repair rounds keep the tests short.
        "heartbeat_interval": "50ms",
        "member_timeout": "1s",
    }


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child Python process: this package first on its path."""
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(mccache.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def wait_until(pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Polls ``pred`` until it returns something truthy; fails the test at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # poll interval; the deadline bounds the wait


@pytest.fixture
def cluster() -> dict[str, Any]:
    """One cluster's settings, for the nodes of one test."""
    return cluster_settings()


@pytest.fixture
def make_node(cluster: dict[str, Any]) -> Iterator[Callable[..., mccache.Node]]:
    """Opens nodes in this test's cluster; closes them after the test."""
    nodes: list[mccache.Node] = []

    def make(**overrides: Any) -> mccache.Node:
        settings = dict(cluster)
        settings.update(overrides)
        n = mccache.Node(settings, pyproject=False, env=False)
        nodes.append(n)
        return n

    yield make
    for n in nodes:
        n.close()


@pytest.fixture
def node(make_node: Callable[..., mccache.Node]) -> mccache.Node:
    return make_node()


@pytest.fixture
def default_node_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, cluster: dict[str, Any]) -> Iterator[None]:
    """The module-level API's default node, on loopback in this test's cluster."""
    monkeypatch.chdir(tmp_path)  # no pyproject.toml from the source tree
    for k in list(os.environ):
        if k.startswith("MCCACHE_") and k != "MCCACHE_LIBRARY":
            monkeypatch.delenv(k)
    mccache.configure(cluster)
    yield
    mccache.shutdown()
    mccache.configure()
