#!/usr/bin/env bash
# aigc killed (SIGKILL) while it writes: a NeRF training run saving a
# checkpoint every step, and a render writing frames, each killed at random
# moments. After every kill the checkpoint is absent or a complete one that
# loads, every frame present is a whole PNG (chunk CRCs, the image data's
# size, IEND), and nothing but the final names is left, except the killed
# process's temporary files ("<final>.tmp.<pid>"), which nothing cleans up
# later and which no reader takes for the file. A kill that left one landed
# mid-write; the script asks that some did (about a minute).
#   test_kill_write.sh path/to/aigc [kills]
set -u
aigc=$1 kills=${2:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../cli/cli_lib.sh"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

"$aigc" make-scene solid --out "$tmp/s" --res 16 --views 4,1,1 --aa 1 >/dev/null

# A random delay in [0.2, 2) seconds.
delay() { awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.2 + r / 32768 * 1.8 }'; }

# The names in dir that are neither a final name (the pattern) nor a
# temporary file of process pid.
strays() { # dir, final-name pattern (grep -E), pid
  ls -A "$1" | grep -Ev "^($2)(\.tmp\.$3)?$"
}

loads() { # checkpoint
  mkdir -p "$tmp/probe"
  "$aigc" --device cpu render --checkpoint "$1" --orbit 1 --res 4x4 --out "$tmp/probe" --quiet \
    >/dev/null 2>&1
}

# ---- a checkpoint written every step ----------------------------------------
mkdir "$tmp/train"
ckpt=$tmp/train/m.safetensors
mid_write=0
for i in $(seq "$kills"); do
  # A small step and a large model (26 MB with Adam's state): about half
  # of the run is spent writing checkpoints.
  "$aigc" --device cpu train nerf --scene "$tmp/s" --steps 1000000 --samples 1024 --rays 64 \
    --table 16 --save-every 1 --out "$ckpt" --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "$(delay)"
  kill -9 $pid
  wait $pid 2>/dev/null
  ls "$tmp/train" | grep -q "\.tmp\.$pid$" && mid_write=$((mid_write + 1))
  if [ -e "$ckpt" ]; then
    check "kill $i: the checkpoint loads" loads "$ckpt"
  fi
  check "kill $i: no stray file in the checkpoint's directory" \
    test -z "$(strays "$tmp/train" 'm\.safetensors' $pid)"
  rm -f "$tmp"/train/*.tmp.*
done
echo "checkpoint: $mid_write of $kills kills landed while a checkpoint was being written"
check "some kills landed mid-write" test $mid_write -gt 0

# ---- frames written one by one ------------------------------------------------
"$aigc" --device cpu train nerf --scene "$tmp/s" --steps 2 --samples 1024 --rays 256 --table 12 \
  --out "$tmp/r.safetensors" --quiet >/dev/null 2>&1
check "a model to render" loads "$tmp/r.safetensors"

# Every frame_*.png and depth_*.png in dir is a complete PNG: chunk CRCs,
# the inflated image data's size for its header, and IEND last.
whole_pngs() { # dir
  python3 - "$1" <<'EOF'
import glob, struct, sys, zlib
bad = []
for path in sorted(glob.glob(sys.argv[1] + "/*_*.png")):
    data = open(path, "rb").read()
    ok = data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, chunks = 8, b"", []
    while ok and pos + 12 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        crc = data[pos + 8 + n:pos + 12 + n]
        ok = len(body) == n and len(crc) == 4 and zlib.crc32(kind + body) == struct.unpack(">I", crc)[0]
        chunks.append((kind, body))
        idat += body if kind == b"IDAT" else b""
        pos += 12 + n
    ok = ok and pos == len(data) and chunks and chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    if ok:
        w, h, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        try:
            ok = len(zlib.decompress(idat)) == h * (1 + w * channels * depth // 8)
        except zlib.error:
            ok = False
    if not ok:
        bad.append(path)
if bad:
    print("not whole:", " ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

mid_write=0 frames=0
for i in $(seq "$kills"); do
  rm -rf "$tmp/frames"
  mkdir "$tmp/frames"
  "$aigc" --device cpu render --checkpoint "$tmp/r.safetensors" --orbit 400 --res 48x48 --depth \
    --out "$tmp/frames" --quiet >/dev/null 2>&1 &
  pid=$!
  sleep "$(delay)"
  kill -9 $pid
  wait $pid 2>/dev/null
  ls "$tmp/frames" | grep -q "\.tmp\.$pid$" && mid_write=$((mid_write + 1))
  frames=$((frames + $(ls "$tmp/frames" | grep -c '^frame_[0-9]*\.png$')))
  check "kill $i: every frame is a whole PNG" whole_pngs "$tmp/frames"
  check "kill $i: no stray file among the frames" \
    test -z "$(strays "$tmp/frames" '(frame|depth)_[0-9]{4}\.png|manifest\.json' $pid)"
  if [ -e "$tmp/frames/manifest.json" ]; then
    check "kill $i: the manifest is whole JSON" \
      python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/frames/manifest.json"
  fi
done
echo "frames: $frames whole frames checked; $mid_write of $kills kills landed while a frame was" \
  "being written"

echo "$fails failure(s)"
exit $((fails > 0))
