#!/usr/bin/env bash
# aigc train/eval clip from the command line:
#   test_clip_cli.sh path/to/aigc fashion-mnist-dir [--mpi|--full]
# Bad inputs each give one clear error line and exit 1. Then a short
# training run (about a minute on 2 cores) that must beat a low zero-shot bar,
# its evaluation from the checkpoint agreeing with what training printed, and
# a resumed run. With --mpi, two ranks under mpirun against one. With --full
# the default run (within the 10-minute budget on 2 cores) must reach the
# zero-shot target stated below.
set -u
aigc=$1 data=$2 full=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
zero_shot() { sed -n 's/^zero-shot accuracy: *\([0-9.]*\)%.*/\1/p' <<<"$1"; }

# Data parallel: two ranks see every rank's negatives (the loss is built on
# the all-gathered embeddings), so they follow the single-process run to
# rounding; a global batch the ranks cannot share is refused.
if [ "$full" = "--mpi" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  mpi=(mpirun -np 2 --oversubscribe)
  dp=(--data "$data" --dim 32 --layers 1 --text-layers 1 --patch 7 --batch 64 --steps 40 --no-eval)
  one=$("$aigc" --device cpu train clip "${dp[@]}" --out "$tmp/one.safetensors" 2>&1)
  check "1 rank exits 0" test $? -eq 0
  for zero in 0 1; do
    two=$("${mpi[@]}" "$aigc" --device cpu train clip "${dp[@]}" --zero $zero \
      --out "$tmp/two$zero.safetensors" 2>&1)
    rc=$?
    echo "$two" | grep -v '^train clip'
    check "2 ranks (zero $zero) exit 0" test $rc -eq 0
    check "2 ranks (zero $zero) report 2 ranks" grep -q "on 2 ranks" <<<"$two"
    l1=$(sed -n 's/.*last loss \([0-9.]*\),.*/\1/p' <<<"$one")
    l2=$(sed -n 's/.*last loss \([0-9.]*\),.*/\1/p' <<<"$two")
    check "2 ranks (zero $zero) follow 1 rank: loss $l2 vs $l1" \
      awk -v a="${l1:-0}" -v b="${l2:-9}" 'BEGIN { d = a - b; exit !(a > 0 && d * d < 1e-4) }'
  done
  out=$("${mpi[@]}" "$aigc" --device cpu train clip "${dp[@]}" --batch 63 \
    --out "$tmp/bad.safetensors" 2>&1)
  rc=$?
  check "indivisible global batch fails" test $rc -ne 0
  check "indivisible global batch is named" \
    grep -q "global batch 63 is not divisible by the 2 ranks" <<<"$out"
  echo "$fails failed"
  exit $((fails > 0))
fi


expect_error "missing dataset" "$tmp/nowhere/train-images-idx3-ubyte" \
  train clip --data "$tmp/nowhere" --out "$tmp/c.safetensors" --quiet
expect_error "unwritable destination" "does not exist" \
  train clip --data "$data" --out "$tmp/no/dir/c.safetensors" --quiet
expect_error "batch larger than the dataset" "no larger than the dataset" \
  train clip --data "$data" --batch 100000 --out "$tmp/c.safetensors" --quiet
expect_error "patch that does not divide the image" "patch 5 does not divide" \
  train clip --data "$data" --patch 5 --steps 1 --out "$tmp/c.safetensors" --quiet
expect_error "missing checkpoint" "no-such.safetensors" \
  eval clip --checkpoint "$tmp/no-such.safetensors" --data "$data"

out=$("$aigc" --device cpu train clip --zero 2 2>&1); rc=$?
check "--zero 2 exits 2" test $rc -eq 2
check "--zero 2 is named" grep -q -- "--zero '2'" <<<"$out"

# Checkpoints of other models given to eval clip: safetensors files written
# directly, their kind in the metadata.
write_safetensors "$tmp/clf.safetensors" \
  '{"__metadata__":{"aigc.model":"classifier"},"fc1.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "classifier checkpoint" "a 'classifier' checkpoint, not a clip checkpoint" \
  eval clip --checkpoint "$tmp/clf.safetensors" --data "$data"
write_safetensors "$tmp/gpt.safetensors" \
  '{"__metadata__":{"aigc.model":"gpt"},"wte":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "gpt checkpoint" "a 'gpt' checkpoint, not a clip checkpoint" \
  eval clip --checkpoint "$tmp/gpt.safetensors" --data "$data"

# A short run: small towers, 300 updates.
short=(--data "$data" --dim 32 --layers 2 --text-layers 1 --patch 7 --batch 128 --quiet)
start=$(date +%s)
out=$("$aigc" --device cpu train clip "${short[@]}" --steps 300 --out "$tmp/clip.safetensors" 2>&1)
rc=$?
echo "$out"
echo "  (train + eval: $(($(date +%s) - start)) s)"
check "train exits 0" test $rc -eq 0
check "a checkpoint is written" test -s "$tmp/clip.safetensors"
check "no temporary file is left" test -z "$(ls "$tmp" | grep '\.tmp')"
acc=$(zero_shot "$out")
check "short run: zero-shot $acc% > 40%" awk -v a="${acc:-0}" 'BEGIN { exit !(a > 40.0) }'
check "retrieval is reported" grep -q "image->text: *R@1 [0-9.]*%  R@5" <<<"$out"
check "the confusion table has 10 rows" test "$(grep -c '^  [0-9] ' <<<"$out")" -eq 10

out2=$("$aigc" --device cpu eval clip --checkpoint "$tmp/clip.safetensors" --data "$data" 2>&1)
rc=$?
echo "$out2"
check "eval exits 0" test $rc -eq 0
check "eval reproduces the zero-shot accuracy" test "$(zero_shot "$out2")" = "$acc"
check "eval reproduces the recall" test "$(grep '^  image->text' <<<"$out2")" = \
  "$(grep '^  image->text' <<<"$out")"

expect_error "resume with other shapes" "other shapes" \
  train clip "${short[@]}" --dim 48 --steps 400 --resume "$tmp/clip.safetensors" \
  --out "$tmp/r.safetensors"
expect_error "resume past the end" "has done 300 updates already" \
  train clip "${short[@]}" --steps 300 --resume "$tmp/clip.safetensors" --out "$tmp/r.safetensors"
out=$("$aigc" --device cpu train clip "${short[@]}" --steps 320 --no-eval \
  --resume "$tmp/clip.safetensors" --out "$tmp/r.safetensors" 2>&1)
rc=$?
echo "$out"
check "resume exits 0" test $rc -eq 0
check "resume continues at update 300" grep -q "^resumed: *at update 300" <<<"$out"
check "resume ends at update 320" grep -q "320 updates in" <<<"$out"

if [ "$full" = "--full" ]; then
  start=$(date +%s)
  out=$("$aigc" --device cpu train clip --data "$data" --out "$tmp/full.safetensors" --quiet 2>&1)
  rc=$?
  echo "$out"
  echo "  (train + eval: $(($(date +%s) - start)) s)"
  check "full run exits 0" test $rc -eq 0
  acc=$(zero_shot "$out")
  # The default run reaches 87.34% (1500 updates, about 5.5 minutes on 2
  # idle cores); the bar leaves room for other machines' rounding.
  check "full run: zero-shot $acc% >= 85%" awk -v a="${acc:-0}" 'BEGIN { exit !(a >= 85.0) }'
fi

echo "$fails failed"
exit $((fails > 0))
