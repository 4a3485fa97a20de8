#!/bin/sh
# ABI gate: libmccache.so must export the C API and nothing else (no C++
# symbols, nothing from libuv or libstdc++), or bindings grow accidental deps.
set -eu
lib=${1:?usage: check_exports.sh path/to/libmccache.so [include/mccache.h]}
header=${2:-}
NM=${NM:-nm}

syms=$("$NM" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$syms" | grep -v '^mccache_' | grep -v '^$' || true)
count=$(printf '%s\n' "$syms" | grep -c '^mccache_' || true)

if [ -n "$bad" ]; then
    echo "FAIL: $lib exports symbols outside mccache_*:"
    printf '  %s\n' $bad
    exit 1
fi
if ! printf '%s\n' "$syms" | grep -qx 'mccache_version'; then
    echo "FAIL: $lib does not export mccache_version"
    exit 1
fi
# Every function the header declares must be there, or consumers fail to link.
if [ -n "$header" ]; then
    declared=$(tr '\n' ' ' < "$header" | grep -o 'MCCACHE_API[^;(]*(' |
               sed 's/.*[^A-Za-z0-9_]\([A-Za-z0-9_]*\)[[:space:]]*($/\1/' | grep '^mccache_' | sort -u)
    missing=$(printf '%s\n' "$declared" | while read -r f; do
        printf '%s\n' "$syms" | grep -qx "$f" || echo "$f"
    done)
    if [ -n "$missing" ]; then
        echo "FAIL: declared in $header but not exported by $lib:"
        printf '  %s\n' $missing
        exit 1
    fi
fi
echo "OK: $lib exports $count symbols, all mccache_*"
