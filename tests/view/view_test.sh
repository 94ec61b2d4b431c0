#!/usr/bin/env bash
# sedx-view tests (ctest runs one case per entry; tools/CMakeLists.txt lists them):
#   view_test.sh render NAME MODEL      renders MODEL at 160x120 (4 frames, validation on) and
#                                       compares frame.png with tests/view/ref/NAME.png (view_compare's
#                                       tolerances: its header says why); UPDATE_REFS=1 writes the reference
#   view_test.sh fif MODEL              1 and 3 frames in flight give the same image, pixel for pixel
#   view_test.sh pick MODEL X,Y MESH    the object read back at pixel X,Y is mesh MESH
#   view_test.sh sync MODEL             a run under synchronization validation is clean
#   view_test.sh config MODEL           settings from a JSON file (--config), the command line overriding one
#   view_test.sh raytrace MODEL         --raytrace: where the device has ray tracing, raytrace.png is written
#                                       and its object IDs match the raster image's on >= 99 % of the covered
#                                       pixels (covering > 1 % of the image); where it has not (lavapipe), exit
#                                       code 8 with its message, and sedx-info agrees that the features are off.
#                                       The JSON key "raytrace": true does the same as the option.
#                                       SEDX_REQUIRE_RAY_TRACING=1 (scripts/with-lavapipe-rt.sh sets it): exit 8 fails
#   view_test.sh bad CODE TEXT ARGS...  sedx-view ARGS exits with CODE and says TEXT on stderr
# Environment: VIEW (sedx-view), COMPARE (view_compare), OUT (a scratch folder), REF (references),
# MODELS (the assimp test models; default /usr/share/assimp/models).
set -u
what=$1; shift
out="$OUT/$what-$$"
rm -rf "$out"; mkdir -p "$out"
M=${MODELS:-/usr/share/assimp/models}
model() { case $1 in /*) echo "$1" ;; *) echo "$M/$1" ;; esac; }
render() { # MODEL OUTDIR extra args...
  local m; m=$(model "$1"); local dir=$2; shift 2
  "$VIEW" --quiet --validation --size 160x120 --frames 4 --out "$dir" "$@" "$m" > "$dir.stdout" 2> "$dir.stderr"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "sedx-view $m exited $rc:"; cat "$dir.stderr"; return $rc; fi
  # a good run logs no error at all (a refused sedx call the viewer did not stop on included)
  if grep -q "ERROR" "$dir.stderr"; then echo "sedx-view $m logged errors:"; cat "$dir.stderr"; return 1; fi
  return 0
}
case $what in
  render)
    name=$1 m=$2
    render "$m" "$out/r" || exit 1
    if [ "${UPDATE_REFS:-0}" = 1 ]; then cp "$out/r/frame.png" "$REF/$name.png"; echo "wrote $REF/$name.png"; exit 0; fi
    "$COMPARE" "$out/r/frame.png" "$REF/$name.png" || { echo "(rendered image kept in $out/r)"; exit 1; }
    ;;
  fif)
    render "$1" "$out/one" --frames-in-flight 1 --frames 5 || exit 1
    render "$1" "$out/three" --frames-in-flight 3 --frames 5 || exit 1
    "$COMPARE" "$out/one/frame.png" "$out/three/frame.png" --tolerance 0 --max-bad 0 --psnr 1000 || exit 1
    grep -q '"frames_in_flight":[[:space:]]*3' "$out/three/stats.json" || { echo "stats.json: not 3 frames in flight"; exit 1; }
    ;;
  pick)
    render "$1" "$out/p" --pick "$2" --frames 6 || exit 1
    grep -q "mesh '$3'" "$out/p.stdout" || { echo "expected mesh '$3' at $2:"; cat "$out/p.stdout"; exit 1; }
    grep -q '"picked_mesh":[[:space:]]*"'"$3"'"' "$out/p/stats.json" || { echo "stats.json lacks the pick"; exit 1; }
    ;;
  sync)
    m=$(model "$1")
    "$VIEW" --quiet --sync-validation --size 128x96 --frames 6 --frames-in-flight 2 --out "$out/s" "$m" \
      > "$out/s.stdout" 2> "$out/s.stderr" || { echo "sync validation run failed:"; cat "$out/s.stderr"; exit 1; }
    if grep -q "ERROR" "$out/s.stderr"; then echo "errors logged:"; cat "$out/s.stderr"; exit 1; fi
    ;;
  config)
    m=$(model "$1")
    printf '{"model": "%s", "width": 96, "height": 64, "frames": 5, "frames_in_flight": 1, "out": "%s", "pick_x": 10, "pick_y": 20}\n' \
      "$m" "$out/c" > "$out/view.json"
    "$VIEW" --quiet --validation --config "$out/view.json" --frames 3 > "$out/c.stdout" 2> "$out/c.stderr" ||
      { echo "config run failed:"; cat "$out/c.stderr"; exit 1; }
    for want in '"width":[[:space:]]*96' '"height":[[:space:]]*64' '"frames":[[:space:]]*3' '"frames_in_flight":[[:space:]]*1'; do
      grep -q "$want" "$out/c/stats.json" || { echo "stats.json lacks $want"; exit 1; }
    done
    grep -q "picked:  (10,20)" "$out/c.stdout" || { echo "pick pixel not from the file:"; cat "$out/c.stdout"; exit 1; }
    printf '{"frames": 0}\n' > "$out/bad.json"
    "$VIEW" --quiet --config "$out/bad.json" > /dev/null 2> "$out/bad.stderr"; rc=$?
    [ $rc -eq 1 ] && grep -q "out of range" "$out/bad.stderr" || { echo "bad config: exit $rc"; cat "$out/bad.stderr"; exit 1; }
    ;;
  raytrace)
    m=$(model "$1")
    "$VIEW" --quiet --validation --raytrace --size 320x240 --frames 4 --out "$out/rt" "$m" > "$out/rt.stdout" 2> "$out/rt.stderr"
    rc=$?
    if [ $rc -eq 8 ] && [ -n "${SEDX_REQUIRE_RAY_TRACING:-}" ]; then
      echo "exit 8 (no ray tracing) where SEDX_REQUIRE_RAY_TRACING says the device has it:"; cat "$out/rt.stderr"; exit 1
    fi
    if [ $rc -eq 8 ]; then # no ray tracing on this device: the message, and nothing traced
      grep -q "ray tracing is not available on this device" "$out/rt.stderr" || { echo "exit 8 without the message:"; cat "$out/rt.stderr"; exit 1; }
      grep -q "VALIDATION" "$out/rt.stderr" && { echo "validation messages:"; cat "$out/rt.stderr"; exit 1; }
      [ -e "$out/rt/raytrace.png" ] && { echo "raytrace.png written without ray tracing"; exit 1; }
      info="$(dirname "$VIEW")/sedx-info"
      "$info" --json > "$out/info.json" 2> "$out/info.stderr" || { echo "sedx-info --json failed:"; cat "$out/info.stderr"; exit 1; }
      if grep -Eq '"acceleration_structure":[[:space:]]*true' "$out/info.json" &&
         grep -Eq '"ray_tracing_pipeline":[[:space:]]*true' "$out/info.json"; then
        echo "sedx-view says ray tracing is not available, but sedx-info lists both features on:"; cat "$out/info.json"; exit 1
      fi
      rt_expect=8
      echo "no ray tracing on this device: exit 8 and its message, as expected (sedx-info agrees)"
    else
      [ $rc -eq 0 ] || { echo "sedx-view --raytrace exited $rc:"; cat "$out/rt.stderr"; exit 1; }
      grep -q "ERROR" "$out/rt.stderr" && { echo "errors logged:"; cat "$out/rt.stderr"; exit 1; }
      [ -s "$out/rt/raytrace.png" ] || { echo "raytrace.png missing"; exit 1; }
      num() { sed -n 's/.*"'"$1"'":[[:space:]]*\([0-9.eE+-]*\).*/\1/p' "$out/rt/stats.json" | tail -n 1; }
      ratio=$(num match_ratio) covered=$(num covered_pixels) w=$(num width) h=$(num height)
      [ -n "$ratio" ] && [ -n "$covered" ] || { echo "stats.json lacks the raytrace object:"; cat "$out/rt/stats.json"; exit 1; }
      awk -v r="$ratio" 'BEGIN { exit !(r >= 0.99) }' || { echo "object IDs match on only $ratio of the covered pixels"; exit 1; }
      awk -v c="$covered" -v w="$w" -v h="$h" 'BEGIN { exit !(c * 100 > w * h) }' ||
        { echo "only $covered covered pixels of ${w}x${h}: too few to compare"; exit 1; }
      grep -q "  raytrace: ${w}x${h} traced in" "$out/rt.stdout" || { echo "stdout lacks the raytrace line:"; cat "$out/rt.stdout"; exit 1; }
      rt_expect=0
      grep "  raytrace:" "$out/rt.stdout"
    fi
    # the JSON key does what the option does
    printf '{"raytrace": true, "width": 64, "height": 48, "frames": 2, "out": "%s"}\n' "$out/cfg" > "$out/rt.json"
    "$VIEW" --quiet --validation --config "$out/rt.json" "$m" > /dev/null 2> "$out/cfg.stderr"; rc=$?
    [ $rc -eq $rt_expect ] || { echo "\"raytrace\": true in the configuration: exit $rc, expected $rt_expect:"; cat "$out/cfg.stderr"; exit 1; }
    [ $rt_expect -eq 8 ] || [ -s "$out/cfg/raytrace.png" ] || { echo "\"raytrace\": true wrote no raytrace.png"; exit 1; }
    ;;
  bad)
    code=$1 text=$2; shift 2
    args=()
    for a in "$@"; do case $a in *.gltf|*.glb|*.obj|*.fbx|*.dae|*.jpg|*.ply) args+=("$(model "$a")") ;; *) args+=("$a") ;; esac; done
    "$VIEW" --quiet --validation --size 64x48 --frames 2 --out "$out/b" "${args[@]}" > "$out/b.stdout" 2> "$out/b.stderr"
    rc=$?
    [ $rc -eq "$code" ] || { echo "exit code $rc, expected $code:"; cat "$out/b.stderr"; exit 1; }
    grep -q -- "$text" "$out/b.stderr" || { echo "stderr lacks '$text':"; cat "$out/b.stderr"; exit 1; }
    grep -q "VALIDATION" "$out/b.stderr" && { echo "validation messages:"; cat "$out/b.stderr"; exit 1; }
    ;;
  *) echo "view_test.sh: unknown case $what"; exit 2 ;;
esac
rm -rf "$out" "$out".*
exit 0
