/* Activations and their backward passes (gx = g * act'(x)). */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "kernels/common/ag_activation.h"

typedef float (*ag_unary_fn)(float);

static ag_status map_unary(const char *name, ag_unary_fn f, ag_dtype dt, const void *x, void *y,
                           int64_t n) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) ag_cpu_store(dt, y, i, f(ag_cpu_load(dt, x, i)));
  return AG_OK;
}

static ag_status map_grad(const char *name, ag_unary_fn df, ag_dtype dt, const void *x,
                          const void *g, void *gx, int64_t n) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, gx, i, ag_cpu_load(dt, g, i) * df(ag_cpu_load(dt, x, i)));
  return AG_OK;
}

static float gelu_f(float x) { return ag_act_gelu(x); }
static float gelu_grad_f(float x) { return ag_act_gelu_grad(x); }
static float silu_f(float x) { return ag_act_silu(x); }
static float silu_grad_f(float x) { return ag_act_silu_grad(x); }

ag_status ag_cpu_gelu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream) {
  (void)stream;
  return map_unary("gelu", gelu_f, dt, x, y, n);
}

ag_status ag_cpu_gelu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,
                               void *stream) {
  (void)stream;
  return map_grad("gelu_backward", gelu_grad_f, dt, x, g, gx, n);
}

ag_status ag_cpu_silu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream) {
  (void)stream;
  return map_unary("silu", silu_f, dt, x, y, n);
}

ag_status ag_cpu_silu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,
                               void *stream) {
  (void)stream;
  return map_grad("silu_backward", silu_grad_f, dt, x, g, gx, n);
}
