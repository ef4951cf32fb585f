/* mma_selftest.h - launchers of the tensor-core wrapper self-test kernels
 * (mma_selftest.cu, kernels/cuda/ag_cuda_mma.h). Built twice like selftest.h:
 * ag_cuda_mma_selftest_* by nvcc, ag_emu_mma_selftest_* by the emulator.
 * Matrices are row major; 16-bit elements travel as their bits (uint16_t), f16
 * or bf16 as `bf16` says. Pointers are device pointers for ag_cuda_*, host
 * pointers for ag_emu_*; `stream` is a cudaStream_t (ignored by the
 * emulator). */
#ifndef AG_EMU_MMA_SELFTEST_H
#define AG_EMU_MMA_SELFTEST_H

#include <stdint.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How selftest_mma builds its fragments. */
enum ag_mma_fragments {
  AG_MMA_LDMATRIX = 0,    /* A by ldmatrix.x4, B by ldmatrix.x2.trans */
  AG_MMA_BY_HAND = 1,     /* read from shared memory per the documented layout */
  AG_MMA_ROWS_SWAPPED = 2 /* by hand, rows g and g + 8 of A swapped: a wrong mapping */
};

/* What selftest_cp_async does with its 32 threads, each owning 16 bytes. */
enum ag_cp_async_mode {
  AG_CP_COPY = 0,       /* copy, commit, wait<0>, barrier; out = the neighbour's chunk */
  AG_CP_ZERO_FILL = 1,  /* as copy, but odd threads issue their copy invalid: zeros */
  AG_CP_TWO_GROUPS = 2, /* chunk to X, commit, chunk + 32 to Y, commit, wait<1>, read X,
                         * wait<0>, read Y: out[0..127] from X, out[128..255] from Y */
  AG_CP_PEEK = 3,       /* as two groups, but Y is read right after wait<1>: emulator only,
                         * a race on a GPU */
  AG_CP_NO_WAIT = 4     /* copy, commit, barrier, read without any wait: a missing wait */
};

/* Broken kernels for the emulator's checks (never launched on a GPU). */
enum ag_mma_misuse {
  AG_MISUSE_DIVERGENT_MMA = 0,      /* half of the warp calls the mma */
  AG_MISUSE_SPLIT_MMA = 1,          /* the halves call two different mma sites */
  AG_MISUSE_LDMATRIX_UNALIGNED = 2, /* a row address 8 bytes off */
  AG_MISUSE_LDMATRIX_GLOBAL = 3,    /* row addresses in global memory */
  AG_MISUSE_CP_ASYNC_GLOBAL = 4,    /* a cp.async destination in global memory */
  AG_MISUSE_PARTIAL_WARP = 5        /* a block of 16 threads calls the mma */
};

#define AG_DECLARE_MMA_SELFTEST_LAUNCHERS(P)                                                       \
  /* One warp: d (16 x 8 f32) = a (16 x 16) * b (16 x 8, k x n) + c, fragments as `how`. */        \
  ag_status P##mma_selftest_mma(const uint16_t *a, const uint16_t *b, const float *c, float *d,    \
                                int bf16, int how, void *stream);                                  \
  /* One warp: lane l passes row src + 8 * perm[l] (16 bytes) to ldmatrix of `count` (1, 2 or      \
   * 4) matrices (.trans if `trans`), lanes past 8 count pass null; out[4 l + m] = register m      \
   * of lane l (unused registers 0). src holds 32 rows of 8 elements. */                           \
  ag_status P##mma_selftest_ldmatrix(const uint16_t *src, const int *perm, uint32_t *out,          \
                                     int count, int trans, void *stream);                          \
  /* Four warps: d (64 x 64 f32) = a (64 x 64) * b (64 x 64, k x n), both loaded by cp.async,      \
   * each warp 16 rows by 8 mmas per 16-wide k step. */                                            \
  ag_status P##mma_selftest_tile64(const uint16_t *a, const uint16_t *b, float *d, int bf16,       \
                                   void *stream);                                                  \
  /* One warp through shared memory as `mode` says; src holds 256 floats, out 256. */              \
  ag_status P##mma_selftest_cp_async(const float *src, float *out, int mode, void *stream);        \
  /* Launches the broken kernel `misuse`; must fail. `buf` is 1024 bytes of global memory. */      \
  ag_status P##mma_selftest_misuse(int misuse, uint16_t *buf, void *stream);                       \
  /* y = exp2(x), n elements. */                                                                   \
  ag_status P##mma_selftest_exp2(const float *x, float *y, int n, void *stream);

AG_DECLARE_MMA_SELFTEST_LAUNCHERS(ag_cuda_)
AG_DECLARE_MMA_SELFTEST_LAUNCHERS(ag_emu_)

#ifdef __cplusplus
}
#endif

#endif
