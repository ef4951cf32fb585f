#!/usr/bin/env bash
# A rank that dies mid-run stops the job, never hangs it:
#   test_dist_kill.sh path/to/aigc path/to/mpiexec text-file
# Two ranks train a GPT; once both are training, rank 1 is killed (SIGKILL).
# The surviving rank must exit non-zero within 60 s with one clear line,
# either its own (a collective timing out) or the one it prints when the
# launcher stops it, and the checkpoint must not exist (it is written only
# at the end, atomically).
set -u
aigc=$1 mpiexec=$2 text=$3
tmp=$(mktemp -d)
trap 'kill -9 $job 2>/dev/null; rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export AG_DIST_TIMEOUT=20
. "$(dirname "$0")/cli_lib.sh"
"$mpiexec" --oversubscribe -np 2 "$aigc" --device cpu train gpt --text "$text" --steps 100000 \
  --layers 1 --width 32 --heads 2 --seq 32 --batch 4 --out "$tmp/gpt.safetensors" \
  >"$tmp/out" 2>"$tmp/err" &
job=$!

# The rank processes are the launcher's children; rank 1 is the one whose
# environment says so. Wait until both have trained a while.
rank1=""
for _ in $(seq 100); do
  sleep 0.2
  for pid in $(pgrep -P "$job"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then
      rank1=$pid
    fi
  done
  [[ -n $rank1 ]] && break
done
check "found rank 1" test -n "$rank1"
sleep 5
start=$(date +%s)
kill -9 "$rank1"
for _ in $(seq 600); do
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
wait "$job"; rc=$?
elapsed=$(($(date +%s) - start))
echo "  launcher exit $rc after ${elapsed} s; rank 0 said:"
sed 's/^/    /' "$tmp/err" | grep -v '^    train gpt' | head -20
check "the job exits non-zero" test $rc -ne 0
check "within 60 s" test $elapsed -le 60
check "rank 0 says why in one aigc line" \
  grep -qE '^aigc: error: (dist: rank 0: stopped by the launcher|.*did not complete within)' "$tmp/err"
check "no checkpoint half-written" test ! -e "$tmp/gpt.safetensors"
check "no temporary file left" test -z "$(ls "$tmp" | grep -v '^out$\|^err$')"
echo "$fails failure(s)"
exit $((fails > 0))
