#!/usr/bin/env bash
# Fuzzes every reader with libFuzzer (harnesses in tests/fuzz/).
#   tools/fuzz.sh [SECONDS] [HARNESS...]   each harness SECONDS (30) long,
#                                          all of them when none is named
# Builds build-fuzz/ (clang, ASan + UBSan, AG_FUZZ=ON; AG_FUZZ_BUILD names
# another directory) when needed, then runs the harnesses two at a time over
# a copy of their corpus and regressions (the committed inputs stay as they
# are) and prints the executions of each. On a crash, leak or timeout it
# exits 1 and names the input left in build-fuzz/crashes/<harness>/: copy it
# to tests/fuzz/regressions/<harness>/ and ctest -L fuzz replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(safetensors idx png config scene job cli)
seconds=${1:-30}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS '$seconds': a positive integer expected" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
harnesses=("$@")
((${#harnesses[@]})) || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz.sh: unknown harness '$h' (${all[*]})" >&2; exit 2; }
done

dir=${AG_FUZZ_BUILD:-build-fuzz}
if [[ ! -f $dir/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$dir" -DAG_CUDA=OFF -DAG_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# The compiler's notes (clang's missed vectorisations) go to the log, which
# is shown only when the build fails.
cmake --build "$dir" -j "$(nproc)" --target fuzzers >"$dir/build.log" 2>&1 ||
  { tail -30 "$dir/build.log" >&2; echo "fuzz.sh: build failed ($dir/build.log)" >&2; exit 1; }

# One harness: its corpus copied (new inputs found go there), libFuzzer's log
# kept, the crash input under crashes/<harness>/.
fuzz_one() {
  local h=$1 work=$dir/fuzz-work/$1 crashes=$dir/crashes/$1
  rm -rf "$work" && mkdir -p "$work/corpus" "$crashes"
  cp tests/fuzz/corpus/"$h"/* "$work/corpus/"
  if [[ -d tests/fuzz/regressions/$h ]]; then cp tests/fuzz/regressions/"$h"/* "$work/corpus/" 2>/dev/null || true; fi
  OMP_NUM_THREADS=1 "$dir/tests/fuzz/fuzz_$h" "$work/corpus" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
    >"$work/log" 2>&1
}

report() { # harness, exit status
  local h=$1 rc=$2 log=$dir/fuzz-work/$1/log
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if ((rc == 0)); then
    printf 'fuzz %-12s ok: %s executions in %s s\n' "$h" "${execs:-?}" "$seconds"
    return 0
  fi
  printf 'fuzz %-12s FAILED after %s executions: %s\n' "$h" "${execs:-?}" \
    "$(grep -m1 -E '^SUMMARY|ERROR: libFuzzer|runtime error' "$log" || tail -1 "$log")"
  grep -m1 -o 'Test unit written to .*' "$log" | sed 's/^/    /' || true
  echo "    log: $log"
  return 1
}

failed=0
for ((i = 0; i < ${#harnesses[@]}; i += 2)); do
  pair=("${harnesses[@]:i:2}")
  pids=()
  for h in "${pair[@]}"; do fuzz_one "$h" & pids+=($!); done
  for k in "${!pair[@]}"; do
    rc=0
    wait "${pids[k]}" || rc=$?
    report "${pair[k]}" "$rc" || failed=1
  done
done
exit "$failed"
