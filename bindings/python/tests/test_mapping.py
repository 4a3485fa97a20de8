"""The dict interface of a cache, keys and values through the codecs, errors."""

from __future__ import annotations

import ctypes
import math
import datetime as dt

import pytest

import mccache
from mccache import _lib

from conftest import wait_until


def test_set_get_and_keyerror(node):
    c = node.cache("m")
    c["a"] = "text"
    c["b"] = b"\x00\xffbinary"
    c["n"] = 42
    c["d"] = {"x": [1, 2.5, None, True], "y": "ü"}
    assert c["a"] == "text" and type(c["a"]) is str
    assert c["b"] == b"\x00\xffbinary" and type(c["b"]) is bytes
    assert c["n"] == 42
    assert c["d"] == {"x": [1, 2.5, None, True], "y": "ü"}
    with pytest.raises(KeyError) as e:
        c["missing"]
    assert e.value.args == ("missing",)
    assert c.get("missing") is None
    assert c.get("missing", 7) == 7
    assert c.get("a", 7) == "text"


def test_whole_dict_interface(node):
    c = node.cache("dictops")
    assert len(c) == 0 and list(c) == [] and "x" not in c
    c.update({"a": "1", "b": "2"}, c="3")
    c.update([("d", "4")])
    assert len(c) == 4
    assert set(c) == {"a", "b", "c", "d"}
    assert set(c.keys()) == {"a", "b", "c", "d"}
    assert sorted(c.values()) == ["1", "2", "3", "4"]
    assert dict(c.items()) == {"a": "1", "b": "2", "c": "3", "d": "4"}
    assert ("a", "1") in c.items() and ("a", "2") not in c.items()
    assert "3" in c.values()
    assert "a" in c and "zz" not in c
    assert c.setdefault("a", "no") == "1"
    assert c.setdefault("e", "5") == "5" and c["e"] == "5"
    assert c.pop("e") == "5" and "e" not in c
    assert c.pop("e", "gone") == "gone"
    with pytest.raises(KeyError):
        c.pop("e")
    k, v = c.popitem()
    assert k not in c and v in {"1", "2", "3", "4"}
    del c["d" if k != "d" else "a"]
    with pytest.raises(KeyError):
        del c["never-there"]
    assert len(c) == 2
    snapshot = c.copy()
    assert type(snapshot) is dict and snapshot == dict(c.items())
    assert c == snapshot and c != {"other": "x"}
    c.clear()
    assert len(c) == 0 and list(c.items()) == []
    c.clear()  # clearing an empty cache is fine
    with pytest.raises(KeyError):
        c.popitem()


def test_same_cache_object_and_encoding_conflict(node):
    c = node.cache("same")
    assert node.cache("same") is c
    assert mccache.get_cache("same", node=node) is c
    with pytest.raises(mccache.InvalidArgumentError):
        node.cache("same", raw=True)


def test_key_types_round_trip(node):
    c = node.cache("keys")
    keys = ["s", b"ascii-bytes", b"\xff\xfe", 7, -3, 2.5, True, None, (1, "a", (2, b"x"[0])), ""]
    for i, k in enumerate(keys):
        if k == "":
            with pytest.raises(mccache.InvalidArgumentError):  # the engine refuses empty keys
                c[k] = i
            continue
        c[k] = i
    stored = {k: v for k, v in c.items()}
    for i, k in enumerate(keys):
        if k == "":
            continue
        assert stored[k] == i and type(next(x for x in stored if x == k and type(x) is type(k))) is type(k)
    with pytest.raises(TypeError):
        c[frozenset({1})] = 1
    with pytest.raises(TypeError):
        c[[1, 2]] = 1  # type: ignore[index]
    assert [1, 2] not in c  # an unhashable, unencodable key is simply not there
    with pytest.raises(mccache.CodecError):
        c[math.nan] = 1


def test_value_bytes_are_what_other_languages_see(node):
    """str untagged as UTF-8; binary bytes untagged; text-like bytes and objects tagged with 0xC1."""
    c = node.cache("wire")
    c["s"] = "héllo"
    c["bin"] = b"\xff\x00\x01"
    c["txt"] = b"hello"
    c["tagstart"] = b"\xc1\x00"
    c["obj"] = {"a": 1}
    c["empty"] = b""
    assert c.get_bytes("s") == "héllo".encode()
    assert c.get_bytes("bin") == b"\xff\x00\x01"
    assert c.get_bytes("txt") == b"\xc1bhello"
    assert c.get_bytes("tagstart") == b"\xc1b\xc1\x00"
    assert c.get_bytes("obj") == b'\xc1j{"a":1}'
    assert c.get_bytes("empty") == b"\xc1b"
    assert c["txt"] == b"hello" and c["tagstart"] == b"\xc1\x00" and c["empty"] == b""
    # Bytes written by another language through the C API: UTF-8 reads as str, the rest as bytes.
    for key, raw in ((b"from-c-text", "näive".encode()), (b"from-c-bin", b"\x80\x81")):
        assert _lib.lib.mccache_put(c._h, key, len(key), raw, len(raw), 0) == 0
    assert c["from-c-text"] == "näive"
    assert c["from-c-bin"] == b"\x80\x81"


def test_raw_mode(node):
    c = node.cache("raw", raw=True)
    c["s"] = "text"
    c["b"] = b"hello"
    c["o"] = [1, 2]
    assert c["s"] == b"text" and c["b"] == b"hello" and c["o"] == b"[1,2]"
    assert c.get_bytes("o") == b"[1,2]"


def test_default_codec_refuses_datetime_with_a_hint(node):
    c = node.cache("json")
    with pytest.raises(mccache.CodecError, match="MsgpackCodec"):
        c["t"] = dt.datetime.now(dt.UTC)
    assert "t" not in c


def test_msgpack_codec_round_trips_datetimes(node):
    c = node.cache("mp", codec=mccache.MsgpackCodec())
    now = dt.datetime.now(dt.UTC)
    c["t"] = now
    c["l"] = [1, "x", b"\x00", {"k": 2}]
    assert c["t"] == now and c["t"].tzinfo is not None
    assert c["l"] == [1, "x", b"\x00", {"k": 2}]
    assert c.get_bytes("t")[:2] == b"\xc1m"
    # A JSON cache reads msgpack-tagged values too (both are safe codecs).
    other = node.cache("mp2")
    other["t"] = b"\xc1m" + c.get_bytes("t")[2:]  # bytes starting with 0xC1 are stored tagged ...
    assert other.get_bytes("t")[:2] == b"\xc1b"  # ... so this is bytes, not a msgpack value


def test_json_codec_extension_hooks(node):
    def default(o):
        if isinstance(o, dt.date):
            return {"$date": o.isoformat()}
        raise TypeError(o)

    def hook(d):
        return dt.date.fromisoformat(d["$date"]) if set(d) == {"$date"} else d

    c = node.cache("jsonhooks", codec=mccache.JsonCodec(default=default, object_hook=hook))
    c["d"] = dt.date(2024, 2, 29)
    assert c["d"] == dt.date(2024, 2, 29)


def test_pickle_needs_a_crypto_key(node):
    with pytest.raises(mccache.ConfigError, match="crypto_key"):
        node.cache("p", codec=mccache.PickleCodec())


def test_pickle_with_a_key_and_only_where_opted_in(make_node):
    key = mccache.generate_key()
    n = make_node(crypto_key=key)
    assert n.has_crypto_key
    p = n.cache("p", codec=mccache.PickleCodec())
    p["x"] = {1, 2, 3}  # a set: pickle only
    assert p["x"] == {1, 2, 3}
    assert p.get_bytes("x")[:2] == b"\xc1p"
    # The same bytes in a cache that did not opt in are refused, never unpickled.
    safe = n.cache("safe")
    blob = p.get_bytes("x")
    assert _lib.lib.mccache_put(safe._h, b"x", 1, blob, len(blob), 0) == 0
    with pytest.raises(mccache.CodecError, match="pickle"):
        safe["x"]
    with pytest.raises(mccache.ConfigError):
        n.set_keys(None)  # would stop sealing under a pickle cache


def test_metadata(node):
    c = node.cache("md")
    c["k"] = "v"
    md0 = c.metadata["k"]
    assert md0["lkp"] == 0 and md0["lookups"] == 0
    assert c["k"] == "v"
    md = c.metadata["k"]
    assert md["lookups"] == 1 and md["lkp"] > 0
    assert md["tsm"] == md["updated_ms"] * 1_000_000 and md["tsm"] > 0
    assert md["crc"] == md["checksum"] == c.key_checksum("k")
    assert md["version_node"] == node.id
    assert md["key_size"] == 1 and md["value_size"] == 1
    assert "k" in c.metadata and len(c.metadata) == 1 and list(c.metadata) == ["k"]
    with pytest.raises(KeyError):
        c.metadata["nope"]
    c["k"] = "w"
    assert c.metadata["k"]["version_hlc"] > md["version_hlc"]


def test_ttl_expiry(node):
    c = node.cache("ttl")
    c.set("short", "x", ttl=0.05)
    c.set("long", "y", ttl=math.inf)
    assert c.metadata["long"]["expires_ms"] == -1
    wait_until(lambda: "short" not in c, 5, "the 50 ms entry to expire")
    assert c["long"] == "y"
    with pytest.raises(ValueError):
        c.set("bad", "x", ttl=0)


def test_errors_map_engine_codes(make_node):
    n = make_node(max_value_size="1KiB")
    c = n.cache("err")
    with pytest.raises(mccache.TooBigError) as e:
        c["big"] = "x" * 2000
    assert isinstance(e.value, ValueError) and e.value.code == -6 and e.value.name == "MCCACHE_ETOOBIG"
    assert "big" not in c
    with pytest.raises(mccache.ConfigError) as e2:
        mccache.Node({"interface": "127.0.0.1", "packet_mtu": 70000}, pyproject=False, env=False)
    assert "packet_mtu" in str(e2.value) and "65507" in str(e2.value)
    with pytest.raises(mccache.ConfigError, match="unknown key"):
        mccache.Node({"interface": "127.0.0.1", "cache_tll": 5}, pyproject=False, env=False)
    n.close()
    with pytest.raises(mccache.ClosedError):
        c["x"] = "y"
    with pytest.raises(mccache.ClosedError):
        len(c)
    n.close()  # idempotent
    assert issubclass(mccache.NotFoundError, KeyError)
    assert mccache.errors.error_for_code(-15) is mccache.NotSupportedError
    assert mccache.errors.error_for_code(-99) is mccache.MccacheError


def test_threads_share_a_cache(node):
    import threading

    c = node.cache("threads")
    errors = []

    def work(t):
        try:
            for i in range(500):
                c[f"{t}-{i}"] = f"{t}:{i}"
                assert c[f"{t}-{i}"] == f"{t}:{i}"
                if i % 3 == 0:
                    del c[f"{t}-{i}"]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(c) == 4 * (500 - 167)


def test_large_values_grow_the_read_buffer(node):
    c = node.cache("big")
    v = bytes(range(256)) * 1000  # 256 kB, beyond the initial 16 kB buffer
    c["v"] = v
    assert c["v"] == v
    assert c["v"] == v


def test_ctypes_handles_are_released(node):
    c = node.cache("iter")
    for i in range(100):
        c[str(i)] = str(i)
    it = iter(c.items())
    next(it)
    del it  # a half-consumed iterator frees its engine iterator
    assert sum(1 for _ in c.items()) == 100
    assert isinstance(node.handle, ctypes.c_void_p)
