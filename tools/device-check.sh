#!/usr/bin/env bash
# tools/device-check.sh OUTDIR - every check that needs a GPU, in one command.
#
# On a machine with an NVIDIA GPU, the CUDA toolkit and the Debian packages
# of third_party/debian-packages.txt, it reads the GPU's compute capability
# (nvidia-smi), builds for that architecture only in build-device/ with every
# core, runs the gpu tests (ctest -L gpu), `aigc-bench kernels` and
# `aigc-bench graph` on cuda and, where a CUDA-enabled PyTorch imports, their
# PyTorch peers (bench/torch_peer.py, bench/torch_peer_train.py), and
# `aigc-bench pipelines` at GPT-2 small's shape (gpt2-small: 12 layers, 768
# wide, sequence 1024, batch 8), its sampling rows (ddim50: DDIM-50 with
# guidance, a doubled batch, of 256 images; gan: the GAN generator, 256
# images) and its NeRF rows (hashgrid: the encoding of 2^18 points, f16
# table of 2^19 rows a level; nerf-train: training steps; nerf-render: an
# 800x800 frame), each of which runs its PyTorch peer itself (python3; for
# gpt2-small torch.compile where it exists, for the sampling and NeRF rows
# eager and torch.compile) or says why it could not; the sampling and NeRF
# rows' rates and ratios go into the summary. It prints a line per step and
# writes its logs and JSON to OUTDIR:
#   summary.txt  the lines printed     ctest.log    ctest -L gpu
#   info.txt     nvidia-smi, aigc info bench.log    the benchmarks' tables
#   build.log    configure and build   kernels.json, graph.json, pipelines.json,
#   torch.log    the PyTorch peers     ddim50.json, gan.json, nerf.json: their JSON
# Each step runs under its own timeout, cut to what is left of a 9-minute
# budget, so a hung step costs its share and the whole check still ends.
#
# Exit status: 0 every step passed; 1 no GPU here (one line says why, nothing
# is written); 2 bad usage; 3 a step failed, timed out or could not run.
set -euo pipefail

if (($# != 1)); then
  echo "usage: tools/device-check.sh OUTDIR" >&2
  exit 2
fi
out=$(realpath -m -- "$1")
cd "$(dirname "$0")/.."

no_gpu() {
  echo "device-check: no GPU on this machine: $*"
  exit 1
}
command -v nvidia-smi >/dev/null || no_gpu "nvidia-smi not found"
caps=$(timeout 20 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>&1) ||
  no_gpu "nvidia-smi --query-gpu=compute_cap failed: $(head -n1 <<<"$caps")"
cc=$(head -n1 <<<"$caps") # device 0, the one the tests and benchmarks use
[[ $cc =~ ^[0-9]+\.[0-9]+$ ]] || no_gpu "nvidia-smi reports no compute capability: $cc"
arch=${cc/./}

build="build-device"
jobs=$(nproc)
deadline=540 # in SECONDS since the start: 9 minutes, less the time for the summary
failed=0
mkdir -p "$out"
# Truncated, so a step that fails leaves no stale output of an earlier run.
for f in summary.txt info.txt build.log ctest.log bench.log torch.log; do : >"$out/$f"; done
rm -f "$out/kernels.json" "$out/graph.json" "$out/pipelines.json" "$out/ddim50.json" \
  "$out/gan.json" "$out/nerf.json"

report() { # a line of the summary, printed as it happens
  echo "$*" | tee -a "$out/summary.txt"
}

# step NAME CAP LOG COMMAND...: runs COMMAND with its output appended to
# OUTDIR/LOG, for at most CAP seconds and what is left of the budget, and
# reports how it went; returns COMMAND's status.
step() {
  local name=$1 cap=$2 log=$3 start=$SECONDS rc=0
  shift 3
  local limit=$((deadline - SECONDS))
  ((cap < limit)) && limit=$cap
  if ((limit < 5)); then
    report "$(printf '  %-12s not run: the 9-minute budget is spent' "$name")"
    failed=1
    return 1
  fi
  echo "== $name: $*" >>"$out/$log"
  timeout -k 5 "$limit" "$@" >>"$out/$log" 2>&1 || rc=$?
  local result="ok"
  if ((rc == 124 || rc == 137)); then
    result="TIMED OUT after ${limit}s (see $log)"
  elif ((rc != 0)); then
    result="FAILED, exit $rc (see $log)"
  fi
  ((rc == 0)) || failed=1
  report "$(printf '  %-12s %-4s %s' "$name" "$((SECONDS - start))s" "$result")"
  return $rc
}

# rates JSON: a summary line per row of a pipelines report: aigc's items/s
# and PyTorch's, eager and under torch.compile, with aigc's ratio to each
# (the targets for the sampling rows: >= 1.5x eager, >= 1.0x compile; the
# NeRF rows have none: nerf-train's peer skips the march, nerf-render has
# no peer).
rates() {
  python3 - "$1" <<'PY' | while IFS= read -r line; do report "$line"; done
import json, sys
for r in json.load(open(sys.argv[1]))["pipelines"]:
    if "skipped" in r:
        print(f"               {r['name']}: not run: {r['skipped']}")
        continue
    def peer(key, ratio):
        p = r[key]
        if not p["available"]:
            return f"n/a ({p['note']})"
        return f"{p['items_per_s']:.1f}/s, aigc {r[ratio]:.2f}x"
    print(f"               {r['name']}: aigc {r['items_per_s']:.1f} {r['item']}/s; torch eager "
          f"{peer('torch', 'ratio')}; torch.compile {peer('torch_compile', 'ratio_compile')}")
PY
}

not_run() { # NAME WHY
  report "$(printf '  %-12s not run: %s' "$1" "$2")"
  failed=1
}

name=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader | head -n1) || name="GPU 0"
report "device-check: $name, compute capability $cc: sm_$arch in $build/, $jobs cores, logs in $out"
nvidia-smi >>"$out/info.txt" 2>&1 || true
torch_cuda=0
timeout 30 python3 -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1 &&
  torch_cuda=1

if step configure 60 build.log cmake -S . -B "$build" -DAG_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" &&
  step build 240 build.log cmake --build "$build" -j "$jobs"; then
  "$build/tools/aigc" info >>"$out/info.txt" 2>&1 || true
  # A few at a time: each test's CPU reference already uses every core.
  step "ctest -L gpu" 150 ctest.log ctest --test-dir "$build" -L gpu --output-on-failure \
    --no-tests=error --timeout 120 -j 4 || true
  report "               $(grep -E '^[0-9]+% tests passed' "$out/ctest.log" || echo 'no count')"
  # Where nvidia-smi sees a GPU, a gpu test that skips could not reach it.
  if grep -q '\*\*\*Skipped' "$out/ctest.log"; then
    report "               FAILED: gpu tests skipped: $(sed -n 's/^SKIPPED: //p' \
      "$build/Testing/Temporary/LastTest.log" | sort -u | head -n1)"
    failed=1
  fi
  bench=$build/bench/aigc-bench
  step kernels 90 bench.log "$bench" kernels --device cuda --json "$out/kernels.json" || true
  step graph 60 bench.log "$bench" graph --device cuda --json "$out/graph.json" || true
  step pipelines 150 bench.log "$bench" pipelines --device cuda --filter gpt2-small --steps 5 \
    --torch python3 --json "$out/pipelines.json" || true
  # torch.compile compiles the peer's UNet during its warm-up calls.
  step ddim50 150 bench.log "$bench" pipelines --device cuda --filter diffusion --steps 5 \
    --torch python3 --json "$out/ddim50.json" && rates "$out/ddim50.json" || true
  step gan 60 bench.log "$bench" pipelines --device cuda --filter gan --torch python3 \
    --json "$out/gan.json" && rates "$out/gan.json" || true
  step nerf 120 bench.log "$bench" pipelines --device cuda --filter nerf --steps 5 \
    --torch python3 --json "$out/nerf.json" && rates "$out/nerf.json" || true
  if ((torch_cuda)); then
    if [[ -s $out/kernels.json ]]; then
      step torch_peer 60 torch.log python3 bench/torch_peer.py "$out/kernels.json" --device cuda ||
        true
    else
      not_run torch_peer "no kernels.json"
    fi
    if [[ -s $out/graph.json ]]; then
      step torch_train 45 torch.log python3 bench/torch_peer_train.py "$out/graph.json" \
        --device cuda || true
    else
      not_run torch_train "no graph.json"
    fi
  else
    report "  torch peers  skipped: python3 has no CUDA-enabled PyTorch"
  fi
else
  not_run tests "configure or build failed"
fi

if ((failed)); then
  report "device-check: FAILED (see $out)"
  exit 3
fi
report "device-check: all steps passed in ${SECONDS}s"
