/* matmul on the CPU: OpenBLAS sgemm per product of the batch, then the bias
 * and activation epilogue in one pass. bf16/f16 operands are widened to f32
 * scratch first and the result is rounded once on store. */
#include <limits.h>
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_blas.h"
#include "cpu_dtype.h"

/* Elements spanned by `count` matrices of `size` elements `stride` apart. */
static int64_t batch_extent(int64_t count, int64_t stride, int64_t size) {
  return stride ? (count - 1) * stride + size : size;
}

static int fits_blas_int(const ag_gemm *g) {
  return g->m <= INT_MAX && g->n <= INT_MAX && g->k <= INT_MAX;
}

/* y[i] = act(y[i] + bias[i % n]) over a batch of [m, n] results. */
static void apply_epilogue(const ag_gemm *g, const float *bias, float *y) {
  if (!bias && g->epilogue == AG_MATMUL_EPI_NONE) return;
  const int64_t rows = g->batch * g->m;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float *row = y + (r / g->m) * g->stride_y + (r % g->m) * g->n;
    for (int64_t j = 0; j < g->n; j++)
      row[j] = ag_matmul_act(g->epilogue, row[j] + (bias ? bias[j] : 0.0f));
  }
}

/* The f32 product on f32 operands (the layout described in ag_k_matmul.h). */
static void gemm_f32(const ag_gemm *g, const float *a, const float *b, const float *bias,
                     float *y) {
  const int64_t lda = g->trans_a ? g->m : g->k, ldb = g->trans_b ? g->k : g->n;
  for (int64_t p = 0; p < g->batch; p++)
    ag_cpu_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, g->alpha, a + p * g->stride_a, lda,
                 b + p * g->stride_b, ldb, g->beta, y + p * g->stride_y, g->n);
  apply_epilogue(g, bias, y);
}

/* A new f32 copy of `n` elements (zeros when `x` is NULL); NULL when out of memory. */
static float *widen(ag_dtype dt, const void *x, int64_t n) {
  float *w = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!w) return NULL;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) w[i] = x ? ag_cpu_load(dt, x, i) : 0.0f;
  return w;
}

static ag_status gemm_widened(ag_dtype dt, const ag_gemm *g, const void *a, const void *b,
                              const void *bias, void *y) {
  const int64_t na = batch_extent(g->batch, g->stride_a, g->m * g->k);
  const int64_t nb = batch_extent(g->batch, g->stride_b, g->k * g->n);
  const int64_t ny = batch_extent(g->batch, g->stride_y, g->m * g->n);
  float *wa = widen(dt, a, na), *wb = widen(dt, b, nb);
  float *wbias = bias ? widen(dt, bias, g->n) : NULL;
  float *wy = widen(dt, g->beta != 0.0f ? y : NULL, ny);
  ag_status st = AG_OK;
  if (!wa || !wb || !wy || (bias && !wbias)) {
    st = ag_set_error(AG_ERR_OOM, "cpu kernel matmul: no memory for f32 copies of [%lld,%lld,%lld]",
                      (long long)g->m, (long long)g->n, (long long)g->k);
  } else {
    gemm_f32(g, wa, wb, wbias, wy);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < ny; i++) ag_cpu_store(dt, y, i, wy[i]);
  }
  free(wa);
  free(wb);
  free(wbias);
  free(wy);
  return st;
}

ag_status ag_cpu_matmul(ag_kernel_ctx *ctx, ag_dtype dt, const ag_gemm *g, const void *a,
                        const void *b, const void *bias, void *y, void *stream) {
  (void)ctx;
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul", dt);
  if (!fits_blas_int(g))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cpu kernel matmul: [%lld,%lld,%lld] exceeds BLAS int",
                        (long long)g->m, (long long)g->n, (long long)g->k);
  if (g->batch == 0 || g->m == 0 || g->n == 0) return AG_OK;
  if (dt != AG_F32) return gemm_widened(dt, g, a, b, bias, y);
  gemm_f32(g, a, b, bias, y);
  return AG_OK;
}

ag_status ag_cpu_matmul_act_backward(ag_dtype dt, int epilogue, const void *z, const void *g,
                                     void *dz, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul_act_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, dz, i,
                 ag_cpu_load(dt, g, i) * ag_matmul_act_grad(epilogue, ag_cpu_load(dt, z, i)));
  return AG_OK;
}

ag_status ag_cpu_matmul_bias_backward(ag_dtype dt, const void *dz, void *dbias, int64_t rows,
                                      int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul_bias_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < n; j++) {
    float s = 0.0f;
    for (int64_t r = 0; r < rows; r++) s += ag_cpu_load(dt, dz, r * n + j);
    ag_cpu_store(dt, dbias, j, s);
  }
  return AG_OK;
}

const ag_matmul_kernels ag_cpu_matmul_kernels = {
    .matmul = ag_cpu_matmul,
    .matmul_act_backward = ag_cpu_matmul_act_backward,
    .matmul_bias_backward = ag_cpu_matmul_bias_backward,
};
