#!/bin/sh
# Install::consume: install the build into a throw-away prefix, then build
# tests/install/consumer.c through pkg-config and through find_package, and
# run both. The prefix is removed on exit, pass or fail.
set -eu
cmake=${1:?usage: consume.sh CMAKE BUILD_DIR SRC_DIR CC GENERATOR [ROOT LANGS]}
build=$2
src=$3
cc=$4
generator=$5
# With ROOT (the project's source) and LANGS ("go rust java", any of them):
# the projects under ROOT/examples/LANG are copied out of the tree, pointed
# at ROOT's bindings as a user would, built against the prefix and run.
root=${6:-}
langs=${7:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mccache-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
work=$tmp/work
mkdir -p "$work"

step() { echo "== $*"; }

step "install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || {
    cat "$work/install.log"; exit 1; }

pcdir=$(dirname "$(find "$prefix" -name mccache.pc | head -n 1)")
libdir=$(dirname "$pcdir")
[ -f "$pcdir/mccache.pc" ] || { echo "no mccache.pc installed"; exit 1; }
[ -f "$prefix/include/mccache.h" ] || { echo "no mccache.h installed"; exit 1; }
for f in libmccache.so libmccache.so.0; do
    [ -e "$libdir/$f" ] || { echo "no $f in $libdir"; exit 1; }
done

step "pkg-config build"
# Only the installed tree: the uninstalled .pc of the build must not win.
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_DISABLE_UNINSTALLED=1
cflags=$(pkg-config --cflags mccache)
libs=$(pkg-config --libs mccache)
pkg-config --exists --print-errors --static mccache
echo "cflags: $cflags"
echo "libs:   $libs"
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Wextra -Werror $cflags "$src/consumer.c" -o "$work/consumer-pc" $libs
# No LD_LIBRARY_PATH: the rpath in mccache.pc's Libs finds the library.
env -u LD_LIBRARY_PATH "$work/consumer-pc"

step "the mccache tool"
[ -x "$prefix/bin/mccache" ] || { echo "no bin/mccache installed"; exit 1; }
env -u LD_LIBRARY_PATH "$prefix/bin/mccache" --version
env -u LD_LIBRARY_PATH "$prefix/bin/mccache" keygen >/dev/null

step "find_package build"
"$cmake" -S "$src" -B "$work/cmake-build" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" || {
    cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/cmake-build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
# CMake gives the build-tree binary an rpath to the imported library.
"$work/cmake-build/consumer"

for lang in $langs; do
    case $lang in
    go)
        step "Go: examples/go with a replace directive to the checkout"
        cp -r "$root/examples/go" "$work/go"
        (cd "$work/go" &&
            go mod edit -replace="github.com/libmccache/mccache/bindings/go=$root/bindings/go" &&
            CGO_ENABLED=1 CGO_CPPFLAGS="-DMCCACHE_CONSUME_PREFIX=$prefix" \
                go build -o "$work/go-example" .) || exit 1
        # Go's build cache does not key on pkg-config's output: without a
        # flag naming the prefix, a build for another prefix (another run of
        # this test) would be reused with its rpath. The rpath must be ours.
        readelf -d "$work/go-example" | grep -q "RUNPATH.*\\[$libdir\\]" || {
            echo "go-example's RUNPATH is not $libdir:"; readelf -d "$work/go-example" | grep PATH; exit 1; }
        out=$(env -u LD_LIBRARY_PATH "$work/go-example") || exit 1
        echo "$out"
        [ "$out" = "go: users[alice] = admin (1 entry)" ] || { echo "unexpected output"; exit 1; }
        ;;
    rust)
        step "Rust: examples/rust with a path dependency on the checkout"
        cp -r "$root/examples/rust" "$work/rust"
        sed -i "s|path = \"../../bindings/rust/mccache\"|path = \"$root/bindings/rust/mccache\"|" \
            "$work/rust/Cargo.toml"
        grep -q "path = \"$root/bindings/rust/mccache\"" "$work/rust/Cargo.toml" || {
            echo "examples/rust/Cargo.toml: the dependency line changed; update this test"; exit 1; }
        # Cargo passes no rpath from a dependency's pkg-config: the program asks for one.
        RUSTFLAGS="-C link-arg=-Wl,-rpath,$libdir" CARGO_TARGET_DIR="$work/cargo" \
            cargo build --locked --quiet --manifest-path "$work/rust/Cargo.toml" || exit 1
        out=$(env -u LD_LIBRARY_PATH "$work/cargo/debug/mccache-rust-example") || exit 1
        echo "$out"
        [ "$out" = "rust: users[alice] = admin (1 entry)" ] || { echo "unexpected output"; exit 1; }
        ;;
    java)
        step "Java: examples/java against the installed jar (natives loaded from the jar)"
        jar="$prefix/share/java/mccache.jar"
        [ -f "$jar" ] || { echo "no share/java/mccache.jar installed"; exit 1; }
        [ -f "$prefix/share/java/mccache-$(pkg-config --modversion mccache).jar" ] || {
            echo "no versioned jar installed"; exit 1; }
        # The installed JNI library finds libmccache.so.0 beside it.
        readelf -d "$libdir/libmccache_jni.so" | grep -q 'RUNPATH.*\[\$ORIGIN\]' || {
            echo "installed libmccache_jni.so has no RUNPATH \$ORIGIN"; exit 1; }
        mkdir -p "$work/java"
        javac -d "$work/java" -cp "$jar" "$root/examples/java/Hello.java" || exit 1
        out=$(cd "$work" && env -u LD_LIBRARY_PATH java -cp "$jar:$work/java" Hello) || exit 1
        echo "$out"
        case $out in
        "java: users[alice] = admin (1 entry), natives from jar:/io/libmccache/native/linux-"*) ;;
        *) echo "unexpected output"; exit 1 ;;
        esac
        # Without the jar's natives, java.library.path serves.
        out=$(cd "$work" && env -u LD_LIBRARY_PATH java -Dmccache.native.jar=false \
            -Djava.library.path="$libdir" -cp "$jar:$work/java" Hello) || exit 1
        echo "$out"
        case $out in
        *"natives from java.library.path") ;;
        *) echo "unexpected output"; exit 1 ;;
        esac
        ;;
    *) echo "unknown language $lang"; exit 1 ;;
    esac
done

echo "Install::consume OK"
