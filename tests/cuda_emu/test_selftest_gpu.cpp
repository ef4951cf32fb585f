/* The self-test kernels of selftest.cu on a real GPU (ag_cuda_selftest_*,
 * built by nvcc) and in the emulator (ag_emu_selftest_*): both must give
 * identical results, and match the CPU reference. This is what keeps the
 * emulator honest about CUDA semantics. Skipped, with the reason, where no
 * device answers (tests/gpu_main.cpp). */
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/cuda_emu/device_vec.h"
#include "tests/cuda_emu/selftest_ref.h"

namespace {

#define ASSERT_CUDA(call)                                                                         \
  do {                                                                                            \
    const cudaError_t err_ = (call);                                                              \
    ASSERT_EQ(err_, cudaSuccess) << #call << ": " << cudaGetErrorString(err_);                    \
  } while (0)

#define ASSERT_AG_OK(call) ASSERT_EQ((call), AG_OK) << ag_last_error()

TEST(GpuSelftest, BlockSum) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -8, 8, 1);
  const size_t blocks = (size_t)selftest::chunks(n, 256);
  std::vector<float> emu(blocks);
  ASSERT_AG_OK(ag_emu_selftest_block_sum(x.data(), emu.data(), n, nullptr));
  DeviceVec<float> dx(x), dsums(blocks);
  ASSERT_AG_OK(ag_cuda_selftest_block_sum(dx.get(), dsums.get(), n, nullptr));
  EXPECT_EQ(dsums.to_host(), emu);
  EXPECT_EQ(emu, selftest::block_sum(x, 256));
}

TEST(GpuSelftest, Transpose) {
  const int rows = 70, cols = 45;
  const std::vector<float> in = selftest::random_floats(rows * cols, -100, 100, 2);
  std::vector<float> emu(in.size());
  ASSERT_AG_OK(ag_emu_selftest_transpose(in.data(), emu.data(), rows, cols, nullptr));
  DeviceVec<float> din(in), dout(in.size());
  ASSERT_AG_OK(ag_cuda_selftest_transpose(din.get(), dout.get(), rows, cols, nullptr));
  EXPECT_EQ(dout.to_host(), emu);
  EXPECT_EQ(emu, selftest::transpose(in, rows, cols));
}

TEST(GpuSelftest, WarpScan) {
  const int n = 1000;
  const std::vector<int> x = selftest::random_ints(n, -50, 50, 3);
  std::vector<int> emu((size_t)n);
  ASSERT_AG_OK(ag_emu_selftest_warp_scan(x.data(), emu.data(), n, nullptr));
  DeviceVec<int> dx(x), dy((size_t)n);
  ASSERT_AG_OK(ag_cuda_selftest_warp_scan(dx.get(), dy.get(), n, nullptr));
  EXPECT_EQ(dy.to_host(), emu);
  EXPECT_EQ(emu, selftest::warp_scan(x));
}

TEST(GpuSelftest, Histogram) {
  const int n = 10007;
  const std::vector<int> x = selftest::random_ints(n, 0, 1000, 4);
  std::vector<unsigned> emu(AG_SELFTEST_BINS);
  ASSERT_AG_OK(ag_emu_selftest_histogram(x.data(), emu.data(), n, nullptr));
  DeviceVec<int> dx(x);
  DeviceVec<unsigned> dbins(std::vector<unsigned>(AG_SELFTEST_BINS, 12345u));
  ASSERT_AG_OK(ag_cuda_selftest_histogram(dx.get(), dbins.get(), n, nullptr));
  EXPECT_EQ(dbins.to_host(), emu);
  EXPECT_EQ(emu, selftest::histogram(x));
}

TEST(GpuSelftest, Votes) {
  const int n = 1000;
  std::vector<float> x = selftest::random_floats(n, -3, 8, 5);
  for (int i = 0; i < 64; ++i) x[(size_t)i] = 1.0f;
  const size_t warps = (size_t)selftest::chunks(n, 32);
  std::vector<unsigned> ballot(warps);
  std::vector<int> any(warps), all(warps);
  ASSERT_AG_OK(ag_emu_selftest_votes(x.data(), ballot.data(), any.data(), all.data(), n, nullptr));
  DeviceVec<float> dx(x);
  DeviceVec<unsigned> dballot(warps);
  DeviceVec<int> dany(warps), dall(warps);
  ASSERT_AG_OK(
      ag_cuda_selftest_votes(dx.get(), dballot.get(), dany.get(), dall.get(), n, nullptr));
  EXPECT_EQ(dballot.to_host(), ballot);
  EXPECT_EQ(dany.to_host(), any);
  EXPECT_EQ(dall.to_host(), all);
  EXPECT_EQ(ballot, selftest::votes(x).ballot);
}

TEST(GpuSelftest, Butterfly) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -20, 20, 6);
  std::vector<float> sum((size_t)n), max((size_t)n), ref_sum, ref_max;
  ASSERT_AG_OK(ag_emu_selftest_butterfly(x.data(), sum.data(), max.data(), n, nullptr));
  DeviceVec<float> dx(x), dsum((size_t)n), dmax((size_t)n);
  ASSERT_AG_OK(ag_cuda_selftest_butterfly(dx.get(), dsum.get(), dmax.get(), n, nullptr));
  EXPECT_EQ(dsum.to_host(), sum);
  EXPECT_EQ(dmax.to_host(), max);
  selftest::butterfly(x, ref_sum, ref_max);
  EXPECT_EQ(sum, ref_sum);
}

TEST(GpuSelftest, DynamicSharedReverse) {
  const int n = 1000;
  const std::vector<float> x = selftest::random_floats(n, -9, 9, 7);
  for (int block : {1, 96, 1024}) {
    std::vector<float> emu((size_t)n);
    ASSERT_AG_OK(ag_emu_selftest_reverse(x.data(), emu.data(), n, block, nullptr));
    DeviceVec<float> dx(x), dy((size_t)n);
    ASSERT_AG_OK(ag_cuda_selftest_reverse(dx.get(), dy.get(), n, block, nullptr));
    EXPECT_EQ(dy.to_host(), emu) << "block " << block;
    EXPECT_EQ(emu, selftest::reverse_chunks(x, block)) << "block " << block;
  }
}

TEST(GpuSelftest, SyncthreadsCount) {
  const int n = 1000;
  std::vector<float> x = selftest::random_floats(n, -2, 5, 8);
  for (int i = 0; i < 128; ++i) x[(size_t)i] = 1.0f;
  const size_t blocks = (size_t)selftest::chunks(n, 128);
  std::vector<int> count(blocks), all(blocks), any(blocks);
  ASSERT_AG_OK(
      ag_emu_selftest_sync_count(x.data(), count.data(), all.data(), any.data(), n, nullptr));
  DeviceVec<float> dx(x);
  DeviceVec<int> dcount(blocks), dall(blocks), dany(blocks);
  ASSERT_AG_OK(
      ag_cuda_selftest_sync_count(dx.get(), dcount.get(), dall.get(), dany.get(), n, nullptr));
  EXPECT_EQ(dcount.to_host(), count);
  EXPECT_EQ(dall.to_host(), all);
  EXPECT_EQ(dany.to_host(), any);
  EXPECT_EQ(count, selftest::sync_counts(x, 128).count);
}

TEST(GpuSelftest, Index3d) {
  std::vector<unsigned> emu(AG_SELFTEST_INDEX_COUNT);
  ASSERT_AG_OK(ag_emu_selftest_index3d(emu.data(), nullptr));
  DeviceVec<unsigned> dout((size_t)AG_SELFTEST_INDEX_COUNT);
  ASSERT_AG_OK(ag_cuda_selftest_index3d(dout.get(), nullptr));
  EXPECT_EQ(dout.to_host(), emu);
  EXPECT_EQ(emu, selftest::index3d());
}

TEST(GpuSelftest, Rotate1024) {
  const int n = 3000;
  const std::vector<int> x = selftest::random_ints(n, -1000, 1000, 9);
  std::vector<int> emu((size_t)n);
  ASSERT_AG_OK(ag_emu_selftest_rotate(x.data(), emu.data(), n, 5, nullptr));
  DeviceVec<int> dx(x), dy((size_t)n);
  ASSERT_AG_OK(ag_cuda_selftest_rotate(dx.get(), dy.get(), n, 5, nullptr));
  EXPECT_EQ(dy.to_host(), emu);
  EXPECT_EQ(emu, selftest::rotate(x, 5));
}

TEST(GpuSelftest, Saxpy) {
  const int n = 1000000;
  const std::vector<float> x = selftest::random_floats(n, -9, 9, 10);
  std::vector<float> y = selftest::random_floats(n, -9, 9, 11);
  DeviceVec<float> dx(x), dy(y);
  ASSERT_AG_OK(ag_emu_selftest_saxpy(0.5f, x.data(), y.data(), n, nullptr));
  ASSERT_AG_OK(ag_cuda_selftest_saxpy(0.5f, dx.get(), dy.get(), n, nullptr));
  EXPECT_EQ(dy.to_host(), y);
}

} /* namespace */
