#!/bin/sh
# Builds the libFuzzer binaries (clang, ASan + UBSan, coverage on the whole
# library) and runs them. See tests/fuzz/README.md.
#
#   tests/fuzz/run.sh build                 configure and build $BUILD (default build-fuzz)
#   tests/fuzz/run.sh run NAME [SECONDS]    fuzz one harness (default 600 s)
#   tests/fuzz/run.sh all [SECONDS]         every harness, one after the other
#   tests/fuzz/run.sh min NAME CRASH        minimise a crash input
#
# Findings go to $BUILD/fuzz/<name>/ (crash-*, timeout-*, oom-*); the working
# corpus grows in $BUILD/fuzz/<name>/corpus, seeded from tests/fuzz/corpus/<name>.
# Extra libFuzzer flags: FUZZ_FLAGS="-fork=1 -ignore_crashes=1" tests/fuzz/run.sh run NAME
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$SRC/build-fuzz}
HARNESSES="wire_decode sealed receive config"

build() {
    CC=${CC:-clang} CXX=${CXX:-clang++} cmake -G Ninja -S "$SRC" -B "$BUILD" \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMCCACHE_LIBFUZZER=ON \
        -DMCCACHE_SANITIZE=address,undefined \
        -DMCCACHE_WERROR=OFF \
        -DMCCACHE_BUILD_BENCH=OFF \
        -DMCCACHE_BUILD_EXAMPLES=OFF \
        -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
        -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
    targets=""
    for h in $HARNESSES; do targets="$targets fuzz_$h fuzz_replay_$h"; done
    # shellcheck disable=SC2086
    cmake --build "$BUILD" -j2 --target $targets
}

run() {
    name=$1
    secs=${2:-600}
    out=$BUILD/fuzz/$name
    mkdir -p "$out/corpus"
    # shellcheck disable=SC2086
    nice -n 10 "$BUILD/tests/fuzz/fuzz_$name" \
        -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$out/" ${FUZZ_FLAGS:-} \
        "$out/corpus" "$SRC/tests/fuzz/corpus/$name"
}

case "${1:-}" in
    build) build ;;
    run) shift; run "$@" ;;
    all)
        for h in $HARNESSES; do run "$h" "${2:-600}"; done ;;
    min)
        "$BUILD/tests/fuzz/fuzz_$2" -minimize_crash=1 -runs=20000 -timeout=60 \
            -exact_artifact_path="$BUILD/fuzz/$2/minimized" "$3"
        echo "minimised: $BUILD/fuzz/$2/minimized" ;;
    *)
        sed -n '2,13p' "$0"
        exit 2 ;;
esac
