#!/usr/bin/env bash
# aigc demo, the README's first command: on the CPU it writes a complete
# report (index.html, the images it links and the comparison's own report),
# its CLIP beats a low zero-shot bar, its GPT's loss falls, both generators
# learn (FID far below an untrained one's, every class made), its NeRF
# reaches a PSNR far above a blank render's on test views, and a report
# directory that cannot be created is one error line.
#   test_demo.sh path/to/aigc
set -u
aigc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
"$aigc" --device cpu demo --out "$tmp/report" >"$tmp/out" 2>"$tmp/err"; rc=$?
cat "$tmp/out"
check "demo exits 0" test $rc -eq 0
html=$tmp/report/index.html
check "index.html is written" test -s "$html"
check "no temporary file is left" test -z "$(ls "$tmp/report" | grep tmp)"
for part in "Build and device" "Kernel smoke run" "CLIP" "Zero-shot" "GPT" "Samples" \
  "Diffusion vs GAN" 'href="compare/index.html"' "NeRF" 'src="nerf/frame_0007.png"'; do
  check "the report has '$part'" grep -q "$part" "$html"
done
for img in $(grep -o 'src="[^"]*"' "$html" | sed 's/src="\(.*\)"/\1/'); do
  check "linked image $img exists" test -s "$tmp/report/$img"
done
acc=$(sed -n 's/.*zero-shot test accuracy \([0-9.]*\)%.*/\1/p' "$tmp/out")
check "CLIP zero-shot accuracy $acc% > 50%" python3 -c "import sys; sys.exit(not float('${acc:-0}') > 50)"
read -r first last < <(sed -n 's/.*loss \([0-9.]*\) -> \([0-9.]*\) nats per byte.*/\1 \2/p' "$tmp/out")
check "GPT loss falls ($first -> $last)" python3 -c "import sys; sys.exit(not float('${last:-9}') < 0.6 * float('${first:-0}'))"
check "the comparison's report is complete" test -s "$tmp/report/compare/index.html" -a \
  -s "$tmp/report/compare/compare.json"
# FID on the classifier's features scaled to unit RMS: real training images
# score about 2 at the demo's 128 images, generators after a few minutes
# about 5, untrained ones about 100.
for row in "diffusion" "GAN"; do
  read -r fid classes < <(sed -n "s/^$row[^0-9]*[0-9]* steps *\([0-9.]*\) +-.* \([0-9]*\/[0-9]*\) .*/\1 \2/p; s/^$row  *\([0-9.]*\) +-.* \([0-9]*\/[0-9]*\) .*/\1 \2/p" "$tmp/out" | head -n1)
  check "$row learns: FID ${fid:-none} < 20" python3 -c "import sys; sys.exit(not float('${fid:-999}') < 20)"
  check "$row makes every class (${classes:-none})" test "${classes:-}" = "10/10"
done
# A blank (white) render of the demo's NeRF scene scores about 8 dB; a
# minute of training about 27.
psnr=$(sed -n 's/.*test PSNR \([0-9.]*\) dB.*/\1/p' "$tmp/out")
check "NeRF learns: test PSNR ${psnr:-none} dB > 22" python3 -c "import sys; sys.exit(not float('${psnr:-0}') > 22)"

touch "$tmp/file"
out=$("$aigc" --device cpu demo --out "$tmp/file/report" 2>&1 >/dev/null); rc=$?
echo "  $out"
check "an impossible report directory: exit 1" test $rc -eq 1
check "an impossible report directory: one line naming it" \
  test "$(grep -c "^aigc: error: demo: cannot create $tmp/file/report" <<<"$out")" -eq 1
echo "$fails failure(s)"
exit $((fails > 0))
