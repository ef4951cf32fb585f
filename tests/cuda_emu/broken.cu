/* broken.cu - kernels with classic CUDA bugs, each marked BUG. The emulator
 * must catch every one of them (test_emu_negative.cpp, emu_broken_demo):
 *   (a) a missing __syncthreads()      -> wrong result vs the CPU reference;
 *   (b) an off-by-one shared write     -> AddressSanitizer report in the
 *       sanitizer build; wrong result (static tile) or a guard-byte launch
 *       error (dynamic shared memory) in the normal build;
 *   (c) __syncthreads() in a divergent branch -> launch error.
 * Valid CUDA otherwise: it compiles with nvcc too. */
#include "kernels/cuda/ag_cuda.h"
#include "tests/cuda_emu/broken.h"

#define B AG_BROKEN_BLOCK

/* ---- (a) missing barrier ---------------------------------------------------- */

static __global__ void block_sum_missing_sync(const float *x, float *sums, int n) {
  __shared__ float buf[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  buf[tid] = i < n ? x[i] : 0.0f;
  /* BUG: no __syncthreads() here, so the first step of the tree reads
   * buf[tid + 128] before thread tid + 128 has stored it. */
  for (int s = B / 2; s > 0; s >>= 1) {
    if (tid < s) buf[tid] += buf[tid + s];
    __syncthreads();
  }
  if (tid == 0) sums[blockIdx.x] = buf[0];
}

extern "C" ag_status AG_CUDA_SYM(broken_block_sum_missing_sync)(const float *x, float *sums,
                                                                int n, void *stream) {
  AG_LAUNCH(block_sum_missing_sync, ag_cuda_blocks(n, B), B, 0, stream, x, sums, n);
  return AG_LAUNCH_STATUS("broken_block_sum_missing_sync");
}

/* ---- (b) off-by-one shared-memory write -------------------------------------------
 * y[i] = x[i-1] + x[i] + x[i+1] through a tile of B + 2 elements: the block's
 * elements at tile[1..B] and one halo element on each side. */

static __device__ float halo_value(const float *x, int i, int n) {
  return i >= 0 && i < n ? x[i] : 0.0f;
}

static __global__ void stencil_static(const float *x, float *y, int n) {
  __shared__ float tile[B + 2];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  tile[tid + 1] = halo_value(x, i, n);
  if (tid == 0) tile[0] = halo_value(x, i - 1, n);
  if (tid == (int)blockDim.x - 1)
    tile[blockDim.x + 2] = halo_value(x, i + 1, n); /* BUG: the last slot is blockDim.x + 1 */
  __syncthreads();
  if (i < n) y[i] = tile[tid] + tile[tid + 1] + tile[tid + 2];
}

extern "C" ag_status AG_CUDA_SYM(broken_stencil_static)(const float *x, float *y, int n,
                                                        void *stream) {
  AG_LAUNCH(stencil_static, ag_cuda_blocks(n, B), B, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("broken_stencil_static");
}

static __global__ void stencil_dynamic(const float *x, float *y, int n) {
  AG_DYNAMIC_SMEM(float, tile); /* B + 2 floats */
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  tile[tid + 1] = halo_value(x, i, n);
  if (tid == 0) tile[0] = halo_value(x, i - 1, n);
  if (tid == (int)blockDim.x - 1)
    tile[blockDim.x + 2] = halo_value(x, i + 1, n); /* BUG: the last slot is blockDim.x + 1 */
  __syncthreads();
  if (i < n) y[i] = tile[tid] + tile[tid + 1] + tile[tid + 2];
}

extern "C" ag_status AG_CUDA_SYM(broken_stencil_dynamic)(const float *x, float *y, int n,
                                                         void *stream) {
  AG_LAUNCH(stencil_dynamic, ag_cuda_blocks(n, B), B, (B + 2) * sizeof(float), stream, x, y, n);
  return AG_LAUNCH_STATUS("broken_stencil_dynamic");
}

static __global__ void scale_global(const float *x, float *y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) y[i] = 2.0f * (i < n ? x[i] : 0.0f); /* BUG: `i <= n` writes y[n] */
}

extern "C" ag_status AG_CUDA_SYM(broken_scale_global)(const float *x, float *y, int n,
                                                      void *stream) {
  AG_LAUNCH(scale_global, ag_cuda_blocks(n + 1, B), B, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("broken_scale_global");
}

/* ---- (c) barrier in a divergent branch --------------------------------------------- */

static __global__ void block_sum_divergent(const float *x, float *sums, int n) {
  __shared__ float buf[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  buf[tid] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (int s = B / 2; s > 0; s >>= 1) {
    if (tid < s) {
      buf[tid] += buf[tid + s];
      __syncthreads(); /* BUG: only threads below s reach this barrier */
    }
  }
  if (tid == 0) sums[blockIdx.x] = buf[0];
}

extern "C" ag_status AG_CUDA_SYM(broken_block_sum_divergent)(const float *x, float *sums, int n,
                                                             void *stream) {
  AG_LAUNCH(block_sum_divergent, ag_cuda_blocks(n, B), B, 0, stream, x, sums, n);
  return AG_LAUNCH_STATUS("broken_block_sum_divergent");
}
