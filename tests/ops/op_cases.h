// op_cases.h - how an op family describes its cases to the op harness
// (tests/ops/test_ops.cpp). Each family registers a list in
// tests/ops/cases_<family>.cpp:
//
//   AG_OP_CASES(norm) {
//     OpCase c = op_case(AG_OP_LAYERNORM, "rows", {in({4, 33}), in({33}), in({33})});
//     const ag_norm_args args = {1e-5f};
//     ag_op_call call = {};
//     ag_norm_args_encode(&call, &args);
//     c.set_args(call);
//     return {c};
//   }
//
// The harness runs every case in every dtype listed, on every backend: the
// CPU against the op's f64 reference (tests/ops/ref_<family>.cpp,
// op_reference.h), the others against the CPU. Forward by NMSE (or bit for
// bit), backward by NMSE, and in f32 the backend's gradients by central
// finite differences. Non-finite values (an lse of +inf) must match exactly.
#ifndef AG_OP_CASES_H
#define AG_OP_CASES_H

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "runtime/ops/ag_ops.h"

namespace ag_test {

// Stands for "the dtype under test" in an InputSpec.
constexpr ag_dtype kTestDtype = AG_DTYPE_COUNT;

struct InputSpec {
  std::vector<int64_t> shape;
  ag_dtype dtype = kTestDtype;  // or a fixed dtype, e.g. AG_I32 for indices
  float lo = -2.0f, hi = 2.0f;  // uniform range; integers are drawn from [lo, hi)
  bool strided_view = false;    // pass a sliced, permuted view with this shape
  bool differentiable = true;   // take its gradient in backward checks
  // Values the case fixes instead of drawing them (numel(shape) of them), for
  // inputs that must agree with each other, such as packed ray ranges.
  std::vector<float> values = {};
};

struct OpCase {
  ag_op op;
  std::string label;  // distinguishes cases of one op in test names
  std::vector<InputSpec> inputs;
  float f[4] = {0, 0, 0, 0};
  int64_t i[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint64_t u[2] = {0, 0};
  std::vector<int64_t> out_shape;  // only for ops without inputs (fills)
  std::vector<ag_dtype> dtypes = {AG_F32, AG_BF16, AG_F16};
  bool exact = false;              // forward must match its reference bit for bit
  double tol_scale = 1.0;          // multiplies the per-dtype NMSE thresholds
  std::vector<int> grad_outputs = {0};  // outputs given a random gradient
  // Also bound the worst row's error (each last-dim row's max |got - want|
  // relative to the tensor's largest |want|) of every output and gradient,
  // so an error confined to one row (a tail tile) cannot hide in the NMSE.
  bool row_check = false;
  bool finite_differences = true;  // check f32 gradients numerically
  double fd_eps = 1e-3, fd_atol = 2e-3, fd_rtol = 1e-2;
  // Piecewise linear with kinks (relu, max): the finite-difference check skips
  // the elements whose step crosses one (test_ops.cpp says how it tells).
  bool fd_kinks = false;

  // Takes the parameters from a call that a family's typed args were encoded
  // into (ag_<name>_args_encode), so cases never name the slots.
  void set_args(const ag_op_call &call) {
    std::copy(std::begin(call.f), std::end(call.f), f);
    std::copy(std::begin(call.i), std::end(call.i), i);
    std::copy(std::begin(call.u), std::end(call.u), u);
  }
};

// Encodes a family's typed args (ag_<name>_args) into a case.
template <class Args>
void encode_args(OpCase &c, void (*encode)(ag_op_call *, const Args *), const Args &a) {
  ag_op_call call = {};
  encode(&call, &a);
  c.set_args(call);
}

inline InputSpec in(std::vector<int64_t> shape) { return InputSpec{std::move(shape)}; }

inline OpCase op_case(ag_op op, std::string label, std::vector<InputSpec> inputs) {
  OpCase c;
  c.op = op;
  c.label = std::move(label);
  c.inputs = std::move(inputs);
  return c;
}

using CaseList = std::vector<OpCase>;
bool register_cases(const char *family, CaseList (*make)());
const std::vector<OpCase> &all_cases();

}  // namespace ag_test

#define AG_OP_CASES(family)                                                                       \
  static ag_test::CaseList family##_cases();                                                      \
  static const bool family##_registered = ag_test::register_cases(#family, family##_cases);      \
  static ag_test::CaseList family##_cases()

#endif
