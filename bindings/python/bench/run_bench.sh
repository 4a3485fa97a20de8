#!/usr/bin/env bash
# bindings/python/bench/run_bench.sh [PYTHON [WORKDIR]]   (root: it creates a network namespace)
#
# McCache-Python 0.4.12 (from PyPI) and this package side by side; see bench.py.
# McCache-Python multicasts on the default interface, so everything runs in a
# network namespace of this script's own that has nothing but loopback:
# lo up, a second loopback address 127.0.0.2 (McCache tells members apart by
# IP), and a route for 224.0.0.0/4 on lo. Our package runs in the same
# namespace, pinned to interface 127.0.0.1. The namespace is removed at exit.
#
# Results: bench/results/python.json (and Markdown tables on stdout).
# Uses $MCCACHE_LIBRARY if set, else build/libmccache.so of this checkout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
python=${1:-python3}
work=${2:-$repo/build/python-bench}
shift $(( $# > 2 ? 2 : $# ))
export MCCACHE_LIBRARY=${MCCACHE_LIBRARY:-$repo/build/libmccache.so}
export PYTHONPATH=$here/../src
[ -f "$MCCACHE_LIBRARY" ] || { echo "no $MCCACHE_LIBRARY: build the project first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: the benchmark creates a network namespace" >&2; exit 1; }
mkdir -p "$work"

venv() {  # venv DIR PACKAGES...
    local dir=$1
    shift
    [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}
venv "$work/venv-ours" cachetools==6.2.6
# McCache-Python 0.4.12 imports cryptography without declaring it.
venv "$work/venv-mccache" mccache==0.4.12 cryptography==46.0.7

ns=mcpybench$$
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" addr add 127.0.0.2/8 dev lo
ip -n "$ns" route add 224.0.0.0/4 dev lo
echo "namespace $ns: $(ip -n "$ns" -brief addr | tr -s ' ')"

ip netns exec "$ns" "$work/venv-ours/bin/python" "$here/bench.py" \
    --ours-python "$work/venv-ours/bin/python" --orig-python "$work/venv-mccache/bin/python" \
    --workdir "$work" --out "$repo/bench/results/python.json" "$@"
