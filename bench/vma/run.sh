#!/usr/bin/env bash
# Builds bench/vma/side_by_side.cpp against a vk_mem_alloc.h and a release libsedx.a, runs it.
#   bench/vma/run.sh /path/to/vk_mem_alloc.h "VMA version label" [runs] [--only=a60,a50,b,m]
# SEDX_LIB=path/to/libsedx.a links that library instead of building build/ with `make build`
# (e.g. SEDX_LIB=build-al/libsedx.a: a build folder of one's own, build/ being shared).
# Header: the current one is include/vk_mem_alloc.h of
# github.com/GPUOpen-LibrariesAndSDKs/VulkanMemoryAllocator (3.4.0-development at e386068, the
# figures of bench/results/vma-side-by-side-lavapipe-2026-12-06.txt). Earlier figures used VMA
# 3.1.0-development, the copy in Debian 12's chromium source package (150.0.7871.100-1~deb12u1):
#   (Debian's chromium source package: apt-get source chromium, or its chromium_150.0.7871.100.orig.tar.xz)
#   tar -xJf chromium_150.0.7871.100.orig.tar.xz --wildcards '*/third_party/vulkan_memory_allocator/include/vk_mem_alloc.h'
# (VMA itself is not packaged in Debian 12; nothing of it is committed here.)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
hdr=${1:?path to vk_mem_alloc.h}
label=${2:-VMA}
runs=${3:-5}
only=${4:-}
lib=${SEDX_LIB:-}
if [ -z "$lib" ]; then
    make -C "$top" build >/dev/null
    lib="$top/build/libsedx.a"
fi
out=$(mktemp -d)
g++ -std=c++17 -O2 -DNDEBUG -DVMA_LABEL="\"$label\"" -I"$top/include" -I"$(dirname "$hdr")" \
    "$top/bench/vma/side_by_side.cpp" "$lib" -lvulkan -lcjson -lpthread -lm -o "$out/side_by_side"
VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.x86_64.json} "$out/side_by_side" "$runs" $only
rm -rf "$out"
