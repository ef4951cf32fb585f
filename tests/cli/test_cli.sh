#!/usr/bin/env bash
# The CLI starts everywhere, reports its device choice, documents every
# command of its table, and fails cleanly (exit 1: runtime, 2: usage):
#   test_cli.sh path/to/aigc
set -u
aigc=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}

info=$("$aigc" info 2>&1); rc=$?
echo "$info"
check "aigc info exits 0" test $rc -eq 0
check "aigc info names the device" grep -q '^device: ' <<<"$info"

# Runs aigc expecting a failure: the exit code, nothing on stdout and exactly
# one stderr line, "aigc: error: ...", containing the pattern.
expect_error() { # description, exit code, pattern, aigc arguments...
  local what=$1 code=$2 pattern=$3; shift 3
  local out err rc
  out=$("$aigc" "$@" 2>"$tmp/err"); rc=$?
  err=$(cat "$tmp/err")
  echo "  $err"
  check "$what: exit $code" test $rc -eq "$code"
  check "$what: nothing on stdout" test -z "$out"
  check "$what: one stderr line" test "$(wc -l <"$tmp/err")" -eq 1
  check "$what: an aigc error naming $pattern" grep -q -- "^aigc: error: .*$pattern" <<<"$err"
}

# Runs aigc expecting help: exit 0, the usage on stdout, nothing on stderr.
expect_help() { # description, pattern the usage must contain, aigc arguments...
  local what=$1 pattern=$2; shift 2
  local out rc
  out=$("$aigc" "$@" 2>"$tmp/err"); rc=$?
  check "$what: exit 0" test $rc -eq 0
  check "$what: nothing on stderr" test ! -s "$tmp/err"
  check "$what: prints $pattern" grep -q -- "$pattern" <<<"$out"
}

if grep -q '^cuda devices: *none' <<<"$info"; then
  check "auto falls back to cpu with a reason" grep -q '^device: *cpu (auto: using cpu because' <<<"$info"
  expect_error "--device cuda without a device" 1 "CUDA" --device cuda info
fi

expect_error "unknown device" 2 "unknown device 'tpu'" --device tpu info
expect_error "--device without a value" 2 "--device needs a value" --device

out=$(AG_DEVICE=cpu "$aigc" info 2>&1)
check "AG_DEVICE=cpu selects cpu" grep -q '^device: *cpu$' <<<"$out"
out=$(AG_DEVICE=tpu "$aigc" --device=cpu info 2>&1)
check "--device=cpu wins over AG_DEVICE" grep -q '^device: *cpu$' <<<"$out"

# The command table, as aigc --help lists it.
help=$("$aigc" --help 2>"$tmp/err"); rc=$?
echo "$help"
check "aigc --help exits 0" test $rc -eq 0
check "aigc --help prints nothing on stderr" test ! -s "$tmp/err"
for command in info demo "train classifier" "eval classifier"; do
  check "aigc --help lists '$command' with a summary" grep -q "^  $command  *[a-z]" <<<"$help"
done
check "aigc --help lists help" grep -q '^  help \[<command>\]  *[a-z]' <<<"$help"
check "aigc --help names the global options" grep -q -- "--device D" <<<"$help"
for code in 0 1 2; do
  check "aigc --help documents exit code $code" grep -q "^  $code  [a-z]" <<<"$help"
done
# Every command listed prints its own usage, so a new table row is covered.
commands=$(sed -n '/^commands:$/,/^$/s/^  \([a-z][a-z ]*[a-z]\)  .*/\1/p' <<<"$help")
while read -r words; do
  # shellcheck disable=SC2086 # the command's words, split
  expect_help "aigc $words --help" "^usage: aigc \[--device D\] $words" $words --help </dev/null
done <<<"$commands"
expect_help "aigc help" "^commands:" help
expect_help "aigc help train" "^usage: aigc \[--device D\] train classifier" help train
expect_help "aigc train --help" "^usage: aigc \[--device D\] train classifier" train --help
expect_help "aigc help eval classifier" "^usage: aigc \[--device D\] eval classifier" \
  help eval classifier
for option in --data --epochs --batch --lr --seed --out --quiet --help; do
  expect_help "train classifier --help: $option" "^  $option  *[A-Za-z]" train classifier --help
done
for option in --data --checkpoint --help; do
  expect_help "eval classifier --help: $option" "^  $option  *[A-Za-z]" eval classifier --help
done

out=$("$aigc" 2>"$tmp/err"); rc=$?
check "aigc alone exits 2" test $rc -eq 2
check "aigc alone prints the usage on stderr" grep -q '^commands:' "$tmp/err"
check "aigc alone prints nothing on stdout" test -z "$out"

expect_error "unknown command" 2 "unknown command 'frobnicate'" frobnicate
expect_error "unknown model" 2 "unknown model 'vae'" train vae
expect_error "missing model" 2 "a model is needed" eval
expect_error "unknown option" 2 "train classifier: unknown option '--epoch'" \
  train classifier --epoch 3
expect_error "unknown global option" 2 "unknown option '--verbose'" --verbose info
expect_error "unexpected argument" 2 "info: unexpected argument 'extra'" info extra
expect_error "malformed value" 2 "--epochs 'x'" train classifier --epochs x
expect_error "missing value" 2 "--lr needs a value" train classifier --lr
expect_error "help on an unknown command" 2 "unknown command 'frobnicate'" help frobnicate

echo "$fails failed"
exit $((fails > 0))
