#!/usr/bin/env bash
# The layering check (docs/architecture.md). Fails when
#   - a file under src/<layer>/ includes a header of a layer above it,
#   - a file includes another layer's private header (<layer>/*_private.h),
#   - a weak symbol appears anywhere in src/, include/, tools/, examples/, tests/ or fuzz/ (and, when a built library is given,
#     in its objects),
#   - the layer table below misses a folder of src/.
#   usage: scripts/check-layers.sh [path/to/libsedx.a]
set -uo pipefail
cd "$(dirname "$0")/.."

# Bottom to top; a layer may include only layers before it in this list (and itself).
layers=(core device memory buffer image bindless transfer raytracing frame module context)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }

fail=0
for dir in src/*/; do
  layer=$(basename "$dir")
  if [ "$(rank "$layer")" -lt 0 ]; then echo "check-layers: src/$layer is not in the layer table"; fail=1; fi
done

while IFS= read -r -d '' file; do
  layer=$(echo "$file" | cut -d/ -f2)
  mine=$(rank "$layer")
  while IFS= read -r inc; do
    target=$(echo "$inc" | cut -d/ -f1)
    [ "$target" = "$inc" ] && { echo "$file: include \"$inc\" names no layer folder"; fail=1; continue; }
    theirs=$(rank "$target")
    if [ "$theirs" -lt 0 ]; then echo "$file: includes \"$inc\" of an unknown layer"; fail=1; continue; fi
    if [ "$theirs" -gt "$mine" ]; then
      echo "$file: layer '$layer' includes \"$inc\" of the higher layer '$target'"; fail=1
    fi
    if [ "$target" != "$layer" ] && [[ "$inc" == *_private.h ]]; then
      echo "$file: includes \"$inc\", a private header of the layer '$target'"; fail=1
    fi
  done < <(grep -hoE '^#include "[^"]+"' "$file" | sed -E 's/#include "([^"]+)"/\1/' | grep -vE '_spv\.h$')
done < <(find src -name '*.[ch]' -print0)

if grep -rnE '__attribute__\s*\(\(\s*weak|#pragma\s+weak|__weak' src include tools examples tests fuzz; then
  echo "check-layers: weak symbols are not allowed (the composite context calls every layer directly)"; fail=1
fi
lib=${1:-}
if [ -n "$lib" ] && [ -f "$lib" ]; then
  weak=$(nm "$lib" 2>/dev/null | awk '$2 ~ /^[wWvV]$/ && $3 ~ /^sedx/ {print $3}')
  if [ -n "$weak" ]; then echo "check-layers: weak sedx symbols in $lib: $weak"; fail=1; fi
fi

if [ $fail -eq 0 ]; then echo "check-layers: ok (${#layers[@]} layers, no upward include, no private include, no weak symbol)"; fi
exit $fail
