#!/usr/bin/env bash
# Runs a finished build on this machine's Vulkan device: every test program and example (and
# sedx-view on its default model), and/or the three benchmarks. Logs and JSON results go to $OUT (default
# /tmp/sedx-out).
#   usage (from the repository root): scripts/device-run.sh BUILD_DIR [tests|bench|view|all]
# BUILD_DIR is a build or what scripts/device-pack.sh made of one (view needs its models/).
# The GPU tests and the examples turn the Khronos validation layer on themselves, so they need
# VK_LAYER_KHRONOS_validation: install it (Debian: vulkan-validationlayers) or point
# VK_LAYER_PATH at a copy.  the
# benchmarks never run under it. SEDX_DEVICE=<index or name substring> picks the device
# (sedx-info lists them); SEDX_BENCHES the benchmarks (default "alloc buffers upload").
# .gl/env.sh, when it exists, is sourced first: a local, git-ignored set-up script for a machine
# whose Vulkan loader, validation layer or runtime libraries live outside the system paths
# (it may set LD_LIBRARY_PATH, VK_LAYER_PATH, VK_DRIVER_FILES). Without it the system's are used.
set -u
build=${1:-build-dev}
what=${2:-all}
out=${OUT:-/tmp/sedx-out}
mkdir -p "$out"
if [ -f .gl/env.sh ]; then source .gl/env.sh; fi
"$build/tools/sedx-info" > "$out/info.txt" 2>&1; head -3 "$out/info.txt"
if [ "$what" = tests ] || [ "$what" = all ]; then
  # JOBS programs at a time (default 1), each under TEST_TIMEOUT seconds (default 300), those whose
  # path matches the extended regular expression TESTS (default: all); one line per
  # program with its exit code and time goes to $out/tests.txt as it ends
  mkdir -p "$out/logs"; : > "$out/tests.txt"
  run_one() {
    local t=$1 n; n=$(basename "$1"); local s; s=$(date +%s%N)
    timeout "${TEST_TIMEOUT:-300}" "$t" > "$out/logs/$n.log" 2>&1; local rc=$?
    local ms=$(( ($(date +%s%N) - s) / 1000000 ))
    printf '%-34s rc=%-3d %4d.%d s\n' "$n" "$rc" $((ms / 1000)) $((ms % 1000 / 100)) >> "$out/tests.txt"
  }
  export -f run_one; export out
  ls "$build"/tests/gpu_* "$build"/tests/unit_* "$build"/examples/example_* 2>/dev/null | grep -E "${TESTS:-.}" |
    xargs -P "${JOBS:-1}" -I{} bash -c 'run_one {}'
  pass=$(grep -c ' rc=0 ' "$out/tests.txt"); fail=$(grep -vc ' rc=0 ' "$out/tests.txt")
  grep -v ' rc=0 ' "$out/tests.txt" | while read -r n rest; do
    echo "FAILED $n $rest"; tail -25 "$out/logs/$n.log"; done
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
if [ "$what" = view ] || [ "$what" = all ]; then
  # the viewer's test cases (tools/CMakeLists.txt lists them) against the lavapipe references, then
  # two full-size runs with --bench whose pictures and reports come back
  export VIEW="$build/tools/sedx-view" COMPARE="$build/tools/view_compare" OUT="$out/view-tests" \
         REF=tests/view/ref SEDX_LOG_LEVEL=warn
  if [ -z "${MODELS:-}" ]; then if [ -d "$build/models" ]; then MODELS=$build/models; else MODELS=/usr/share/assimp/models; fi; fi
  export MODELS
  mkdir -p "$OUT"; vpass=0; vfail=0
  while IFS='|' read -r name args; do
    IFS='|' read -r -a parts <<< "$args"
    if timeout 300 bash tests/view/view_test.sh "${parts[@]}" > "$OUT/$name.log" 2>&1; then vpass=$((vpass+1))
    else vfail=$((vfail+1)); echo "FAILED view_$name"; tail -15 "$OUT/$name.log"; fi
  done < <(sed -n '/set(view_cases/,/)$/p' tools/CMakeLists.txt | grep -o '"[^"]*"' | tr -d '"')
  echo "device view tests: $vpass passed, $vfail failed"
  for m in OBJ/spider.obj glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb; do
    n=$(basename "${m%.*}")
    # traced next to the raster image (exit 8: the device has no ray tracing)
    timeout 300 "$VIEW" --validation --raytrace --size 1280x720 --frames 30 --out "$out/view-$n-rt" "$MODELS/$m" \
      > "$out/view-$n-rt.stdout" 2> "$out/view-$n-rt.stderr"; echo "sedx-view $m --raytrace --validation: rc=$?"
    grep -E "raytrace:|frames:" "$out/view-$n-rt.stdout"; grep -c VALIDATION "$out/view-$n-rt.stderr" | sed 's/^/  validation messages: /'
    timeout 300 "$VIEW" --validation --size 1280x720 --frames 120 --pick 640,360 --out "$out/view-$n" "$MODELS/$m" \
      > "$out/view-$n.stdout" 2> "$out/view-$n.stderr"; echo "sedx-view $m --validation: rc=$?"; tail -12 "$out/view-$n.stdout"
    timeout 300 "$VIEW" --bench --size 1280x720 --out "$out/view-$n-bench" "$MODELS/$m" \
      > "$out/view-$n-bench.stdout" 2> "$out/view-$n-bench.stderr"; echo "sedx-view $m --bench: rc=$?"; tail -20 "$out/view-$n-bench.stdout"
  done
fi
# PACK_LOGS=1: everything but the top-level .txt files in one archive, logs.tgz (the device tool
# brings back only a few files)
if [ "${PACK_LOGS:-0}" = 1 ]; then
  tmp=$(mktemp); (cd "$out" && tar czf "$tmp" --exclude='./*.txt' . && mv "$tmp" logs.tgz && find . -mindepth 1 -maxdepth 1 ! -name '*.txt' ! -name logs.tgz -exec rm -rf {} +)
fi
