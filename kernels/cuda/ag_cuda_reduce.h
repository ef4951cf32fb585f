/* ag_cuda_reduce.h - warp and block sums used by reductions, norms and
 * softmax. Every thread of the block must call ag_block_sum (it contains
 * barriers), and blockDim.x must be a multiple of 32. */
#ifndef AG_CUDA_REDUCE_H
#define AG_CUDA_REDUCE_H

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

#endif
