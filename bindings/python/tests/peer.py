#!/usr/bin/env python3
"""A second (and third) Python process for test_cluster.py: a node driven by
one-line commands on stdin, one reply line each on stdout.

  members          -> members N            (alive members seen)
  work SEED N      -> done OPS             (N random writes: own and shared keys, mixed types)
  sync             -> synced
  checksum         -> checksum HEX LEN
  dump             -> dump JSON            (repr of every key -> repr of its value, sorted)
  own              -> own JSON             (what this process last wrote to its own keys)
  quit             -> bye
"""

from __future__ import annotations

import json
import random
import sys

import mccache


def main() -> int:
    settings = json.loads(sys.argv[1])
    label = sys.argv[2]
    settings["interface"] = "127.0.0.1"  # loopback, whatever the caller says
    node = mccache.Node(settings, pyproject=False, env=False)
    cache = node.cache("coherent")
    own: dict[str, object] = {}
    print(f"ready {node.id_hex}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "members":
            reply = f"members {len(node.alive_members())}"
        elif cmd[0] == "work":
            rnd = random.Random(int(cmd[1]))
            ops = 0
            for i in range(int(cmd[2])):
                r = rnd.random()
                shared_key = rnd.choice([f"s{rnd.randrange(50)}", rnd.randrange(50), ("t", rnd.randrange(20))])
                if r < 0.5:
                    cache[shared_key] = rnd.choice([f"{label}:{i}", {"by": label, "i": i, "l": [i, 2]},
                                                    i, b"\x00\x01" + label.encode(), [label, i]])
                elif r < 0.6:
                    cache.pop(shared_key, None)
                else:
                    k = f"{label}-own-{rnd.randrange(200)}"
                    if rnd.random() < 0.2 and own.get(k) is not None:
                        del cache[k]
                        own[k] = None
                    else:
                        v = {"label": label, "i": i}
                        cache[k] = v
                        own[k] = v
                ops += 1
            reply = f"done {ops}"
        elif cmd[0] == "sync":
            node.sync()
            reply = "synced"
        elif cmd[0] == "checksum":
            reply = f"checksum {cache.checksum():016x} {len(cache)}"
        elif cmd[0] == "dump":
            reply = "dump " + json.dumps(sorted((repr(k), repr(v)) for k, v in cache.items()))
        elif cmd[0] == "own":
            reply = "own " + json.dumps(own)
        elif cmd[0] == "quit":
            break
        else:
            reply = "error"
        print(reply, flush=True)
    node.close()
    print("bye", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
