#!/usr/bin/env bash
# Failure is never a hang: a rank that skips a collective makes its peer
# fail within the timeout with one clear line, the launcher stops the rest,
# and nothing waits in MPI_Finalize. Usage: test_dist_timeout.sh MPIEXEC PROGRAM
set -u
mpiexec=$1
prog=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
timeout_s=2
failed=0

fail() {
  echo "FAIL: $*"
  failed=1
}

# run BACKEND MODE: sets out, rc and secs (whole seconds the job took).
run() {
  local start=$SECONDS
  out=$(timeout 60 "$mpiexec" --oversubscribe -np 2 "$prog" "$1" "$2" "$timeout_s" 2>&1)
  rc=$?
  secs=$((SECONDS - start))
  printf -- '--- %s %s: exit %d after %d s\n%s\n' "$1" "$2" "$rc" "$secs" "$out"
}

has() { grep -qF -- "$1" <<<"$out"; }

rank0_line="aigc: error: dist: all-reduce (rank 0 of 2) did not complete within 2 s: a rank died or stopped calling collectives"

for backend in cpu emu; do
  run $backend ok
  [[ $rc == 0 ]] || fail "$backend ok: exit $rc"
  has "rank 0: all-reduce 3, closed" && has "rank 1: all-reduce 3, closed" ||
    fail "$backend ok: sums"

  run $backend skip
  [[ $rc != 0 && $rc != 124 ]] || fail "$backend skip: exit $rc (0: no error; 124: hung)"
  has "$rank0_line" || fail "$backend skip: rank 0's timeout line"
  has "aigc: error: dist: rank 1: stopped by the launcher (another rank failed)" ||
    fail "$backend skip: rank 1's SIGTERM line"
  ((secs < 20)) || fail "$backend skip: took $secs s (rank 1 sleeps 60: it was not stopped)"
done

run cpu close
[[ $rc != 0 && $rc != 124 ]] || fail "close: exit $rc (0: no error; 124: hung)"
has "$rank0_line" || fail "close: rank 0's timeout line"
((secs < 20)) || fail "close: took $secs s"

exit $failed
