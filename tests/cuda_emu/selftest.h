/* selftest.h - launchers of the emulator self-test kernels (selftest.cu).
 * Built twice, like the project's kernels: ag_cuda_selftest_* by nvcc and
 * ag_emu_selftest_* by the emulator, so the GPU test can run both and require
 * identical results. Pointers are device pointers for ag_cuda_*, host pointers
 * for ag_emu_*; `stream` is a cudaStream_t (ignored by the emulator). */
#ifndef AG_EMU_SELFTEST_H
#define AG_EMU_SELFTEST_H

#include "base/ag_base.h"
#include "kernels/common/ag_hd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Histogram bins of selftest_histogram. */
#define AG_SELFTEST_BINS 64
/* Threads per block of selftest_rotate. */
#define AG_SELFTEST_ROTATE_BLOCK 1024

#define AG_DECLARE_SELFTEST_LAUNCHERS(P)                                                          \
  /* block_sums[b] = sum of x[256 b .. 256 b + 255] (shared-memory tree + shuffle finish) */     \
  ag_status P##selftest_block_sum(const float *x, float *block_sums, int n, void *stream);       \
  /* out (cols x rows) = transpose of in (rows x cols), 32x33 shared tile */                     \
  ag_status P##selftest_transpose(const float *in, float *out, int rows, int cols, void *stream); \
  /* y = inclusive prefix sum of x within each warp of 32 elements (__shfl_up_sync) */            \
  ag_status P##selftest_warp_scan(const int *x, int *y, int n, void *stream);                     \
  /* bins[v & 63] counts the values of x (shared then global atomicAdd); zeroes bins first */   \
  ag_status P##selftest_histogram(const int *x, unsigned *bins, int n, void *stream);            \
  /* per warp w of 32 elements, pred = x > 0: ballot, any and all */                              \
  ag_status P##selftest_votes(const float *x, unsigned *ballot, int *any, int *all, int n,       \
                              void *stream);                                                      \
  /* every element gets its warp's sum and max (__shfl_xor_sync butterfly) */                     \
  ag_status P##selftest_butterfly(const float *x, float *sum, float *max, int n, void *stream);   \
  /* reverses each chunk of `block` elements through dynamic shared memory */                    \
  ag_status P##selftest_reverse(const float *x, float *y, int n, int block, void *stream);        \
  /* per block of 128 elements, pred = x > 0: __syncthreads_count / _and / _or */                  \
  ag_status P##selftest_sync_count(const float *x, int *count, int *all, int *any, int n,         \
                                   void *stream);                                                 \
  /* out[thread] = its coordinates packed (3-d grid and block): see selftest_index_code */       \
  ag_status P##selftest_index3d(unsigned *out, void *stream);                                     \
  /* y[i] = x[the element `steps` places further in its 1024-thread block], moved one place per \
   * barrier-separated step through shared memory; 0 past the end of x */                       \
  ag_status P##selftest_rotate(const int *x, int *y, int n, int steps, void *stream);             \
  /* y = a * x + y: a barrier-free kernel for the fast path */                                    \
  ag_status P##selftest_saxpy(float a, const float *x, float *y, int n, void *stream);

AG_DECLARE_SELFTEST_LAUNCHERS(ag_cuda_)
AG_DECLARE_SELFTEST_LAUNCHERS(ag_emu_)

/* Grid and block of selftest_index3d, and how it packs coordinates. */
#define AG_SELFTEST_GRID_X 3
#define AG_SELFTEST_GRID_Y 2
#define AG_SELFTEST_GRID_Z 2
#define AG_SELFTEST_BLOCK_X 5
#define AG_SELFTEST_BLOCK_Y 4
#define AG_SELFTEST_BLOCK_Z 3
#define AG_SELFTEST_INDEX_COUNT                                                                   \
  (AG_SELFTEST_GRID_X * AG_SELFTEST_GRID_Y * AG_SELFTEST_GRID_Z * AG_SELFTEST_BLOCK_X *           \
   AG_SELFTEST_BLOCK_Y * AG_SELFTEST_BLOCK_Z)
AG_HD unsigned selftest_index_code(unsigned bx, unsigned by, unsigned bz, unsigned tx, unsigned ty,
                                  unsigned tz) {
  return bx << 20 | by << 16 | bz << 12 | tx << 8 | ty << 4 | tz;
}

#ifdef __cplusplus
}
#endif

#endif
