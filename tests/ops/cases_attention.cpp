// Op harness cases: attention. Lengths are not multiples of the CUDA kernels'
// 64-row tiles; B * H stays small because the emulator runs every CUDA
// thread as a fiber.
#include "op_cases.h"

using namespace ag_test;

namespace {

void set_args(OpCase &c, const ag_attention_args &a) {
  ag_op_call call = {};
  ag_attention_args_encode(&call, &a);
  c.set_args(call);
}

struct Shape {
  const char *label;
  int64_t b, h, tq, tk, d;
  int causal;
};

OpCase attention_case(const Shape &s, bool padded) {
  std::vector<InputSpec> inputs = {in({s.b, s.h, s.tq, s.d}), in({s.b, s.h, s.tk, s.d}),
                                   in({s.b, s.h, s.tk, s.d})};
  if (padded) {
    InputSpec len = in({s.b});
    len.dtype = AG_I32;
    // Every query keeps at least two keys: with one, its softmax is 1 whatever
    // the scores, the q and k gradients are exactly 0, and each backend's
    // rounding residue compared with the other's by NMSE is noise (measured 2
    // for fd_x3_5_d32_causal with a length of 1, emu against the CPU).
    len.lo = 2.0f;
    len.hi = (float)s.tk + 1.0f;
    len.differentiable = false;
    inputs.push_back(len);
  }
  OpCase c = op_case(padded ? AG_OP_ATTENTION_PADDED : AG_OP_ATTENTION, s.label, inputs);
  set_args(c, {0.0f, s.causal});
  c.finite_differences = false;
  return c;
}

}  // namespace

AG_OP_CASES(attention) {
  // Causal cases keep Tq <= Tk: with Tq > Tk the first queries see no key
  // and their lse is +inf, which an NMSE cannot compare.
  const Shape shapes[] = {
      {"t33_d64", 1, 2, 33, 33, 64, 0},
      {"t33_d64_causal", 1, 2, 33, 33, 64, 1},
      {"t65_d128_causal", 1, 2, 65, 65, 128, 1},
      {"x7_13_d128", 1, 2, 7, 13, 128, 0},
      {"x7_13_d32_causal", 1, 2, 7, 13, 32, 1},
      {"x70_20_d64", 2, 1, 70, 20, 64, 0},
      {"x65_130_d32_causal", 1, 2, 65, 130, 32, 1},
  };
  CaseList cases;
  for (const Shape &s : shapes) cases.push_back(attention_case(s, false));
  cases.push_back(attention_case({"pad_x33_40_d64", 2, 2, 33, 40, 64, 0}, true));
  cases.push_back(attention_case({"pad_x20_70_d32_causal", 2, 1, 20, 70, 32, 1}, true));
  OpCase scaled = attention_case({"scale_t9_d32", 1, 1, 9, 9, 32, 0}, false);
  set_args(scaled, {0.3f, 0});
  cases.push_back(scaled);
  // One tiny case checks the f32 gradients by finite differences.
  OpCase fd = attention_case({"fd_x3_5_d32_causal", 1, 1, 3, 5, 32, 1}, true);
  fd.finite_differences = true;
  cases.push_back(fd);
  return cases;
}
