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

ag_status ag_cpu_unary(ag_dtype dt, int fn, float p, const void *x, void *y, int64_t n,
                       void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary", dt, fn));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, y, i, ag_unary_eval(fn, ag_cpu_load(dt, x, i), p));
  return AG_OK;
}

ag_status ag_cpu_unary_backward(ag_dtype dt, int fn, float p, const void *x, const void *g,
                                void *gx, int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary_backward", dt, fn));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, gx, i, ag_cpu_load(dt, g, i) * ag_unary_grad(fn, ag_cpu_load(dt, x, i), p));
  return AG_OK;
}
