#!/usr/bin/env bash
# The CLI starts everywhere, reports its device choice, and fails cleanly:
#   test_cli.sh path/to/aigc
set -u
aigc=$1
fails=0
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}

info=$("$aigc" info 2>&1); rc=$?
echo "$info"
check "aigc info exits 0" test $rc -eq 0
check "aigc info names the device" grep -q '^device: ' <<<"$info"

if grep -q '^cuda devices: *none' <<<"$info"; then
  check "auto falls back to cpu with a reason" grep -q '^device: *cpu (auto: using cpu because' <<<"$info"
  out=$("$aigc" --device cuda info 2>&1); rc=$?
  echo "$out" | tail -n 1
  check "--device cuda without a device exits non-zero" test $rc -ne 0
  check "--device cuda prints one clear error" grep -q '^aigc: error: .*CUDA' <<<"$out"
fi

out=$("$aigc" --device tpu info 2>&1); rc=$?
check "unknown device exits non-zero" test $rc -ne 0
check "unknown device is named" grep -q "unknown device 'tpu'" <<<"$out"

out=$(AG_DEVICE=cpu "$aigc" info 2>&1)
check "AG_DEVICE=cpu selects cpu" grep -q '^device: *cpu$' <<<"$out"

out=$("$aigc" frobnicate 2>&1); rc=$?
check "unknown command prints usage" test $rc -eq 2

echo "$fails failed"
exit $((fails > 0))
