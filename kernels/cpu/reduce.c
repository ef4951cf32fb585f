/* Reductions over one axis of x viewed as [outer, n, inner]. Each (outer,
 * inner) line is independent, so lines are the unit of parallelism; sums are
 * taken by pairwise halves in f32 to keep rounding error O(log n) rather
 * than O(n). */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

/* Sum of the n elements x[base + a * stride]. */
static float pairwise_sum(ag_dtype dt, const void *x, int64_t base, int64_t n, int64_t stride) {
  if (n <= 32) {
    float s = 0.0f;
    for (int64_t a = 0; a < n; a++) s += ag_cpu_load(dt, x, base + a * stride);
    return s;
  }
  int64_t half = n / 2;
  return pairwise_sum(dt, x, base, half, stride) +
         pairwise_sum(dt, x, base + half * stride, n - half, stride);
}

static float line_max(ag_dtype dt, const void *x, int64_t base, int64_t n, int64_t stride) {
  float m = ag_cpu_load(dt, x, base);
  for (int64_t a = 1; a < n; a++) {
    float v = ag_cpu_load(dt, x, base + a * stride);
    if (ag_reduce_max_takes(v, m)) m = v;
  }
  return m;
}

static float reduce_line(ag_reduce_kind kind, ag_dtype dt, const void *x, int64_t base, int64_t n,
                         int64_t stride) {
  switch (kind) {
  case AG_REDUCE_MAX: return line_max(dt, x, base, n, stride);
  case AG_REDUCE_MEAN: return pairwise_sum(dt, x, base, n, stride) / (float)n;
  default: return pairwise_sum(dt, x, base, n, stride);
  }
}

ag_status ag_cpu_reduce_axis(ag_dtype dt, ag_reduce_kind kind, const void *x, void *y,
                             int64_t outer, int64_t n, int64_t inner, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("reduce_axis", dt);
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < outer * inner; line++) {
    int64_t o = line / inner, i = line % inner;
    ag_cpu_store(dt, y, line, reduce_line(kind, dt, x, o * n * inner + i, n, inner));
  }
  return AG_OK;
}

/* The first a on the line whose element equals the line's maximum y. */
static int64_t first_max(ag_dtype dt, const void *x, float y, int64_t base, int64_t n,
                         int64_t stride) {
  for (int64_t a = 0; a < n; a++)
    if (ag_reduce_is_max(ag_cpu_load(dt, x, base + a * stride), y)) return a;
  return n;
}

ag_status ag_cpu_reduce_axis_backward(ag_dtype dt, ag_reduce_kind kind, const void *x,
                                      const void *y, const void *g, void *gx, int64_t outer,
                                      int64_t n, int64_t inner, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("reduce_axis_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < outer * inner; line++) {
    int64_t o = line / inner, i = line % inner, base = o * n * inner + i;
    float gv = ag_cpu_load(dt, g, line);
    int64_t hit = kind == AG_REDUCE_MAX ? first_max(dt, x, ag_cpu_load(dt, y, line), base, n, inner)
                                        : -1;
    for (int64_t a = 0; a < n; a++) {
      float v = kind == AG_REDUCE_MAX ? (a == hit ? gv : 0.0f)
                : kind == AG_REDUCE_MEAN ? gv / (float)n
                                         : gv;
      ag_cpu_store(dt, gx, base + a * inner, v);
    }
  }
  return AG_OK;
}

const ag_reduce_kernels ag_cpu_reduce_kernels = {
    .reduce_axis = ag_cpu_reduce_axis,
    .reduce_axis_backward = ag_cpu_reduce_axis_backward,
};
