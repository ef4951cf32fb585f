// Op harness cases: attention. Lengths are not multiples of the CUDA kernels'
// 64-row tiles; B * H stays small because the emulator runs every CUDA
// thread as a fiber. Queries that see no key (causal with Tq > Tk, a
// kv_len of 0) are compared like the others: o = 0 and lse = +inf exactly.
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

// A padded case whose lengths are fixed: {0, n} gives batch 0 no key at all.
OpCase padded_case(const Shape &s, std::vector<float> lengths) {
  OpCase c = attention_case(s, true);
  c.inputs[3].values = std::move(lengths);
  return c;
}

// The same case with a random gradient of lse as well as of o, so the
// backward's dlse term is exercised.
OpCase with_dlse(OpCase c) {
  c.label += "_dlse";
  c.grad_outputs = {0, 1};
  return c;
}

// The case in `dtypes` only.
OpCase in_dtypes(OpCase c, std::vector<ag_dtype> dtypes) {
  c.dtypes = std::move(dtypes);
  return c;
}

}  // namespace

// Every case also bounds its worst row's error (OpCase::row_check): a kernel
// that gets one tail row wrong must fail, whatever the NMSE says.
AG_OP_CASES(attention) {
  const Shape shapes[] = {
      {"t33_d64", 1, 2, 33, 33, 64, 0},
      {"t33_d64_causal", 1, 2, 33, 33, 64, 1},
      {"t65_d128_causal", 1, 2, 65, 65, 128, 1},
      {"x7_13_d128", 1, 2, 7, 13, 128, 0},
      {"x7_13_d32_causal", 1, 2, 7, 13, 32, 1},
      {"x70_20_d64", 2, 1, 70, 20, 64, 0},
      {"x65_130_d32_causal", 1, 2, 65, 130, 32, 1},
      // Causal with Tq > Tk: the diagonal is aligned bottom-right, so queries
      // i < Tq - Tk see no key (o = 0, lse = +inf, no gradient), and query
      // Tq - Tk sees one.
      {"x40_9_d32_causal", 1, 2, 40, 9, 32, 1},
      {"x70_33_d64_causal", 1, 1, 70, 33, 64, 1},
      // The UNet's head dims (SD 1.x: 40, 80, 160): a backend whose kernels
      // lack them reports the case skipped (ag_op_supported), never passed.
      {"x33_40_d40", 1, 2, 33, 40, 40, 0},
      {"t65_d80_causal", 1, 1, 65, 65, 80, 1},
      {"x20_70_d160", 1, 1, 20, 70, 160, 0},
  };
  CaseList cases;
  for (const Shape &s : shapes) cases.push_back(attention_case(s, false));
  // Several key tiles and a partial last one at the fast kernels' head dims,
  // causal and not, Tq = Tk, Tq > Tk and Tq < Tk. The emulator takes about a
  // second of CPU over each in a 16-bit dtype, so each runs in f32 and in one
  // of bf16 and f16 (both meet several tiles and the causal mask).
  const std::vector<ag_dtype> f32_bf16 = {AG_F32, AG_BF16}, f32_f16 = {AG_F32, AG_F16};
  cases.push_back(in_dtypes(attention_case({"t300_d64", 1, 1, 300, 300, 64, 0}, false), f32_bf16));
  cases.push_back(
      in_dtypes(attention_case({"t300_d64_causal", 1, 1, 300, 300, 64, 1}, false), f32_f16));
  cases.push_back(
      in_dtypes(attention_case({"x333_301_d128", 1, 1, 333, 301, 128, 0}, false), f32_bf16));
  cases.push_back(
      in_dtypes(attention_case({"x333_301_d128_causal", 1, 1, 333, 301, 128, 1}, false), f32_f16));
  cases.push_back(
      in_dtypes(with_dlse(attention_case({"x333_301_d128_causal", 1, 1, 333, 301, 128, 1}, false)),
                f32_bf16));
  cases.push_back(
      in_dtypes(attention_case({"x130_317_d128_causal", 1, 1, 130, 317, 128, 1}, false), f32_bf16));
  cases.push_back(attention_case({"pad_x33_40_d64", 2, 2, 33, 40, 64, 0}, true));
  cases.push_back(attention_case({"pad_x20_70_d32_causal", 2, 1, 20, 70, 32, 1}, true));
  // Batch 0 has no key: every one of its queries sees none.
  cases.push_back(padded_case({"pad_empty_x33_40_d64", 2, 1, 33, 40, 64, 0}, {0.0f, 29.0f}));
  cases.push_back(padded_case({"pad_empty_x70_75_d64_causal", 2, 1, 70, 75, 64, 1}, {75.0f, 0.0f}));
  cases.push_back(with_dlse(attention_case({"t33_d64", 1, 2, 33, 33, 64, 0}, false)));
  cases.push_back(with_dlse(attention_case({"x70_33_d64_causal", 1, 1, 70, 33, 64, 1}, false)));
  cases.push_back(
      with_dlse(padded_case({"pad_empty_x33_40_d64", 2, 1, 33, 40, 64, 0}, {0.0f, 29.0f})));
  OpCase scaled = attention_case({"scale_t9_d32", 1, 1, 9, 9, 32, 0}, false);
  set_args(scaled, {0.3f, 0});
  cases.push_back(scaled);
  // Tiny cases check the f32 gradients by finite differences, of o alone
  // and with lse's gradient too.
  OpCase fd = attention_case({"fd_x3_5_d32_causal", 1, 1, 3, 5, 32, 1}, true);
  fd.finite_differences = true;
  cases.push_back(fd);
  cases.push_back(with_dlse(fd));
  for (OpCase &c : cases) c.row_check = true;
  return cases;
}
