#!/usr/bin/env bash
# aigc train/sample gpt from the command line:
#   test_gpt_cli.sh path/to/aigc text-file [--mpi path/to/mpirun | --full]
# Bad inputs each give one clear error line and exit 1; a short training run
# on the text's first 4000 bytes lowers the loss and writes a checkpoint
# that samples readable text (the same with and without the KV cache), and
# resumes. With --mpi it runs under `mpirun -np 2` instead: an indivisible
# global batch is refused by every rank alike, and a 2-rank run trains,
# saves and samples. With --full it trains the default model on the whole
# text (about 2 minutes on 2 idle cores) to its loss target.
set -u
aigc=$1 text=$2 mode=${3:-} mpirun=${4:-mpirun}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"
# A small model that learns enough of a short text in seconds.
small=(--seq 32 --layers 2 --width 64 --heads 4 --batch 32 --lr 0.01)
# Words the samples should be made of (the GPL's most common ones).
words() { grep -o -w -E 'the|of|to|and|or|a|is|in|for|that|you|License|this|it|by' | wc -l; }

if [ "$mode" = "--full" ]; then
  start=$(date +%s)
  out=$("$aigc" --device cpu train gpt --text "$text" --quiet --out "$tmp/gpt.safetensors" 2>&1)
  rc=$?
  echo "$out"
  echo "  (train: $(($(date +%s) - start)) s)"
  check "default train exits 0" test $rc -eq 0
  last=$(sed -n 's/^loss: .* \([0-9.]*\) at update 600 .*/\1/p' <<<"$out")
  check "loss ${last:-?} < 1.6 nats per byte" awk -v b="${last:-9}" 'BEGIN { exit !(b < 1.6) }'
  out=$("$aigc" --device cpu sample gpt --checkpoint "$tmp/gpt.safetensors" \
    --prompt "This License" --n 3 --max-new 100 --temperature 0.5 2>&1); rc=$?
  echo "$out"
  check "sample exits 0" test $rc -eq 0
  n=$(sed -n '/^--- sample 1 ---$/,/^---$/p' <<<"$out" | grep -v '^---' | words)
  check "the samples are made of words ($n of the common ones)" test "$n" -ge 15
  echo "$fails failed"
  exit $((fails > 0))
fi

if [ "$mode" = "--mpi" ]; then
  mpi=("$mpirun" -np 2 --oversubscribe)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  out=$("${mpi[@]}" "$aigc" --device cpu train gpt --text "$text" "${small[@]}" --batch 3 \
    --steps 2 --out "$tmp/odd.safetensors" 2>&1 >/dev/null); rc=$?
  echo "$out"
  check "indivisible batch: a failed exit" test $rc -ne 0
  # Each rank finds the problem itself; one that exits first may get the
  # other stopped by the launcher before it prints, which it then says.
  check "indivisible batch: every rank says the same line, or that it was stopped" \
    test "$(grep '^aigc: error: ' <<<"$out" | grep -v 'stopped by the launcher' | sort -u |
      wc -l)" -eq 1
  check "indivisible batch: names the problem" grep -q "not divisible by 2 ranks" <<<"$out"
  check "indivisible batch: nothing written" test ! -e "$tmp/odd.safetensors"
  out=$("${mpi[@]}" "$aigc" --device cpu train gpt --text "$text" "${small[@]}" --steps 40 \
    --zero 1 --quiet --out "$tmp/dp.safetensors" 2>&1); rc=$?
  echo "$out"
  check "2-rank train exits 0" test $rc -eq 0
  check "rank 0 alone reports" test "$(grep -c '^saved:' <<<"$out")" -eq 1
  check "2 ranks are used" grep -q "on 2 ranks (ZeRO-1)" <<<"$out"
  out=$("$aigc" --device cpu sample gpt --checkpoint "$tmp/dp.safetensors" --prompt "The " \
    --max-new 20 2>&1); rc=$?
  check "its checkpoint samples" test $rc -eq 0
  echo "$fails failed"
  exit $((fails > 0))
fi

expect_error "missing text file" "$tmp/no-such.txt" \
  train gpt --text "$tmp/no-such.txt" --out "$tmp/g.safetensors"
: >"$tmp/empty.txt"
expect_error "empty text file" "empty.txt: the text file is empty" \
  train gpt --text "$tmp/empty.txt" --out "$tmp/g.safetensors"
printf 'short' >"$tmp/short.txt"
expect_error "text shorter than a window" "the text has 5 bytes" \
  train gpt --text "$tmp/short.txt" --out "$tmp/g.safetensors"
expect_error "unwritable destination" "does not exist" \
  train gpt --text "$text" --out "$tmp/no/dir/g.safetensors"
out=$("$aigc" --device cpu train gpt --text "$text" --zero 2 2>&1); rc=$?
check "a bad --zero exits 2" test $rc -eq 2
check "a bad --zero is named" grep -q -- "--zero '2'" <<<"$out"
expect_usage "unknown compute dtype" "--dtype 'f16': auto, f32 or bf16" \
  train gpt --text "$text" --dtype f16 --out "$tmp/g.safetensors"
check "no checkpoint after the failures" test -z "$(ls "$tmp" | grep safetensors)"

head -c 4000 "$text" >"$tmp/short-text"
start=$(date +%s)
out=$("$aigc" --device cpu train gpt --text "$tmp/short-text" "${small[@]}" --steps 300 --quiet \
  --out "$tmp/gpt.safetensors" 2>&1); rc=$?
echo "$out"
echo "  (train: $(($(date +%s) - start)) s)"
check "train exits 0" test $rc -eq 0
check "a checkpoint is written" test -s "$tmp/gpt.safetensors"
check "no temporary file is left" test -z "$(ls "$tmp" | grep '\.tmp')"
read -r first last < <(sed -n 's/^loss: *\([0-9.]*\) at update 1, \([0-9.]*\) at update 300 .*/\1 \2/p' <<<"$out")
check "loss falls from ${first:-?} (uniform: 5.56) to below 2 (${last:-?})" \
  awk -v a="${first:-0}" -v b="${last:-9}" 'BEGIN { exit !(a > 5 && b < 2) }'

prompt="This License"
sample=(sample gpt --checkpoint "$tmp/gpt.safetensors" --prompt "$prompt" --n 3 --max-new 20
  --seed 7 --temperature 0.3)
out=$("$aigc" --device cpu "${sample[@]}" 2>&1); rc=$?
echo "$out"
check "sample exits 0" test $rc -eq 0
check "three samples" test "$(grep -c '^--- sample' <<<"$out")" -eq 3
check "each continues the prompt" test "$(grep -c "^$prompt" <<<"$out")" -eq 3
generated=$(sed -n '/^--- sample 1 ---$/,/^---$/p' <<<"$out" | grep -v '^---' | sed "s/^$prompt//")
# Readable: printable ASCII and line breaks only, and words of the text.
check "the samples are printable text" \
  test -z "$(LC_ALL=C tr -d '\n\040-\176' <<<"$generated")"
n=$(words <<<"$generated")
check "the samples contain words of the text ($n of the common ones)" test "$n" -ge 4
full=$("$aigc" --device cpu "${sample[@]}" --no-cache 2>&1)
check "--no-cache gives the same samples" \
  test "$(sed -n '/^--- sample 1/,/^---$/p' <<<"$out")" = "$(sed -n '/^--- sample 1/,/^---$/p' <<<"$full")"

long=$(head -c 33 /dev/zero | tr '\0' 'a')
expect_error "prompt longer than the context" "longer than the context of 32" \
  sample gpt --checkpoint "$tmp/gpt.safetensors" --prompt "$long"
expect_error "prompt and --max-new beyond the context" "exceed the context" \
  sample gpt --checkpoint "$tmp/gpt.safetensors" --prompt "$prompt" --max-new 21
expect_error "empty prompt" "prompt is empty" \
  sample gpt --checkpoint "$tmp/gpt.safetensors" --prompt ""
write_safetensors "$tmp/clip.safetensors" \
  '{"__metadata__":{"aigc.model":"clip"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "a CLIP checkpoint" "a 'clip' checkpoint, not a gpt" \
  sample gpt --checkpoint "$tmp/clip.safetensors" --prompt "$prompt"
write_safetensors "$tmp/classifier.safetensors" \
  '{"__metadata__":{"aigc.model":"classifier"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "a classifier checkpoint" "a 'classifier' checkpoint, not a gpt" \
  sample gpt --checkpoint "$tmp/classifier.safetensors" --prompt "$prompt"
expect_error "missing checkpoint" "no-such.safetensors" \
  sample gpt --checkpoint "$tmp/no-such.safetensors" --prompt "$prompt"

expect_error "resume with another width" "cannot resume" \
  train gpt --text "$text" --resume "$tmp/gpt.safetensors" --width 32 --steps 200 \
  --out "$tmp/wide.safetensors"
expect_error "resume from a CLIP checkpoint" "a 'clip' checkpoint, not a gpt" \
  train gpt --text "$text" --resume "$tmp/clip.safetensors" --out "$tmp/r.safetensors"
expect_error "resume with nothing left to train" "at step 300 already" \
  train gpt --text "$text" --resume "$tmp/gpt.safetensors" --steps 300 --out "$tmp/r.safetensors"
check "no checkpoint from the failed resumes" \
  test ! -e "$tmp/wide.safetensors" -a ! -e "$tmp/r.safetensors"

out=$("$aigc" --device cpu train gpt --text "$tmp/short-text" --resume "$tmp/gpt.safetensors" \
  --batch 32 --lr 0.01 --steps 320 --quiet --out "$tmp/more.safetensors" 2>&1); rc=$?
echo "$out"
check "resume exits 0" test $rc -eq 0
check "resume takes the checkpoint's model" grep -q "2 layers, 64 wide, 4 heads, context 32" <<<"$out"
check "resume continues at update 301" grep -q "at update 301, .* at update 320" <<<"$out"
resumed=$(sed -n 's/^loss: *\([0-9.]*\) at update 301.*/\1/p' <<<"$out")
check "the resumed loss ($resumed) continues the trained one (${last:-?})" \
  awk -v a="${resumed:-9}" -v b="${last:-0}" 'BEGIN { exit !(a < b + 0.3) }'
out=$("$aigc" --device cpu sample gpt --checkpoint "$tmp/more.safetensors" --prompt "$prompt" \
  --max-new 20 2>&1); rc=$?
check "the resumed checkpoint samples" test $rc -eq 0
check "it records 320 updates" grep -q "320 updates" <<<"$out"

echo "$fails failed"
exit $((fails > 0))
