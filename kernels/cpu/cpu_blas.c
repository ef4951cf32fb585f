/* sgemm for the CPU kernels: OpenBLAS, single-threaded, blocked over OpenMP
 * threads (see cpu_blas.h for why). */
#include "cpu_blas.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>

/* Below this many multiply-adds a split costs more than it saves. */
#define AG_SGEMM_SPLIT_MIN ((int64_t)1 << 18)

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single_threaded(void) { openblas_set_num_threads(1); }

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
              (blasint)ldc);
}

void ag_cpu_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  pthread_once(&blas_once, blas_single_threaded);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads == 1 || m * n * k < AG_SGEMM_SPLIT_MIN) {
    sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  /* Split the longer side of C; each block is an independent product. Row
   * r of op(A) starts at a + r*lda (or a + r when A is stored transposed),
   * column j of op(B) at b + j (or b + j*ldb). */
  const int by_rows = m >= n;
  const int64_t len = by_rows ? m : n, step = (len + threads - 1) / threads;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; t++) {
    const int64_t lo = t * step, hi = lo + step < len ? lo + step : len;
    if (lo >= hi) continue;
    if (by_rows)
      sgemm(ta, tb, hi - lo, n, k, alpha, a + (ta ? lo : lo * lda), lda, b, ldb, beta, c + lo * ldc,
            ldc);
    else
      sgemm(ta, tb, m, hi - lo, k, alpha, a, lda, b + (tb ? lo * ldb : lo), ldb, beta, c + lo, ldc);
  }
}
