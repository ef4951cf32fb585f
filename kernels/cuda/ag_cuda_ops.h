/* ag_cuda_ops.h - launchers of the CUDA kernels. Each mirrors the CPU kernel
 * of the same name in kernels/cpu/ag_cpu.h; `stream` is a cudaStream_t.
 * Declared twice: ag_cuda_* (nvcc build) and ag_emu_* (emulator build). */
#ifndef AG_CUDA_OPS_H
#define AG_CUDA_OPS_H

#include "kernels/common/ag_base.h"
#include "kernels/common/ag_strided.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_DECLARE_CUDA_LAUNCHERS(P)                                                              \
  ag_status P##add(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);  \
  ag_status P##mul(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);  \
  ag_status P##scale(ag_dtype dt, const void *a, float s, void *y, int64_t n, void *stream);       \
  ag_status P##gelu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);                \
  ag_status P##gelu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,      \
                             void *stream);                                                       \
  ag_status P##silu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);                \
  ag_status P##silu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n,      \
                             void *stream);                                                       \
  ag_status P##sum_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,          \
                        void *stream);                                                            \
  ag_status P##broadcast_rows(ag_dtype dt, const void *g, void *gx, int64_t rows, int64_t cols,   \
                              void *stream);                                                      \
  ag_status P##copy_strided(ag_dtype dt, const void *src, ag_strided4 layout, void *dst,          \
                            void *stream);                                                        \
  ag_status P##fill_uniform(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,      \
                            float lo, float hi, void *stream);                                    \
  ag_status P##fill_normal(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,       \
                           float mean, float std, void *stream);

AG_DECLARE_CUDA_LAUNCHERS(ag_cuda_)
AG_DECLARE_CUDA_LAUNCHERS(ag_emu_)

#ifdef __cplusplus
}
#endif

#endif
