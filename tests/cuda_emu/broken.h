/* broken.h - deliberately broken kernels (broken.cu) that the emulator must
 * catch, and the CPU references they should have matched. Used by
 * test_emu_negative.cpp and the emu_broken_demo program. */
#ifndef AG_EMU_BROKEN_H
#define AG_EMU_BROKEN_H

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Threads per block of every broken kernel. */
#define AG_BROKEN_BLOCK 256

#define AG_DECLARE_BROKEN_LAUNCHERS(P)                                                            \
  /* (a) block sums with the barrier after the shared-memory store missing */                    \
  ag_status P##broken_block_sum_missing_sync(const float *x, float *sums, int n, void *stream);   \
  /* (b) 3-point stencil whose right halo is written one past the end of a static __shared__   \
   * tile */                                                                                      \
  ag_status P##broken_stencil_static(const float *x, float *y, int n, void *stream);              \
  /* (b') the same with dynamic shared memory */                                                  \
  ag_status P##broken_stencil_dynamic(const float *x, float *y, int n, void *stream);             \
  /* (b'') y[i] = 2 x[i] with the bound check `i <= n`: writes y[n] */                            \
  ag_status P##broken_scale_global(const float *x, float *y, int n, void *stream);               \
  /* (c) block sums with the tree's __syncthreads() inside `if (tid < s)` */                      \
  ag_status P##broken_block_sum_divergent(const float *x, float *sums, int n, void *stream);     \
  /* (d) y[i] = x[i] + x[right neighbour in the block], with a shared-memory race that does     \
   * not change the result */                                                                   \
  ag_status P##broken_neighbour_sum_racy(const float *x, float *y, int n, void *stream);         \
  /* (d) y[i] = x[i ^ 1] + x[(i + 32) mod block]: correctly synchronised, or (warp_sync_only)   \
   * with the cross-warp read after only a __syncwarp() */                                      \
  ag_status P##broken_exchange(const float *x, float *y, int n, int warp_sync_only,              \
                               void *stream);                                                   \
  /* (d) counts[b] = how many x of block b are odd, by shared-memory atomicAdd (no bug) */      \
  ag_status P##broken_count_odd(const float *x, unsigned *counts, int n, void *stream);          \
  /* (e) y[i] = a static __shared__ slot read before it is written */                           \
  ag_status P##broken_read_before_write(float *y, int n, void *stream);                          \
  /* (f) total[0] = sum of x, added up by the last block from the others' partial[] */          \
  ag_status P##broken_sum_in_last_block(const float *x, float *partial, float *total, int n,    \
                                        void *stream);                                          \
  /* order[k] = linear index of the k-th block of a (gx, gy, gz) grid to run; *next counts */   \
  ag_status P##broken_log_block_order(unsigned gx, unsigned gy, unsigned gz, unsigned *next,     \
                                      unsigned *order, void *stream);

AG_DECLARE_BROKEN_LAUNCHERS(ag_cuda_)
AG_DECLARE_BROKEN_LAUNCHERS(ag_emu_)

#ifdef __cplusplus
}

#include <vector>

namespace broken {

/* What the broken kernels should compute. */
inline std::vector<float> block_sums(const std::vector<float> &x) {
  std::vector<float> s((x.size() + AG_BROKEN_BLOCK - 1) / AG_BROKEN_BLOCK, 0.0f);
  for (size_t i = 0; i < x.size(); ++i) s[i / AG_BROKEN_BLOCK] += x[i];
  return s;
}

inline std::vector<float> stencil(const std::vector<float> &x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = (i ? x[i - 1] : 0.0f) + x[i] + (i + 1 < x.size() ? x[i + 1] : 0.0f);
  return y;
}

/* y[i] = x[i] + x[right neighbour in the block] (neighbour_sum_racy). */
inline std::vector<float> neighbour_sums(const std::vector<float> &x) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t start = i / AG_BROKEN_BLOCK * AG_BROKEN_BLOCK;
    const size_t j = start + (i - start + 1) % AG_BROKEN_BLOCK;
    y[i] = x[i] + (j < x.size() ? x[j] : 0.0f);
  }
  return y;
}

/* y[i] = x[i ^ 1] + x[(i + 32) mod block] (broken_exchange). */
inline std::vector<float> exchanged(const std::vector<float> &x) {
  std::vector<float> y(x.size());
  const auto at = [&](size_t j) { return j < x.size() ? x[j] : 0.0f; };
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t start = i / AG_BROKEN_BLOCK * AG_BROKEN_BLOCK;
    y[i] = at(i ^ 1u) + at(start + (i - start + 32) % AG_BROKEN_BLOCK);
  }
  return y;
}

/* Small positive integers: sums are exact, and no element is zero, so a value
 * that goes missing always changes the result. */
inline std::vector<float> inputs(int n) {
  std::vector<float> x((size_t)n);
  for (int i = 0; i < n; ++i) x[(size_t)i] = (float)(1 + (i * 7) % 13);
  return x;
}

} /* namespace broken */
#endif

#endif
