/* Axis copies and index gathers over tensors viewed as [outer, n, inner].
 * Copies move raw bytes, so they serve every dtype; the gather's gradient
 * accumulates in f32 and rounds once per element. */
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

ag_status ag_cpu_copy_axis(ag_dtype dt, const void *src, int64_t src_n, int64_t src_off,
                           void *dst, int64_t dst_n, int64_t dst_off, int64_t outer,
                           int64_t count, int64_t inner, void *stream) {
  (void)stream;
  size_t es = ag_dtype_size(dt);
  if (es == 0) return ag_set_error(AG_ERR_INVALID, "copy_axis: invalid dtype");
  /* A run of `count * inner` elements is contiguous on both sides. */
  size_t run = (size_t)(count * inner) * es;
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < outer; o++) {
    char *d = (char *)dst + (size_t)((o * dst_n + dst_off) * inner) * es;
    if (src) memcpy(d, (const char *)src + (size_t)((o * src_n + src_off) * inner) * es, run);
    else memset(d, 0, run);
  }
  return AG_OK;
}

/* Rejects any index outside [0, n_x), naming the first one. */
static ag_status check_indices(const char *kernel, const int32_t *idx, int64_t n_idx,
                               int64_t n_x) {
  for (int64_t j = 0; j < n_idx; j++)
    if (idx[j] < 0 || idx[j] >= n_x)
      return ag_set_error(AG_ERR_INVALID, "%s: index %d at position %lld is outside [0, %lld)",
                          kernel, (int)idx[j], (long long)j, (long long)n_x);
  return AG_OK;
}

ag_status ag_cpu_gather_axis(ag_dtype dt, const void *x, const int32_t *idx, void *y,
                             int64_t outer, int64_t n_x, int64_t n_idx, int64_t inner,
                             void *stream) {
  (void)stream;
  size_t es = ag_dtype_size(dt);
  if (es == 0) return ag_set_error(AG_ERR_INVALID, "gather_axis: invalid dtype");
  AG_TRY(check_indices("gather_axis", idx, n_idx, n_x));
  size_t row = (size_t)inner * es;
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < outer * n_idx; line++) {
    int64_t o = line / n_idx, j = line % n_idx;
    memcpy((char *)y + (size_t)line * row, (const char *)x + (size_t)(o * n_x + idx[j]) * row,
           row);
  }
  return AG_OK;
}

/* Each (o, i) column of gx is owned by one thread, which adds the gradient
 * rows in index order: no races, and the same sums on every run. */
static void scatter_add_columns(ag_dtype dt, const void *g, const int32_t *idx, float *acc,
                                int64_t outer, int64_t n_x, int64_t n_idx, int64_t inner) {
#pragma omp parallel for schedule(static)
  for (int64_t col = 0; col < outer * inner; col++) {
    int64_t o = col / inner, i = col % inner;
    for (int64_t j = 0; j < n_idx; j++)
      acc[(o * n_x + idx[j]) * inner + i] += ag_cpu_load(dt, g, (o * n_idx + j) * inner + i);
  }
}

ag_status ag_cpu_gather_axis_backward(ag_dtype dt, const void *g, const int32_t *idx, void *gx,
                                      int64_t outer, int64_t n_x, int64_t n_idx, int64_t inner,
                                      void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("gather_axis_backward", dt);
  AG_TRY(check_indices("gather_axis_backward", idx, n_idx, n_x));
  int64_t n = outer * n_x * inner;
  float *acc = dt == AG_F32 ? (float *)gx : malloc((size_t)(n > 0 ? n : 1) * sizeof *acc);
  if (!acc)
    return ag_set_error(AG_ERR_OOM, "gather_axis_backward: no memory for %lld f32 sums",
                        (long long)n);
  memset(acc, 0, (size_t)n * sizeof *acc);
  scatter_add_columns(dt, g, idx, acc, outer, n_x, n_idx, inner);
  if (dt != AG_F32) {
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; k++) ag_cpu_store(dt, gx, k, acc[k]);
    free(acc);
  }
  return AG_OK;
}

const ag_layout_kernels ag_cpu_layout_kernels = {
    .copy_strided = ag_cpu_copy_strided,
    .copy_axis = ag_cpu_copy_axis,
    .gather_axis = ag_cpu_gather_axis,
    .gather_axis_backward = ag_cpu_gather_axis_backward,
};
