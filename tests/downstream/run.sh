#!/usr/bin/env bash
# Installs sedx from an existing build dir into a temp prefix, then builds and runs a tiny
# consumer outside the tree twice: with find_package(sedx) and with pkg-config.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$root/$build" --prefix "$tmp/prefix" >/dev/null
cp "$root/tests/downstream/consumer.c" "$root/tests/downstream/CMakeLists.txt" "$tmp/"
echo "-- find_package(sedx)"
cmake -S "$tmp" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
"$tmp/b/consumer"
echo "-- pkg-config sedx"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -std=c11 -o "$tmp/consumer_pc" "$tmp/consumer.c" $(pkg-config --cflags sedx) $(pkg-config --libs --static sedx)
LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib/x86_64-linux-gnu" "$tmp/consumer_pc"
echo "downstream: both consumers built and ran"
