/* The self-test kernels of selftest.cu, run by the emulator and compared with
 * the CPU references of selftest_ref.h. Sizes are deliberately not multiples
 * of the block sizes. */
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "tests/cuda_emu/selftest_ref.h"

namespace {

#define ASSERT_EMU_OK(call) ASSERT_EQ((call), AG_OK) << ag_last_error()

TEST(EmuSelftest, BlockSumTreeAndShuffle) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -8, 8, 1);
  std::vector<float> sums((size_t)selftest::chunks(n, 256), -1.0f);
  ASSERT_EMU_OK(ag_emu_selftest_block_sum(x.data(), sums.data(), n, nullptr));
  EXPECT_EQ(sums, selftest::block_sum(x, 256));
}

TEST(EmuSelftest, TiledTransposeWithPaddedStaticTile) {
  const int rows = 70, cols = 45;
  const std::vector<float> in = selftest::random_floats(rows * cols, -100, 100, 2);
  std::vector<float> out(in.size(), -1.0f);
  ASSERT_EMU_OK(ag_emu_selftest_transpose(in.data(), out.data(), rows, cols, nullptr));
  EXPECT_EQ(out, selftest::transpose(in, rows, cols));
}

TEST(EmuSelftest, WarpInclusiveScanWithShflUp) {
  const int n = 1000;
  const std::vector<int> x = selftest::random_ints(n, -50, 50, 3);
  std::vector<int> y((size_t)n, -1);
  ASSERT_EMU_OK(ag_emu_selftest_warp_scan(x.data(), y.data(), n, nullptr));
  EXPECT_EQ(y, selftest::warp_scan(x));
}

TEST(EmuSelftest, AtomicHistogramSharedThenGlobal) {
  const int n = 10007;
  const std::vector<int> x = selftest::random_ints(n, 0, 1000, 4);
  std::vector<unsigned> bins(AG_SELFTEST_BINS, 12345u); /* the launcher zeroes them */
  ASSERT_EMU_OK(ag_emu_selftest_histogram(x.data(), bins.data(), n, nullptr));
  EXPECT_EQ(bins, selftest::histogram(x));
}

TEST(EmuSelftest, BallotAnyAll) {
  const int n = 1000;
  std::vector<float> x = selftest::random_floats(n, -3, 8, 5);
  for (int i = 0; i < 64; ++i) x[(size_t)i] = 1.0f + (float)(i % 3); /* two all-true warps */
  for (int i = 64; i < 96; ++i) x[(size_t)i] = -1.0f;                /* an all-false warp */
  const int warps = selftest::chunks(n, 32);
  std::vector<unsigned> ballot((size_t)warps);
  std::vector<int> any((size_t)warps), all((size_t)warps);
  ASSERT_EMU_OK(ag_emu_selftest_votes(x.data(), ballot.data(), any.data(), all.data(), n, nullptr));
  const selftest::Votes ref = selftest::votes(x);
  EXPECT_EQ(ballot, ref.ballot);
  EXPECT_EQ(any, ref.any);
  EXPECT_EQ(all, ref.all);
  EXPECT_EQ(all[0], 1);
  EXPECT_EQ(any[2], 0);
}

TEST(EmuSelftest, ShflXorButterfly) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -20, 20, 6);
  std::vector<float> sum((size_t)n), max((size_t)n), ref_sum, ref_max;
  ASSERT_EMU_OK(ag_emu_selftest_butterfly(x.data(), sum.data(), max.data(), n, nullptr));
  selftest::butterfly(x, ref_sum, ref_max);
  EXPECT_EQ(sum, ref_sum);
  EXPECT_EQ(max, ref_max);
}

TEST(EmuSelftest, DynamicSharedMemory) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -9, 9, 7);
  for (int block : {1, 96, 1000, 1024}) {
    std::vector<float> y((size_t)n, -1.0f);
    ASSERT_EMU_OK(ag_emu_selftest_reverse(x.data(), y.data(), n, block, nullptr));
    EXPECT_EQ(y, selftest::reverse_chunks(x, block)) << "block " << block;
  }
}

TEST(EmuSelftest, SyncthreadsCountAndOr) {
  const int n = 1000;
  std::vector<float> x = selftest::random_floats(n, -2, 5, 8);
  for (int i = 0; i < 128; ++i) x[(size_t)i] = 1.0f;     /* block 0: all true */
  for (int i = 128; i < 256; ++i) x[(size_t)i] = -1.0f;  /* block 1: all false */
  const int blocks = selftest::chunks(n, 128);
  std::vector<int> count((size_t)blocks), all((size_t)blocks), any((size_t)blocks);
  ASSERT_EMU_OK(
      ag_emu_selftest_sync_count(x.data(), count.data(), all.data(), any.data(), n, nullptr));
  const selftest::SyncCounts ref = selftest::sync_counts(x, 128);
  EXPECT_EQ(count, ref.count);
  EXPECT_EQ(all, ref.all);
  EXPECT_EQ(any, ref.any);
  EXPECT_EQ(all[0], 1);
  EXPECT_EQ(any[1], 0);
}

TEST(EmuSelftest, ThreeDimensionalIndices) {
  std::vector<unsigned> out(AG_SELFTEST_INDEX_COUNT, 0xffffffffu);
  ASSERT_EMU_OK(ag_emu_selftest_index3d(out.data(), nullptr));
  EXPECT_EQ(out, selftest::index3d());
}

TEST(EmuSelftest, FullBlockOf1024ThreadsWithManyBarriers) {
  const int n = 3000; /* two full blocks and a partial one */
  const std::vector<int> x = selftest::random_ints(n, -1000, 1000, 9);
  std::vector<int> y((size_t)n, 0);
  ASSERT_EMU_OK(ag_emu_selftest_rotate(x.data(), y.data(), n, 5, nullptr));
  EXPECT_EQ(y, selftest::rotate(x, 5));
}

TEST(EmuSelftest, MillionThreadsWithoutBarriersAreFast) {
  const int n = 1000000;
  const std::vector<float> x = selftest::random_floats(n, -9, 9, 10);
  std::vector<float> y = selftest::random_floats(n, -9, 9, 11);
  const std::vector<float> ref = selftest::saxpy(0.5f, x, y);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EMU_OK(ag_emu_selftest_saxpy(0.5f, x.data(), y.data(), n, nullptr));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ timing ] emulated launch of %d threads (saxpy, 256 per block): %.3f s\n", n, s);
  EXPECT_EQ(y, ref);
  /* Generous, for sanitizer and debug builds on a busy machine. */
  EXPECT_LT(s, 30.0);
}

} /* namespace */
