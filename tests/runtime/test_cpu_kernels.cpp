// Promises of the vectorised CPU kernels that the op harness does not reach:
// optimizer steps give the same bits in place (outputs aliasing inputs) as
// out of place, the LayerNorm affine gradients do not depend on the thread
// count, and long sums keep their pairwise accuracy. Sizes are not multiples
// of the kernels' blocks or chunks, so partial blocks are covered.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/common/ag_bf16.h"
#include "kernels/common/ag_kernels.h"

namespace {

constexpr int64_t kN = 2 * 16384 + 77;  // two chunks and a ragged third

// n values of dtype dt (raw bytes) from the normal fill.
std::vector<uint8_t> normal_values(ag_dtype dt, int64_t n, uint64_t seed, float mean, float std) {
  std::vector<uint8_t> v((size_t)n * ag_dtype_size(dt));
  EXPECT_EQ(ag_cpu_fill_normal(dt, v.data(), n, seed, 0, mean, std, nullptr), AG_OK)
      << ag_last_error();
  return v;
}

// Runs f with the given number of OpenMP threads.
template <class F> void with_threads(int threads, F f) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  f();
  omp_set_num_threads(saved);
}

class InPlace : public ::testing::TestWithParam<ag_dtype> {};

TEST_P(InPlace, AdamwMatchesOutOfPlace) {
  const ag_dtype dt = GetParam();
  std::vector<uint8_t> p = normal_values(dt, kN, 1, 0.0f, 1.0f),
                       g = normal_values(dt, kN, 2, 0.0f, 1.0f),
                       m = normal_values(dt, kN, 3, 0.0f, 0.1f),
                       v = normal_values(dt, kN, 4, 1.0f, 0.1f);
  std::vector<uint8_t> p2(p.size()), m2(m.size()), v2(v.size());
  const ag_adamw_coef coef = ag_adamw_coef_make(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
  ASSERT_EQ(ag_cpu_adamw(dt, p.data(), g.data(), m.data(), v.data(), p2.data(), m2.data(),
                         v2.data(), kN, coef, nullptr),
            AG_OK);
  ASSERT_EQ(ag_cpu_adamw(dt, p.data(), g.data(), m.data(), v.data(), p.data(), m.data(), v.data(),
                         kN, coef, nullptr),
            AG_OK);
  EXPECT_EQ(p, p2);
  EXPECT_EQ(m, m2);
  EXPECT_EQ(v, v2);
}

TEST_P(InPlace, SgdMatchesOutOfPlace) {
  const ag_dtype dt = GetParam();
  std::vector<uint8_t> p = normal_values(dt, kN, 5, 0.0f, 1.0f),
                       g = normal_values(dt, kN, 6, 0.0f, 1.0f),
                       buf = normal_values(dt, kN, 7, 0.0f, 1.0f);
  std::vector<uint8_t> p2(p.size()), buf2(buf.size());
  const ag_sgd_coef coef = {0.1f, 0.9f, 1e-4f, 0.0f, 1, 0};
  ASSERT_EQ(ag_cpu_sgd(dt, p.data(), g.data(), buf.data(), p2.data(), buf2.data(), kN, coef,
                       nullptr),
            AG_OK);
  ASSERT_EQ(ag_cpu_sgd(dt, p.data(), g.data(), buf.data(), p.data(), buf.data(), kN, coef,
                       nullptr),
            AG_OK);
  EXPECT_EQ(p, p2);
  EXPECT_EQ(buf, buf2);
}

TEST_P(InPlace, ClipScaleMatchesOutOfPlace) {
  const ag_dtype dt = GetParam();
  std::vector<uint8_t> g = normal_values(dt, kN, 8, 0.0f, 1.0f), g2(g.size());
  const float sq_total = 4.0f * (float)kN;
  ASSERT_EQ(ag_cpu_clip_scale(dt, g.data(), &sq_total, 1.0f, g2.data(), kN, nullptr), AG_OK);
  ASSERT_EQ(ag_cpu_clip_scale(dt, g.data(), &sq_total, 1.0f, g.data(), kN, nullptr), AG_OK);
  EXPECT_EQ(g, g2);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, InPlace, ::testing::Values(AG_F32, AG_BF16, AG_F16),
                         [](const ::testing::TestParamInfo<ag_dtype> &info) {
                           return std::string(ag_dtype_name(info.param));
                         });

TEST(NormAffineBackward, SameBitsOnAnyThreadCount) {
  const int64_t rows = 1003, cols = 257;
  std::vector<uint8_t> x = normal_values(AG_BF16, rows * cols, 9, 0.5f, 2.0f),
                       dy = normal_values(AG_BF16, rows * cols, 10, 0.0f, 1.0f);
  std::vector<float> mean(rows), rstd(rows);
  for (int64_t r = 0; r < rows; r++) {
    mean[r] = 0.01f * (float)(r % 7);
    rstd[r] = 1.0f + 0.001f * (float)r;
  }
  std::vector<uint16_t> dw[2], db[2];
  const int threads[2] = {1, 3};
  for (int k = 0; k < 2; k++) {
    dw[k].resize(cols);
    db[k].resize(cols);
    with_threads(threads[k], [&] {
      ASSERT_EQ(ag_cpu_norm_affine_backward(AG_BF16, x.data(), dy.data(), mean.data(),
                                            rstd.data(), dw[k].data(), db[k].data(), rows, cols, 1,
                                            1, nullptr),
                AG_OK);
    });
  }
  EXPECT_EQ(dw[0], dw[1]);
  EXPECT_EQ(db[0], db[1]);
}

// A million ones and tenths: a sequential f32 sum is off by 6e-3 relative;
// the pairwise sum of lane partials stays within a few ulps (1.6e-7).
TEST(ReduceAxis, LongContiguousSumIsAccurate) {
  const int64_t n = 1000003;
  std::vector<float> x((size_t)n);
  double want = 0.0;
  for (int64_t i = 0; i < n; i++) {
    x[(size_t)i] = i % 10 == 0 ? 1.0f : 0.1f;
    want += (double)x[(size_t)i];
  }
  float got = 0.0f;
  ASSERT_EQ(ag_cpu_reduce_axis(AG_F32, AG_REDUCE_SUM, x.data(), &got, 1, n, 1, nullptr), AG_OK);
  EXPECT_NEAR(got, want, 4e-7 * want);
}

}  // namespace
