/* Timestep embedding on the CPU (the lookup is gather_axis, kernels/cpu/layout.c). */
#include "kernels/common/ag_embedding.h"
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

ag_status ag_cpu_timestep_embedding(ag_dtype dt, const void *t, void *y, int64_t n, int64_t dim,
                                    int flip, float max_period, float shift, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("timestep_embedding", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; r++) {
    float tr = ag_cpu_load(dt, t, r);
    for (int64_t c = 0; c < dim; c++)
      ag_cpu_store(dt, y, r * dim + c,
                   ag_timestep_embedding_value(tr, c, dim, flip, max_period, shift));
  }
  return AG_OK;
}

const ag_embedding_kernels ag_cpu_embedding_kernels = {
    .timestep_embedding = ag_cpu_timestep_embedding,
};
