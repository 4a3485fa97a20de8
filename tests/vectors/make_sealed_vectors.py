#!/usr/bin/env python3
"""Writes tests/vectors/sealed.json: datagrams sealed the way docs/SECURITY.md
says, by an implementation independent of the engine's (pyca/cryptography
for HKDF-SHA256 and AES-256-GCM; the framing below is written from the
docs, not from src/crypto). Cpp::crypto_test seals the same inputs with
each backend the build has and must get these bytes, and opens them.

Run from the repo root (needs python3-cryptography):
    python3 tests/vectors/make_sealed_vectors.py > tests/vectors/sealed.json

64-bit header fields are hex strings. Payloads are not stored: byte i of a payload of length n with seed s is
(i * 131 + s) mod 256. Datagrams up to 2048 bytes are stored whole; larger
ones as their SHA-256.
"""
import hashlib
import json
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = 0x4D434350
SEALED, SEQUENCED, UNICAST = 1, 2, 4
TYPES = {"data": 1, "heartbeat": 2, "goodbye": 3, "nack": 4, "gone": 5, "digest_l1": 6,
         "digest_l2": 7, "keys": 8, "repair": 9, "pull": 10, "query": 11, "query_reply": 12,
         "challenge": 13, "response": 14, "repair_ack": 15}
VERSION = 2
MAX_PAYLOAD = 65507 - 48 - 16

KEYS = {"a": bytes(range(32)), "b": bytes((0x80 + i) & 0xFF for i in range(32))}


def payload(n, seed):
    return bytes((i * 131 + seed) & 0xFF for i in range(n))


def key_id(key):
    # 1..255 from the key's SHA-256 (0 means "not sealed").
    return 1 + hashlib.sha256(key).digest()[0] % 255


def subkey(key, cluster, sender, incarnation):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=struct.pack(">Q", cluster),
                info=b"mccache/1" + struct.pack(">QQ", sender, incarnation)).derive(key)


def counter(flags):
    # Which of the sender's three counters seq is in: 0 multicast control,
    # 1 reliable stream, 2 unicast control.
    return 1 if flags & SEQUENCED else 2 if flags & UNICAST else 0


def nonce(seq, frag_index, flags):
    return struct.pack(">QHBB", seq, frag_index, counter(flags), 0)


def header(h, kid, plen):
    return struct.pack(">IBBBBQQQQHHI", MAGIC, VERSION, TYPES[h["type"]], h["flags"] | SEALED, kid, h["cluster"],
                       h["sender"], h["incarnation"], h["seq"], h["frag_index"], h["frag_count"], plen)


BASE = {"cluster": 0x1122334455667788, "sender": 0x0102030405060708, "incarnation": 0xA1A2A3A4A5A6A7A8,
        "frag_index": 0, "frag_count": 1}
U64 = ("cluster", "sender", "incarnation", "seq")
vectors = []


def add(name, key, h, length, seed, extra=b""):
    h = dict(BASE, **h)
    k = KEYS[key]
    p = payload(length, seed)
    sub = subkey(k, h["cluster"], h["sender"], h["incarnation"])
    iv = nonce(h["seq"], h["frag_index"], h["flags"])
    hdr = header(h, key_id(k), len(p))
    d = hdr + AESGCM(sub).encrypt(iv, p, hdr + extra)
    # 64-bit fields as hex strings: JSON readers hold numbers as doubles.
    shown = {f: ("%016x" % x if f in U64 else x) for f, x in h.items()}
    v = {"name": name, "key": key, "header": shown, "payload_len": length, "payload_seed": seed,
         "extra_aad_hex": extra.hex(), "key_id": key_id(k), "subkey_hex": sub.hex(), "nonce_hex": iv.hex(),
         "datagram_len": len(d), "tag_hex": d[-16:].hex()}
    if len(d) <= 2048:
        v["datagram_hex"] = d.hex()
    else:
        v["datagram_sha256"] = hashlib.sha256(d).hexdigest()
    vectors.append(v)


add("heartbeat-empty", "a", {"type": "heartbeat", "flags": 0, "seq": 1}, 0, 0)
add("data-1-byte", "a", {"type": "data", "flags": SEQUENCED, "seq": 1}, 1, 1)
add("data-15", "a", {"type": "data", "flags": SEQUENCED, "seq": 2}, 15, 2)
add("data-16", "a", {"type": "data", "flags": SEQUENCED, "seq": 3}, 16, 3)
add("data-17", "a", {"type": "data", "flags": SEQUENCED, "seq": 4}, 17, 4)
add("nack-unicast", "a", {"type": "nack", "flags": UNICAST, "seq": 7}, 40, 5)
add("repair-unicast-64", "a", {"type": "repair", "flags": UNICAST, "seq": 8}, 64, 6)
# Same seq in the three counters: three different nonces.
add("seq-9-multicast", "a", {"type": "digest_l1", "flags": 0, "seq": 9}, 64, 7)
add("seq-9-stream", "a", {"type": "data", "flags": SEQUENCED, "seq": 9}, 64, 7)
add("seq-9-unicast", "a", {"type": "pull", "flags": UNICAST, "seq": 9}, 64, 7)
add("fragment-258-of-512", "a", {"type": "data", "flags": SEQUENCED, "seq": 10, "frag_index": 258,
                                 "frag_count": 512}, 1400, 8)
add("seq-near-max", "a", {"type": "data", "flags": SEQUENCED, "seq": 0xFFFFFFFFFFFFFFFE}, 100, 9)
add("other-sender", "a", {"type": "data", "flags": SEQUENCED, "seq": 1, "sender": 0xFEDCBA9876543210,
                          "incarnation": 0x0000018C2F4E5A7F}, 100, 10)
add("other-cluster", "a", {"type": "data", "flags": SEQUENCED, "seq": 1, "cluster": 0x8877665544332211}, 100, 10)
add("key-b", "b", {"type": "data", "flags": SEQUENCED, "seq": 1}, 100, 10)
add("data-1024", "a", {"type": "data", "flags": SEQUENCED, "seq": 11}, 1024, 11)
add("query-reply-1400", "b", {"type": "query_reply", "flags": UNICAST, "seq": 12}, 1400, 12)
add("data-4096", "a", {"type": "data", "flags": SEQUENCED, "seq": 13}, 4096, 13)
add("data-max-payload", "a", {"type": "data", "flags": SEQUENCED, "seq": 14}, MAX_PAYLOAD, 14)
# extra_aad (authenticated, never sent): the same inputs as data-1024 and
# heartbeat-empty, bound to a destination. The ciphertext is the same, the
# tag is not.
add("data-1024-extra-ipv4", "a", {"type": "data", "flags": SEQUENCED, "seq": 11}, 1024, 11,
    bytes([127, 0, 0, 1]) + struct.pack(">H", 7946))
add("heartbeat-empty-extra-19", "a", {"type": "heartbeat", "flags": 0, "seq": 1}, 0, 0,
    b"\x00" * 3 + bytes(range(16)))
add("data-17-extra-300", "b", {"type": "data", "flags": SEQUENCED, "seq": 4}, 17, 4, payload(300, 99))
# A unicast datagram is bound to its destination (docs/PROTOCOL.md section 5):
# extra_aad = u64 destination id || u64 destination incarnation.
add("challenge-to-member", "a", {"type": "challenge", "flags": UNICAST, "seq": 15}, 32, 15,
    struct.pack(">QQ", 0x1111222233334444, 0x0000018C2F4E5A7F))
add("response-to-member", "a", {"type": "response", "flags": UNICAST, "seq": 16}, 64, 16,
    struct.pack(">QQ", 0x1111222233334444, 0x0000018C2F4E5A7F))

print(json.dumps({
    "spec": "docs/SECURITY.md section 1: subkey = HKDF-SHA256(key, salt = u64 cluster, info = 'mccache/1' || "
            "u64 sender || u64 incarnation); nonce = u64 seq || u16 frag_index || u8 counter "
            "(0 multicast, 1 stream, 2 unicast) || 0; AAD = the 48-byte header (SEALED set, key id) || "
            "extra_aad; datagram = header || ciphertext || 16-byte tag",
    "note": "written by tests/vectors/make_sealed_vectors.py (pyca/cryptography); payload byte i = "
            "(i * 131 + payload_seed) mod 256",
    "keys": {name: {"key_hex": k.hex(), "key_id": key_id(k)} for name, k in KEYS.items()},
    "vectors": vectors}, indent=1))
