#!/usr/bin/env bash
# aigc make-scene from the command line:
#   test_nerf_cli.sh path/to/aigc
# Each scene of the catalogue made tiny and complete (three json files, the
# views' PNGs); the same arguments twice give the same bytes; an unknown
# scene, bad options and an output whose parent is missing each give one
# clear error line, a non-zero exit and nothing written (seconds).
set -u
aigc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

no_file() { check "$1: nothing written" test ! -e "$2"; }

list=$("$aigc" make-scene --list)
echo "$list"
scenes=$(awk '{print $1}' <<<"$list")
check "the catalogue has three scenes or more" test "$(wc -l <<<"$scenes")" -ge 3

for s in $scenes; do
  out=$("$aigc" make-scene "$s" --out "$tmp/$s" --res 16 --views 2,1,1 --aa 2 2>&1)
  rc=$?
  echo "$out"
  check "$s: exits 0" test $rc -eq 0
  for split in train val test; do
    check "$s: transforms_$split.json" grep -q '"camera_angle_x"' "$tmp/$s/transforms_$split.json"
  done
  check "$s: two train views" test -s "$tmp/$s/train/r_1.png"
  check "$s: one test view" test -s "$tmp/$s/test/r_0.png"
  check "$s: no temporary files left" test -z "$(find "$tmp/$s" -name '*.tmp*')"
done

"$aigc" make-scene thin --out "$tmp/again" --res 16 --views 2,1,1 --aa 2 >/dev/null
check "same arguments, same bytes" diff -r "$tmp/thin" "$tmp/again"

expect_usage "unknown scene" "unknown scene 'cube'; known scenes: solid, thin, texture" \
  make-scene cube --out "$tmp/cube"
no_file "unknown scene" "$tmp/cube"
expect_usage "no scene name" "a scene NAME is needed" make-scene --out "$tmp/none"
expect_usage "no --out" "--out DIR is needed" make-scene solid
expect_usage "bad --views" "--views '10,2': three counts TRAIN,VAL,TEST expected" \
  make-scene solid --out "$tmp/v" --views 10,2
expect_usage "zero views" "--views '4,0,2'" make-scene solid --out "$tmp/v" --views 4,0,2
expect_usage "bad --res" "--res" make-scene solid --out "$tmp/v" --res 0
expect_usage "unknown option" "unknown option '--size'" make-scene solid --out "$tmp/v" --size 3
expect_usage "two names" "unexpected argument 'thin'" make-scene solid thin --out "$tmp/v"
no_file "bad options" "$tmp/v"
expect_error "missing parent" "cannot create directory $tmp/no/dir" \
  make-scene solid --out "$tmp/no/dir" --res 8 --views 1,1,1
no_file "missing parent" "$tmp/no"

echo "$fails failure(s)"
exit $((fails > 0))
