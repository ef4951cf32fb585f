#!/usr/bin/env bash
# NeRF quality on every procedural scene (label quality, not CI):
#   test_nerf_quality.sh path/to/aigc [scene ...]
# Each scene made at 64x64 (100 train, 10 val, 20 test views), trained for
# 4000 steps on the CPU (the defaults: 2^14 samples per step, a 2^16-row
# table, 64^3 occupancy; about 2 minutes a scene on 2 idle cores), and its test views
# held to 28 dB PSNR over a white background (the issue's CPU target).
set -u
aigc=$1
shift
scenes=${*:-$("$aigc" make-scene --list | awk '{print $1}')}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for s in $scenes; do
  "$aigc" make-scene "$s" --out "$tmp/$s" --res 64 >/dev/null
  out=$("$aigc" --device cpu train nerf --scene "$tmp/$s" --steps 4000 --out "$tmp/$s.safetensors" \
    --quiet 2>&1)
  echo "$out" | grep -E "trained|occupancy|val PSNR"
  out=$("$aigc" --device cpu eval nerf --checkpoint "$tmp/$s.safetensors" --scene "$tmp/$s" 2>&1)
  echo "$out" | grep -E "views|PSNR|SSIM"
  psnr=$(awk '/^PSNR:/ {print $2}' <<<"$out")
  check "$s: test PSNR ${psnr:-none} dB >= 28" awk -v p="${psnr:-0}" 'BEGIN { exit !(p >= 28) }'
done
echo "$fails failure(s)"
exit $((fails > 0))
