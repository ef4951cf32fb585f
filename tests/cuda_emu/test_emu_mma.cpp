/* The emulated tensor-core wrappers (kernels/cuda/ag_cuda_mma.h on
 * kernels/emu/ag_emu_mma.h) against CPU references: mma.sync with ldmatrix
 * and hand-built fragments, every ldmatrix form, a 64 x 64 x 64 tile product,
 * cp.async groups, and the misuse the emulator must report, including the two
 * mutations the checks exist for: a wrong lane mapping and a missing wait. */
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/cuda_emu/mma_selftest_ref.h"

namespace {

#define ASSERT_AG_OK(call) ASSERT_EQ((call), AG_OK) << ag_last_error()

struct MmaCase {
  std::vector<float> a, b, c;
  std::vector<uint16_t> a_bits, b_bits;
};

MmaCase mma_case(bool bf16, uint32_t seed) {
  MmaCase k{mma_ref::random_values(16 * 16, seed),
            mma_ref::random_values(16 * 8, seed + 1),
            mma_ref::random_values(16 * 8, seed + 2),
            {},
            {}};
  k.a_bits = mma_ref::to_bits(k.a, bf16);
  k.b_bits = mma_ref::to_bits(k.b, bf16);
  return k;
}

/* The emulated mma with fragments built as `how`: how many of the 128
 * outputs miss the double-precision product. */
int mma_mismatches(bool bf16, ag_mma_fragments how, uint32_t seed) {
  const MmaCase k = mma_case(bf16, seed);
  std::vector<float> d(16 * 8, -1.0f);
  EXPECT_EQ(ag_emu_mma_selftest_mma(k.a_bits.data(), k.b_bits.data(), k.c.data(), d.data(), bf16,
                                    how, nullptr),
            AG_OK)
      << ag_last_error();
  return mma_ref::mismatches(d, mma_ref::product(k.a, k.b, k.c, 16, 8, 16));
}

TEST(EmuMma, LdmatrixFragmentsF16) {
  for (uint32_t seed = 1; seed <= 4; seed++)
    EXPECT_EQ(mma_mismatches(false, AG_MMA_LDMATRIX, seed), 0);
}

TEST(EmuMma, LdmatrixFragmentsBf16) {
  for (uint32_t seed = 1; seed <= 4; seed++)
    EXPECT_EQ(mma_mismatches(true, AG_MMA_LDMATRIX, seed), 0);
}

TEST(EmuMma, HandBuiltFragments) {
  EXPECT_EQ(mma_mismatches(false, AG_MMA_BY_HAND, 11), 0);
  EXPECT_EQ(mma_mismatches(true, AG_MMA_BY_HAND, 12), 0);
}

/* Mutation (a): A's rows g and g + 8 swapped gives a wrong product: rows
 * 0-7 and 8-15 of D trade places, so nearly every element misses. */
TEST(EmuMma, WrongLaneMappingIsCaught) {
  EXPECT_GT(mma_mismatches(false, AG_MMA_ROWS_SWAPPED, 21), 100);
  EXPECT_GT(mma_mismatches(true, AG_MMA_ROWS_SWAPPED, 22), 100);
}

/* Subnormal, infinite and NaN f16 inputs decode as f16 defines them: A is
 * diagonal with such values, B the identity (k = n) padded with zeros, so
 * D = diag(A) + 0 exactly, with inf * 0 = NaN off the diagonal of an
 * infinite row. */
TEST(EmuMma, SpecialF16Values) {
  const uint16_t diag[8] = {0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8001, 0x3c00, 0x0400};
  std::vector<uint16_t> a(16 * 16, 0), b(16 * 8, 0);
  for (int i = 0; i < 8; i++) {
    a[(size_t)(i * 16 + i)] = diag[i];
    b[(size_t)(i * 8 + i)] = 0x3c00; /* 1.0 */
  }
  const std::vector<float> c(16 * 8, 0.0f);
  std::vector<float> d(16 * 8, -1.0f);
  ASSERT_AG_OK(
      ag_emu_mma_selftest_mma(a.data(), b.data(), c.data(), d.data(), 0, AG_MMA_LDMATRIX, nullptr));
  for (int r = 0; r < 16; r++)
    for (int n = 0; n < 8; n++) {
      double want = 0.0;
      for (int k = 0; k < 16; k++)
        want += (double)mma_ref::f16_value(a[(size_t)(r * 16 + k)]) *
                mma_ref::f16_value(b[(size_t)(k * 8 + n)]);
      const float got = d[(size_t)(r * 8 + n)];
      if (std::isnan(want))
        EXPECT_TRUE(std::isnan(got)) << r << "," << n;
      else
        EXPECT_EQ(got, (float)want) << r << "," << n;
    }
  EXPECT_EQ(d[0], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(d[2 * 8 + 2]) && d[2 * 8 + 2] > 0);
}

/* Row addresses in a scrambled order, so each lane's address matters. */
std::vector<int> scrambled_rows() {
  std::vector<int> perm(32);
  for (int l = 0; l < 32; l++) perm[(size_t)l] = (l * 13 + 5) % 32;
  return perm;
}

TEST(EmuMma, LdmatrixEveryForm) {
  std::vector<uint16_t> src(32 * 8);
  for (size_t i = 0; i < src.size(); i++) src[i] = (uint16_t)(0x1000 + i * 7);
  const std::vector<int> perm = scrambled_rows();
  for (int count : {1, 2, 4})
    for (int trans : {0, 1}) {
      std::vector<uint32_t> out(32 * 4, 0xdeadbeefu);
      ASSERT_AG_OK(
          ag_emu_mma_selftest_ldmatrix(src.data(), perm.data(), out.data(), count, trans, nullptr));
      EXPECT_EQ(out, mma_ref::ldmatrix(src, perm, count, trans != 0))
          << "ldmatrix.x" << count << (trans ? ".trans" : "");
    }
}

void check_tile64(bool bf16) {
  const std::vector<float> a = mma_ref::random_values(64 * 64, 31),
                           b = mma_ref::random_values(64 * 64, 32);
  const std::vector<uint16_t> ab = mma_ref::to_bits(a, bf16), bb = mma_ref::to_bits(b, bf16);
  std::vector<float> d(64 * 64, -1.0f);
  ASSERT_AG_OK(ag_emu_mma_selftest_tile64(ab.data(), bb.data(), d.data(), bf16, nullptr));
  EXPECT_EQ(mma_ref::mismatches(d, mma_ref::product(a, b, {}, 64, 64, 64)), 0);
}

TEST(EmuMma, Tile64F16) { check_tile64(false); }
TEST(EmuMma, Tile64Bf16) { check_tile64(true); }

/* ---- cp.async ---------------------------------------------------------------- */

std::vector<float> cp_source() {
  std::vector<float> src(256);
  for (size_t i = 0; i < src.size(); i++) src[i] = 1.0f + (float)i;
  return src;
}

TEST(EmuMma, CpAsyncCopyThenWait) {
  const std::vector<float> src = cp_source();
  std::vector<float> out(256, -1.0f);
  ASSERT_AG_OK(ag_emu_mma_selftest_cp_async(src.data(), out.data(), AG_CP_COPY, nullptr));
  for (int i = 0; i < 128; i++) EXPECT_EQ(out[(size_t)i], src[(size_t)((i + 4) % 128)]) << i;
}

TEST(EmuMma, CpAsyncInvalidZeroFills) {
  const std::vector<float> src = cp_source();
  std::vector<float> out(256, -1.0f);
  ASSERT_AG_OK(ag_emu_mma_selftest_cp_async(src.data(), out.data(), AG_CP_ZERO_FILL, nullptr));
  /* Thread t shows thread t + 1's chunk; odd threads issued theirs invalid. */
  for (int i = 0; i < 128; i++) {
    const int owner = (i / 4 + 1) % 32;
    EXPECT_EQ(out[(size_t)i], owner % 2 ? 0.0f : src[(size_t)(4 * owner + i % 4)]) << i;
  }
}

TEST(EmuMma, CpAsyncTwoGroups) {
  const std::vector<float> src = cp_source();
  std::vector<float> out(256, -1.0f);
  ASSERT_AG_OK(ag_emu_mma_selftest_cp_async(src.data(), out.data(), AG_CP_TWO_GROUPS, nullptr));
  EXPECT_EQ(out, src);
}

/* wait<1> leaves the second group in flight: reading it is reported by the
 * race detector where it is compiled in, and shows the poison otherwise. */
TEST(EmuMma, CpAsyncWaitOneLandsOnlyTheFirstGroup) {
  const std::vector<float> src = cp_source();
  std::vector<float> out(256, -1.0f);
  const ag_status st = ag_emu_mma_selftest_cp_async(src.data(), out.data(), AG_CP_PEEK, nullptr);
  if (st != AG_OK) {
    EXPECT_NE(std::string(ag_last_error()).find("before cp.async.wait_group"), std::string::npos)
        << ag_last_error();
    return;
  }
  for (int i = 0; i < 128; i++) EXPECT_EQ(out[(size_t)i], src[(size_t)i]) << i;
  for (int i = 128; i < 256; i++) EXPECT_EQ(mma_ref::float_bits(out[(size_t)i]), 0xffffffffu) << i;
}

/* Mutation (b): the wait is missing. The read sees in-flight copies (the race
 * detector's report) or, without the detector, the block ends with them. */
TEST(EmuMma, MissingWaitIsCaught) {
  const std::vector<float> src = cp_source();
  std::vector<float> out(256, -1.0f);
  EXPECT_NE(ag_emu_mma_selftest_cp_async(src.data(), out.data(), AG_CP_NO_WAIT, nullptr), AG_OK);
  const std::string msg = ag_last_error();
  EXPECT_TRUE(msg.find("before cp.async.wait_group") != std::string::npos ||
              msg.find("never waited on") != std::string::npos)
      << msg;
}

/* ---- misuse ------------------------------------------------------------------------ */

std::string misuse_error(ag_mma_misuse misuse) {
  std::vector<uint16_t> buf(512);
  if (ag_emu_mma_selftest_misuse(misuse, buf.data(), nullptr) == AG_OK) return "launch succeeded";
  return ag_last_error();
}

#define EXPECT_CONTAINS(haystack, needle)                                                          \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(EmuMma, DivergentMmaIsALaunchError) {
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_DIVERGENT_MMA), "warp collective can never complete");
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_SPLIT_MMA),
                  "reach different warp-synchronous instructions");
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_PARTIAL_WARP), "needs all 32 lanes of a warp");
}

TEST(EmuMma, BadOperandAddressesAreLaunchErrors) {
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_LDMATRIX_UNALIGNED), "is not 16-byte aligned");
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_LDMATRIX_GLOBAL), "is not in shared memory");
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_CP_ASYNC_GLOBAL), "cp.async destination");
  EXPECT_CONTAINS(misuse_error(AG_MISUSE_CP_ASYNC_GLOBAL), "is not in shared memory");
}

TEST(EmuMma, Exp2) {
  const std::vector<float> x = {-126.5f, -3.25f, -1.0f, 0.0f, 0.5f, 1.0f, 7.75f, 100.0f};
  std::vector<float> y(x.size());
  ASSERT_AG_OK(ag_emu_mma_selftest_exp2(x.data(), y.data(), (int)x.size(), nullptr));
  for (size_t i = 0; i < x.size(); i++) EXPECT_EQ(y[i], std::exp2(x[i])) << x[i];
}

} /* namespace */
