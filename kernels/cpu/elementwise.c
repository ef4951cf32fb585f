/* Elementwise arithmetic on contiguous tensors of equal size. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

typedef float (*ag_binary_fn)(float, float);

static float add_f(float a, float b) { return a + b; }
static float mul_f(float a, float b) { return a * b; }

static ag_status map_binary(const char *name, ag_binary_fn f, ag_dtype dt, const void *a,
                            const void *b, void *y, int64_t n) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, y, i, f(ag_cpu_load(dt, a, i), ag_cpu_load(dt, b, i)));
  return AG_OK;
}

ag_status ag_cpu_add(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream) {
  (void)stream;
  return map_binary("add", add_f, dt, a, b, y, n);
}

ag_status ag_cpu_mul(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream) {
  (void)stream;
  return map_binary("mul", mul_f, dt, a, b, y, n);
}

ag_status ag_cpu_scale(ag_dtype dt, const void *a, float s, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("scale", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) ag_cpu_store(dt, y, i, s * ag_cpu_load(dt, a, i));
  return AG_OK;
}
