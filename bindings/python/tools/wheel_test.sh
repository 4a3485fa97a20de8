#!/usr/bin/env bash
# tools/wheel_test.sh PYTHON WORKDIR SRCDIR
# `pip install ./bindings/python` into a fresh venv, as a user would: pip
# fetches scikit-build-core from PyPI, which builds libmccache with the
# project's CMake and puts it in the wheel. Then McCache's README example runs
# on the installed package alone (no PYTHONPATH, no MCCACHE_LIBRARY), on
# loopback, and must print what the example promises.
set -euo pipefail
python=$1 work=$2 src=$3
unset PYTHONPATH MCCACHE_LIBRARY
mkdir -p "$work"
rm -rf "$work/venv"
"$python" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet msgpack==1.1.2
# The CMake build dir is kept between runs (incremental); the venv is not.
"${pip[@]}" install --quiet --config-settings=build-dir="$work/cmake-build" "$src"
"${pip[@]}" show --files libmccache | grep -E 'mccache/(lib/libmccache\.so|py\.typed|__init__\.py)'

cd "$work"  # no pyproject.toml here: settings from the environment only
export MCCACHE_INTERFACE=127.0.0.1 MCCACHE_CLUSTER_NAME="wheel-test-$$" MCCACHE_MULTICAST_PORT=$((20000 + $$ % 20000))
"$work/venv/bin/python" - <<'PY'
import mccache, sys
assert "/venv/" in mccache.LIBRARY_PATH and "/mccache/lib/" in mccache.LIBRARY_PATH, mccache.LIBRARY_PATH
print("loaded", mccache.LIBRARY_PATH, "engine", mccache.ENGINE_VERSION)
PY
out=$("$work/venv/bin/python" "$src/examples/readme_example.py")
echo "$out"
for want in "Inserted on 20" "Updated  on 20" "Metadata for key 'k1' is {" " k1  is not in the cache." "'k2': {'crc':"; do
    if ! grep -qF -- "$want" <<<"$out"; then
        echo "FAIL: the example's output lacks: $want"
        echo "0 passed, 1 failed"
        exit 1
    fi
done
echo "1 passed, 0 failed"
