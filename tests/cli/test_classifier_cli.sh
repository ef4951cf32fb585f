#!/usr/bin/env bash
# aigc train/eval classifier from the command line:
#   test_classifier_cli.sh path/to/aigc fashion-mnist-dir [--full]
# Bad inputs each give one clear error line and a non-zero exit. With --full
# it also trains the real model (about 3 minutes on 2 cores) and checks that
# it reaches 89% test accuracy and that eval reproduces it exactly.
set -u
aigc=$1 data=$2 full=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
expect_error "missing dataset" "$tmp/nowhere/train-images-idx3-ubyte" \
  train classifier --data "$tmp/nowhere" --out "$tmp/c.safetensors"

mkdir "$tmp/trunc"
zcat "$data/train-images-idx3-ubyte.gz" | head -c 100000 >"$tmp/trunc/train-images-idx3-ubyte"
cp "$data/train-labels-idx1-ubyte.gz" "$tmp/trunc/"
expect_error "truncated IDX file" "truncated data" \
  train classifier --data "$tmp/trunc" --out "$tmp/c.safetensors"

write_safetensors "$tmp/gan.safetensors" \
  '{"__metadata__":{"aigc.model":"gan"},"g.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "checkpoint of another model" "a 'gan' checkpoint, not a classifier" \
  eval classifier --checkpoint "$tmp/gan.safetensors" --data "$data"

write_safetensors "$tmp/corrupt.safetensors" '{"conv1.weight": {"dtype": "F32", "shape": [' 0
expect_error "corrupt safetensors header" "corrupt.safetensors" \
  eval classifier --checkpoint "$tmp/corrupt.safetensors" --data "$data"

printf '\xff\xff\xff\xff\xff\xff\x00\x00{}' >"$tmp/huge.safetensors"
expect_error "oversized safetensors header" "oversized header" \
  eval classifier --checkpoint "$tmp/huge.safetensors" --data "$data"

expect_error "missing checkpoint" "no-such.safetensors" \
  eval classifier --checkpoint "$tmp/no-such.safetensors" --data "$data"

expect_error "unwritable destination" "does not exist" \
  train classifier --data "$data" --out "$tmp/no/dir/c.safetensors"

out=$("$aigc" --device cpu train classifier --epochs zero 2>&1); rc=$?
check "a bad option value exits 2" test $rc -eq 2
check "a bad option value is named" grep -q -- "--epochs 'zero'" <<<"$out"

if [ "$full" = "--full" ]; then
  start=$(date +%s)
  out=$("$aigc" --device cpu train classifier --data "$data" --out "$tmp/clf.safetensors" --quiet 2>&1)
  rc=$?
  echo "$out"
  echo "  (train + test: $(($(date +%s) - start)) s)"
  check "train exits 0" test $rc -eq 0
  check "a checkpoint is written" test -s "$tmp/clf.safetensors"
  check "no temporary file is left" test -z "$(ls "$tmp" | grep '\.tmp')"
  acc=$(sed -n 's/^test accuracy: *\([0-9.]*\)%.*/\1/p' <<<"$out")
  check "test accuracy $acc% >= 89%" awk -v a="$acc" 'BEGIN { exit !(a >= 89.0) }'
  out=$("$aigc" --device cpu eval classifier --data "$data" --checkpoint "$tmp/clf.safetensors" 2>&1)
  rc=$?
  echo "$out"
  check "eval exits 0" test $rc -eq 0
  check "eval reproduces the accuracy exactly" grep -q "^test accuracy: *$acc% .*" <<<"$out"
  check "eval agrees with the recorded accuracy" grep -q "reproduced exactly" <<<"$out"
fi

echo "$fails failed"
exit $((fails > 0))
