/* cpu_blas.h - the one way CPU kernels call sgemm. */
#ifndef AG_CPU_BLAS_H
#define AG_CPU_BLAS_H

#include <stdint.h>

/* C [m, n] = alpha * op(A) [m, k] @ op(B) [k, n] + beta * C, row-major with
 * leading dimensions lda, ldb, ldc (as cblas_sgemm).
 *
 * Threading: OpenBLAS is kept single-threaded, and a large product called
 * outside a parallel region is split into row (or column) blocks over the
 * OpenMP threads instead. OpenBLAS's own thread pool would otherwise compete
 * with OpenMP's for the same cores (both spin while waiting), and a product
 * called from inside an OpenMP loop (a convolution per image) would start
 * threads of its own on cores that are already busy. */
void ag_cpu_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc);

#endif
