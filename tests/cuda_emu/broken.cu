/* broken.cu - kernels with classic CUDA bugs, each marked BUG. The emulator
 * must catch every one of them (test_emu_negative.cpp, emu_broken_demo):
 *   (a) a missing __syncthreads()      -> wrong result vs the CPU reference;
 *   (b) an off-by-one shared write     -> AddressSanitizer report in the
 *       sanitizer build; wrong result (static tile) or a guard-byte launch
 *       error (dynamic shared memory) in the normal build;
 *   (c) __syncthreads() in a divergent branch -> launch error;
 *   (d) a shared-memory race whose result is right anyway -> the race
 *       detector's launch error (and the correctly synchronised controls
 *       next to it are not reported);
 *   (e) static __shared__ read before it is written -> poison (NaN);
 *   (f) a result that depends on which block runs first -> wrong result
 *       with AG_EMU_BLOCK_ORDER=reverse or shuffle.
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

/* ---- (d) shared-memory races the result does not show ------------------------------
 * y[i] = x[i] + x[right neighbour in the block], read through buf. */

static __global__ void neighbour_sum_racy(const float *x, float *y, int n) {
  __shared__ float buf[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  const float v = i < n ? x[i] : 0.0f;
  buf[tid] = v;
  __syncthreads();
  /* BUG: a redundant second store of the same value, with no barrier before
   * the neighbour's read below. Whichever runs first, the neighbour reads the
   * right bytes, so only the race detector sees it (a write after read or a
   * read after write, depending on the order the threads run in). */
  buf[tid] = v;
  if (i < n) y[i] = v + buf[(tid + 1) % B];
}

extern "C" ag_status AG_CUDA_SYM(broken_neighbour_sum_racy)(const float *x, float *y, int n,
                                                            void *stream) {
  AG_LAUNCH(neighbour_sum_racy, ag_cuda_blocks(n, B), B, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("broken_neighbour_sum_racy");
}

/* y[i] = x[i ^ 1] + x[(i + 32) mod B in the block], exchanged through shared
 * memory: lanes swap within a warp after __syncwarp(), whole warps swap after
 * __syncthreads(). With `warp_sync_only`, the cross-warp read follows only a
 * __syncwarp() (BUG: that orders the lanes of one warp, not two warps). */
template <bool warp_sync_only> __device__ void swap_lanes_and_warps(const float *x, float *y,
                                                                    int n) {
  __shared__ float buf[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  buf[tid] = i < n ? x[i] : 0.0f;
  __syncwarp();
  const float lane_pair = buf[tid ^ 1];
  if (!warp_sync_only) __syncthreads();
  const float other_warp = buf[(tid + 32) % B];
  if (i < n) y[i] = lane_pair + other_warp;
}

static __global__ void exchange_synced(const float *x, float *y, int n) {
  swap_lanes_and_warps<false>(x, y, n);
}

static __global__ void exchange_warp_sync_only(const float *x, float *y, int n) {
  swap_lanes_and_warps<true>(x, y, n);
}

extern "C" ag_status AG_CUDA_SYM(broken_exchange)(const float *x, float *y, int n,
                                                  int warp_sync_only, void *stream) {
  if (warp_sync_only)
    AG_LAUNCH(exchange_warp_sync_only, ag_cuda_blocks(n, B), B, 0, stream, x, y, n);
  else
    AG_LAUNCH(exchange_synced, ag_cuda_blocks(n, B), B, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("broken_exchange");
}

/* counts[b] = the number of block b's threads with x[i] odd, counted with a
 * shared-memory atomicAdd by every thread: atomics are not races. */
static __global__ void count_odd_shared_atomic(const float *x, unsigned *counts, int n) {
  __shared__ unsigned count;
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  if (tid == 0) count = 0;
  __syncthreads();
  if (i < n && ((int)x[i] & 1)) atomicAdd(&count, 1u);
  __syncthreads();
  if (tid == 0) counts[blockIdx.x] = count;
}

extern "C" ag_status AG_CUDA_SYM(broken_count_odd)(const float *x, unsigned *counts, int n,
                                                   void *stream) {
  AG_LAUNCH(count_odd_shared_atomic, ag_cuda_blocks(n, B), B, 0, stream, x, counts, n);
  return AG_LAUNCH_STATUS("broken_count_odd");
}

/* ---- (e) static shared memory read before it is written -------------------------- */

static __global__ void read_before_write(float *y, int n) {
  __shared__ float slot[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  /* BUG: slot[tid] is read before anything is stored in this block; the
   * store below, from the previous block, must not leak into the next. */
  if (i < n) y[i] = slot[tid];
  slot[tid] = 1.0f;
}

extern "C" ag_status AG_CUDA_SYM(broken_read_before_write)(float *y, int n, void *stream) {
  AG_LAUNCH(read_before_write, ag_cuda_blocks(n, B), B, 0, stream, y, n);
  return AG_LAUNCH_STATUS("broken_read_before_write");
}

/* ---- (f) blocks assumed to run in order -------------------------------------------- */

/* total[0] = the sum of x: every block stores its partial sum, and the last
 * block adds them up. BUG: nothing makes the other blocks finish first (that
 * needs a grid-wide barrier, or a counter and fences). */
static __global__ void sum_in_last_block(const float *x, float *partial, float *total, int n) {
  __shared__ float buf[B];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * B + tid;
  buf[tid] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (int s = B / 2; s > 0; s >>= 1) {
    if (tid < s) buf[tid] += buf[tid + s];
    __syncthreads();
  }
  if (tid != 0) return;
  partial[blockIdx.x] = buf[0];
  if (blockIdx.x != gridDim.x - 1) return;
  float sum = 0.0f;
  for (unsigned b = 0; b < gridDim.x; ++b) sum += partial[b];
  total[0] = sum;
}

extern "C" ag_status AG_CUDA_SYM(broken_sum_in_last_block)(const float *x, float *partial,
                                                           float *total, int n, void *stream) {
  AG_LAUNCH(sum_in_last_block, ag_cuda_blocks(n, B), B, 0, stream, x, partial, total, n);
  return AG_LAUNCH_STATUS("broken_sum_in_last_block");
}

/* Not a bug: order[k] = the linear index of the k-th block to run, for
 * checking the emulator's block orders (on a GPU, blocks run concurrently and
 * the order means little). */
static __global__ void log_block_order(unsigned *next, unsigned *order) {
  if (threadIdx.x != 0) return;
  const unsigned linear = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  order[atomicAdd(next, 1u)] = linear;
}

extern "C" ag_status AG_CUDA_SYM(broken_log_block_order)(unsigned gx, unsigned gy, unsigned gz,
                                                         unsigned *next, unsigned *order,
                                                         void *stream) {
  AG_LAUNCH(log_block_order, dim3(gx, gy, gz), 32, 0, stream, next, order);
  return AG_LAUNCH_STATUS("broken_log_block_order");
}
