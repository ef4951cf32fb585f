/* Random fills from the Philox4x32-10 counter stream (kernels/common/ag_philox.h),
 * bit-identical to kernels/cpu/random.c. Each thread computes one Philox block
 * (4 stream values, one cipher call) per grid-stride step and stores the
 * values inside [offset, offset + n); only the first and last block can be
 * partial (offset % 4 != 0, or offset + n not a multiple of 4). */
#include "ag_cuda.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_bf16.h"
#include "kernels/common/ag_philox.h"

#define AG_RNG_THREADS 256

enum { AG_RNG_UNIFORM = 0, AG_RNG_NORMAL = 1 };

/* One value to element i, rounded like the CPU kernels (ag_bf16.h). */
static __device__ __forceinline__ void ag_rng_store(int dt, void *y, int64_t i, float v) {
  if (dt == AG_BF16)
    ((uint16_t *)y)[i] = ag_f32_to_bf16(v);
  else if (dt == AG_F16)
    ((uint16_t *)y)[i] = ag_f32_to_f16(v);
  else
    ((float *)y)[i] = v;
}

/* Block g = first + t covers elements 4g - offset .. 4g - offset + 3. */
static __global__ void ag_rng_fill_kernel(int kind, int dt, void *y, int64_t n, uint64_t seed,
                                          uint64_t offset, float a, float b, int64_t groups) {
  const uint64_t first = offset >> 2;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < groups; t += stride) {
    const uint64_t g = first + (uint64_t)t;
    float v[4];
    if (kind == AG_RNG_UNIFORM)
      ag_philox_uniform4(seed, g, a, b, v);
    else
      ag_philox_normal4(seed, g, a, b, v);
    const int64_t i0 = (int64_t)(g * 4u - offset); /* in [-3, n) */
    for (int w = 0; w < 4; w++) {
      const int64_t i = i0 + w;
      if (i >= 0 && i < n) ag_rng_store(dt, y, i, v[w]);
    }
  }
}

static ag_status ag_rng_launch(const char *name, int kind, ag_dtype dt, void *y, int64_t n,
                               uint64_t seed, uint64_t offset, float a, float b, void *stream) {
  if (dt != AG_F32 && dt != AG_BF16 && dt != AG_F16)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: dtype %s is not supported", name,
                        ag_dtype_name(dt));
  if (n < 0)
    return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: negative size %lld", name, (long long)n);
  if (n == 0) return AG_OK;
  if (!y) return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: null output", name);
  if ((uint64_t)n - 1u > UINT64_MAX - offset)
    return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: offset %llu + size %lld overflows 2^64",
                        name, (unsigned long long)offset, (long long)n);
  const int64_t groups = ag_philox_groups(n, offset);
  unsigned blocks = ag_cuda_blocks(groups, AG_RNG_THREADS);
  if (blocks > 65535u * 8u) blocks = 65535u * 8u; /* larger fills loop */
  AG_LAUNCH(ag_rng_fill_kernel, blocks, AG_RNG_THREADS, 0, stream, kind, (int)dt, y, n, seed,
            offset, a, b, groups);
  return AG_LAUNCH_STATUS(name);
}

extern "C" ag_status AG_CUDA_SYM(fill_uniform)(ag_dtype dt, void *y, int64_t n, uint64_t seed,
                                               uint64_t offset, float lo, float hi,
                                               void *stream) {
  return ag_rng_launch("fill_uniform", AG_RNG_UNIFORM, dt, y, n, seed, offset, lo, hi, stream);
}

extern "C" ag_status AG_CUDA_SYM(fill_normal)(ag_dtype dt, void *y, int64_t n, uint64_t seed,
                                              uint64_t offset, float mean, float std,
                                              void *stream) {
  return ag_rng_launch("fill_normal", AG_RNG_NORMAL, dt, y, n, seed, offset, mean, std, stream);
}

extern "C" const ag_random_kernels AG_CUDA_SYM(random_kernels) = {
    .fill_uniform = AG_CUDA_SYM(fill_uniform),
    .fill_normal = AG_CUDA_SYM(fill_normal),
};
