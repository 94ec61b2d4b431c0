#!/usr/bin/env bash
# Runs on the NVIDIA machine (device tool), from the repository root, with .gl and a build dir
# carried: GPU tests (validation on) and benchmarks; results under $OUT.
#   usage: scripts/device-run.sh BUILD_DIR [tests|bench|all]
set -u
build=${1:-build-dev}
what=${2:-all}
out=${OUT:-/tmp/sedx-out}
mkdir -p "$out"
source .gl/env.sh
"$build/tools/sedx-info" > "$out/info.txt" 2>&1; head -3 "$out/info.txt"
if [ "$what" = tests ] || [ "$what" = all ]; then
  pass=0; fail=0
  for t in "$build"/tests/gpu_* "$build"/tests/unit_* "$build"/examples/example_* "$build"/tools/sedx-demo; do
    [ -x "$t" ] || continue
    timeout 300 "$t" > "$out/$(basename "$t").log" 2>&1; rc=$?
    if [ $rc -eq 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED $(basename "$t") rc=$rc"; tail -25 "$out/$(basename "$t").log"; fi
  done
  echo "device tests: $pass passed, $fail failed"
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  for b in ${SEDX_BENCHES:-alloc buffers upload}; do
    extra=""
    [ "$b" = buffers ] && extra="--raw-batches 5"
    echo "== sedx-bench $b"
    timeout 400 "$build/tools/sedx-bench" $b $extra --json --out "$out/bench-$b.json" > /dev/null 2> "$out/bench-$b.txt"
    echo "rc=$?"; cat "$out/bench-$b.txt"
  done
fi
