#!/usr/bin/env bash
# aigc train/sample gan from the command line:
#   test_gan_cli.sh path/to/aigc fashion-mnist-dir
# Bad inputs each give one clear error line, a non-zero exit and no output
# file. Then a tiny training run, a resumed one, and sampling into a PNG grid
# and one PNG per image (seconds).
set -u
aigc=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

no_file() { check "$1: nothing written" test ! -e "$2"; }

ckpt=$tmp/gan.safetensors
expect_usage "unknown loss" "--loss 'wgan'" train gan --loss wgan --out "$ckpt"
expect_usage "zero steps" "--steps" train gan --steps 0 --out "$ckpt"
expect_usage "batch of one" "--batch 1" train gan --batch 1 --out "$ckpt"
expect_usage "negative r1" "--r1" train gan --r1 -1 --out "$ckpt"
no_file "bad options" "$ckpt"
expect_error "missing dataset" "$tmp/nowhere/train-images-idx3-ubyte" \
  train gan --data "$tmp/nowhere" --out "$ckpt" --quiet
expect_error "unwritable destination" "does not exist" \
  train gan --data "$data" --out "$tmp/no/dir/g.safetensors" --quiet

# Images of the wrong size: an IDX pair of four 8x8 images.
mkdir -p "$tmp/small"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x04\x00\x00\x00\x08\x00\x00\x00\x08'; head -c 256 /dev/zero; } \
  >"$tmp/small/train-images-idx3-ubyte"
{ printf '\x00\x00\x08\x01\x00\x00\x00\x04'; head -c 4 /dev/zero; } >"$tmp/small/train-labels-idx1-ubyte"
expect_error "wrong image size" "images are 8x8, the model makes 28x28" \
  train gan --data "$tmp/small" --batch 2 --out "$ckpt" --quiet
no_file "wrong image size" "$ckpt"

# Checkpoints of other models given to sample gan.
write_safetensors "$tmp/ddpm.safetensors" \
  '{"__metadata__":{"aigc.model":"ddpm"},"unet.w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "ddpm checkpoint" "a 'ddpm' checkpoint, not a gan checkpoint" \
  sample gan --checkpoint "$tmp/ddpm.safetensors" --out "$tmp/grid.png"
write_safetensors "$tmp/clf.safetensors" \
  '{"__metadata__":{"aigc.model":"classifier"},"fc1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "classifier checkpoint" "a 'classifier' checkpoint, not a gan checkpoint" \
  sample gan --checkpoint "$tmp/clf.safetensors" --out "$tmp/grid.png"
write_safetensors "$tmp/bare.safetensors" '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "checkpoint without a kind" "not an aigc checkpoint" \
  sample gan --checkpoint "$tmp/bare.safetensors" --out "$tmp/grid.png"
# A gan checkpoint whose config asks for images no side of which divides by 4.
write_safetensors "$tmp/odd.safetensors" \
  '{"__metadata__":{"aigc.model":"gan","aigc.config":"{\"height\":30,\"width\":28,\"zdim\":8,\"g_channels\":4,\"d_channels\":4,\"classes\":0,\"embed_dim\":4}"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "image size of a gan checkpoint" "both sides must divide by 4" \
  sample gan --checkpoint "$tmp/odd.safetensors" --out "$tmp/grid.png"
no_file "other checkpoints" "$tmp/grid.png"

# A tiny run, then one resumed from it.
out=$("$aigc" --device cpu train gan --data "$data" --steps 6 --batch 16 --ema --quiet --out "$ckpt" 2>&1)
rc=$?
echo "$out"
check "tiny train exits 0" test $rc -eq 0
check "tiny train saves" test -s "$ckpt"
out=$("$aigc" --device cpu train gan --data "$data" --steps 10 --batch 16 --ema --quiet \
  --resume "$ckpt" --out "$tmp/resumed.safetensors" 2>&1)
rc=$?
echo "$out"
check "resumed train exits 0" test $rc -eq 0
check "resumed at update 6" grep -q "resumed: *at update 6" <<<"$out"
check "resumed run did 10 updates" grep -q "trained: *10 updates" <<<"$out"
expect_error "resuming a finished run" "has done 10 updates already" \
  train gan --data "$data" --steps 10 --batch 16 --resume "$tmp/resumed.safetensors" \
  --out "$tmp/again.safetensors" --quiet
no_file "resuming a finished run" "$tmp/again.safetensors"

# Sampling: bad options first, then a grid and one PNG per image.
expect_usage "class of an unconditional model" "--class" \
  sample gan --checkpoint "$ckpt" --class 3 --out "$tmp/grid.png"
expect_error "missing --out-dir" "is not an existing directory" \
  sample gan --checkpoint "$ckpt" --out "$tmp/grid.png" --out-dir "$tmp/nodir"
no_file "bad sample options" "$tmp/grid.png"
mkdir -p "$tmp/each"
out=$("$aigc" --device cpu sample gan --checkpoint "$ckpt" --n 12 --seed 3 --out "$tmp/grid.png" \
  --out-dir "$tmp/each" 2>&1)
rc=$?
echo "$out"
check "sample exits 0" test $rc -eq 0
check "grid is a PNG" test "$(head -c 8 "$tmp/grid.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a
check "one PNG per image" test "$(ls "$tmp/each" | grep -c '^gan_[0-9]*\.png$')" -eq 12
check "sample reports images/s" grep -q "images/s" <<<"$out"

# Class-conditional: --class K is accepted in range and refused outside it.
cond=$tmp/cond.safetensors
"$aigc" --device cpu train gan --data "$data" --steps 2 --batch 16 --conditional --quiet \
  --out "$cond" >/dev/null 2>&1
check "conditional train saves" test -s "$cond"
check "conditional sample with --class" \
  "$aigc" --device cpu sample gan --checkpoint "$cond" --n 4 --class 9 --out "$tmp/cond.png"
expect_usage "class out of range" "--class '10'" \
  sample gan --checkpoint "$cond" --class 10 --out "$tmp/cond10.png"
no_file "class out of range" "$tmp/cond10.png"

echo "$fails failure(s)"
exit $((fails > 0))
