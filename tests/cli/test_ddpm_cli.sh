#!/usr/bin/env bash
# aigc train/sample ddpm from the command line:
#   test_ddpm_cli.sh path/to/aigc fashion-mnist-dir [--mpi path/to/mpirun]
# Bad inputs each give one clear error line, a non-zero exit and no output
# (neither the file asked for nor a temporary nor --out-dir). Then a tiny
# training run (a base-16 UNet, 10 updates) sampled into a PNG grid and one
# PNG per image, the same seed giving the same files and another seed other
# ones (seconds). With --mpi, sampling on 2 ranks under mpirun gives the same
# files as 1 rank, written by rank 0 alone.
set -u
aigc=$1 data=$2 mode=${3:-} mpirun=${4:-mpirun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

# Nothing but the inputs is left in $tmp: no output, temporary or directory.
only_inputs() { # description, the names $tmp should hold
  local what=$1; shift
  check "$what: nothing written" test "$(ls -A "$tmp" | sort | tr '\n' ' ')" = \
    "$(printf '%s\n' "$@" | sort | tr '\n' ' ')"
}
# "W H" of a valid 8-bit PNG: signature, IHDR first, every chunk's CRC, IEND
# last, and IDAT inflating to one filter byte plus W*channels bytes per row.
png_size() { # file
  python3 - "$1" <<'EOF'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
i, kinds, idat = 8, [], b""
while i < len(d):
    n, kind = struct.unpack(">I4s", d[i:i + 8])
    body = d[i + 8:i + 8 + n]
    assert struct.unpack(">I", d[i + 8 + n:i + 12 + n])[0] == zlib.crc32(kind + body), kind
    kinds.append(kind)
    if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT": idat += body
    i += 12 + n
assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and depth == 8, kinds
channels = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
assert len(zlib.decompress(idat)) == h * (1 + w * channels), "IDAT size"
print(w, h)
EOF
}
same_files() { # dir a, dir b: the same names, each file byte for byte
  [ "$(ls "$1")" = "$(ls "$2")" ] || return 1
  for f in "$1"/*; do cmp -s "$f" "$2/$(basename "$f")" || return 1; done
}
every_file_differs() { # dir a, dir b
  for f in "$1"/*; do cmp -s "$f" "$2/$(basename "$f")" && return 1; done
  return 0
}
writes_under() { # strace log, path: the calls that create or rename files under it
  grep -E 'O_CREAT|rename|mkdir' "$1" | grep -c -- "$2"
}
train_tiny() { # checkpoint: a base-16 UNet after 10 updates of 16 images
  "$aigc" --device cpu train ddpm --data "$data" --steps 10 --batch 16 --base 16 --quiet \
    --out "$1" 2>&1
}
sample8() { # checkpoint, grid, image dir, more options...
  local ckpt=$1 grid=$2 dir=$3; shift 3
  "$aigc" --device cpu sample ddpm --checkpoint "$ckpt" --n 8 --steps 4 --out "$grid" \
    --out-dir "$dir" "$@" 2>&1
}

if [ "$mode" = "--mpi" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  mpi=("$mpirun" -np 2 --oversubscribe)
  ckpt=$tmp/ddpm.safetensors
  train_tiny "$ckpt" >/dev/null
  check "tiny train saves" test -s "$ckpt"
  sample8 "$ckpt" "$tmp/one.png" "$tmp/one" --seed 4 >/dev/null
  out=$("${mpi[@]}" "$aigc" --device cpu sample ddpm --checkpoint "$ckpt" --steps 5000 --n 8 \
    --out "$tmp/bad.png" --out-dir "$tmp/bad" 2>&1 >/dev/null); rc=$?
  echo "$out"
  check "2 ranks, too many steps: a failed exit" test $rc -ne 0
  check "2 ranks, too many steps: names the problem" grep -q "steps 5000 must be in 1 .. 1000" <<<"$out"
  # Each rank finds it itself; one may be stopped by the launcher first.
  check "2 ranks, too many steps: every rank says the same line" \
    test "$(grep '^aigc: error: ' <<<"$out" | grep -v 'stopped by the launcher' | sort -u |
      wc -l)" -eq 1
  check "2 ranks, too many steps: nothing written" test ! -e "$tmp/bad.png" -a ! -e "$tmp/bad"
  two=(sample ddpm --checkpoint "$ckpt" --n 8 --steps 4 --seed 4 --out "$tmp/two.png"
    --out-dir "$tmp/two")
  if strace -qq -o /dev/null true 2>/dev/null; then
    # Each rank under strace, its file-creating calls in trace.<rank>.
    out=$("${mpi[@]}" bash -c 'exec strace -f -qq -o "$0.$OMPI_COMM_WORLD_RANK" \
      -e trace=openat,creat,rename,renameat,renameat2,mkdir,mkdirat "$@"' "$tmp/trace" \
      "$aigc" --device cpu "${two[@]}" 2>&1); rc=$?
  else
    out=$("${mpi[@]}" "$aigc" --device cpu "${two[@]}" 2>&1); rc=$?
  fi
  echo "$out"
  check "2 ranks: exit 0" test $rc -eq 0
  check "2 ranks: reported once, by rank 0" test "$(grep -c '^wrote:' <<<"$out")" -eq 1
  check "2 ranks: sampled on 2 ranks" grep -q "seed 4, 2 ranks" <<<"$out"
  check "2 ranks: the same grid as 1 rank" cmp "$tmp/one.png" "$tmp/two.png"
  check "2 ranks: the same 8 images as 1 rank" same_files "$tmp/one" "$tmp/two"
  if [ -f "$tmp/trace.0" ]; then
    n0=$(writes_under "$tmp/trace.0" "$tmp/two") n1=$(writes_under "$tmp/trace.1" "$tmp/two")
    check "rank 0 writes the grid and 8 images ($n0 calls)" test "$n0" -ge 9
    check "rank 1 writes nothing ($n1 calls)" test "$n1" -eq 0
  else
    echo "note: no working strace (missing, or ptrace not allowed), so which rank wrote is not checked"
  fi
  echo "$fails failure(s)"
  exit $((fails > 0))
fi

# ---- bad inputs --------------------------------------------------------------

ckpt=$tmp/ddpm.safetensors
expect_usage "unknown prediction" "--prediction 'x0'" train ddpm --prediction x0 --out "$ckpt"
expect_usage "zero training steps" "--steps '0'" train ddpm --steps 0 --out "$ckpt"
expect_error "a UNet the attention heads do not divide" "not divisible by head_dim 32" \
  train ddpm --data "$data" --base 8 --out "$ckpt" --quiet
expect_error "missing dataset" "$tmp/nowhere/train-images-idx3-ubyte" \
  train ddpm --data "$tmp/nowhere" --out "$ckpt" --quiet
expect_error "checkpoint under a missing directory" "$tmp/no/dir/d.safetensors: the directory" \
  train ddpm --data "$data" --out "$tmp/no/dir/d.safetensors" --quiet
# Images of the wrong size: an IDX pair of four 8x8 images.
mkdir -p "$tmp/small"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x04\x00\x00\x00\x08\x00\x00\x00\x08'; head -c 256 /dev/zero; } \
  >"$tmp/small/train-images-idx3-ubyte"
{ printf '\x00\x00\x08\x01\x00\x00\x00\x04'; head -c 4 /dev/zero; } >"$tmp/small/train-labels-idx1-ubyte"
expect_error "wrong image size" "the images are 8x8, the model takes 28x28x1" \
  train ddpm --data "$tmp/small" --batch 2 --out "$ckpt" --quiet
only_inputs "bad training inputs" small

# A real GAN checkpoint (2 updates), and a real diffusion one to break.
out=$("$aigc" --device cpu train gan --data "$data" --steps 2 --batch 16 --quiet \
  --out "$tmp/gan.safetensors" 2>&1)
check "tiny GAN saves" test -s "$tmp/gan.safetensors"
out=$(train_tiny "$ckpt"); rc=$?
echo "$out"
check "tiny train exits 0" test $rc -eq 0
check "tiny train saves" test -s "$ckpt"
size=$(sed -n 's/^data: .* train images of \([0-9]*x[0-9]*\))$/\1/p' <<<"$out")
check "training reports the image size ($size)" test -n "$size"
head -c 100000 "$ckpt" >"$tmp/truncated.safetensors"
head -c 4096 /dev/urandom >"$tmp/noise.safetensors"
# The tiny checkpoint's tensors under a config that asks for a base-32 UNet.
python3 - "$ckpt" "$tmp/base32.safetensors" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
head = json.loads(b[8:8 + n])
config = json.loads(head["__metadata__"]["aigc.config"])
config["unet"]["base"] *= 2
head["__metadata__"]["aigc.config"] = json.dumps(config)
h = json.dumps(head).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + b[8 + n:])
EOF
inputs=(small gan.safetensors ddpm.safetensors truncated.safetensors noise.safetensors
  base32.safetensors)

expect_error "resuming with another UNet" "holds a ddpm model of another config" \
  train ddpm --data "$data" --steps 20 --batch 16 --base 32 --resume "$ckpt" \
  --out "$tmp/resumed.safetensors" --quiet
expect_error "resuming a finished run" "has done 10 updates already" \
  train ddpm --data "$data" --steps 10 --batch 16 --base 16 --resume "$ckpt" \
  --out "$tmp/resumed.safetensors" --quiet
only_inputs "bad resumes" "${inputs[@]}"

grid=$tmp/grid.png each=$tmp/each
bad_sample() { # description, pattern, sample options...
  local what=$1 pattern=$2; shift 2
  expect_error "$what" "$pattern" sample ddpm --n 8 --out "$grid" --out-dir "$each" "$@"
}
bad_sample "GAN checkpoint" "gan.safetensors is a 'gan' checkpoint, not a diffusion (ddpm) checkpoint" \
  --checkpoint "$tmp/gan.safetensors"
bad_sample "truncated checkpoint" "truncated.safetensors'.*(file truncated" \
  --checkpoint "$tmp/truncated.safetensors"
bad_sample "corrupt checkpoint" "noise.safetensors': oversized header" \
  --checkpoint "$tmp/noise.safetensors"
bad_sample "checkpoint of another size" "model expects f32\[" \
  --checkpoint "$tmp/base32.safetensors"
bad_sample "missing checkpoint" "no-such.safetensors': cannot open" \
  --checkpoint "$tmp/no-such.safetensors"
bad_sample "more steps than timesteps" "steps 1001 must be in 1 .. 1000" \
  --checkpoint "$ckpt" --steps 1001
bad_sample "class out of range" "--class 10: the model has classes 0..9" \
  --checkpoint "$ckpt" --class 10
expect_usage "unknown sampler" "--sampler 'nope': one of ddpm, ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras" \
  sample ddpm --checkpoint "$ckpt" --sampler nope --out "$grid" --out-dir "$each"
expect_usage "zero sampler steps" "--steps '0'" \
  sample ddpm --checkpoint "$ckpt" --steps 0 --out "$grid" --out-dir "$each"
expect_error "grid under a missing directory" "$tmp/no/dir/grid.png: the directory" \
  sample ddpm --checkpoint "$ckpt" --n 8 --steps 4 --out "$tmp/no/dir/grid.png"
expect_error "--out-dir under a missing directory" "$tmp/no/dir/each: the directory" \
  sample ddpm --checkpoint "$ckpt" --n 8 --steps 4 --out "$grid" --out-dir "$tmp/no/dir/each"
only_inputs "bad sample inputs" "${inputs[@]}"
: >"$tmp/file"
expect_error "--out-dir that is a file" "--out-dir $tmp/file: cannot make the directory" \
  sample ddpm --checkpoint "$ckpt" --n 8 --steps 4 --out "$grid" --out-dir "$tmp/file"
only_inputs "--out-dir that is a file" "${inputs[@]}" file

# ---- a tiny run: grid and images, seeds ---------------------------------------

start=$(date +%s)
out=$(sample8 "$ckpt" "$grid" "$each" --seed 7); rc=$?
echo "$out"
check "sample exits 0" test $rc -eq 0
check "sample reports images/s" grep -q "images/s" <<<"$out"
read -r gw gh <<<"$(png_size "$grid")"
w=${size%x*} h=${size#*x}
check "the grid is a valid PNG holding 8 images (${gw:-?}x${gh:-?})" \
  test "${gw:-0}" -gt "$w" -a "${gh:-0}" -gt "$h" -a $((${gw:-0} * ${gh:-0})) -ge $((8 * w * h))
check "8 PNGs, one per image" test "$(ls "$each" | grep -c '^ddpm_0000[0-7]\.png$')" -eq 8
check "nothing else in --out-dir" test "$(ls -A "$each" | wc -l)" -eq 8
bad=0
for f in "$each"/*; do [ "$(png_size "$f")" = "$w $h" ] || bad=$((bad + 1)); done
check "each image is a valid ${w}x$h PNG ($bad not)" test $bad -eq 0
sample8 "$ckpt" "$tmp/again.png" "$tmp/again" --seed 7 >/dev/null
check "the same seed: the same grid" cmp "$grid" "$tmp/again.png"
check "the same seed: the same 8 images" same_files "$each" "$tmp/again"
sample8 "$ckpt" "$tmp/other.png" "$tmp/other" --seed 8 >/dev/null
check "another seed: another grid" bash -c "! cmp -s '$grid' '$tmp/other.png'"
check "another seed: every image another" every_file_differs "$each" "$tmp/other"
check "no temporary file is left" test -z "$(find "$tmp" -name '*.tmp.*' -o -name '*.dp.*')"
echo "  (3 samplings: $(($(date +%s) - start)) s)"

echo "$fails failure(s)"
exit $((fails > 0))
