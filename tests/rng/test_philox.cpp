// CPU tests of the Philox4x32-10 stream (kernels/common/ag_philox.h) and of the
// CPU fills (kernels/cpu/random.c): published known answers, the stream
// definition, offset consistency, statistics of the uniform and normal
// transforms, and the accuracy of the exact-arithmetic log and sincos against
// double-precision libm (exhaustive over every input the transforms receive).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/common/ag_bf16.h"
#include "kernels/common/ag_philox.h"
#include "kernels/common/ag_kernels.h"

namespace {

const double kPi = 3.14159265358979323846;

ag_philox4 make4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  ag_philox4 x;
  x.v[0] = a;
  x.v[1] = b;
  x.v[2] = c;
  x.v[3] = d;
  return x;
}

std::vector<float> uniform_f32(int64_t n, uint64_t seed, uint64_t offset, float lo, float hi) {
  std::vector<float> y((size_t)n);
  EXPECT_EQ(ag_cpu_fill_uniform(AG_F32, y.data(), n, seed, offset, lo, hi, nullptr), AG_OK)
      << ag_last_error();
  return y;
}

std::vector<float> normal_f32(int64_t n, uint64_t seed, uint64_t offset, float mean, float std) {
  std::vector<float> y((size_t)n);
  EXPECT_EQ(ag_cpu_fill_normal(AG_F32, y.data(), n, seed, offset, mean, std, nullptr), AG_OK)
      << ag_last_error();
  return y;
}

bool same_bits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Kolmogorov-Smirnov statistic of sorted samples against the CDF `cdf`.
template <typename Cdf> double ks_statistic(std::vector<double> x, Cdf cdf) {
  std::sort(x.begin(), x.end());
  const double n = (double)x.size();
  double d = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const double f = cdf(x[i]);
    d = std::max(d, std::max(f - (double)i / n, (double)(i + 1) / n - f));
  }
  return d;
}

}  // namespace

// Random123's kat_vectors for philox4x32 10 rounds: counter words, key words,
// expected output words.
TEST(Philox, KnownAnswerVectors) {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const Kat &k : kats) {
    ag_philox4 r = ag_philox4x32_10(make4(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]), k.key[0], k.key[1]);
    for (int w = 0; w < 4; w++) EXPECT_EQ(r.v[w], k.out[w]) << "word " << w << " of kat " << std::hex << k.ctr[0];
  }
}

// Value j of the stream is word j%4 of Philox(ctr = (lo32(j/4), hi32(j/4), 0, 0),
// key = (lo32(seed), hi32(seed))); uniform [0,1) is (word >> 8) * 2^-24.
TEST(Philox, StreamDefinition) {
  // seed 0, values 0..3: the all-zero known answer
  const uint32_t kat0[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
  std::vector<float> u = uniform_f32(4, 0, 0, 0.0f, 1.0f);
  for (int w = 0; w < 4; w++) EXPECT_EQ(u[w], (float)(kat0[w] >> 8) / 16777216.0f);

  // a seed and offsets that exercise both key words and both counter words
  const uint64_t seed = 0x299f31d0a4093822ull;
  const uint64_t offsets[] = {0, 7, (1ull << 34) + 2, 0xfffffffffffffff0ull};
  for (uint64_t off : offsets) {
    std::vector<float> y = uniform_f32(9, seed, off, 0.0f, 1.0f);
    for (uint64_t i = 0; i < 9; i++) {
      const uint64_t j = off + i;
      ag_philox4 r = ag_philox4x32_10(make4((uint32_t)(j / 4), (uint32_t)((j / 4) >> 32), 0, 0),
                                      0xa4093822u, 0x299f31d0u);
      EXPECT_EQ(y[i], (float)(r.v[j % 4] >> 8) / 16777216.0f) << "offset " << off << " i " << i;
    }
  }
}

static uint64_t fnv1a(const void *data, size_t bytes) {
  const unsigned char *p = (const unsigned char *)data;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Pins the exact f32 bits of the stream, so that any change of the transforms
// (or a host build whose arithmetic differs) fails here and not only on a GPU.
// The parameters are chosen so that lo + d*u and mean + std*z are not exact.
// The first values agree with a double-precision model of the stream
// definition (uniform 0.3031483, 0.4887725, ...; normal 1.6487711,
// -0.4478186, -1.8913897, ...) to float accuracy.
TEST(Philox, GoldenBits) {
  const uint64_t seed = 0x0123456789abcdefull;
  const int64_t n = 1 << 20;
  const uint32_t want_u[6] = {0x3e9b3641u, 0x3efa4064u, 0x3f9f4050u,
                              0x3ff5c1b3u, 0x3f4597fcu, 0x3e8faf6fu};
  const uint32_t want_z[6] = {0x3fd30aefu, 0xbee5487cu, 0xbff21910u,
                              0xbe082e60u, 0x3e8d69d6u, 0x401727e1u};
  std::vector<float> u = uniform_f32(n, seed, 5, -0.5f, 2.0f);
  std::vector<float> z = normal_f32(n, seed, 5, 0.3f, 1.7f);
  for (int i = 0; i < 6; i++) {
    uint32_t bu, bz;
    std::memcpy(&bu, &u[i], 4);
    std::memcpy(&bz, &z[i], 4);
    EXPECT_EQ(bu, want_u[i]) << "uniform " << i;
    EXPECT_EQ(bz, want_z[i]) << "normal " << i;
  }
  EXPECT_EQ(fnv1a(u.data(), u.size() * 4), 0x22a7eae3c84a063full);
  EXPECT_EQ(fnv1a(z.data(), z.size() * 4), 0xf772e694478b0617ull);
}

// fill(seed, off)[i] == fill(seed, 0)[off + i], for every alignment of the
// head and tail of the fill.
TEST(Philox, OffsetConsistency) {
  const uint64_t seed = 1234567;
  const std::vector<float> base_u = uniform_f32(1000100, seed, 0, -1.0f, 2.0f);
  const std::vector<float> base_n = normal_f32(1000100, seed, 0, 0.5f, 3.0f);
  const uint64_t offs[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 1000003};
  for (uint64_t off : offs) {
    for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 90}) {
      std::vector<float> u = uniform_f32(n, seed, off, -1.0f, 2.0f);
      std::vector<float> z = normal_f32(n, seed, off, 0.5f, 3.0f);
      EXPECT_TRUE(same_bits(u, std::vector<float>(base_u.begin() + off, base_u.begin() + off + n)))
          << "uniform offset " << off << " n " << n;
      EXPECT_TRUE(same_bits(z, std::vector<float>(base_n.begin() + off, base_n.begin() + off + n)))
          << "normal offset " << off << " n " << n;
    }
  }
  // Far offsets (block index above 2^32): a fill equals its one-element fills.
  const uint64_t far = (1ull << 32) * 4 + 5;
  for (uint64_t off : {far, far + 2, (uint64_t)(1ull << 32) + 5}) {
    std::vector<float> u = uniform_f32(11, seed, off, -1.0f, 2.0f);
    std::vector<float> z = normal_f32(11, seed, off, 0.5f, 3.0f);
    for (uint64_t i = 0; i < 11; i++) {
      EXPECT_EQ(u[i], uniform_f32(1, seed, off + i, -1.0f, 2.0f)[0]) << off + i;
      EXPECT_EQ(z[i], normal_f32(1, seed, off + i, 0.5f, 3.0f)[0]) << off + i;
    }
  }
}

// The result does not depend on the number of OpenMP threads.
TEST(Philox, ThreadCountIndependent) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<float> a = normal_f32(100003, 99, 5, 0.0f, 1.0f);
  omp_set_num_threads(std::max(4, saved));
  std::vector<float> b = normal_f32(100003, 99, 5, 0.0f, 1.0f);
  omp_set_num_threads(saved);
  EXPECT_TRUE(same_bits(a, b));
}

TEST(Philox, UniformStatistics) {
  const int64_t n = 1000000;
  const float lo = -2.0f, hi = 3.0f;
  const std::vector<float> y = uniform_f32(n, 42, 17, lo, hi);
  double s = 0, s2 = 0, lag = 0;
  for (int64_t i = 0; i < n; i++) {
    ASSERT_TRUE(y[i] >= lo && y[i] < hi) << i << ": " << y[i];
    s += y[i];
  }
  const double mean = s / n;
  for (int64_t i = 0; i < n; i++) {
    s2 += (y[i] - mean) * (y[i] - mean);
    if (i > 0) lag += (y[i] - mean) * (y[i - 1] - mean);
  }
  const double var = s2 / n, d = hi - lo;
  // 5 standard errors: sd(mean) = d/sqrt(12n), sd(var) = d^2 sqrt(1/80 - 1/144)/sqrt(n)
  EXPECT_NEAR(mean, 0.5 * (lo + hi), 5 * d / std::sqrt(12.0 * n));
  EXPECT_NEAR(var, d * d / 12, 5 * d * d * std::sqrt(1.0 / 80 - 1.0 / 144) / std::sqrt((double)n));
  EXPECT_NEAR(lag / s2, 0.0, 5 / std::sqrt((double)n));  // lag-1 autocorrelation
  std::vector<double> x(y.begin(), y.end());
  const double ks = ks_statistic(x, [&](double v) { return (v - lo) / d; });
  EXPECT_LT(ks, 1.95 / std::sqrt((double)n));  // KS critical value at alpha = 0.001
}

// Rounding of lo + (hi - lo) * u never reaches hi for f32.
TEST(Philox, UniformStaysBelowHi) {
  struct Range {
    float lo, hi;
  } ranges[] = {{1.0f, std::nextafter(1.0f, 2.0f)}, {-1e-3f, 1e7f}, {-3.0f, -2.9999998f},
                {-1.0f, 0.0f}, {0.0f, 1.0f}, {100.0f, 100.5f}};
  for (const Range &r : ranges) {
    std::vector<float> y = uniform_f32(200001, 7, 3, r.lo, r.hi);
    for (float v : y) ASSERT_TRUE(v >= r.lo && v < r.hi) << v << " not in [" << r.lo << ", " << r.hi << ")";
  }
  std::vector<float> y = uniform_f32(1000, 7, 3, 2.5f, 2.5f);  // empty range: lo
  for (float v : y) ASSERT_EQ(v, 2.5f);
}

TEST(Philox, NormalStatistics) {
  const int64_t n = 1000000;
  const float mu = 1.5f, sigma = 2.0f;
  const std::vector<float> y = normal_f32(n, 2024, 3, mu, sigma);
  std::vector<double> z((size_t)n);
  double s = 0;
  for (int64_t i = 0; i < n; i++) {
    ASSERT_TRUE(std::isfinite(y[i])) << i;
    z[i] = ((double)y[i] - mu) / sigma;
    ASSERT_LE(std::fabs(z[i]), 5.78) << i;  // sqrt(-2 ln 2^-24)
    s += z[i];
  }
  const double m = s / n;
  double m2 = 0, m3 = 0, m4 = 0, lag = 0;
  for (int64_t i = 0; i < n; i++) {
    const double d = z[i] - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
    if (i > 0) lag += d * (z[i - 1] - m);
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  const double rn = std::sqrt((double)n);
  EXPECT_NEAR(m, 0.0, 5 / rn);
  EXPECT_NEAR(m2, 1.0, 5 * std::sqrt(2.0) / rn);
  EXPECT_NEAR(m3 / std::pow(m2, 1.5), 0.0, 5 * std::sqrt(6.0) / rn);  // skewness
  EXPECT_NEAR(m4 / (m2 * m2), 3.0, 5 * std::sqrt(24.0) / rn);         // kurtosis
  EXPECT_NEAR(lag / (m2 * n), 0.0, 5 / rn);  // includes the cos/sin pairs (0,1), (2,3)
  const double ks = ks_statistic(z, [](double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); });
  EXPECT_LT(ks, 1.95 / rn);
}

// ag_philox_log over every u1 = k 2^-24, k = 1..2^24, the only inputs the
// normal transform gives it, plus a sweep over all binades of normal floats.
TEST(PhiloxMath, LogAccuracy) {
  double max_rel = 0;
  for (uint32_t k = 1; k <= (1u << 24); k++) {
    const float x = (float)k * 5.9604644775390625e-08f;
    const double ref = std::log((double)x);
    const double got = ag_philox_log(x);
    if (ref == 0) {
      ASSERT_EQ(got, 0.0);
      continue;
    }
    max_rel = std::max(max_rel, std::fabs(got - ref) / std::fabs(ref));
  }
  std::printf("ag_philox_log: max relative error on the u1 grid %.3g\n", max_rel);
  EXPECT_LT(max_rel, 2e-7);

  // general positive normal floats (stride through the bit patterns); near
  // x = 1 the relative error of any float log grows, so measure it absolutely
  // there: |err| <= 1.5e-7 * max(|ln x|, 1).
  double max_err = 0;
  for (uint32_t b = 0x00800000u; b < 0x7f800000u; b += 997) {
    float x;
    std::memcpy(&x, &b, 4);
    const double ref = std::log((double)x);
    max_err = std::max(max_err, std::fabs(ag_philox_log(x) - ref) / std::max(std::fabs(ref), 1.0));
  }
  std::printf("ag_philox_log: max error / max(|ln x|, 1) over all binades %.3g\n", max_err);
  EXPECT_LT(max_err, 1.5e-7);
}

// ag_philox_sincos_turn over every k in [0, 2^24).
TEST(PhiloxMath, SinCosAccuracy) {
  double max_s = 0, max_c = 0, max_norm = 0;
  for (uint32_t k = 0; k < (1u << 24); k++) {
    float s, c;
    ag_philox_sincos_turn(k, &s, &c);
    if (k % (1u << 22) == 0) {  // multiples of pi/2: exact zeros and ones
      const int q = (int)(k >> 22);
      ASSERT_EQ(s, q == 1 ? 1.0f : q == 3 ? -1.0f : 0.0f) << k;
      ASSERT_EQ(c, q == 0 ? 1.0f : q == 2 ? -1.0f : 0.0f) << k;
      continue;
    }
    // elsewhere |true value| >= sin(2 pi 2^-24) ~ 3.7e-7, far above the
    // ~1e-16 error of the double reference, so relative error is meaningful
    const double a = 2 * kPi * (double)k / 16777216.0;
    const double rs = std::sin(a), rc = std::cos(a);
    max_s = std::max(max_s, std::fabs(s - rs) / std::fabs(rs));
    max_c = std::max(max_c, std::fabs(c - rc) / std::fabs(rc));
    max_norm = std::max(max_norm, std::fabs((double)s * s + (double)c * c - 1));
  }
  std::printf("ag_philox_sincos_turn: max relative error sin %.3g cos %.3g, |s^2+c^2-1| %.3g\n",
              max_s, max_c, max_norm);
  EXPECT_LT(max_s, 1.5e-7);
  EXPECT_LT(max_c, 1.5e-7);
  EXPECT_LT(max_norm, 3e-7);
}

// The whole Box-Muller transform against double precision: error relative to
// the radius r; measured 1.8e-7, required |z - z_ref| <= 1e-6 r_ref.
TEST(PhiloxMath, BoxMullerAccuracy) {
  double max_err = 0;
  for (uint64_t g = 0; g < 500000; g++) {
    ag_philox4 b = ag_philox_block(77, g);
    for (int p = 0; p < 2; p++) {
      float za, zb;
      ag_philox_box_muller(b.v[2 * p], b.v[2 * p + 1], 0.0f, 1.0f, &za, &zb);
      const double u1 = ((b.v[2 * p] >> 8) + 1.0) / 16777216.0;
      const double u2 = (b.v[2 * p + 1] >> 8) / 16777216.0;
      const double r = std::sqrt(-2 * std::log(u1));
      if (r == 0) continue;
      max_err = std::max(max_err, std::fabs(za - r * std::cos(2 * kPi * u2)) / r);
      max_err = std::max(max_err, std::fabs(zb - r * std::sin(2 * kPi * u2)) / r);
    }
  }
  std::printf("Box-Muller: max |z - z_ref| / r %.3g\n", max_err);
  EXPECT_LT(max_err, 1e-6);
}

// bf16 and f16 fills are the f32 fill rounded once to nearest even.
TEST(Philox, ReducedPrecisionIsRoundedF32) {
  const int64_t n = 100003;
  for (uint64_t off : {(uint64_t)0, (uint64_t)3, (uint64_t)1000003}) {
    const std::vector<float> u = uniform_f32(n, 5, off, -1.0f, 4.0f);
    const std::vector<float> z = normal_f32(n, 5, off, 0.25f, 2.0f);
    std::vector<uint16_t> ub((size_t)n), zb((size_t)n), uh((size_t)n), zh((size_t)n);
    ASSERT_EQ(ag_cpu_fill_uniform(AG_BF16, ub.data(), n, 5, off, -1.0f, 4.0f, nullptr), AG_OK);
    ASSERT_EQ(ag_cpu_fill_normal(AG_BF16, zb.data(), n, 5, off, 0.25f, 2.0f, nullptr), AG_OK);
    ASSERT_EQ(ag_cpu_fill_uniform(AG_F16, uh.data(), n, 5, off, -1.0f, 4.0f, nullptr), AG_OK);
    ASSERT_EQ(ag_cpu_fill_normal(AG_F16, zh.data(), n, 5, off, 0.25f, 2.0f, nullptr), AG_OK);
    for (int64_t i = 0; i < n; i++) {
      ASSERT_EQ(ub[i], ag_f32_to_bf16(u[i])) << i;
      ASSERT_EQ(zb[i], ag_f32_to_bf16(z[i])) << i;
      ASSERT_EQ(uh[i], ag_f32_to_f16(u[i])) << i;
      ASSERT_EQ(zh[i], ag_f32_to_f16(z[i])) << i;
      const float v = ag_bf16_to_f32(ub[i]);
      ASSERT_TRUE(v >= -1.0f && v <= 4.0f) << v;  // rounding may reach hi
    }
  }
}

TEST(Philox, BadArguments) {
  float y[4];
  int32_t yi[4];
  EXPECT_EQ(ag_cpu_fill_uniform(AG_I32, yi, 4, 1, 0, 0.0f, 1.0f, nullptr), AG_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(ag_last_error()).find("i32"), std::string::npos) << ag_last_error();
  EXPECT_EQ(ag_cpu_fill_normal(AG_U8, yi, 4, 1, 0, 0.0f, 1.0f, nullptr), AG_ERR_UNSUPPORTED);
  EXPECT_EQ(ag_cpu_fill_uniform(AG_F32, y, -1, 1, 0, 0.0f, 1.0f, nullptr), AG_ERR_INVALID);
  EXPECT_EQ(ag_cpu_fill_uniform(AG_F32, nullptr, 4, 1, 0, 0.0f, 1.0f, nullptr), AG_ERR_INVALID);
  EXPECT_EQ(ag_cpu_fill_normal(AG_F32, y, 4, 1, UINT64_MAX - 2, 0.0f, 1.0f, nullptr), AG_ERR_INVALID);
  EXPECT_EQ(ag_cpu_fill_normal(AG_F32, y, 3, 1, UINT64_MAX - 2, 0.0f, 1.0f, nullptr), AG_OK);
  EXPECT_EQ(ag_cpu_fill_normal(AG_F32, nullptr, 0, 1, 0, 0.0f, 1.0f, nullptr), AG_OK);
}
