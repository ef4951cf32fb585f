// ag_gpu_main.h - how a test run that needs a CUDA device says there is none.
//
// It prints one line, "SKIPPED: <why>", and exits with AG_TEST_SKIP_CODE,
// which ctest knows as the test's SKIP_RETURN_CODE (tests/CMakeLists.txt)
// and reports as skipped. The skip is decided before any case runs and read
// from the exit code alone, so a run whose cases fail is reported failed,
// whatever it prints. gpu tests get this from their main (tests/gpu_main.cpp);
// the op harness, which also runs on the CPU and the emulator, when its
// environment names the backend it needs (AG_TEST_REQUIRE_BACKEND, see
// tests/ops/test_ops.cpp).
#ifndef AG_GPU_MAIN_H
#define AG_GPU_MAIN_H

#include <cstdio>
#include <cstdlib>
#include <string>

// 77 as in automake; tests/CMakeLists.txt sets the same AG_TEST_SKIP_CODE.
#define AG_TEST_SKIP_CODE 77

[[noreturn]] inline void ag_test_skip_run(const std::string &why) {
  std::printf("SKIPPED: %s\n", why.c_str());
  std::fflush(stdout);
  std::exit(AG_TEST_SKIP_CODE);
}

#endif
