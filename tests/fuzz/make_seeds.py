#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses (tests/fuzz/corpus/<name>/seed-*).

Seeds give the fuzzers well-formed starting points: datagrams from the test
vectors, datagrams sealed the way docs/SECURITY.md says (an independent
Python sealer: if the engine opens them, both agree), message sequences in
receive_fuzz.cc's input format, and configuration text. Crash inputs found
later live beside them as crash-* files; this script never touches those.

Usage: tests/fuzz/make_seeds.py   (needs the `cryptography` package for the sealed seeds)
"""
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(name, label, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + label), "wb") as f:
        f.write(data)


def vectors():
    with open(os.path.join(ROOT, "tests", "vectors", "datagrams.json")) as f:
        return json.load(f)


# ---- wire_decode: every vector, valid and invalid ------------------------------

def wire_seeds(v):
    for vec in v["valid"] + v["invalid"]:
        write("wire_decode", vec["name"], bytes.fromhex(vec["datagram_hex"]))


# ---- sealed: AES-256-GCM as in docs/SECURITY.md ---------------------------------

CLUSTER = 0x1122334455667788
MAGIC = 0x4D434350
TYPES = {"data": 1, "heartbeat": 2, "goodbye": 3, "nack": 4, "gone": 5, "digest_l1": 6,
         "digest_l2": 7, "keys": 8, "repair": 9, "pull": 10, "query": 11, "query_reply": 12}


def header(type_, flags, key_id, cluster, sender, inc, seq, fi, fc, plen):
    return struct.pack(">IBBBBQQQQHHI", MAGIC, 1, type_, flags, key_id, cluster, sender, inc, seq,
                       fi, fc, plen)


def key_id(key):
    return 1 + hashlib.sha256(key).digest()[0] % 255


def seal(key, type_, sequenced, sender, inc, seq, fi, fc, payload):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    sub = HKDF(algorithm=hashes.SHA256(), length=32, salt=struct.pack(">Q", CLUSTER),
               info=b"mccache/1" + struct.pack(">QQ", sender, inc)).derive(key)
    flags = 1 | (2 if sequenced else 0)
    h = header(type_, flags, key_id(key), CLUSTER, sender, inc, seq, fi, fc, len(payload))
    nonce = struct.pack(">QHBB", seq, fi, 1 if sequenced else 0, 0)
    return h + AESGCM(sub).encrypt(nonce, payload, h)


def sealed_seeds(v):
    key_a = bytes(range(32))
    key_b = bytes((0x80 + i) & 0xff for i in range(32))
    n = 0
    for vec in v["valid"]:
        raw = bytes.fromhex(vec["datagram_hex"])
        (_, _, type_, flags, _, _, sender, inc, seq, fi, fc, plen) = struct.unpack(">IBBBBQQQQHHI", raw[:48])
        payload = raw[48:48 + plen]
        key = key_b if n % 3 == 2 else key_a
        # Mode byte 0: a datagram to open.
        write("sealed", "open-" + vec["name"], b"\x00" + seal(key, type_, flags & 2, sender, inc, seq, fi, fc, payload))
        n += 1
    # Mode byte 1: round trips (type, seq flag, sender, incarnation, seq, frag fields, key, flip bit,
    # extra AAD as u16 length and bytes, payload).
    extras = [b"", b"127.0.0.1:7946", b"", bytes(6)]
    for i, payload in enumerate([b"", b"x", bytes(range(64)), b"hello world" * 20]):
        rt = struct.pack(">BBQQQHHBI", i % 12, i % 2, 0x1000 + i, 7, i + 1, 1, 0, i % 2, 1000 * i)
        rt += struct.pack(">H", len(extras[i])) + extras[i] + payload
        write("sealed", "round-trip-%d" % i, b"\x01" + rt)


# ---- receive: message sequences in receive_fuzz.cc's format ----------------------

def u8(x):
    return struct.pack(">B", x)


def u16(x):
    return struct.pack(">H", x)


def u32(x):
    return struct.pack(">I", x)


def u64(x):
    return struct.pack(">Q", x)


def lenbytes(b):
    return u16(len(b)) + b


def cache_sel(i):
    return u8(i)  # < 240: one of the harness's names ("c", "d", "sessions", ...)


def record_put(key, value, hlc):
    # op, cache, key, value, hlc, node=sender, expires never
    return u8(0) + cache_sel(0) + lenbytes(key) + lenbytes(value) + u64(hlc) + u8(1) + u8(1)


def message(type_, sequenced, sender, seq, built_payload, frame=2, split=0, from_second=False, inc=0):
    """A structured message; built_payload is the bytes payload_for() reads."""
    op = 0x40 if from_second else 0x00
    out = u8(op) + u8(type_ - 1) + u8(1 if sequenced else 0) + u8(0) + u8(sender) + u8(inc)
    out += u8(2) + u64(seq)          # seq as a raw u64
    out += u8(0) + built_payload     # payload built for the type
    out += u8(split)
    if split < 192 or len(built_payload) < 512:
        out += u8(frame)
    return out


def data(sender, seq, recs, hlc=1 << 40):
    body = u8(len(recs) - 1)
    for i, (k, v) in enumerate(recs):
        body += record_put(k, v, hlc + i)
    return message(1, True, sender, seq, body)


def heartbeat(sender, seq, last):
    return message(2, False, sender, seq, u8(0) + u8(last) + u64(1))


def receive_seeds():
    for target in (0, 1):  # plain node, keyed node
        t = u8(target)
        # A member joins, streams with a gap and a heartbeat, asks for a resend.
        seq = (heartbeat(0, 1, 0) + data(0, 1, [(b"k1", b"v1")]) + data(0, 3, [(b"k3", b"v3"), (b"k4", b"v4")]) +
               heartbeat(0, 2, 5) + data(0, 2, [(b"k2", b"v2")]) + data(0, 2, [(b"k2", b"dup")]))
        write("receive", "stream-%d" % target, t + seq)
        # Anti-entropy traffic: a digest, keys of one bucket, a pull, a query.
        # (Digests are larger than the harness's fragment capacity: split=130 sends them whole.)
        l1 = message(6, False, 1, 2, cache_sel(0) + u8(1) + u8(0) + u64(0) + (u8(1) + u64(1)) * 64, split=130)
        l2 = message(7, False, 1, 3, cache_sel(0) + u8(3) + (u8(1) + u64(2)) * 64, split=130)
        keys = message(8, False, 1, 4, cache_sel(0) + u16(7) + u8(0) + u8(2) + lenbytes(b"a") + lenbytes(b"b") +
                       u64(5) + u64(6) + u8(0) + u64(7) + u64(8) + u8(1))
        pull = message(10, False, 1, 5, cache_sel(0) + u8(1) + lenbytes(b"k1"))
        query = message(11, False, 1, 6, cache_sel(0) + lenbytes(b"") + u64(99) + u8(1))
        nack = message(4, False, 1, 7, u8(0) + u8(0) + u8(1) + u8(0) + u8(3))
        write("receive", "antientropy-%d" % target, t + heartbeat(1, 1, 0) + l1 + l2 + keys + pull + query + nack)
        # A value larger than the fragment capacity, split and delivered out of order with a duplicate.
        big = u8(0) + u8(0) + cache_sel(0) + lenbytes(b"big") + lenbytes(bytes(range(256)) * 2) + u64(1 << 41) + u8(1) + u8(1)
        frag = (u8(0) + u8(0) + u8(1) + u8(0) + u8(2) + u8(0) + u8(2) + u64(10) + u8(0) + big + u8(200) +
                u8(2) + u8(2) + u8(1) + u8(0) + u8(1))
        write("receive", "fragments-%d" % target, t + heartbeat(2, 1, 9) + frag)
        # Restart: the same sender with a new incarnation, then its old life again.
        restart = (heartbeat(2, 1, 0) + data(2, 1, [(b"r", b"1")]) +
                   message(2, False, 2, 1, u8(0) + u8(0) + u64(1), inc=1) + heartbeat(2, 2, 1))
        write("receive", "restart-%d" % target, t + restart)


# ---- config: set(), INI files, environments --------------------------------------

def config_seeds():
    sets = {
        "ttl": "cache_ttl\n5m", "size": "cache_size\n64K", "mtu": "packet_mtu\n9000",
        "key": "crypto_key\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "peers": "peers\n10.0.0.2:4000,[fd00::3]:4000,node3.lan:4000",
        "percache": "sessions.ttl\n30m", "mode": "sessions.mode\ninvalidate",
        "mcast": "multicast_ip\n239.255.42.42:4000", "seed": "fault_seed\n18446744073709551615",
        "bool": "require_encryption\nyes", "dur": "heartbeat_interval\n1500ms",
    }
    for label, text in sets.items():
        write("config", "set-" + label, b"\x00" + text.encode())
    ini = """; Node settings, and the defaults of every cache.
[mccache]
interface    = 127.0.0.1
cluster_name = orders
multicast_ip = 239.255.42.42:4000
crypto_key   = AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
cache_ttl    = 10m        ; default for every cache
log_level    = info
peers = 10.0.0.2:4000
  10.0.0.3:4000

[sessions]
ttl         = 30m
max_entries = 100000
max_bytes   = 256MiB
mode        = invalidate

[prices]
cache_ttl = 0
"""
    write("config", "ini-example", b"\x01" + ini.encode())
    write("config", "ini-bad", b"\x01[mccache]\ncache_tll = 5\nnot a line\n[x.y]\nttl=1\n")
    env = "\0".join(["MCCACHE_CACHE_TTL=300", "MCCACHE_MTU=1400", "MCCACHE_PACKET_MTU=1472",
                     "MCCACHE_CRYPTO_KEY_ACCEPT=", "MCCACHE_UNKNOWN=1", "PATH=/bin"])
    write("config", "env", b"\x02\x00" + env.encode())
    write("config", "env-prefixed", b"\x02\x01CACHE_MODE=update\nNODE_ID=42\nTTL=1h")
    write("config", "several", b"\x03cache_size\n4KiB\nmax_value_size\n1MiB\nsessions.cache_size\n8KiB\n")


if __name__ == "__main__":
    v = vectors()
    wire_seeds(v)
    sealed_seeds(v)
    receive_seeds()
    config_seeds()
