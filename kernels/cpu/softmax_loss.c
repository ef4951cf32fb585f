/* Mean elementwise losses (MSE, Huber), the CPU reference. The mean is a
 * sum of per-element losses accumulated in double, so the reference stays
 * accurate for large tensors: per chunk of AG_CPU_CHUNK elements over
 * AG_LOSS_LANES interleaved partial sums (vector lanes), then the chunks'
 * sums in order, so that the result does not depend on the thread count.
 * Loops are compiled per loss and dtype, so they vectorise. */
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "cpu_vmath.h"

#define AG_LOSS_LANES 16

enum { LOSS_MSE, LOSS_HUBER };

AG_CPU_INLINE float loss_value(int kind, float d, float delta) {
  return kind == LOSS_MSE ? ag_mse(d, delta) : ag_huber(d, delta);
}

AG_CPU_INLINE float loss_slope(int kind, float d, float delta) {
  return kind == LOSS_MSE ? ag_mse_grad(d, delta) : ag_huber_grad(d, delta);
}

AG_CPU_INLINE double loss_sum_t(ag_dtype dt, int kind, const void *a, const void *b, int64_t n,
                                float delta) {
  double s[AG_LOSS_LANES] = {0};
  int64_t i = 0;
  for (; i + AG_LOSS_LANES <= n; i += AG_LOSS_LANES)
#pragma omp simd
    for (int l = 0; l < AG_LOSS_LANES; l++)
      s[l] += loss_value(kind, ag_cpu_load(dt, a, i + l) - ag_cpu_load(dt, b, i + l), delta);
  for (int l = 0; i + l < n; l++)
    s[l] += loss_value(kind, ag_cpu_load(dt, a, i + l) - ag_cpu_load(dt, b, i + l), delta);
  double sum = 0.0;
  for (int l = 0; l < AG_LOSS_LANES; l++) sum += s[l];
  return sum;
}

/* da = k f'(a - b) and db = -da; `to_a` and `to_b` (constants at every
 * call) say which are written. */
AG_CPU_INLINE void loss_grad_t(ag_dtype dt, int kind, int to_a, int to_b, const void *a,
                               const void *b, void *da, void *db, int64_t n, float k, float delta) {
  for (int64_t i = 0; i < n; i++) {
    float ga = k * loss_slope(kind, ag_cpu_load(dt, a, i) - ag_cpu_load(dt, b, i), delta);
    if (to_a) ag_cpu_store(dt, da, i, ga);
    if (to_b) ag_cpu_store(dt, db, i, -ga);
  }
}

AG_CPU_SIMD static double loss_chunk(ag_dtype dt, int kind, const void *a, const void *b, int64_t n,
                                     float delta) {
  return kind == LOSS_MSE ? AG_CPU_BY_DTYPE(dt, loss_sum_t, LOSS_MSE, a, b, n, delta)
                          : AG_CPU_BY_DTYPE(dt, loss_sum_t, LOSS_HUBER, a, b, n, delta);
}

/* loss_grad_t with the loss and the outputs made constants. */
AG_CPU_INLINE void loss_grad_outputs(ag_dtype dt, int kind, const void *a, const void *b, void *da,
                                     void *db, int64_t n, float k, float delta) {
  if (da && db)
    AG_CPU_BY_DTYPE(dt, loss_grad_t, kind, 1, 1, a, b, da, db, n, k, delta);
  else if (da)
    AG_CPU_BY_DTYPE(dt, loss_grad_t, kind, 1, 0, a, b, da, db, n, k, delta);
  else if (db)
    AG_CPU_BY_DTYPE(dt, loss_grad_t, kind, 0, 1, a, b, da, db, n, k, delta);
}

AG_CPU_SIMD static void loss_grad_chunk(ag_dtype dt, int kind, const void *a, const void *b,
                                        void *da, void *db, int64_t n, float k, float delta) {
  if (kind == LOSS_MSE)
    loss_grad_outputs(dt, LOSS_MSE, a, b, da, db, n, k, delta);
  else
    loss_grad_outputs(dt, LOSS_HUBER, a, b, da, db, n, k, delta);
}

/* Element i of an input, or of an output that may be absent (NULL). */
static const void *in_at(const void *p, ag_dtype dt, int64_t i) {
  return (const char *)p + i * (int64_t)ag_dtype_size(dt);
}

static void *out_at(void *p, ag_dtype dt, int64_t i) {
  return p ? (char *)p + i * (int64_t)ag_dtype_size(dt) : NULL;
}

static ag_status mean_loss(const char *name, int kind, ag_dtype dt, const void *a, const void *b,
                           float *y, int64_t n, float delta) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK;
  double *part = malloc((size_t)(chunks > 0 ? chunks : 1) * sizeof *part);
  if (!part)
    return ag_set_error(AG_ERR_OOM, "cpu kernel %s: no memory for %lld partial sums", name,
                        (long long)chunks);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t i = c * AG_CPU_CHUNK, len = n - i < AG_CPU_CHUNK ? n - i : AG_CPU_CHUNK;
    part[c] = loss_chunk(dt, kind, in_at(a, dt, i), in_at(b, dt, i), len, delta);
  }
  double s = 0.0;
  for (int64_t c = 0; c < chunks; c++) s += part[c];
  free(part);
  y[0] = (float)(s / (double)n);
  return AG_OK;
}

/* da = g/n * f'(a - b) and db = -da; either output may be absent. */
static ag_status mean_loss_backward(const char *name, int kind, ag_dtype dt, const void *a,
                                    const void *b, const float *g, void *da, void *db, int64_t n,
                                    float delta) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  const float k = g[0] / (float)n;
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; c++) {
    int64_t i = c * AG_CPU_CHUNK, len = n - i < AG_CPU_CHUNK ? n - i : AG_CPU_CHUNK;
    loss_grad_chunk(dt, kind, in_at(a, dt, i), in_at(b, dt, i), out_at(da, dt, i),
                    out_at(db, dt, i), len, k, delta);
  }
  return AG_OK;
}

ag_status ag_cpu_mse_loss(ag_dtype dt, const void *a, const void *b, float *y, int64_t n,
                          void *stream) {
  (void)stream;
  return mean_loss("mse_loss", LOSS_MSE, dt, a, b, y, n, 0.0f);
}

ag_status ag_cpu_mse_loss_backward(ag_dtype dt, const void *a, const void *b, const float *g,
                                   void *da, void *db, int64_t n, void *stream) {
  (void)stream;
  return mean_loss_backward("mse_loss_backward", LOSS_MSE, dt, a, b, g, da, db, n, 0.0f);
}

ag_status ag_cpu_huber_loss(ag_dtype dt, const void *a, const void *b, float *y, int64_t n,
                            float delta, void *stream) {
  (void)stream;
  return mean_loss("huber_loss", LOSS_HUBER, dt, a, b, y, n, delta);
}

ag_status ag_cpu_huber_loss_backward(ag_dtype dt, const void *a, const void *b, const float *g,
                                     void *da, void *db, int64_t n, float delta, void *stream) {
  (void)stream;
  return mean_loss_backward("huber_loss_backward", LOSS_HUBER, dt, a, b, g, da, db, n, delta);
}
