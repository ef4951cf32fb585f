/* ag_cuda_reduce.h - warp and block sums used by reductions, norms and
 * softmax, and the scratch of two-stage reductions. Every thread of the block
 * must call ag_block_sum (it contains barriers), and blockDim.x must be a
 * multiple of 32. */
#ifndef AG_CUDA_REDUCE_H
#define AG_CUDA_REDUCE_H

#include <cstdlib>

#include "ag_cuda.h"

__device__ __forceinline__ float ag_warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

/* Sum of `v` over the block, returned to every thread. The trailing barrier
 * lets callers reuse the scratch array right away. */
__device__ __forceinline__ float ag_block_sum(float v) {
  __shared__ float warp_sums[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  v = ag_warp_sum(v);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  v = lane < nwarps ? warp_sums[lane] : 0.0f;
  v = ag_warp_sum(v);
  __syncthreads();
  return v;
}

/* Two-stage reductions stay deterministic without float atomics: stage 1
 * writes one partial per block to scratch, stage 2 sums the partials in a
 * fixed order. The scratch is ordered on `stream`: cudaMallocAsync takes it
 * from the device's memory pool without synchronising (a captured graph
 * records an allocation node), and ag_partials_free queues its release behind
 * the kernels already on the stream, so calls on other streams never share
 * it. The emulator runs launches synchronously and its device memory is host
 * memory. */
static inline ag_status ag_partials_alloc(size_t count, void *stream, const char *what,
                                          float **out) {
#ifdef AG_CUDA_EMU
  (void)stream;
  *out = (float *)std::malloc(count * sizeof(float));
  if (*out) return AG_OK;
  return ag_set_error(AG_ERR_OOM, "cuda kernel %s: no scratch for %zu partials", what, count);
#else
  cudaError_t e = cudaMallocAsync((void **)out, count * sizeof(float), (cudaStream_t)stream);
  if (e == cudaSuccess) return AG_OK;
  *out = nullptr;
  return ag_set_error(AG_ERR_OOM, "cuda kernel %s: no scratch for %zu partials: %s", what, count,
                      cudaGetErrorString(e));
#endif
}

static inline ag_status ag_partials_free(float *p, void *stream, const char *what) {
#ifdef AG_CUDA_EMU
  (void)stream;
  (void)what;
  std::free(p);
  return AG_OK;
#else
  cudaError_t e = cudaFreeAsync(p, (cudaStream_t)stream);
  if (e == cudaSuccess) return AG_OK;
  return ag_set_error(AG_ERR_DEVICE, "cuda kernel %s: releasing its scratch: %s", what,
                      cudaGetErrorString(e));
#endif
}

/* Runs launch(partials), which returns the launch status, on `count` floats
 * of scratch; the first failure wins. */
template <typename F>
static ag_status ag_with_partials(size_t count, void *stream, const char *what, F &&launch) {
  float *partials = nullptr;
  AG_TRY(ag_partials_alloc(count, stream, what, &partials));
  ag_status st = launch(partials);
  ag_status freed = ag_partials_free(partials, stream, what);
  return st != AG_OK ? st : freed;
}

#endif
