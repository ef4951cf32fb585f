/* Mean elementwise losses (MSE, Huber), the CPU reference. The mean is a
 * sum of per-element losses accumulated in double across OpenMP threads, so
 * the reference stays accurate for large tensors. */
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "cpu_dtype.h"

typedef float (*loss_fn)(float d, float delta);

static ag_status mean_loss(const char *name, loss_fn f, ag_dtype dt, const void *a,
                           const void *b, float *y, int64_t n, float delta) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  double s = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += f(ag_cpu_load(dt, a, i) - ag_cpu_load(dt, b, i), delta);
  y[0] = (float)(s / (double)n);
  return AG_OK;
}

/* da = g/n * f'(a - b) and db = -da; either output may be absent. */
static ag_status mean_loss_backward(const char *name, loss_fn df, ag_dtype dt, const void *a,
                                    const void *b, const float *g, void *da, void *db, int64_t n,
                                    float delta) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  float k = g[0] / (float)n;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float ga = k * df(ag_cpu_load(dt, a, i) - ag_cpu_load(dt, b, i), delta);
    if (da) ag_cpu_store(dt, da, i, ga);
    if (db) ag_cpu_store(dt, db, i, -ga);
  }
  return AG_OK;
}

ag_status ag_cpu_mse_loss(ag_dtype dt, const void *a, const void *b, float *y, int64_t n,
                          void *stream) {
  (void)stream;
  return mean_loss("mse_loss", ag_mse, dt, a, b, y, n, 0.0f);
}

ag_status ag_cpu_mse_loss_backward(ag_dtype dt, const void *a, const void *b, const float *g,
                                   void *da, void *db, int64_t n, void *stream) {
  (void)stream;
  return mean_loss_backward("mse_loss_backward", ag_mse_grad, dt, a, b, g, da, db, n, 0.0f);
}

ag_status ag_cpu_huber_loss(ag_dtype dt, const void *a, const void *b, float *y, int64_t n,
                            float delta, void *stream) {
  (void)stream;
  return mean_loss("huber_loss", ag_huber, dt, a, b, y, n, delta);
}

ag_status ag_cpu_huber_loss_backward(ag_dtype dt, const void *a, const void *b, const float *g,
                                     void *da, void *db, int64_t n, float delta, void *stream) {
  (void)stream;
  return mean_loss_backward("huber_loss_backward", ag_huber_grad, dt, a, b, g, da, db, n, delta);
}
