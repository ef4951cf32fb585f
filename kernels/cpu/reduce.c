/* Row reductions. Rows are independent, so they are the unit of parallelism;
 * each row is summed in f32 by pairwise halves to keep rounding error
 * O(log n) rather than O(n). */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

static float pairwise_sum(ag_dtype dt, const void *x, int64_t lo, int64_t hi) {
  if (hi - lo <= 32) {
    float s = 0.0f;
    for (int64_t i = lo; i < hi; i++) s += ag_cpu_load(dt, x, i);
    return s;
  }
  int64_t mid = lo + (hi - lo) / 2;
  return pairwise_sum(dt, x, lo, mid) + pairwise_sum(dt, x, mid, hi);
}

ag_status ag_cpu_sum_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,
                          void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sum_rows", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++)
    ag_cpu_store(dt, y, r, pairwise_sum(dt, x, r * cols, (r + 1) * cols));
  return AG_OK;
}

ag_status ag_cpu_broadcast_rows(ag_dtype dt, const void *g, void *gx, int64_t rows, int64_t cols,
                                void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("broadcast_rows", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float v = ag_cpu_load(dt, g, r);
    for (int64_t c = 0; c < cols; c++) ag_cpu_store(dt, gx, r * cols + c, v);
  }
  return AG_OK;
}
