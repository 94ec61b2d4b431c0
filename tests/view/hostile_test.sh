#!/usr/bin/env bash
# sedx-view on hostile but plausible inputs (tests/view/hostile/: tiny hand-written models and
# textures; the command line; configuration files): each run under the validation layer with a
# timeout must end with its expected exit code (docs/viewer.md, "Bad input") and the expected
# text, and its stderr must hold no validation or sanitizer message. A crash, a hang (timeout:
# exit 124) or a leak (LeakSanitizer's exit code) fails it.
# Environment: VIEW (sedx-view), OUT (a scratch folder).
set -u
H=$(cd "$(dirname "$0")/hostile" && pwd)
out="$OUT/hostile-$$"
rm -rf "$out"; mkdir -p "$out"
fails=0 n=0
# check CODE TEXT ARGS...: TEXT ('' for none) must appear on stdout or stderr
check() {
  local code=$1 text=$2; shift 2
  n=$((n + 1))
  local d="$out/$n"
  timeout 60 "$VIEW" --quiet --validation --size 64x48 --frames 2 --out "$d" "$@" > "$d.stdout" 2> "$d.stderr"
  local rc=$? why=""
  if [ $rc -ne "$code" ]; then why="exit code $rc, expected $code"
  elif [ -n "$text" ] && ! grep -qF -- "$text" "$d.stdout" "$d.stderr"; then why="no '$text' in the output"
  elif grep -qE 'VUID|Validation Error|VALIDATION|AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$d.stderr"; then
    why="validation or sanitizer messages"
  elif [ "$code" -eq 0 ] && [ ! -s "$d/frame.png" ]; then why="exit 0 without frame.png"
  fi
  if [ -n "$why" ]; then
    echo "FAIL: sedx-view $*: $why"; sed 's/^/    /' "$d.stderr" | head -40; fails=$((fails + 1))
  fi
}
# models: assimp refuses (2), bad data (3), rendered (0)
check 2 "OBJ-file is too small" "$H/empty.obj"
check 2 "assimp cannot read" "$H/truncated.obj"
check 2 "vertex index out of range" "$H/index_oob.obj"
check 2 "vertex index out of range" "$H/index_neg.obj"
check 2 "contains no faces" "$H/no_faces.obj"
check 2 "assimp cannot read" "$H/index_oob.ply"
check 3 "no triangle meshes" "$H/truncated.ply"
check 2 "assimp cannot read" "$H/truncated.gltf"
check 2 "assimp cannot read" "$H/truncated.fbx"
check 3 "no triangle meshes" "$H/lines_points.obj"
check 3 "has no meshes" "$H/no_meshes.gltf"
check 3 "non-finite position" "$H/nan.obj"
check 3 "non-finite position" "$H/inf.obj"
check 2 "assimp cannot read" "$H"               # a folder for a model
check 0 "" "$H/degenerate.obj"                  # every vertex the same point
check 0 "" "$H/ok_triangle.gltf"
# positions of 1e30 are finite floats: the camera frames them (it overflowed to a blank image)
check 0 "mesh 'defaultobject'" "$H/huge_coords.obj"
# a node transform that scales to infinity (1e39 is no float), or past what a float camera frames
check 3 "non-finite or beyond" "$H/inf_transform.gltf"
check 3 "non-finite or beyond" "$H/huge_transform.gltf"
# textures: 1x1, non-power-of-two, 8- and 16-bit grey, grey + alpha, 16-bit RGB, a '..' path: rendered
check 0 "6 textures (0 missing)" "$H/textures.obj"
# zero bytes, a cut PNG, a corrupt JPEG, a PNG header claiming 100000x100000, an absolute path
# that does not exist, '..' past the root, a folder, an embedded index that does not exist
check 5 "8 texture(s) missing" "$H/bad_textures.obj"
check 0 "(8 missing)" --allow-missing-textures "$H/bad_textures.obj"
check 5 "no_such_texture.png' is missing" "$H/missing_tex.obj"
# the command line
M="$H/ok_triangle.gltf"
for a in "--size 0x0" "--size 16385x2" "--size x" "--size 10x" "--size -5x10" "--size 4294967297x2" "--frames 0" \
         "--frames -1" "--frames abc" "--frames-in-flight 0" "--frames-in-flight 5" "--pick -1,-1" "--pick 1" \
         "--bogus" "--size"; do
  # shellcheck disable=SC2086 # the option and its value, split on purpose
  check 1 "bad or incomplete option" $a "$M"
done
check 1 "outside" --pick 64,0 "$M"
check 1 "outside" --pick 0,48 "$M"
check 0 "" --size 1x1 "$M"
check 0 "" --frames 1 --frames-in-flight 4 "$M"
check 7 "cannot create the output folder" "$M" --out /dev/null/sub
# configuration files: a missing one is refused; one without "model", "out" or "device" keeps
# their defaults and the command line's values (they were emptied)
check 1 "cannot read the configuration" --config "$out/no-such.json" "$M"
printf '{"frames": 2}\n' > "$out/frames.json"
check 0 "" --config "$out/frames.json" "$M"
check 1 "cannot read the configuration" --config "$H" "$M"
# the file names the model and the command line no folder: the default one, in the working folder
printf '{"model": "%s", "width": 32, "height": 24, "frames": 2}\n' "$M" > "$out/model.json"
n=$((n + 1))
(cd "$out" && timeout 60 "$VIEW" --quiet --validation --config model.json > cfg.stdout 2> cfg.stderr); rc=$?
if [ $rc -ne 0 ] || [ ! -s "$out/sedx-view-out/frame.png" ] ||
   grep -qE 'VUID|Validation Error|VALIDATION|Sanitizer|runtime error:' "$out/cfg.stderr"; then
  echo "FAIL: --config with a model and no \"out\": exit $rc"; cat "$out/cfg.stderr"; fails=$((fails + 1))
fi
rm -rf "$out"
[ $fails -eq 0 ] || { echo "$fails of $n runs failed"; exit 1; }
echo "$n hostile runs as expected"
