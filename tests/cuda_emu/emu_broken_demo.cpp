/* emu_broken_demo - runs one deliberately broken kernel of broken.cu in the
 * emulator and says whether the bug was caught:
 *
 *   emu_broken_demo missing-sync        (a) wrong result vs the CPU reference
 *   emu_broken_demo off-by-one          (b) static __shared__ tile: ASan report
 *                                           (sanitizer build) or wrong result
 *   emu_broken_demo off-by-one-dynamic  (b) dynamic shared memory: ASan report
 *                                           or guard-byte launch error
 *   emu_broken_demo off-by-one-global   (b) global buffer: ASan report only
 *   emu_broken_demo divergent-barrier   (c) launch error
 *   emu_broken_demo race                (d) a race that leaves the result right:
 *                                           the race detector's launch error
 *   emu_broken_demo block-order         (f) wrong result when blocks run in
 *                                           another order (AG_EMU_BLOCK_ORDER)
 *
 * Exits 1 when the bug was caught ("CAUGHT: ..." or an AddressSanitizer
 * report, which aborts the program), 0 when it went unnoticed, 2 on bad usage.
 * ctest runs each mode and matches the detection message. */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "tests/cuda_emu/broken.h"

namespace {

const int kN = 1000; /* not a multiple of the block size */

/* Compares with the reference; prints the first difference. */
int report_result(const char *mode, const char *what, const std::vector<float> &got,
                  const std::vector<float> &want) {
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i] && bad++ == 0) first = i;
  if (bad == 0) {
    std::printf("%s: NOT CAUGHT: %s matches the CPU reference\n", mode, what);
    return 0;
  }
  std::printf("%s: CAUGHT: wrong result: %zu of %zu %s differ from the CPU reference; "
              "first at [%zu]: emulated %g, reference %g\n",
              mode, bad, got.size(), what, first, (double)got[first], (double)want[first]);
  return 1;
}

/* For kernels whose launch should fail. */
int report_launch(const char *mode, ag_status st) {
  if (st == AG_OK) {
    std::printf("%s: NOT CAUGHT: the launch succeeded\n", mode);
    return 0;
  }
  std::printf("%s: CAUGHT: launch error (%s): %s\n", mode, ag_status_name(st), ag_last_error());
  return 1;
}

int missing_sync(const char *mode) {
  /* Threads start first to last (the default): in the reverse order every
   * read of this tree reduction would follow its write. */
  unsetenv("AG_EMU_THREAD_ORDER");
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> sums(broken::block_sums(x).size());
  const ag_status st = ag_emu_broken_block_sum_missing_sync(x.data(), sums.data(), kN, nullptr);
  if (st != AG_OK) return report_launch(mode, st);
  return report_result(mode, "block sums", sums, broken::block_sums(x));
}

int off_by_one(const char *mode, bool dynamic) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> y((size_t)kN);
  const ag_status st = dynamic ? ag_emu_broken_stencil_dynamic(x.data(), y.data(), kN, nullptr)
                               : ag_emu_broken_stencil_static(x.data(), y.data(), kN, nullptr);
  if (st != AG_OK) return report_launch(mode, st);
  return report_result(mode, "stencil outputs", y, broken::stencil(x));
}

int off_by_one_global(const char *mode) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> y((size_t)kN); /* exactly n: y[n] is out of bounds */
  const ag_status st = ag_emu_broken_scale_global(x.data(), y.data(), kN, nullptr);
  if (st != AG_OK) return report_launch(mode, st);
  std::printf("%s: NOT CAUGHT: only AddressSanitizer sees the write to y[n]\n", mode);
  return 0;
}

int divergent_barrier(const char *mode) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> sums(broken::block_sums(x).size());
  return report_launch(mode,
                       ag_emu_broken_block_sum_divergent(x.data(), sums.data(), kN, nullptr));
}

int race(const char *mode) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> y((size_t)kN);
  const ag_status st = ag_emu_broken_neighbour_sum_racy(x.data(), y.data(), kN, nullptr);
  if (st != AG_OK) return report_launch(mode, st);
  return report_result(mode, "neighbour sums", y, broken::neighbour_sums(x));
}

int block_order(const char *mode) {
  const std::vector<float> x = broken::inputs(kN);
  const std::vector<float> sums = broken::block_sums(x);
  std::vector<float> partial(sums.size(), 0.0f), total(1, 0.0f);
  float want = 0.0f;
  for (const float s : sums) want += s;
  const ag_status st =
      ag_emu_broken_sum_in_last_block(x.data(), partial.data(), total.data(), kN, nullptr);
  if (st != AG_OK) return report_launch(mode, st);
  return report_result(mode, "grid sum", total, std::vector<float>{want});
}

} /* namespace */

int main(int argc, char **argv) {
  const char *mode = argc == 2 ? argv[1] : "";
  if (!std::strcmp(mode, "missing-sync")) return missing_sync(mode);
  if (!std::strcmp(mode, "off-by-one")) return off_by_one(mode, false);
  if (!std::strcmp(mode, "off-by-one-dynamic")) return off_by_one(mode, true);
  if (!std::strcmp(mode, "off-by-one-global")) return off_by_one_global(mode);
  if (!std::strcmp(mode, "divergent-barrier")) return divergent_barrier(mode);
  if (!std::strcmp(mode, "race")) return race(mode);
  if (!std::strcmp(mode, "block-order")) return block_order(mode);
  std::fprintf(stderr,
               "usage: emu_broken_demo missing-sync | off-by-one | off-by-one-dynamic | "
               "off-by-one-global | divergent-barrier | race | block-order\n");
  return 2;
}
