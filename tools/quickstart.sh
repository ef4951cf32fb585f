#!/usr/bin/env bash
# One-command set-up, build and run on a fresh machine.
#   tools/quickstart.sh demo   build, then run `aigc demo` on the best device
#   tools/quickstart.sh test   build, then run every test through ctest, plus
#                              the emulated CUDA tests again under AddressSanitizer
#                              (and pip-installs the Python peers some tests use)
# Missing Debian packages (third_party/debian-packages.txt) are installed
# when run as root; otherwise the script names them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
jobs=$(nproc)

install_packages() {
  local missing=()
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done <third_party/debian-packages.txt
  ((${#missing[@]} == 0)) && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "quickstart: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "quickstart: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Python packages that interop tests use as peers (the engine never needs
# Python). A machine without them still passes: those tests then skip.
install_test_python() {
  python3 -c 'import safetensors, numpy' 2>/dev/null && return 0
  echo "quickstart: installing Python test peers: safetensors numpy"
  python3 -m pip install -q safetensors numpy ||
    echo "quickstart: could not install safetensors/numpy; interop tests will skip"
}

# The peers that need PyTorch (diffusers' schedulers) in a virtual environment
# over Debian's python3-torch: diffusers 0.30.3 is the newest that runs on
# its PyTorch 1.13, huggingface_hub 0.25 the newest that diffusers imports.
# CMake's AG_PEER_PYTHON points at it; without it those tests skip.
make_peer_venv() {
  local venv=build/peer-venv
  "$venv/bin/python" -c 'import diffusers, torch' 2>/dev/null && return 0
  echo "quickstart: setting up $venv (diffusers 0.30.3 over Debian's PyTorch)"
  { /usr/bin/python3 -m venv --system-site-packages "$venv" &&
    "$venv/bin/pip" install -q diffusers==0.30.3 huggingface_hub==0.25.2; } ||
    echo "quickstart: could not set up $venv; the diffusers comparisons will skip"
}

build() { # build-dir, then extra cmake arguments
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "$mode" in
demo)
  install_packages
  build build
  ./build/tools/aigc demo
  ;;
test)
  install_packages
  install_test_python
  mkdir -p build
  make_peer_venv
  build build
  # One OpenMP thread per test while ctest runs $jobs at once: two tests of
  # two spinning threads each on two cores run 3-20x slower than one after
  # the other (a parallel region waits for its descheduled thread). The op
  # harness's CPU run still uses two threads (tests/ops/CMakeLists.txt).
  export OMP_NUM_THREADS=1
  # Training runs that prove quality (label quality) take long and are run
  # by hand: ctest --test-dir build -L quality
  ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900 -LE quality
  # ctest does not print why a test skipped; the gpu tests skip for this reason.
  ./build/tools/aigc info | sed -n 's/^cuda devices: *none (\(.*\))$/gpu tests skipped: \1/p'
  # The emulated kernels again with AddressSanitizer: an out-of-bounds global
  # or shared-memory access fails here. No nvcc needed for this build. So do
  # the fuzz harnesses' replays of every committed corpus and regression input
  # and the fault-injection sweeps, whose leaks LeakSanitizer reports.
  build build-asan -DAG_CUDA=OFF -DAG_SANITIZE=address
  ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 -L 'emu|fuzz|fault'
  # Every reader fuzzed for 30 s where clang and libFuzzer are installed.
  if command -v clang >/dev/null &&
    compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' >/dev/null; then
    tools/fuzz.sh 30
  else
    echo "quickstart: no clang with libFuzzer (clang, libclang-rt-14-dev); fuzzing skipped"
  fi
  ;;
*)
  echo "usage: tools/quickstart.sh demo|test" >&2
  exit 2
  ;;
esac
