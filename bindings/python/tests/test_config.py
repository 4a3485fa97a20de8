"""Settings: [tool.mccache] in pyproject.toml < MCCACHE_* < arguments."""

from __future__ import annotations

import logging
import os

import pytest

import mccache

from conftest import cluster_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for k in list(os.environ):
        if k.startswith("MCCACHE_") and k != "MCCACHE_LIBRARY":
            monkeypatch.delenv(k)
    return tmp_path


def write_pyproject(path, body):
    (path / "pyproject.toml").write_text("[project]\nname = 'app'\n\n[tool.mccache]\n" + body)


def node_value(n, key):
    v = n.config()["node"][key]
    return v["value"], v["source"]


def test_pyproject_then_env_then_arguments(clean_env, monkeypatch):
    write_pyproject(clean_env, "cache_ttl = 900\npacket_mtu = 1400\ncallback_win = 5\ncache_max = 1000\n")
    s = cluster_settings()
    with mccache.Node(s) as n:
        assert node_value(n, "cache_ttl")[0] == 900
        assert node_value(n, "packet_mtu")[0] == 1400
        assert node_value(n, "callback_win")[0] == 5
    monkeypatch.setenv("MCCACHE_CACHE_TTL", "300")
    monkeypatch.setenv("MCCACHE_MTU", "1300")  # McCache's name for packet_mtu
    with mccache.Node(s) as n:
        assert node_value(n, "cache_ttl") == (300, "env:MCCACHE_CACHE_TTL")  # env wins over pyproject
        assert node_value(n, "packet_mtu") == (1300, "env:MCCACHE_MTU")
        assert node_value(n, "cache_max")[0] == 1000  # pyproject still counts where env is silent
    with mccache.Node(s, cache_ttl=60, packet_mtu=1200) as n:
        assert node_value(n, "cache_ttl") == (60, "api")  # arguments win over env
        assert node_value(n, "packet_mtu") == (1200, "api")
    with mccache.Node(s, pyproject=False, env=False) as n:
        assert node_value(n, "cache_ttl") == (3600, "default")


def test_pyproject_mccache_names_and_cache_tables(clean_env, caplog):
    write_pyproject(clean_env, "ttl = 120\nmtu = 1472\ncongestion = 25\n\n"
                               "[tool.mccache.sessions]\ncache_ttl = '30m'\nmode = 'invalidate'\n")
    with caplog.at_level(logging.WARNING, logger="mccache"):
        n = mccache.Node(cluster_settings())
    try:
        assert node_value(n, "cache_ttl")[0] == 120
        assert node_value(n, "packet_mtu")[0] == 1472
        caches = n.config()["caches"]
        assert caches["sessions"]["cache_ttl"]["value"] == 1800
        assert caches["sessions"]["cache_mode"]["value"] == "invalidate"
        assert any("congestion" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
    finally:
        n.close()


def test_bad_pyproject_value_names_file_and_key(clean_env):
    write_pyproject(clean_env, "packet_mtu = 70000\n")
    with pytest.raises(mccache.ConfigError) as e:
        mccache.Node(cluster_settings())
    msg = str(e.value)
    assert "pyproject.toml [tool.mccache] packet_mtu" in msg and "70000" in msg and "65507" in msg


def test_bad_env_value_names_the_variable(clean_env, monkeypatch):
    monkeypatch.setenv("MCCACHE_CACHE_TTL", "abc")
    with pytest.raises(mccache.ConfigError, match="MCCACHE_CACHE_TTL"):
        mccache.Node(cluster_settings())


def test_invalid_toml(clean_env):
    (clean_env / "pyproject.toml").write_text("[tool.mccache\n")
    with pytest.raises(mccache.ConfigError, match="not valid TOML"):
        mccache.Node(cluster_settings())


def test_explicit_pyproject_path(clean_env, tmp_path_factory):
    other = tmp_path_factory.mktemp("cfg")
    write_pyproject(other, "cache_max = 77\n")
    with mccache.Node(cluster_settings(), pyproject=other / "pyproject.toml") as n:
        assert node_value(n, "cache_max")[0] == 77
    with pytest.raises(mccache.ConfigError, match="no such file"):
        mccache.Node(cluster_settings(), pyproject=other / "missing.toml")


def test_per_cache_arguments_and_value_types(clean_env):
    import datetime as dt

    s = cluster_settings()
    s.update({"demo.cache_max": 10, "daemon_sleep": dt.timedelta(milliseconds=250),
              "require_encryption": False, "peers": []})
    with mccache.Node(s) as n:
        assert n.config()["caches"]["demo"]["cache_max"]["value"] == 10
        assert node_value(n, "daemon_sleep")[0] == 0.25
        c = n.cache("demo")
        for i in range(20):
            c[i] = i
        assert len(c) <= 10


def test_configure_default_node(clean_env):
    s = cluster_settings()
    mccache.configure(s, cache_ttl=42)
    try:
        c = mccache.get_cache()
        assert c.name == "mccache"
        n = mccache.default_node()
        assert node_value(n, "cache_ttl") == (42, "api")
        assert node_value(n, "interface")[0] == "127.0.0.1"
        with pytest.raises(mccache.BusyError):
            mccache.configure(cache_ttl=1)
    finally:
        mccache.shutdown()
        mccache.configure()
