#!/bin/sh
# Install::consume: install the build into a throw-away prefix, then build
# tests/install/consumer.c through pkg-config and through find_package, and
# run both. The prefix is removed on exit, pass or fail.
set -eu
cmake=${1:?usage: consume.sh CMAKE BUILD_DIR SRC_DIR CC GENERATOR}
build=$2
src=$3
cc=$4
generator=$5

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
LD_LIBRARY_PATH="$libdir" "$work/consumer-pc"

step "find_package build"
"$cmake" -S "$src" -B "$work/cmake-build" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >"$work/configure.log" || {
    cat "$work/configure.log"; exit 1; }
"$cmake" --build "$work/cmake-build" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
# CMake gives the build-tree binary an rpath to the imported library.
"$work/cmake-build/consumer"

echo "Install::consume OK"
