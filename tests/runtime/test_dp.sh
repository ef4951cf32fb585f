#!/usr/bin/env bash
# Data-parallel training gives the single-process losses:
#   test_dp.sh path/to/check path/to/mpiexec cpu|emu [check options...]
# `check` trains a model for 20 steps and prints "step <k> loss <x>" on rank
# 0: tests/runtime/dp_check.c (a small MLP) or tests/models/dist_models_check.c
# (GPT, CLIP; the options pick the model). Its losses over 2 ranks, with
# plain DP and with ZeRO-1, must equal those of 1 process within 1e-5
# relative, the losses must fall, and a checkpoint written after step 10
# must resume on the other world size (and the other ZeRO mode) with the
# same losses for steps 10..19. With "emu" everything runs on the emulated
# CUDA backend through the NCCL stand-in instead of MPI on the CPU.
set -u
check=$1 mpiexec=$2 mode=$3
shift 3
extra=("$@")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 AG_DIST_TIMEOUT=60
if [[ $mode == emu ]]; then dev=(--device emu --comm nccl); else dev=(--device cpu --comm mpi); fi
fails=0

run() { # name, ranks, dp_check options...
  local name=$1 np=$2; shift 2
  if ! "$mpiexec" --oversubscribe -np "$np" "$check" "${dev[@]}" "${extra[@]}" "$@" \
    >"$tmp/$name" 2>"$tmp/$name.err"; then
    echo "FAILED: $name did not run:"; cat "$tmp/$name.err"; fails=$((fails + 1))
  fi
}

same() { # description, file a, file b, first step to compare
  local what=$1 a=$2 b=$3 from=$4
  if python3 - "$tmp/$a" "$tmp/$b" "$from" <<'PY'; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
import sys
def read(p):
    return {int(l.split()[1]): float(l.split()[3]) for l in open(p) if l.startswith("step ")}
a, b, first = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
steps = [k for k in sorted(a) if k >= first]
assert steps and all(k in b for k in steps), f"steps {sorted(a)} vs {sorted(b)}"
worst = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-30) for k in steps)
print(f"  {len(steps)} steps from {first}, worst relative difference {worst:.2e}")
sys.exit(0 if worst <= 1e-5 else 1)
PY
}

run one 1
run two 2
run two_zero 2 --zero 1
run one_zero 1 --zero 1
same "2 ranks == 1 process" one two 0
same "2 ranks with ZeRO-1 == 1 process" one two_zero 0
same "ZeRO-1 on 1 rank == plain" one one_zero 0
if python3 -c '
import sys
l = [float(x.split()[3]) for x in open(sys.argv[1])]
print(f"  loss {l[0]:.4f} -> {l[-1]:.4f}")
sys.exit(0 if len(l) == 20 and l[-1] < 0.9 * l[0] else 1)' "$tmp/one"; then
  echo "ok: the loss falls"
else
  echo "FAILED: the loss falls"; fails=$((fails + 1))
fi

# Checkpoints: 2 ranks with ZeRO-1 -> 1 rank plain, and 1 rank -> 2 ranks with ZeRO-1.
run save_two_zero 2 --zero 1 --steps 10 --save "$tmp/zero2.safetensors"
run resume_one 1 --resume "$tmp/zero2.safetensors"
same "a ZeRO-1 checkpoint of 2 ranks resumes on 1" one resume_one 10
run save_one 1 --steps 10 --save "$tmp/one.safetensors"
run resume_two_zero 2 --zero 1 --resume "$tmp/one.safetensors"
same "a 1-rank checkpoint resumes on 2 ranks with ZeRO-1" one resume_two_zero 10

echo "$fails failure(s)"
exit $((fails > 0))
