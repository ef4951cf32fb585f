/* selftest.cu - kernels that exercise the emulator's CUDA features. Built by
 * nvcc (ag_cuda_selftest_*) and by the emulator (ag_emu_selftest_*); the tests
 * compare both with plain CPU references. Sizes passed by the tests are not
 * multiples of the block sizes, so every kernel guards its loads and stores
 * but keeps all threads of a warp / block in the collectives. */
#include "kernels/cuda/ag_cuda.h"
#include "tests/cuda_emu/selftest.h"

#define FULL_MASK 0xffffffffu

/* ---- block reduction: shared-memory tree down to one warp, then shuffles --- */

#define SUM_BLOCK 256

static __device__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(FULL_MASK, v, offset);
  return v;
}

static __global__ void block_sum_kernel(const float *x, float *block_sums, int n) {
  __shared__ float buf[SUM_BLOCK];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * SUM_BLOCK + tid;
  buf[tid] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (int s = SUM_BLOCK / 2; s >= 32; s >>= 1) {
    if (tid < s) buf[tid] += buf[tid + s];
    __syncthreads();
  }
  if (tid < 32) {
    const float v = warp_sum(buf[tid]);
    if (tid == 0) block_sums[blockIdx.x] = v;
  }
}

extern "C" ag_status AG_CUDA_SYM(selftest_block_sum)(const float *x, float *block_sums, int n,
                                                     void *stream) {
  AG_LAUNCH(block_sum_kernel, ag_cuda_blocks(n, SUM_BLOCK), SUM_BLOCK, 0, stream, x, block_sums,
            n);
  return AG_LAUNCH_STATUS("selftest_block_sum");
}

/* ---- tiled transpose through a padded static shared tile ------------------ */

#define TILE 32
#define TILE_ROWS 8

static __global__ void transpose_kernel(const float *in, float *out, int rows, int cols) {
  /* 33 columns: the column reads below then hit 32 different banks. */
  __shared__ float tile[TILE][TILE + 1];
  const int col = blockIdx.x * TILE + threadIdx.x;
  for (int j = 0; j < TILE; j += TILE_ROWS) {
    const int row = blockIdx.y * TILE + threadIdx.y + j;
    if (row < rows && col < cols) tile[threadIdx.y + j][threadIdx.x] = in[row * cols + col];
  }
  __syncthreads();
  const int out_col = blockIdx.y * TILE + threadIdx.x; /* a row of `in` */
  for (int j = 0; j < TILE; j += TILE_ROWS) {
    const int out_row = blockIdx.x * TILE + threadIdx.y + j; /* a column of `in` */
    if (out_row < cols && out_col < rows)
      out[out_row * rows + out_col] = tile[threadIdx.x][threadIdx.y + j];
  }
}

extern "C" ag_status AG_CUDA_SYM(selftest_transpose)(const float *in, float *out, int rows,
                                                     int cols, void *stream) {
  const dim3 grid(ag_cuda_blocks(cols, TILE), ag_cuda_blocks(rows, TILE));
  const dim3 block(TILE, TILE_ROWS);
  AG_LAUNCH(transpose_kernel, grid, block, 0, stream, in, out, rows, cols);
  return AG_LAUNCH_STATUS("selftest_transpose");
}

/* ---- warp inclusive scan ------------------------------------------------------ */

#define SCAN_BLOCK 128

static __global__ void warp_scan_kernel(const int *x, int *y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % warpSize;
  int v = i < n ? x[i] : 0;
  for (int offset = 1; offset < warpSize; offset <<= 1) {
    const int up = __shfl_up_sync(FULL_MASK, v, offset);
    if (lane >= offset) v += up;
  }
  if (i < n) y[i] = v;
}

extern "C" ag_status AG_CUDA_SYM(selftest_warp_scan)(const int *x, int *y, int n, void *stream) {
  AG_LAUNCH(warp_scan_kernel, ag_cuda_blocks(n, SCAN_BLOCK), SCAN_BLOCK, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("selftest_warp_scan");
}

/* ---- histogram: per-block shared bins, then one global atomic per bin -------- */

#define HIST_BLOCK 256

static __global__ void histogram_kernel(const int *x, unsigned *bins, int n) {
  __shared__ unsigned local[AG_SELFTEST_BINS];
  for (int b = threadIdx.x; b < AG_SELFTEST_BINS; b += blockDim.x) local[b] = 0;
  __syncthreads();
  /* A grid-stride loop, so each block sees several chunks. */
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    atomicAdd(&local[x[i] & (AG_SELFTEST_BINS - 1)], 1u);
  __syncthreads();
  for (int b = threadIdx.x; b < AG_SELFTEST_BINS; b += blockDim.x)
    if (local[b]) atomicAdd(&bins[b], local[b]);
}

extern "C" ag_status AG_CUDA_SYM(selftest_histogram)(const int *x, unsigned *bins, int n,
                                                     void *stream) {
  cudaMemsetAsync(bins, 0, AG_SELFTEST_BINS * sizeof(unsigned), (cudaStream_t)stream);
  AG_LAUNCH(histogram_kernel, 7, HIST_BLOCK, 0, stream, x, bins, n);
  return AG_LAUNCH_STATUS("selftest_histogram");
}

/* ---- votes ---------------------------------------------------------------------- */

#define VOTE_BLOCK 128

static __global__ void votes_kernel(const float *x, unsigned *ballot, int *any, int *all, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int pred = i < n && x[i] > 0.0f;
  const unsigned b = __ballot_sync(FULL_MASK, pred);
  const int a = __any_sync(FULL_MASK, pred);
  const int l = __all_sync(FULL_MASK, pred);
  const int warp = i / warpSize;
  if (i % warpSize == 0 && i < n) {
    ballot[warp] = b;
    any[warp] = a;
    all[warp] = l;
  }
}

extern "C" ag_status AG_CUDA_SYM(selftest_votes)(const float *x, unsigned *ballot, int *any,
                                                 int *all, int n, void *stream) {
  AG_LAUNCH(votes_kernel, ag_cuda_blocks(n, VOTE_BLOCK), VOTE_BLOCK, 0, stream, x, ballot, any,
            all, n);
  return AG_LAUNCH_STATUS("selftest_votes");
}

/* ---- xor butterfly: every lane ends with the warp's sum and max ---------------- */

#define BFLY_BLOCK 96

static __global__ void butterfly_kernel(const float *x, float *sum, float *max, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  float s = i < n ? x[i] : 0.0f;
  float m = i < n ? x[i] : -INFINITY;
  for (int mask = 16; mask > 0; mask >>= 1) {
    s += __shfl_xor_sync(FULL_MASK, s, mask);
    m = fmaxf(m, __shfl_xor_sync(FULL_MASK, m, mask));
  }
  if (i < n) {
    sum[i] = s;
    max[i] = m;
  }
}

extern "C" ag_status AG_CUDA_SYM(selftest_butterfly)(const float *x, float *sum, float *max,
                                                     int n, void *stream) {
  AG_LAUNCH(butterfly_kernel, ag_cuda_blocks(n, BFLY_BLOCK), BFLY_BLOCK, 0, stream, x, sum, max,
            n);
  return AG_LAUNCH_STATUS("selftest_butterfly");
}

/* ---- dynamic shared memory: reverse each block's chunk ---------------------------- */

static __global__ void reverse_kernel(const float *x, float *y, int n) {
  AG_DYNAMIC_SMEM(float, buf);
  const int tid = threadIdx.x;
  const int start = blockIdx.x * blockDim.x;
  const int m = min((int)blockDim.x, n - start); /* elements in this chunk */
  if (tid < m) buf[tid] = x[start + tid];
  __syncthreads();
  if (tid < m) y[start + tid] = buf[m - 1 - tid];
}

extern "C" ag_status AG_CUDA_SYM(selftest_reverse)(const float *x, float *y, int n, int block,
                                                   void *stream) {
  AG_LAUNCH(reverse_kernel, ag_cuda_blocks(n, block), block, (size_t)block * sizeof(float),
            stream, x, y, n);
  return AG_LAUNCH_STATUS("selftest_reverse");
}

/* ---- __syncthreads_count / _and / _or --------------------------------------------- */

#define COUNT_BLOCK 128

static __global__ void sync_count_kernel(const float *x, int *count, int *all, int *any, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int pred = i < n && x[i] > 0.0f;
  const int c = __syncthreads_count(pred);
  const int a = __syncthreads_and(pred);
  const int o = __syncthreads_or(pred);
  if (threadIdx.x == 0) {
    count[blockIdx.x] = c;
    all[blockIdx.x] = a;
    any[blockIdx.x] = o;
  }
}

extern "C" ag_status AG_CUDA_SYM(selftest_sync_count)(const float *x, int *count, int *all,
                                                      int *any, int n, void *stream) {
  AG_LAUNCH(sync_count_kernel, ag_cuda_blocks(n, COUNT_BLOCK), COUNT_BLOCK, 0, stream, x, count,
            all, any, n);
  return AG_LAUNCH_STATUS("selftest_sync_count");
}

/* ---- 3-d grid and block indices ------------------------------------------------------ */

static __global__ void index3d_kernel(unsigned *out) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned per_block = blockDim.x * blockDim.y * blockDim.z;
  out[block * per_block + thread] = selftest_index_code(blockIdx.x, blockIdx.y, blockIdx.z,
                                                        threadIdx.x, threadIdx.y, threadIdx.z);
}

extern "C" ag_status AG_CUDA_SYM(selftest_index3d)(unsigned *out, void *stream) {
  const dim3 grid(AG_SELFTEST_GRID_X, AG_SELFTEST_GRID_Y, AG_SELFTEST_GRID_Z);
  const dim3 block(AG_SELFTEST_BLOCK_X, AG_SELFTEST_BLOCK_Y, AG_SELFTEST_BLOCK_Z);
  AG_LAUNCH(index3d_kernel, grid, block, 0, stream, out);
  return AG_LAUNCH_STATUS("selftest_index3d");
}

/* ---- a full 1024-thread block, many barriers --------------------------------------- */

static __global__ void rotate_kernel(const int *x, int *y, int n, int steps) {
  __shared__ int buf[AG_SELFTEST_ROTATE_BLOCK];
  const int tid = threadIdx.x;
  const int i = blockIdx.x * AG_SELFTEST_ROTATE_BLOCK + tid;
  buf[tid] = i < n ? x[i] : 0;
  __syncthreads();
  for (int s = 0; s < steps; ++s) {
    const int next = buf[(tid + 1) % AG_SELFTEST_ROTATE_BLOCK];
    __syncthreads(); /* everyone has read before anyone overwrites */
    buf[tid] = next;
    __syncthreads();
  }
  if (i < n) y[i] = buf[tid];
}

extern "C" ag_status AG_CUDA_SYM(selftest_rotate)(const int *x, int *y, int n, int steps,
                                                  void *stream) {
  AG_LAUNCH(rotate_kernel, ag_cuda_blocks(n, AG_SELFTEST_ROTATE_BLOCK), AG_SELFTEST_ROTATE_BLOCK,
            0, stream, x, y, n, steps);
  return AG_LAUNCH_STATUS("selftest_rotate");
}

/* ---- barrier-free -------------------------------------------------------------------- */

static __global__ void saxpy_kernel(float a, const float *x, float *y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = __fmaf_rn(a, x[i], y[i]); /* one rounding on GPU and CPU alike */
}

extern "C" ag_status AG_CUDA_SYM(selftest_saxpy)(float a, const float *x, float *y, int n,
                                                 void *stream) {
  AG_LAUNCH(saxpy_kernel, ag_cuda_blocks(n, 256), 256, 0, stream, a, x, y, n);
  return AG_LAUNCH_STATUS("selftest_saxpy");
}
