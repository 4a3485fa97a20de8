# shellcheck shell=bash
# Sourced by scripts/demo and scripts/test: the one list of Debian 12
# packages, the install step, and the shared configure step.

MCCACHE_DEB_PACKAGES=(
    build-essential cmake ninja-build pkg-config
    libuv1-dev libssl-dev libmbedtls-dev libcjson-dev libinih-dev libxxhash-dev libisal-dev
    libgtest-dev libgmock-dev libbenchmark-dev libabsl-dev
    valgrind python3 iproute2 nftables
    python3-venv python3-pip  # bindings/python: its tests' venv (pytest etc. from PyPI)
)

# The language toolchains the bindings' tests need. A machine of this
# project's kind has them; where one is missing, Debian's package stands in.
declare -A MCCACHE_TOOLCHAINS=([go]=golang-go [cargo]=cargo [mvn]=maven [javac]=default-jdk-headless)

mccache_ensure_toolchains() {
    local missing=() tool
    for tool in "${!MCCACHE_TOOLCHAINS[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("${MCCACHE_TOOLCHAINS[$tool]}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ]; then
        echo "== installing toolchains ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        echo "Missing toolchains for the bindings. Install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

# Installs what is missing when root; otherwise prints the exact command and
# exits 1. apt-get update runs only when something is missing.
mccache_ensure_deps() {
    local missing=() pkg
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "dpkg-query not found: these scripts expect Debian 12. Packages needed:" >&2
        echo "  ${MCCACHE_DEB_PACKAGES[*]}" >&2
        exit 1
    fi
    for pkg in "${MCCACHE_DEB_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    if [ "$(id -u)" -eq 0 ]; then
        echo "== installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    else
        echo "Missing Debian packages. Install them with:" >&2
        echo >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        echo >&2
        echo "then run $0 again." >&2
        exit 1
    fi
}

# mccache_configure BUILD_DIR [cmake args...]: idempotent; keeps the
# generator of an existing build directory.
mccache_configure() {
    local dir=$1
    shift
    local gen=(-G Ninja)
    [ -f "$dir/CMakeCache.txt" ] && gen=()
    cmake -S "$MCCACHE_ROOT" -B "$dir" "${gen[@]}" "$@"
}

MCCACHE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Never more than two compile jobs: CI machines have two cores.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
