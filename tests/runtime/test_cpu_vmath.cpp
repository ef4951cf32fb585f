// The vectorisable transcendentals of kernels/cpu/cpu_vmath.h against libm
// in double: each function over a sweep of the whole float range (every
// 2049th bit pattern, both signs) and random points where it varies, within
// the bound its comment states (the same numbers as below), and its values
// at infinities, NaN and the edges of its range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/cpu_vmath.h"

namespace {

const float kInf = std::numeric_limits<float>::infinity();
const float kNan = std::numeric_limits<float>::quiet_NaN();
const double kFloor90 = std::ldexp(1.0, -90);

// References in double, written so that double itself does not cancel.
double sigmoid_ref(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
double gelu_u(double x) { return 0.7978845608028654 * (x + 0.044715 * x * x * x); }
double gelu_ref(double x) { return x * sigmoid_ref(2 * gelu_u(x)); }
double gelu_grad_ref(double x) {
  double s = sigmoid_ref(2 * gelu_u(x)), s_neg = sigmoid_ref(-2 * gelu_u(x));
  return s + 0.5 * x * 0.7978845608028654 * (1 + 3 * 0.044715 * x * x) * 4 * s * s_neg;
}
double silu_ref(double x) { return x * sigmoid_ref(x); }
double silu_grad_ref(double x) { return sigmoid_ref(x) * (1 + x * sigmoid_ref(-x)); }
double softplus_ref(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x))); }
double exp_ref(double x) { return std::exp(x); }
double log_ref(double x) { return std::log(x); }
double log1p_ref(double x) { return std::log1p(x); }
double tanh_ref(double x) { return std::tanh(x); }

enum class Metric { kRelative, kScaled };

struct Special {
  float x, want;
};

struct VmathCase {
  const char *name;
  float (*f)(float);
  double (*ref)(double);
  Metric metric;
  double bound;  // as stated in cpu_vmath.h
  double floor;  // below it the bound is absolute
  float lo, hi;  // where the random points fall
  std::vector<Special> specials;
  float max_x = kInf;  // the domain's upper end
};

// gtest names a failing case by this rather than by its bytes.
void PrintTo(const VmathCase &c, std::ostream *os) { *os << c.name; }

// The error measure of cpu_vmath.h: relative to max(|f|, floor), or to
// max(|f| + |x f'(x)|, floor) for the scaled metric (f' by central
// differences in double; only its magnitude matters).
double error(const VmathCase &c, float x, float got, double want) {
  double scale = std::fabs(want);
  if (c.metric == Metric::kScaled) {
    double h = std::fabs((double)x) * 1e-6 + 1e-300;
    double slope = (c.ref(x + h) - c.ref(x - h)) / (2 * h);
    if (std::isfinite(slope)) scale += std::fabs(x * slope);
  }
  return std::fabs((double)got - want) / std::max(scale, c.floor);
}

class CpuVmath : public ::testing::TestWithParam<VmathCase> {};

TEST_P(CpuVmath, WithinStatedBound) {
  const VmathCase &c = GetParam();
  double worst = 0;
  float worst_x = 0;
  auto check = [&](float x) {
    if (x > c.max_x) return;
    float got = c.f(x);
    double want = c.ref(x);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << c.name << "(" << x << ") = " << got << ", want NaN";
      return;
    }
    if (std::fabs(want) > FLT_MAX) {  // overflows: inf, or FLT_MAX at the edge
      ASSERT_TRUE(std::fabs(got) >= FLT_MAX && std::signbit(got) == std::signbit(want))
          << c.name << "(" << x << ") = " << got << ", want " << want;
      return;
    }
    double e = error(c, x, got, want);
    ASSERT_FALSE(std::isnan(e)) << c.name << "(" << x << ") = " << got << ", want " << want;
    if (e > worst) {
      worst = e;
      worst_x = x;
    }
  };
  for (uint64_t b = 0; b < (1ull << 32); b += 2049) {
    uint32_t u = (uint32_t)b;
    float x;
    std::memcpy(&x, &u, sizeof x);
    check(x);
  }
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> dist(c.lo, c.hi);
  for (int k = 0; k < 1000000; k++) check(dist(rng));
  EXPECT_LE(worst, c.bound) << c.name << ": worst error " << worst << " at x = " << worst_x << " ("
                            << c.f(worst_x) << " vs " << c.ref(worst_x) << ")";
}

TEST_P(CpuVmath, SpecialValues) {
  const VmathCase &c = GetParam();
  for (const Special &s : c.specials) {
    float got = c.f(s.x);
    if (std::isnan(s.want))
      EXPECT_TRUE(std::isnan(got)) << c.name << "(" << s.x << ") = " << got;
    else
      EXPECT_EQ(got, s.want) << c.name << "(" << s.x << ")";
  }
}

// clang-format off
const VmathCase kCases[] = {
    {"exp", ag_vexp, exp_ref, Metric::kRelative, 9.5e-8, kFloor90, -90, 90,
     {{-kInf, 0}, {kInf, kInf}, {kNan, kNan}, {0, 1}, {-87, 0}, {89, kInf}}},
    {"exp_neg", ag_vexp_neg, exp_ref, Metric::kRelative, 9.0e-8, kFloor90, -90, 0,
     {{-kInf, 0}, {kNan, kNan}, {0, 1}, {-0.0f, 1}, {-88, 0}},
     0},
    {"log", ag_vlog, log_ref, Metric::kRelative, 1.0e-7, FLT_MIN, 0, 10,
     {{0, -kInf}, {-0.0f, -kInf}, {kInf, kInf}, {-1, kNan}, {-kInf, kNan}, {kNan, kNan}, {1, 0}}},
    {"log1p", ag_vlog1p, log1p_ref, Metric::kRelative, 1.6e-7, FLT_MIN, -1, 10,
     {{-1, -kInf}, {-2, kNan}, {kInf, kInf}, {kNan, kNan}, {0, 0}, {1e-30f, 1e-30f}}},
    {"tanh", ag_vtanh, tanh_ref, Metric::kRelative, 1.7e-7, FLT_MIN, -10, 10,
     {{kInf, 1}, {-kInf, -1}, {kNan, kNan}, {0, 0}, {1e-30f, 1e-30f}, {20, 1}}},
    {"sigmoid", ag_vsigmoid, sigmoid_ref, Metric::kRelative, 2.3e-7, kFloor90, -30, 30,
     {{-kInf, 0}, {kInf, 1}, {kNan, kNan}, {0, 0.5f}, {-90, 0}, {20, 1}}},
    {"gelu", ag_vgelu, gelu_ref, Metric::kScaled, 2.9e-7, kFloor90, -12, 12,
     {{kInf, kInf}, {-kInf, kNan}, {kNan, kNan}, {0, 0}, {100, 100}, {-100, 0}}},
    {"gelu_grad", ag_vgelu_grad, gelu_grad_ref, Metric::kScaled, 6.0e-7, kFloor90, -12, 12,
     {{kInf, 1}, {-kInf, 0}, {kNan, kNan}, {0, 0.5f}, {100, 1}, {-100, 0}}},
    {"silu", ag_vsilu, silu_ref, Metric::kRelative, 2.6e-7, kFloor90, -30, 30,
     {{kInf, kInf}, {-kInf, kNan}, {kNan, kNan}, {0, 0}, {100, 100}, {-100, 0}}},
    {"silu_grad", ag_vsilu_grad, silu_grad_ref, Metric::kScaled, 4.4e-7, kFloor90, -30, 30,
     {{kInf, kNan}, {-kInf, kNan}, {kNan, kNan}, {0, 0.5f}, {100, 1}, {-100, 0}}},
    {"softplus", ag_vsoftplus, softplus_ref, Metric::kRelative, 2.0e-7, kFloor90, -30, 30,
     {{-kInf, 0}, {kInf, kInf}, {kNan, kNan}, {100, 100}, {-100, 0}}},
};
// clang-format on

INSTANTIATE_TEST_SUITE_P(Functions, CpuVmath, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<VmathCase> &p) {
                           return std::string(p.param.name);
                         });

}  // namespace
