/* ag_cuda_dtype.h - storage types and their f32 conversions for templated
 * kernels. Math is done in f32; stores round to nearest even, matching the
 * CPU kernels (kernels/cpu/cpu_dtype.h). */
#ifndef AG_CUDA_DTYPE_H
#define AG_CUDA_DTYPE_H

#include "ag_cuda.h"

__device__ __forceinline__ float ag_to_f32(float v) { return v; }
__device__ __forceinline__ float ag_to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float ag_to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T ag_from_f32(float v);
template <> __device__ __forceinline__ float ag_from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half ag_from_f32<__half>(float v) {
  return __float2half_rn(v);
}
template <> __device__ __forceinline__ __nv_bfloat16 ag_from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

/* Calls f(T{}) with T the storage type of `dt` (a generic lambda reads it as
 * `using T = decltype(tag);`), so a launcher dispatches once on dtype.
 * Returns AG_ERR_UNSUPPORTED for non-float dtypes, else the launch status. */
template <typename F> static ag_status ag_dispatch_float(ag_dtype dt, const char *what, F &&f) {
  switch (dt) {
  case AG_F32: f(float{}); break;
  case AG_F16: f(__half{}); break;
  case AG_BF16: f(__nv_bfloat16{}); break;
  default:
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: dtype %s is not supported", what,
                        ag_dtype_name(dt));
  }
  return AG_LAUNCH_STATUS(what);
}

/* Threads per block for simple elementwise kernels. */
#define AG_EW_THREADS 256

/* Grid for a grid-stride elementwise kernel: enough blocks to fill the GPU,
 * capped so huge tensors loop instead of exceeding the grid limit. */
static inline unsigned ag_ew_blocks(int64_t n) {
  unsigned b = ag_cuda_blocks(n, AG_EW_THREADS);
  if (b > 65535u * 8u) b = 65535u * 8u;
  return b > 0 ? b : 1;
}

#endif
