#!/usr/bin/env bash
# Runs a command on lavapipe from Mesa 25 (ray tracing: scripts/fetch-lavapipe-rt.sh fetched it;
# make test does). Fails, never skips, when it is missing or has no ray tracing.
#   usage: scripts/with-lavapipe-rt.sh COMMAND [ARGS...]
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
envf="$here/.deps/lavapipe-rt/env.sh"
if [ ! -f "$envf" ]; then
  echo "with-lavapipe-rt: $envf is missing: run scripts/fetch-lavapipe-rt.sh (make deps / make test do)"; exit 1
fi
source "$envf"
export SEDX_REQUIRE_DEVICE=llvmpipe SEDX_REQUIRE_RAY_TRACING=1 # the tests fail, not skip, without it
exec "$@"
