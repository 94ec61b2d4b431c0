#!/usr/bin/env bash
# Packs a finished build for the GPU machine (../shared/device/README.md): the run tool carries at
# most 64 MiB, so this copies only the executables (tests, examples, tools), strips them, and adds
# the assimp test models the viewer's tests use (tools/CMakeLists.txt lists the cases), keeping
# their folder layout under DEST/models.
#   usage (from the repository root): scripts/device-pack.sh BUILD_DIR DEST_DIR
# Then: run with carry [".gl", DEST_DIR] and
#   source .gl/env.sh; scripts/device-run.sh DEST_DIR all
set -eu
build=$1 dest=$2
models=${MODELS:-/usr/share/assimp/models}
rm -rf "$dest"; mkdir -p "$dest/tests" "$dest/examples" "$dest/tools" "$dest/models"
for t in "$build"/tests/gpu_* "$build"/tests/unit_*; do [ -x "$t" ] && [ -f "$t" ] && cp "$t" "$dest/tests/"; done
for t in "$build"/examples/example_*; do [ -x "$t" ] && [ -f "$t" ] && cp "$t" "$dest/examples/"; done
for t in "$build"/tools/sedx-* "$build"/tools/view_compare; do [ -x "$t" ] && [ -f "$t" ] && cp "$t" "$dest/tools/"; done
strip "$dest"/tests/* "$dest"/examples/* "$dest"/tools/*
# every model path named in the viewer's test cases, with the files beside it (textures, .bin, .mtl)
for rel in $(sed -n '/set(view_cases/,/)$/p' tools/CMakeLists.txt | grep -o '[A-Za-z0-9_./-]*\.\(obj\|gltf\|glb\|dae\|fbx\|jpg\)' | sort -u); do
  [ -e "$models/$rel" ] || continue
  d=$(dirname "$rel"); mkdir -p "$dest/models/$d"
  case $d in
    */*) cp -r "$models/$d/." "$dest/models/$d/" ;;   # a model of its own folder: all of it
    *) cp "$models/$rel" "$dest/models/$rel"          # a shared folder: the file, its .mtl, the images it names
       [ -e "$models/${rel%.*}.mtl" ] && cp "$models/${rel%.*}.mtl" "$dest/models/$d/"
       for f in "$models/$d"/*.jpg "$models/$d"/*.tga "$models/$d"/*.png; do
         [ -e "$f" ] || continue
         grep -aqF "$(basename "$f")" "$models/$rel" "$models/${rel%.*}.mtl" 2>/dev/null && cp "$f" "$dest/models/$d/"
       done ;;
  esac
done
du -sh "$dest"
