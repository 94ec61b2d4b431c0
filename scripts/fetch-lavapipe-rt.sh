#!/usr/bin/env bash
# Mesa 25's lavapipe from Debian bookworm-backports, unpacked into .deps/lavapipe-rt (git-ignored)
# and never installed: the system keeps Debian 12's lavapipe (Mesa 22.3, no ray tracing), and the
# ray-tracing tests run a second time on this one, which has VK_KHR_acceleration_structure and
# VK_KHR_ray_tracing_pipeline (scripts/with-lavapipe-rt.sh, docs/raytracing.md). Needs no root:
# apt-get works on a private source list, lists and cache. Its own libraries (libLLVM-15, xcb,
# ...) are the system lavapipe's, which scripts/install-deps.sh installs.
#   usage: scripts/fetch-lavapipe-rt.sh [DEST]     (does nothing when DEST already has it)
set -eu
cd "$(dirname "$0")/.."
dest=$(realpath -m "${1:-.deps/lavapipe-rt}")
if [ -f "$dest/env.sh" ]; then exit 0; fi
tmp="$dest.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/root"
# the backports suite of the Debian archive this machine's apt already uses (its first URI that
# serves the release itself, not -security / -updates)
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
uri=$(
  { for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && awk -v c="$codename" '
      /^URIs:/ {u=$2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == c) ok=1}
      /^$/ {if (ok && u) print u; ok=0; u=""} END {if (ok && u) print u}' "$f"; done
    [ -f /etc/apt/sources.list ] && awk -v c="$codename" '$1 == "deb" && $3 == c {print $2}' /etc/apt/sources.list
  } | grep -v security | head -1)
[ -n "$uri" ] || { echo "fetch-lavapipe-rt: no Debian archive for '$codename' in this machine's apt sources"; exit 1; }
echo "deb $uri $codename-backports main" > "$tmp/sources.list"
opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Debug::NoLocking=1)
for attempt in 1 2 3; do apt-get "${opts[@]}" update -qq && break; sleep 5; done
(cd "$tmp/debs" && apt-get "${opts[@]}" download "mesa-vulkan-drivers/$codename-backports" \
   "libdrm2/$codename-backports" "libdrm-amdgpu1/$codename-backports")
for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/root"; done
lib="$dest/root/usr/lib/x86_64-linux-gnu"
[ -f "$tmp/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so" ] || { echo "fetch-lavapipe-rt: no libvulkan_lvp.so in the packages"; exit 1; }
rm -rf "$tmp/lists" "$tmp/cache" "$tmp/debs"
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s/libvulkan_lvp.so", "api_version": "1.4.305" } }\n' \
  "$lib" > "$tmp/icd.json"
cat > "$tmp/env.sh" <<ENV
# lavapipe from Mesa 25 (ray tracing) instead of the system's drivers, for this shell
export VK_DRIVER_FILES="$dest/icd.json" VK_ICD_FILENAMES="$dest/icd.json"
export LD_LIBRARY_PATH="$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
ENV
mv "$tmp" "$dest"
echo "fetch-lavapipe-rt: $(ls "$dest"/root/usr/share/doc | grep -c .) packages unpacked into $dest"
