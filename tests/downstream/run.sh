#!/usr/bin/env bash
# Builds and runs a tiny consumer outside the sedx tree three times:
#   1. find_package(sedx) against a temp install of an existing build dir,
#   2. pkg-config sedx against that install,
#   3. pkg-config sedx against the build tree itself, no install (sedx-uninstalled.pc).
# Usage: tests/downstream/run.sh [build-dir]   (default: build)
#
# What a user types, from a build tree without installing:
#   PKG_CONFIG_PATH=build cc app.c $(pkg-config --cflags --libs sedx)   # headers: include/, lib: build/
#   LD_LIBRARY_PATH=build ./a.out
# (pkg-config picks build/sedx-uninstalled.pc; `PKG_CONFIG_PATH=build pkg-config --uninstalled sedx`
# says whether it did.) After `cmake --install build --prefix P`:
#   PKG_CONFIG_PATH=P/lib/pkgconfig cc app.c $(pkg-config --cflags --libs sedx)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cp "$root/tests/downstream/consumer.c" "$root/tests/downstream/CMakeLists.txt" "$tmp/"
echo "-- find_package(sedx)"
cmake -S "$tmp" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
"$tmp/b/consumer"

echo "-- pkg-config sedx (installed)"
installed_pc="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -std=c11 -o "$tmp/consumer_pc" "$tmp/consumer.c" $(PKG_CONFIG_PATH=$installed_pc pkg-config --cflags sedx) \
    $(PKG_CONFIG_PATH=$installed_pc pkg-config --libs --static sedx)
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib/x86_64-linux-gnu" "$tmp/consumer_pc"

echo "-- pkg-config sedx (build tree, not installed)"
rm -rf "$tmp/prefix" # nothing installed may be used from here on
export PKG_CONFIG_PATH="$build"
pkg-config --uninstalled sedx || { echo "downstream: $build/sedx-uninstalled.pc not used" >&2; exit 1; }
[ "$(pkg-config --variable=includedir sedx)" = "$root/include" ] ||
    { echo "downstream: includedir is not $root/include" >&2; exit 1; }
cc -std=c11 -o "$tmp/consumer_tree" "$tmp/consumer.c" $(pkg-config --cflags sedx) $(pkg-config --libs --static sedx)
LD_LIBRARY_PATH="$build" "$tmp/consumer_tree"
echo "downstream: all three consumers built and ran"
