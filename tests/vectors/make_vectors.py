#!/usr/bin/env python3
"""Writes tests/vectors/datagrams.json from docs/PROTOCOL.md, independently of
the C++ codec: the tests decode these bytes with the engine and re-encode
them, so the two implementations check each other. Run from the repo root:
    python3 tests/vectors/make_vectors.py > tests/vectors/datagrams.json
"""
import json
import struct

MAGIC = 0x4D434350


def crc32c(data: bytes) -> int:
    # Bitwise CRC-32C (Castagnoli, reflected 0x82F63B78): a test oracle only.
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

TYPES = {"data": 1, "heartbeat": 2, "goodbye": 3, "nack": 4, "gone": 5, "digest_l1": 6,
         "digest_l2": 7, "keys": 8, "repair": 9, "pull": 10, "query": 11, "query_reply": 12,
         "challenge": 13, "response": 14, "repair_ack": 15, "lease": 16}
VERSION = 2
OPS = {"put": 1, "delete": 2, "clear": 3}


def header(h, payload_len):
    return struct.pack(">IBBBBQQQQHHI", MAGIC, h.get("version", VERSION), TYPES[h["type"]], h["flags"],
                       h.get("key_id", 0), h["cluster"], h["sender"], h["incarnation"], h["seq"],
                       h.get("frag_index", 0), h.get("frag_count", 1), payload_len)


def datagram(h, payload):
    body = header(h, len(payload)) + payload
    return body + struct.pack(">I", crc32c(body))


def record(r):
    cache, key, value = r["cache"].encode(), bytes.fromhex(r["key_hex"]), bytes.fromhex(r["value_hex"])
    return struct.pack(">BBHIIQQq", OPS[r["op"]], 0, len(cache), len(key), len(value), r["hlc"],
                       r["node"], r["expires_ms"]) + cache + key + value


def str16(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def cluster_id_note():
    return "XXH3_64(cluster_name); vectors use literal ids"


HDR = {"cluster": 0x1122334455667788, "sender": 0x0102030405060708, "incarnation": 0xA1A2A3A4A5A6A7A8}
vectors = []


def add(name, h, payload, fields):
    full = dict(HDR, **h)
    vectors.append({"name": name, "header": {k: full[k] for k in sorted(full)}, **fields,
                    "datagram_hex": datagram(full, payload).hex()})


recs = [
    {"op": "put", "cache": "users", "key_hex": b"alice".hex(), "value_hex": b"\x00\x01binary\xff".hex(),
     "hlc": (1795315499292 << 16) | 3, "node": 0x0102030405060708, "expires_ms": 1795315559292},
    {"op": "delete", "cache": "users", "key_hex": b"bob".hex(), "value_hex": "",
     "hlc": (1795315499293 << 16), "node": 0x0102030405060708, "expires_ms": -1},
]
add("data-put-and-delete", {"type": "data", "flags": 2, "seq": 1}, b"".join(record(r) for r in recs),
    {"records": recs})
clear = [{"op": "clear", "cache": "sessions", "key_hex": "", "value_hex": "",
          "hlc": (1795315500000 << 16) | 1, "node": 42, "expires_ms": -1}]
add("data-clear", {"type": "data", "flags": 2, "seq": 2}, record(clear[0]), {"records": clear})
big = [{"op": "put", "cache": "c", "key_hex": b"k".hex(), "value_hex": (b"x" * 40).hex(),
        "hlc": 7 << 16, "node": 9, "expires_ms": -1}]
whole = record(big[0])
add("data-fragment-0-of-2", {"type": "data", "flags": 2, "seq": 3, "frag_index": 0, "frag_count": 2},
    whole[:50], {"fragment_hex": whole[:50].hex(), "whole_records": big})
add("data-fragment-1-of-2", {"type": "data", "flags": 2, "seq": 3, "frag_index": 1, "frag_count": 2},
    whole[50:], {"fragment_hex": whole[50:].hex()})
add("repair-put", {"type": "repair", "flags": 0, "seq": 11}, record(recs[0]), {"records": [recs[0]]})
add("heartbeat", {"type": "heartbeat", "flags": 0, "seq": 5},
    struct.pack(">QQ", 17, 1795315400000), {"heartbeat": {"last_seq": 17, "started_ms": 1795315400000}})
add("goodbye", {"type": "goodbye", "flags": 0, "seq": 6},
    struct.pack(">QQ", 18, 1795315400000), {"heartbeat": {"last_seq": 18, "started_ms": 1795315400000}})
ranges = [[3, 5], [9, 9]]
add("nack", {"type": "nack", "flags": 0, "seq": 7},
    struct.pack(">H", 2) + b"".join(struct.pack(">QQ", a, b) for a, b in ranges) + struct.pack(">H", 0),
    {"ranges": ranges, "partial": []})
partial = [{"seq": 12, "highest": 9, "tail": True, "missing": [[2, 3], [7, 7]]}]


def partials(ps):
    out = struct.pack(">H", len(ps))
    for p in ps:
        out += struct.pack(">QHBH", p["seq"], p["highest"], 1 if p["tail"] else 0, len(p["missing"]))
        out += b"".join(struct.pack(">HH", a, b) for a, b in p["missing"])
    return out


add("nack-fragments", {"type": "nack", "flags": 4, "seq": 18},
    struct.pack(">H", 1) + struct.pack(">QQ", 3, 5) + partials(partial), {"ranges": [[3, 5]], "partial": partial})
add("repair-ack", {"type": "repair_ack", "flags": 4, "seq": 19},
    struct.pack(">IH", 1 << 20, 2) + struct.pack(">QQ", 40, 41) + partials(partial),
    {"repair_ack": {"window": 1 << 20, "done": [40, 41], "partial": partial}})
add("gone", {"type": "gone", "flags": 0, "seq": 8},
    struct.pack(">H", 1) + struct.pack(">QQ", 1, 2), {"ranges": [[1, 2]]})
groups = [(i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF for i in range(64)]
add("digest-l1", {"type": "digest_l1", "flags": 0, "seq": 9},
    str16("users") + struct.pack(">BQQ", 1, 5 << 16, 3) + b"".join(struct.pack(">Q", g) for g in groups),
    {"digest_l1": {"cache": "users", "mode": 1, "floor_hlc": 5 << 16, "floor_node": 3,
                   "groups": [str(g) for g in groups]}})
buckets = [(i * 31 + 7) for i in range(64)]
add("digest-l2", {"type": "digest_l2", "flags": 0, "seq": 10},
    str16("users") + struct.pack(">H", 63) + b"".join(struct.pack(">Q", b) for b in buckets),
    {"digest_l2": {"cache": "users", "group": 63, "buckets": [str(b) for b in buckets]}})
keys = [{"key_hex": b"alice".hex(), "hlc": 1 << 16, "node": 2, "tombstone": False},
        {"key_hex": b"bob".hex(), "hlc": 3 << 16, "node": 4, "tombstone": True}]
add("keys", {"type": "keys", "flags": 0, "seq": 12},
    str16("users") + struct.pack(">HQQQQQI", 4095, 0x0123456789ABCDEF, 1000, 1 << 20, 7 << 16, 3, 2) + b"".join(
        struct.pack(">I", len(bytes.fromhex(k["key_hex"]))) + bytes.fromhex(k["key_hex"]) +
        struct.pack(">QQB", k["hlc"], k["node"], 1 if k["tombstone"] else 0) for k in keys),
    {"keys": {"cache": "users", "bucket": 4095, "digest": 0x0123456789ABCDEF, "room_entries": 1000,
              "room_bytes": 1 << 20, "horizon_hlc": 7 << 16, "horizon_node": 3, "entries": keys}})
add("pull", {"type": "pull", "flags": 0, "seq": 13},
    str16("users") + struct.pack(">I", 2) + struct.pack(">I", 5) + b"alice" + struct.pack(">I", 3) + b"bob",
    {"pull": {"cache": "users", "keys_hex": [b"alice".hex(), b"bob".hex()]}})
add("query", {"type": "query", "flags": 0, "seq": 14},
    struct.pack(">QB", 99, 2) + str16("users") + struct.pack(">I", 0),
    {"query": {"request_id": 99, "kind": 2, "cache": "users", "body": ""}})
body = '{"node":"0102030405060708"}'
add("query-reply", {"type": "query_reply", "flags": 0, "seq": 15},
    struct.pack(">QB", 99, 2) + str16("") + struct.pack(">I", len(body)) + body.encode(),
    {"query": {"request_id": 99, "kind": 2, "cache": "", "body": body}})

nonce = bytes(range(0xC0, 0xD0))
add("challenge", {"type": "challenge", "flags": 4, "seq": 16},
    struct.pack(">QQ", 0x1111222233334444, 0x0000018C2F4E5A7F) + nonce,
    {"challenge": {"target": 0x1111222233334444, "target_incarnation": 0x0000018C2F4E5A7F,
                   "nonce_hex": nonce.hex()}})
add("response", {"type": "response", "flags": 4, "seq": 17},
    struct.pack(">QQ", 0x1111222233334444, 0x0000018C2F4E5A7F) + nonce + struct.pack(">QQQQ", 40, 12, 7, 1795315400000),
    {"response": {"challenger": 0x1111222233334444, "challenger_incarnation": 0x0000018C2F4E5A7F,
                  "nonce_hex": nonce.hex(), "last_seq": 40, "to_all_seq": 12, "to_one_seq": 7,
                  "started_ms": 1795315400000}})

msg = "database down"
add("lease-failed", {"type": "lease", "flags": 4, "seq": 18},
    struct.pack(">B", 5) + str16("users") + struct.pack(">I", 5) + b"alice" +
    struct.pack(">QQQQIi", (1795315499292 << 16) | 4, 0x0102030405060708, 0, 0, 30000, -14) + str16(msg),
    {"lease": {"kind": 5, "cache": "users", "key_hex": b"alice".hex(), "claim_hlc": (1795315499292 << 16) | 4,
               "claim_node": 0x0102030405060708, "version_hlc": 0, "version_node": 0, "ms": 30000,
               "code": -14, "message": msg}})

# Datagrams every decoder must refuse, with the reason it must give.
good = bytes.fromhex(vectors[5]["datagram_hex"])  # the heartbeat
invalid = []


def bad(name, data, error):
    invalid.append({"name": name, "datagram_hex": data.hex(), "error": error})


def recrc(d):
    return d[:-4] + struct.pack(">I", crc32c(d[:-4]))


bad("empty", b"", "too_short")
bad("header-only", good[:47], "too_short")
bad("bad-magic", recrc(b"XCCP" + good[4:]), "bad_magic")
bad("unknown-version", recrc(good[:4] + b"\x03" + good[5:]), "unknown_version")
bad("version-1", recrc(good[:4] + b"\x01" + good[5:]), "unknown_version")
bad("type-zero", recrc(good[:5] + b"\x00" + good[6:]), "unknown_type")
bad("type-too-high", recrc(good[:5] + b"\x11" + good[6:]), "unknown_type")
bad("unknown-flag", recrc(good[:6] + b"\x80" + good[7:]), "bad_flags")
bad("fragment-index-past-count", recrc(good[:40] + struct.pack(">HH", 2, 2) + good[44:]), "bad_fragment")
bad("fragment-count-zero", recrc(good[:40] + struct.pack(">HH", 0, 0) + good[44:]), "bad_fragment")
bad("length-too-big", recrc(good[:44] + struct.pack(">I", 0xFFFFFFFF) + good[48:]), "bad_length")
bad("length-too-small", recrc(good[:44] + struct.pack(">I", 1) + good[48:]), "bad_length")
bad("truncated", good[:-1], "bad_length")
bad("flipped-payload-bit", good[:50] + bytes([good[50] ^ 1]) + good[51:], "bad_checksum")
bad("flipped-crc-bit", good[:-1] + bytes([good[-1] ^ 0x80]), "bad_checksum")

def exact(v):
    # JSON readers often parse numbers as doubles: 64-bit fields travel as strings.
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and abs(v) >= 1 << 31:
        return str(v)
    if isinstance(v, dict):
        return {k: exact(x) for k, x in v.items()}
    if isinstance(v, list):
        return [exact(x) for x in v]
    return v


print(json.dumps({"spec": "docs/PROTOCOL.md", "protocol_version": VERSION,
                  "note": "integers of 2^31 and above are decimal strings so no JSON reader loses them",
                  "valid": exact(vectors), "invalid": invalid}, indent=1))
