/* Timestep embedding (the lookup is gather_axis, kernels/cuda/layout.cu): one
 * thread per output element, consecutive threads along a row, so stores
 * coalesce; the formula is the CPU kernel's (kernels/common/ag_embedding.h). */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_embedding.h"
#include "kernels/common/ag_kernels.h"

template <typename T>
static __global__ void timestep_embedding_kernel(const T *t, T *y, int64_t n, int64_t dim,
                                                 int flip, float max_period, float shift) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n * dim;
       k += (int64_t)gridDim.x * blockDim.x)
    y[k] = ag_from_f32<T>(ag_timestep_embedding_value(ag_to_f32(t[k / dim]), k % dim, dim, flip,
                                                      max_period, shift));
}

extern "C" ag_status AG_CUDA_SYM(timestep_embedding)(ag_dtype dt, const void *t, void *y,
                                                     int64_t n, int64_t dim, int flip,
                                                     float max_period, float shift,
                                                     void *stream) {
  if (n * dim == 0) return AG_OK;
  return ag_dispatch_float(dt, "timestep_embedding", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(timestep_embedding_kernel<T>, ag_ew_blocks(n * dim), AG_EW_THREADS, 0, stream,
              (const T *)t, (T *)y, n, dim, flip, max_period, shift);
  });
}

extern "C" const ag_embedding_kernels AG_CUDA_SYM(embedding_kernels) = {
    .timestep_embedding = AG_CUDA_SYM(timestep_embedding),
};
