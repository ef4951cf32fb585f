# cli_lib.sh - what the command-line test scripts share; source it after
# setting $aigc (the binary under test). Each check prints "ok: ..." or
# "FAILED: ..." and counts failures in $fails; a script ends with
#   echo "$fails failure(s)"; exit $((fails > 0))
fails=0

check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}

# Runs aigc on the CPU expecting it to fail with the given exit status and
# exactly one error line matching the pattern.
expect_exit() { # status, description, pattern, aigc arguments...
  local status=$1 what=$2 pattern=$3; shift 3
  local out rc
  out=$("$aigc" --device cpu "$@" 2>&1 >/dev/null); rc=$?
  echo "  $out"
  check "$what: exit $status" test $rc -eq "$status"
  check "$what: one error line" test "$(grep -c '^aigc: error: ' <<<"$out")" -eq 1
  check "$what: names the problem" grep -q -- "$pattern" <<<"$out"
}
# A runtime error (exit 1) and a usage error (exit 2).
expect_error() { expect_exit 1 "$@"; } # description, pattern, aigc arguments...
expect_usage() { expect_exit 2 "$@"; } # description, pattern, aigc arguments...

# A safetensors file from its JSON header and a data section of n zero bytes.
write_safetensors() { # path, header json, data bytes
  local len=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((len & 255)) \
    $((len >> 8 & 255)) $((len >> 16 & 255)) $((len >> 24 & 255)))" >"$1"
  printf '%s' "$2" >>"$1"
  head -c "$3" /dev/zero >>"$1"
}
