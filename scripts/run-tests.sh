#!/usr/bin/env bash
# The whole test suite, as `make test` runs it:
#   1. release build (RelWithDebInfo, -Werror): every unit and GPU test (validation on)
#   2. ASan+UBSan build: every test again
#   3. TSan build: the thread tests (the sequence tests' 8-thread modes among them) and the misuse catalog
#   4. libFuzzer targets (virtual block, JSON config), a few seconds each
#   5. downstream consumers: find_package(sedx) and pkg-config against a temp install, and
#      pkg-config against the build tree
# GPU tests run on the default Vulkan device: lavapipe on machines without a GPU.
# Prints "sedx tests: N passed, N failed" at the end; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=$(nproc 2>/dev/null || echo 2)
passed=0; failed=0; failures=()

stage() { echo; echo "=== $* ==="; }

# Runs ctest in a build dir, adding its counts to the totals.
run_ctest() {
  local dir=$1; shift
  local log; log=$(mktemp)
  (cd "$dir" && ctest -j"$JOBS" --output-on-failure "$@") 2>&1 | tee "$log"
  local line; line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "run-tests: ctest in $dir printed no summary"; failed=$((failed + 1)); failures+=("$dir: no ctest summary")
  else
    local nfail ntotal
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
    ntotal=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
    if [ "$ntotal" -eq 0 ]; then failed=$((failed + 1)); failures+=("$dir: ran no test"); fi
    passed=$((passed + ntotal - nfail)); failed=$((failed + nfail))
    [ "$nfail" -eq 0 ] || failures+=("$dir: $nfail failed")
  fi
  rm -f "$log"
}

build_dir() {
  local dir=$1; shift
  if ! { cmake -S . -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$JOBS"; }; then
    echo "run-tests: build of $dir failed"; failed=$((failed + 1)); failures+=("$dir: build failed"); return 1
  fi
}

if [ -n "${SEDX_REQUIRE_DEVICE:-}" ]; then echo "GPU tests must run on a device named '*${SEDX_REQUIRE_DEVICE}*'"; fi

stage "layering: no upward include, no private include, no weak symbol"
if bash scripts/check-layers.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("layering"); fi

stage "release build + tests"
if build_dir build -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
  ./build/tools/sedx-info | head -3
  if ! bash scripts/check-layers.sh build/libsedx.a > /dev/null; then failed=$((failed + 1)); failures+=("weak symbols in libsedx.a"); fi
  run_ctest build
fi

if [ "${SEDX_SKIP_SANITIZERS:-0}" != 1 ]; then
  stage "ASan + UBSan build + tests"
  if CC=clang CXX=clang++ build_dir build-asan -DCMAKE_BUILD_TYPE=Debug -DSEDX_SANITIZE=address,undefined -DSEDX_BUILD_EXAMPLES=OFF; then
    run_ctest build-asan
  fi
  stage "TSan build + thread tests + misuse catalog"
  if CC=clang CXX=clang++ build_dir build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEDX_SANITIZE=thread -DSEDX_BUILD_EXAMPLES=OFF -DSEDX_BUILD_TOOLS=OFF; then
    run_ctest build-tsan -R "thread|misuse"
  fi
fi

if [ "${SEDX_SKIP_SANITIZERS:-0}" != 1 ]; then
  stage "fuzz: libFuzzer targets, ${SEDX_FUZZ_SECONDS:-15} s each (fixed seed)"
  if CC=clang CXX=clang++ build_dir build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEDX_SANITIZE=address,undefined \
       -DSEDX_BUILD_FUZZ=ON -DSEDX_BUILD_TESTS=OFF -DSEDX_BUILD_TOOLS=OFF -DSEDX_BUILD_EXAMPLES=OFF; then
    for f in build-fuzz/fuzz/fuzz_*; do
      corpus=$(mktemp -d)
      seeds="fuzz/corpus/$(basename "$f" | sed 's/^fuzz_//')"
      if [ -d "$seeds" ]; then cp "$seeds"/* "$corpus"/; fi
      if "$f" -seed=1 -max_total_time="${SEDX_FUZZ_SECONDS:-15}" "$corpus" > "$corpus.log" 2>&1; then
        echo "$(basename "$f"): $(grep -E 'DONE' "$corpus.log" | tail -1)"; passed=$((passed + 1))
      else
        echo "$(basename "$f") FOUND A CRASH:"
        # fuzz_api's shadow-check report (seed input, operation, buffer, offset, op log) comes before the stack
        grep -A28 -m1 "^SEQUENCE FAILURE" "$corpus.log"
        tail -40 "$corpus.log"; failed=$((failed + 1)); failures+=("$(basename "$f")")
      fi
      rm -rf "$corpus" "$corpus.log"
    done
  fi
fi

stage "downstream: find_package(sedx), pkg-config installed and in the build tree"
if bash tests/downstream/run.sh build; then passed=$((passed + 3)); else failed=$((failed + 1)); failures+=("downstream"); fi

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "sedx tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
