#!/usr/bin/env bash
# tools/venv.sh PYTHON VENV REQUIREMENTS...
# Creates (or refreshes) the virtual environment the Python binding's tests
# run in, and installs the pinned requirements from PyPI. Idempotent: a stamp
# holding the requirements' checksum skips pip when nothing changed. Debian 12
# needs python3-venv for `python3 -m venv` (scripts/deps.sh installs it).
set -euo pipefail
python=$1 venv=$2
shift 2
stamp="$venv/.mccache-requirements"
want=$(cat "$@" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "python venv $venv is up to date"
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || {
        echo "cannot create a venv with $python: on Debian, apt-get install python3-venv" >&2
        exit 1
    }
fi
reqs=()
for r in "$@"; do reqs+=(-r "$r"); done
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}"
echo "$want" >"$stamp"
echo "python venv $venv ready: $("$venv/bin/python" -m pytest --version 2>&1)"
