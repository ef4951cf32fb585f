/* Unary elementwise ops and their backward passes (gx = g * fn'(x)), with the
 * math shared with CUDA in kernels/common/ag_k_elementwise.h. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

static ag_status check_unary(const char *name, ag_dtype dt, int fn) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (fn < 0 || fn >= AG_UNARY_COUNT)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: unknown function %d", name, fn);
  return AG_OK;
}

/* f32 loops with the function a constant, one loop per function: the switch
 * in ag_unary_eval folds away and each loop vectorises. */
// clang-format off
#define AG_UNARY_LOOP_(name, expr)                                                                \
  case AG_UNARY_##name: {                                                                         \
    const int f = AG_UNARY_##name;                                                                \
    _Pragma("omp parallel for simd schedule(static)")                                            \
    for (int64_t i = 0; i < n; i++) expr;                                                         \
    break;                                                                                        \
  }
#define AG_UNARY_FWD_(name, op) AG_UNARY_LOOP_(name, y[i] = ag_unary_eval(f, x[i], p))
#define AG_UNARY_BWD_(name, op) AG_UNARY_LOOP_(name, gx[i] = g[i] * ag_unary_grad(f, x[i], p))
// clang-format on

static void unary_f32(int fn, float p, const float *x, float *y, int64_t n) {
  switch (fn) { AG_UNARY_FN_LIST(AG_UNARY_FWD_) }
}

static void unary_grad_f32(int fn, float p, const float *x, const float *g, float *gx, int64_t n) {
  switch (fn) { AG_UNARY_FN_LIST(AG_UNARY_BWD_) }
}

#undef AG_UNARY_FWD_
#undef AG_UNARY_BWD_
#undef AG_UNARY_LOOP_

ag_status ag_cpu_unary(ag_dtype dt, int fn, float p, const void *x, void *y, int64_t n,
                       void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary", dt, fn));
  if (dt == AG_F32) {
    unary_f32(fn, p, x, y, n);
    return AG_OK;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, y, i, ag_unary_eval(fn, ag_cpu_load(dt, x, i), p));
  return AG_OK;
}

ag_status ag_cpu_unary_backward(ag_dtype dt, int fn, float p, const void *x, const void *g,
                                void *gx, int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary_backward", dt, fn));
  if (dt == AG_F32) {
    unary_grad_f32(fn, p, x, g, gx, n);
    return AG_OK;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, gx, i, ag_cpu_load(dt, g, i) * ag_unary_grad(fn, ag_cpu_load(dt, x, i), p));
  return AG_OK;
}
