#!/usr/bin/env python3
"""Check that every MCCACHE_API declaration in mccache.h carries its Doxygen
block with @brief and the three fixed lines bindings rely on."""
import re
import sys

REQUIRED = ("@brief", "Thread-safety:", "Ownership:", "Callback context:")


def main(path):
    text = open(path, encoding="utf-8").read()
    problems = []
    count = 0
    # A declaration starts at a line beginning with MCCACHE_API (the macro's
    # own #define lines start with '#', so they do not match).
    for m in re.finditer(r"^MCCACHE_API\b[^;]*;", text, re.M | re.S):
        count += 1
        decl = " ".join(m.group(0).split())
        name = re.search(r"(\w+)\s*\(", decl)
        name = name.group(1) if name else decl
        line = text.count("\n", 0, m.start()) + 1
        before = text[: m.start()].rstrip()
        if not before.endswith("*/"):
            problems.append(f"{path}:{line}: {name}: no doc comment right before it")
            continue
        start = before.rfind("/**")
        if start < 0 or before.rfind("*/", 0, len(before) - 2) > start:
            problems.append(f"{path}:{line}: {name}: the comment before it is not a /** block")
            continue
        block = before[start:]
        missing = [r for r in REQUIRED if r not in block]
        if missing:
            problems.append(f"{path}:{line}: {name}: doc block lacks {', '.join(missing)}")
    if count == 0:
        problems.append(f"{path}: no MCCACHE_API declaration found")
    for p in problems:
        print(p)
    print(f"{count} declarations checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_docs.py include/mccache.h")
    sys.exit(main(sys.argv[1]))
