#!/usr/bin/env bash
# aigc compare from the command line: bad inputs (one clear line, non-zero
# exit, nothing written), then tiny diffusion, GAN and classifier models
# trained for a few steps, a small comparison producing a complete report,
# and the page rendered by headless Chromium (not blank). Exits 77 when
# chromium is absent, after the other checks passed.
# usage: test_compare_cli.sh AIGC FASHION_MNIST_DIR
aigc=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/cli_lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

nothing_written() { ! ls -d report report.staging.* >/dev/null 2>&1; }

# Usage errors: exit 2, one line naming the option.
usage() { expect_usage "$1" "$2" compare "${@:3}"; } # description, pattern, arguments...
usage "no checkpoints" "both --diffusion and --gan" --out report
usage "unparsable steps" "--steps '10,x'" --diffusion a --gan b --steps 10,x
usage "steps 0" "--steps '0'" --diffusion a --gan b --steps 0
usage "unknown sampler" "unknown sampler 'warp'" --diffusion a --gan b --samplers ddim,warp
usage "unparsable batches" "--batches" --diffusion a --gan b --batches 16,,64
check "usage errors write nothing" nothing_written

"$aigc" --device cpu train ddpm --data "$data" --steps 20 --batch 32 --base 16 --quiet \
  --out ddpm.safetensors >/dev/null || { echo "FAILED: train ddpm"; exit 1; }
"$aigc" --device cpu train gan --data "$data" --steps 20 --conditional --quiet \
  --out gan.safetensors >/dev/null || { echo "FAILED: train gan"; exit 1; }
"$aigc" --device cpu train classifier --data "$data" --epochs 1 --quiet \
  --out cls.safetensors >/dev/null || { echo "FAILED: train classifier"; exit 1; }

# A classifier for 32x32 images: the real layer shapes, zero weights.
python3 - <<'EOF'
import json, struct
c = {"height": 32, "width": 32, "c1": 32, "c2": 64, "hidden": 128, "classes": 10,
     "norm_mean": 0.286, "norm_std": 0.353}
shapes = {"conv1.weight": [32, 1, 3, 3], "conv1.bias": [32], "conv2.weight": [64, 32, 3, 3],
          "conv2.bias": [64], "fc1.weight": [128, 64 * 8 * 8], "fc1.bias": [128],
          "fc2.weight": [10, 128], "fc2.bias": [10]}
head, off = {}, 0
for k, s in shapes.items():
    n = 4
    for d in s: n *= d
    head[k] = {"dtype": "F32", "shape": s, "data_offsets": [off, off + n]}
    off += n
head["__metadata__"] = {"aigc.model": "classifier", "aigc.config": json.dumps(c)}
h = json.dumps(head).encode()
with open("cls32.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + bytes(off))
EOF

common=(--n 32 --sweep-n 16 --samplers ddpm,ddim --steps 2,4 --batches 8,16 --memo-ref 500 --data "$data")
expect_error "missing checkpoint" "nope.safetensors" compare --diffusion nope.safetensors \
  --gan gan.safetensors --classifier cls.safetensors --out report "${common[@]}"
expect_error "GAN as diffusion" "gan.safetensors" compare --diffusion gan.safetensors \
  --gan gan.safetensors --classifier cls.safetensors --out report "${common[@]}"
expect_error "diffusion as GAN" "ddpm.safetensors" compare --diffusion ddpm.safetensors \
  --gan ddpm.safetensors --classifier cls.safetensors --out report "${common[@]}"
expect_error "classifier for another size" "takes 32x32" compare --diffusion ddpm.safetensors \
  --gan gan.safetensors --classifier cls32.safetensors --out report "${common[@]}"
expect_error "more steps than timesteps" "timesteps" compare --diffusion ddpm.safetensors \
  --gan gan.safetensors --classifier cls.safetensors --out report --n 32 --sweep-n 16 \
  --steps 2,5000 --data "$data"
expect_error "output under a missing directory" "does not exist" compare \
  --diffusion ddpm.safetensors --gan gan.safetensors --classifier cls.safetensors \
  --out missing/report "${common[@]}"
check "runtime errors write nothing" nothing_written

"$aigc" --device cpu compare --diffusion ddpm.safetensors --gan gan.safetensors \
  --classifier cls.safetensors --out report "${common[@]}" >compare.log 2>&1
rc=$?
check "compare runs" test $rc -eq 0
[ $rc -eq 0 ] || cat compare.log
for f in index.html compare.json; do check "report has $f" test -s "report/$f"; done
check "three sample grids" test "$(ls report/grid_*.png 2>/dev/null | wc -l)" -eq 3
check "no staging left" test -z "$(ls -d report.staging.* 2>/dev/null)"
check "page is self-contained" bash -c "! grep -q 'src=.http' report/index.html && \
  grep -q 'data:image/png;base64' report/index.html"
check "page says which FID" grep -q "not Inception" report/index.html
check "page has the three charts" test "$(grep -o '<svg' report/index.html | wc -l)" -eq 3
check "json parses with every row" python3 -c "
import json, sys
r = json.load(open('report/compare.json'))
assert [x['kind'] for x in r['rows']] == ['real', 'ddpm', 'gan'], r['rows']
assert len(r['sampler_sweep']) == 4 and len(r['throughput']) == 4
assert all(x['fid']['value'] >= 0 for x in r['rows'])"

if ! command -v chromium >/dev/null; then
  echo "$fails failure(s)"
  [ $fails -gt 0 ] && exit 1
  echo "SKIPPED: chromium is not installed (apt-get install chromium)"
  exit 77
fi
timeout 120 chromium --headless --no-sandbox --disable-gpu --screenshot="$work/shot.png" \
  --window-size=1200,1600 "file://$work/report/index.html" >/dev/null 2>&1
check "chromium wrote a screenshot" test -s shot.png
check "screenshot is not blank" python3 - "$work/shot.png" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
idat, i = b"", 8
while i < len(data):
    n, kind = struct.unpack(">I4s", data[i:i + 8])
    if kind == b"IDAT": idat += data[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}[ctype]
stride = w * bpp
# Undo the PNG row filters, then count colours and non-white pixels.
prev, colours, dark = bytearray(stride), set(), 0
for y in range(h):
    f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for x in range(stride):
        a = row[x - bpp] if x >= bpp else 0
        b, c = prev[x], prev[x - bpp] if x >= bpp else 0
        if f == 1: row[x] = (row[x] + a) & 255
        elif f == 2: row[x] = (row[x] + b) & 255
        elif f == 3: row[x] = (row[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[x] = (row[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    if y % 4 == 0:
        for x in range(0, stride, 4 * bpp):
            px = bytes(row[x:x + 3])
            colours.add(px)
            dark += px != b"\xff\xff\xff"
    prev = row
print(f"  screenshot {w}x{h}: {len(colours)} colours, {dark} sampled non-white pixels")
sys.exit(0 if len(colours) > 50 and dark > 2000 else 1)
EOF

echo "$fails failure(s)"
exit $((fails > 0))
