// op_reference.h - the f64 references of the op harness (tests/ops/test_ops.cpp).
// The harness checks the CPU backend against them and every other backend
// against the CPU. Each family registers its references in
// tests/ops/ref_<family>.cpp, next to its cases:
//
//   AG_OP_REFERENCE(reduce) {
//     return {{AG_OP_SUM, {reduce, reduce_backward}}, {AG_OP_MAX, {reduce, reduce_backward}}};
//   }
//
// A reference states its op plainly in double precision, from the op's .list
// entry and shape inference, never from a kernel. It gets the values the
// kernels got (each input rounded to its dtype, then widened) and returns
// every output with its shape; the harness compares them with the CPU's
// outputs by NMSE, or, for an exact case, rounds them to the output's dtype
// and compares bit for bit. A backward returns, for every input, the gradient
// of L = sum_o <gy_o, y_o>, or an empty tensor for an input that takes none
// (ids, targets, lengths).
#ifndef AG_OP_REFERENCE_H
#define AG_OP_REFERENCE_H

#include <cmath>
#include <utility>
#include <vector>

#include "kernels/common/ag_bf16.h"
#include "runtime/ops/ag_ops.h"

namespace ag_test {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// A dense row-major array.
struct RefTensor {
  Shape shape;
  std::vector<double> v;
};
using RefTensors = std::vector<RefTensor>;

inline RefTensor zeros(Shape shape) {
  const size_t n = (size_t)numel(shape);
  return RefTensor{std::move(shape), std::vector<double>(n, 0.0)};
}

// What a reference computes from. The parameters are the case's f[], i[] and
// u[] slots: decode them with the family's ag_<name>_args_decode, which also
// applies their defaults (a zero stride means 1, ...).
struct RefCall {
  ag_op op;
  ag_op_call params;
  RefTensors in;
  Shape out_shape;  // ops without inputs (fills) only
  ag_dtype dtype;   // the dtype under test, for a backward defined on stored outputs
};

using RefForward = RefTensors (*)(const RefCall &r);
// gy holds one gradient per output, shaped like it (zeros for an output the
// case gives none).
using RefBackward = RefTensors (*)(const RefCall &r, const RefTensors &gy);

struct OpReference {
  RefForward forward;
  RefBackward backward;  // nullptr for an op without a gradient
};

using ReferenceList = std::vector<std::pair<ag_op, OpReference>>;
bool register_references(const char *family, ReferenceList (*make)());

// x viewed as [outer, n, inner] around one axis (negative counts from the end).
struct AxisView {
  int axis;
  int64_t outer, n, inner;

  // Flat index of element (o, a, i).
  size_t at(int64_t o, int64_t a, int64_t i) const { return (size_t)((o * n + a) * inner + i); }
};

inline AxisView axis_view(const Shape &s, int64_t axis) {
  AxisView v{(int)(axis < 0 ? axis + (int64_t)s.size() : axis), 1, 0, 1};
  v.n = s[(size_t)v.axis];
  for (int d = 0; d < v.axis; d++) v.outer *= s[(size_t)d];
  for (size_t d = (size_t)v.axis + 1; d < s.size(); d++) v.inner *= s[d];
  return v;
}

// x as a tensor of dtype dt holds it (f32, or rounded to nearest even in bf16/f16).
inline double stored_as(ag_dtype dt, double x) {
  const float f = (float)x;
  if (dt == AG_BF16) return ag_bf16_to_f32(ag_f32_to_bf16(f));
  if (dt == AG_F16) return ag_f16_to_f32(ag_f32_to_f16(f));
  return f;
}

constexpr double kPi = 3.14159265358979323846;

// GELU, tanh approximation (elementwise gelu and the matmul epilogue).
inline double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / kPi), c = 0.044715;
  return 0.5 * x * (1.0 + std::tanh(k * (x + c * x * x * x)));
}

inline double gelu_tanh_grad(double x) {
  const double k = std::sqrt(2.0 / kPi), c = 0.044715;
  const double t = std::tanh(k * (x + c * x * x * x));
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x);
}

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace ag_test

#define AG_OP_REFERENCE(family)                                                                   \
  static ag_test::ReferenceList family##_references();                                            \
  static const bool family##_references_registered =                                              \
      ag_test::register_references(#family, family##_references);                                 \
  static ag_test::ReferenceList family##_references()

#endif
