// Op harness cases: embedding lookup (ids of 1 to 3 dims, repeated ids so the
// table gradient really adds) and the sinusoidal timestep embedding (even and
// odd widths, flipped halves, custom period and shift).
#include "op_cases.h"

using namespace ag_test;

namespace {

OpCase lookup(const std::string &label, int64_t vocab, int64_t dim, std::vector<int64_t> ids) {
  InputSpec id = in(std::move(ids));
  id.dtype = AG_I32;
  id.lo = 0;
  id.hi = (float)vocab;
  id.differentiable = false;
  OpCase c = op_case(AG_OP_EMBEDDING, label, {in({vocab, dim}), id});
  c.exact = true;
  // The CUDA scatter-add rounds every atomic add in bf16/f16, the CPU once.
  c.tol_scale = 10;
  c.finite_differences = vocab * dim <= 64;
  return c;
}

OpCase timestep(const std::string &label, int64_t n, int64_t dim, int flip, float max_period,
                float shift, float t_max = 1000.0f) {
  InputSpec t = in({n});
  t.lo = 0;
  t.hi = t_max;
  t.differentiable = false;
  OpCase c = op_case(AG_OP_TIMESTEP_EMBEDDING, label, {t});
  const ag_timestep_embedding_args args = {dim, flip, max_period, shift};
  ag_op_call call = {};
  ag_timestep_embedding_args_encode(&call, &args);
  c.set_args(call);
  return c;
}

}  // namespace

AG_OP_CASES(embedding) {
  // Every id hits one element: in bf16/f16 the per-add rounding of the CUDA
  // atomics is the whole result, so only f32 is compared.
  OpCase one = lookup("one", 1, 1, {3});
  one.dtypes = {AG_F32};
  return {
      lookup("ids1", 5, 7, {9}),
      lookup("ids2", 11, 6, {3, 4}),
      lookup("ids3", 4, 33, {2, 3, 5}),
      one,
      lookup("wide", 50, 260, {2, 40}),
      timestep("even", 5, 32, 0, 0.0f, 1.0f),
      timestep("flip", 3, 20, 1, 0.0f, 0.0f),
      timestep("odd", 4, 9, 0, 500.0f, 1.0f),
      // 160 frequencies w from 1 to 1e-4, a quarter of them above 0.1: the f32
      // phase t * w is off by ~2^-24 * t * w (w and the product rounded), which
      // for t up to 1000 makes an NMSE against f64 of 4e-11 typically and over
      // the 1e-10 threshold for 1 input in 20 (simulated in numpy f32). Below
      // 250 it stays under 1e-11; the cases above cover t up to 1000 with
      // fewer high frequencies (at most 5e-11).
      timestep("wide", 2, 320, 1, 10000.0f, 0.0f, 250.0f),
  };
}
