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
  ag_status P##broken_block_sum_divergent(const float *x, float *sums, int n, void *stream);

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
