/* Strided gather into a contiguous buffer: makes permuted or sliced views
 * contiguous. Works on raw bytes, so every dtype is supported. */
#include <string.h>

#include "kernels/common/ag_kernels.h"

ag_status ag_cpu_copy_strided(ag_dtype dt, const void *src, ag_strided4 l, void *dst,
                              void *stream) {
  (void)stream;
  size_t es = ag_dtype_size(dt);
  if (es == 0) return ag_set_error(AG_ERR_INVALID, "copy_strided: invalid dtype");
  const char *s = (const char *)src;
  char *d = (char *)dst;
  int64_t n012 = l.shape[0] * l.shape[1] * l.shape[2];
#pragma omp parallel for schedule(static)
  for (int64_t outer = 0; outer < n012; outer++) {
    int64_t i0 = outer / (l.shape[1] * l.shape[2]);
    int64_t i1 = outer / l.shape[2] % l.shape[1];
    int64_t i2 = outer % l.shape[2];
    const char *row = s + (i0 * l.stride[0] + i1 * l.stride[1] + i2 * l.stride[2]) * (int64_t)es;
    char *out = d + outer * l.shape[3] * (int64_t)es;
    for (int64_t i3 = 0; i3 < l.shape[3]; i3++)
      memcpy(out + i3 * (int64_t)es, row + i3 * l.stride[3] * (int64_t)es, es);
  }
  return AG_OK;
}
