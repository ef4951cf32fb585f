/* The tensor-core wrapper self-tests (mma_selftest.cu) on a real GPU
 * (ag_cuda_mma_selftest_*, nvcc) against the emulator (ag_emu_mma_selftest_*)
 * and the CPU references: ldmatrix and cp.async must agree bit for bit, mma
 * within the f32 accumulation bound (tensor cores add in their own order),
 * so a fragment layout the emulator got wrong fails here. Skipped, with the
 * reason, where no device answers (tests/gpu_main.cpp). */
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tests/cuda_emu/device_vec.h"
#include "tests/cuda_emu/mma_selftest_ref.h"

namespace {

#define ASSERT_AG_OK(call) ASSERT_EQ((call), AG_OK) << ag_last_error()

/* Tensor cores truncate their additions: twice the round-to-nearest bound. */
constexpr double kGpuSlack = 2.0;

void check_mma(bool bf16, ag_mma_fragments how, uint32_t seed) {
  const std::vector<float> a = mma_ref::random_values(16 * 16, seed),
                           b = mma_ref::random_values(16 * 8, seed + 1),
                           c = mma_ref::random_values(16 * 8, seed + 2);
  const std::vector<uint16_t> ab = mma_ref::to_bits(a, bf16), bb = mma_ref::to_bits(b, bf16);
  std::vector<float> emu(16 * 8);
  ASSERT_AG_OK(
      ag_emu_mma_selftest_mma(ab.data(), bb.data(), c.data(), emu.data(), bf16, how, nullptr));
  DeviceVec<uint16_t> da(ab), db(bb);
  DeviceVec<float> dc(c), dd((size_t)(16 * 8));
  ASSERT_AG_OK(
      ag_cuda_mma_selftest_mma(da.get(), db.get(), dc.get(), dd.get(), bf16, how, nullptr));
  const std::vector<float> gpu = dd.to_host();
  const mma_ref::Product want = mma_ref::product(a, b, c, 16, 8, 16);
  if (how == AG_MMA_ROWS_SWAPPED) {
    EXPECT_GT(mma_ref::mismatches(gpu, want, kGpuSlack), 100);
    EXPECT_GT(mma_ref::mismatches(emu, want), 100);
  } else {
    EXPECT_EQ(mma_ref::mismatches(gpu, want, kGpuSlack), 0);
    EXPECT_EQ(mma_ref::mismatches(emu, want), 0);
  }
}

TEST(GpuMma, Fragments) {
  for (bool bf16 : {false, true})
    for (ag_mma_fragments how : {AG_MMA_LDMATRIX, AG_MMA_BY_HAND, AG_MMA_ROWS_SWAPPED})
      check_mma(bf16, how, 7u + (unsigned)how);
}

TEST(GpuMma, LdmatrixEveryForm) {
  std::vector<uint16_t> src(32 * 8);
  for (size_t i = 0; i < src.size(); i++) src[i] = (uint16_t)(0x1000 + i * 7);
  std::vector<int> perm(32);
  for (int l = 0; l < 32; l++) perm[(size_t)l] = (l * 13 + 5) % 32;
  DeviceVec<uint16_t> dsrc(src);
  DeviceVec<int> dperm(perm);
  for (int count : {1, 2, 4})
    for (int trans : {0, 1}) {
      std::vector<uint32_t> emu(32 * 4);
      ASSERT_AG_OK(
          ag_emu_mma_selftest_ldmatrix(src.data(), perm.data(), emu.data(), count, trans, nullptr));
      DeviceVec<uint32_t> dout((size_t)(32 * 4));
      ASSERT_AG_OK(ag_cuda_mma_selftest_ldmatrix(dsrc.get(), dperm.get(), dout.get(), count, trans,
                                                 nullptr));
      EXPECT_EQ(dout.to_host(), emu) << "ldmatrix.x" << count << (trans ? ".trans" : "");
      EXPECT_EQ(emu, mma_ref::ldmatrix(src, perm, count, trans != 0));
    }
}

TEST(GpuMma, Tile64) {
  for (bool bf16 : {false, true}) {
    const std::vector<float> a = mma_ref::random_values(64 * 64, 31),
                             b = mma_ref::random_values(64 * 64, 32);
    const std::vector<uint16_t> ab = mma_ref::to_bits(a, bf16), bb = mma_ref::to_bits(b, bf16);
    DeviceVec<uint16_t> da(ab), db(bb);
    DeviceVec<float> dd((size_t)(64 * 64));
    ASSERT_AG_OK(ag_cuda_mma_selftest_tile64(da.get(), db.get(), dd.get(), bf16, nullptr));
    EXPECT_EQ(mma_ref::mismatches(dd.to_host(), mma_ref::product(a, b, {}, 64, 64, 64), kGpuSlack),
              0)
        << (bf16 ? "bf16" : "f16");
  }
}

TEST(GpuMma, CpAsync) {
  std::vector<float> src(256);
  for (size_t i = 0; i < src.size(); i++) src[i] = 1.0f + (float)i;
  DeviceVec<float> dsrc(src);
  for (ag_cp_async_mode mode : {AG_CP_COPY, AG_CP_ZERO_FILL, AG_CP_TWO_GROUPS}) {
    std::vector<float> emu(256, -1.0f);
    ASSERT_AG_OK(ag_emu_mma_selftest_cp_async(src.data(), emu.data(), mode, nullptr));
    DeviceVec<float> dout(std::vector<float>(256, -1.0f));
    ASSERT_AG_OK(ag_cuda_mma_selftest_cp_async(dsrc.get(), dout.get(), mode, nullptr));
    EXPECT_EQ(dout.to_host(), emu) << "mode " << mode;
  }
}

/* ex2.approx is within 2 ulp of the emulator's exp2 on normal results. */
TEST(GpuMma, Exp2) {
  std::vector<float> x;
  for (int i = -1000; i <= 1000; i++) x.push_back((float)i * 0.117f);
  std::vector<float> emu(x.size());
  ASSERT_AG_OK(ag_emu_mma_selftest_exp2(x.data(), emu.data(), (int)x.size(), nullptr));
  DeviceVec<float> dx(x), dy(x.size());
  ASSERT_AG_OK(ag_cuda_mma_selftest_exp2(dx.get(), dy.get(), (int)x.size(), nullptr));
  const std::vector<float> gpu = dy.to_host();
  for (size_t i = 0; i < x.size(); i++) {
    const long long ulps =
        std::llabs((long long)mma_ref::float_bits(gpu[i]) - (long long)mma_ref::float_bits(emu[i]));
    EXPECT_LE(ulps, 2) << "exp2(" << x[i] << "): gpu " << gpu[i] << ", emulator " << emu[i];
  }
}

} /* namespace */
