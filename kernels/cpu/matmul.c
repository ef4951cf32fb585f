/* matmul on the CPU: one oneDNN matmul primitive per problem, cached (see
 * cpu_dnnl.h), with the bias, the scale, the accumulation into y and the
 * activation fused as post-ops, so y is written once. bf16 operands are
 * multiplied with f32 accumulation and rounded once on store, the contract
 * of the CUDA kernels. Where oneDNN has no kernel for a dtype on this
 * processor (f16 without AVX-512 FP16), the operands are widened to f32
 * copies and the f32 primitive runs instead. */
#include <stdlib.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dnnl.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

/* Everything a matmul primitive depends on; zeroed before it is filled, so
 * the padding compares equal too. */
typedef struct matmul_key {
  int family; /* 'M': distinguishes matmul plans from conv plans */
  int dtype;
  ag_gemm g;
  int has_bias;
} matmul_key;

/* Elements spanned by `count` matrices of `size` elements `stride` apart. */
static int64_t batch_extent(int64_t count, int64_t stride, int64_t size) {
  return stride ? (count - 1) * stride + size : size;
}

/* op(x) of one operand as a [batch, rows, cols] descriptor over its
 * row-major storage ([cols, rows] when transposed). */
static dnnl_memory_desc_t operand_md(ag_dtype dt, const ag_gemm *g, int64_t rows, int64_t cols,
                                     int trans, int64_t batch_stride) {
  const int64_t dims[3] = {g->batch, rows, cols};
  const int64_t strides[3] = {g->batch > 1 ? batch_stride : 0, trans ? 1 : cols,
                              trans ? rows : 1};
  return ag_dnnl_md(dt, 3, dims, strides);
}

static dnnl_alg_kind_t epilogue_alg(int epilogue) {
  return epilogue == AG_MATMUL_EPI_RELU ? dnnl_eltwise_relu : dnnl_eltwise_gelu_tanh;
}

/* y = act(alpha * acc + beta * y + bias) as oneDNN attributes. The bias is
 * the primitive's bias argument when alpha is 1 (it is added to acc before
 * the post-ops); otherwise a binary post-op after the scale. */
static dnnl_status_t matmul_attr(const ag_gemm *g, int bias_as_post_op,
                                 const dnnl_memory_desc_t *bias_md, dnnl_primitive_attr_t *attr) {
  dnnl_post_ops_t po = NULL;
  dnnl_status_t s = dnnl_primitive_attr_create(attr);
  if (s == dnnl_success) s = dnnl_post_ops_create(&po);
  if (s == dnnl_success && g->alpha != 1.0f)
    s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear, g->alpha, 0.0f);
  if (s == dnnl_success && g->beta != 0.0f) s = dnnl_post_ops_append_sum(po, g->beta);
  if (s == dnnl_success && bias_as_post_op) s = dnnl_post_ops_append_binary(po, dnnl_binary_add, bias_md);
  if (s == dnnl_success && g->epilogue != AG_MATMUL_EPI_NONE)
    s = dnnl_post_ops_append_eltwise(po, 1.0f, epilogue_alg(g->epilogue), 0.0f, 0.0f);
  if (s == dnnl_success) s = dnnl_primitive_attr_set_post_ops(*attr, po);
  if (po) dnnl_post_ops_destroy(po);
  return s;
}

/* Creates and caches the plan of one matmul problem. Plan arguments, in
 * order: src, weights, dst, then the bias when there is one. */
static ag_status matmul_plan(ag_dnnl *d, const matmul_key *key, ag_dnnl_plan **plan) {
  const ag_gemm *g = &key->g;
  const ag_dtype dt = (ag_dtype)key->dtype;
  const int64_t y_dims[3] = {g->batch, g->m, g->n}, y_strides[3] = {g->stride_y, g->n, 1};
  const int64_t b_dims[3] = {1, 1, g->n}, b_strides[3] = {0, 0, 1};
  ag_dnnl_arg args[4] = {
      {.arg = DNNL_ARG_SRC, .user = operand_md(dt, g, g->m, g->k, g->trans_a, g->stride_a)},
      {.arg = DNNL_ARG_WEIGHTS, .user = operand_md(dt, g, g->k, g->n, g->trans_b, g->stride_b)},
      {.arg = DNNL_ARG_DST, .output = 1, .user = ag_dnnl_md(dt, 3, y_dims, y_strides)},
      {.arg = DNNL_ARG_BIAS, .user = ag_dnnl_md(dt, 3, b_dims, b_strides)},
  };
  const int post_bias = key->has_bias && g->alpha != 1.0f;
  /* The bias post-op's index in the chain: after the scale and the sum. */
  const int bias_index = (g->alpha != 1.0f) + (g->beta != 0.0f);
  if (post_bias) args[3].arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(bias_index) | DNNL_ARG_SRC_1;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = dnnl_matmul_desc_init(&desc, &args[0].user, &args[1].user,
                                          key->has_bias && !post_bias ? &args[3].user : NULL,
                                          &args[2].user);
  if (s == dnnl_success) s = matmul_attr(g, post_bias, &args[3].user, &attr);
  if (s == dnnl_success) s = dnnl_primitive_desc_create(&pd, &desc, attr, ag_dnnl_engine(d), NULL);
  ag_status st = s == dnnl_success ? ag_dnnl_add(d, key, sizeof *key, pd, args,
                                                 key->has_bias ? 4 : 3, plan)
                                   : ag_dnnl_error(s, "matmul", "primitive_desc_create");
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return st;
}

static ag_status matmul_run(ag_dnnl *d, ag_dtype dt, const ag_gemm *g, const void *a,
                            const void *b, const void *bias, void *y) {
  matmul_key key;
  /* The key is compared as bytes: zeroed first and filled member by member,
   * since copying *g whole would copy its padding, which is garbage. */
  memset(&key, 0, sizeof key);
  key.family = 'M';
  key.dtype = dt;
  key.g.m = g->m, key.g.n = g->n, key.g.k = g->k;
  key.g.trans_a = g->trans_a, key.g.trans_b = g->trans_b;
  key.g.batch = g->batch;
  key.g.stride_a = g->stride_a, key.g.stride_b = g->stride_b, key.g.stride_y = g->stride_y;
  key.g.alpha = g->alpha, key.g.beta = g->beta;
  key.g.epilogue = g->epilogue;
  key.has_bias = bias != NULL;
  ag_dnnl_plan *plan = ag_dnnl_find(d, &key, sizeof key);
  if (!plan) AG_TRY(matmul_plan(d, &key, &plan));
  void *ptrs[4] = {(void *)a, (void *)b, y, (void *)bias};
  return ag_dnnl_execute(d, plan, ptrs);
}

/* A new f32 copy of `n` elements (zeros when `x` is NULL); NULL when out of memory. */
static float *widen(ag_dtype dt, const void *x, int64_t n) {
  float *w = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!w) return NULL;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) w[i] = x ? ag_cpu_load(dt, x, i) : 0.0f;
  return w;
}

/* The product in f32 on widened copies, rounded once into y. */
static ag_status matmul_widened(ag_dnnl *d, ag_dtype dt, const ag_gemm *g, const void *a,
                                const void *b, const void *bias, void *y) {
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
    st = matmul_run(d, AG_F32, g, wa, wb, wbias, wy);
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
  (void)stream;
  ag_dnnl *d;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul", dt);
  AG_TRY(ag_cpu_dnnl_of(ctx, "matmul", &d));
  if (g->batch == 0 || g->m == 0 || g->n == 0) return AG_OK;
  ag_status st = matmul_run(d, dt, g, a, b, bias, y);
  if (st == AG_ERR_UNSUPPORTED && dt != AG_F32) {
    ag_clear_error();
    st = matmul_widened(d, dt, g, a, b, bias, y);
  }
  return st;
}

/* dz = g * act'(z) over one chunk of each dtype's storage. */
AG_CPU_SIMD static void act_grad_f32(int epi, const float *z, const float *g, float *dz,
                                     int64_t n) {
  for (int64_t i = 0; i < n; i++) dz[i] = g[i] * ag_matmul_act_grad(epi, z[i]);
}

AG_CPU_SIMD static void act_grad_bf16(int epi, const uint16_t *z, const uint16_t *g, uint16_t *dz,
                                      int64_t n) {
  for (int64_t i = 0; i < n; i++)
    dz[i] = ag_f32_to_bf16(ag_bf16_to_f32(g[i]) *
                           ag_matmul_act_grad(epi, ag_bf16_to_f32(z[i])));
}

ag_status ag_cpu_matmul_act_backward(ag_dtype dt, int epilogue, const void *z, const void *g,
                                     void *dz, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul_act_backward", dt);
  const size_t es = ag_dtype_size(dt);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += AG_CPU_CHUNK) {
    const int64_t len = n - c < AG_CPU_CHUNK ? n - c : AG_CPU_CHUNK;
    const char *zc = (const char *)z + c * es, *gc = (const char *)g + c * es;
    char *dc = (char *)dz + c * es;
    if (dt == AG_F32) act_grad_f32(epilogue, (const float *)zc, (const float *)gc, (float *)dc, len);
    else if (dt == AG_BF16)
      act_grad_bf16(epilogue, (const uint16_t *)zc, (const uint16_t *)gc, (uint16_t *)dc, len);
    else
      for (int64_t i = 0; i < len; i++)
        ag_cpu_store(dt, dc, i, ag_cpu_load(dt, gc, i) * ag_matmul_act_grad(epilogue, ag_cpu_load(dt, zc, i)));
  }
  return AG_OK;
}

/* acc[j] += dz[r, j0 + j] over every row, for the columns of one block. */
AG_CPU_SIMD static void add_rows(ag_dtype dt, const void *dz, int64_t n, int64_t rows, int64_t j0,
                                 int64_t len, float *acc) {
  for (int64_t r = 0; r < rows; r++) {
    if (dt == AG_F32) {
      const float *row = (const float *)dz + r * n + j0;
      for (int64_t j = 0; j < len; j++) acc[j] += row[j];
    } else if (dt == AG_BF16) {
      const uint16_t *row = (const uint16_t *)dz + r * n + j0;
      for (int64_t j = 0; j < len; j++) acc[j] += ag_bf16_to_f32(row[j]);
    } else {
      for (int64_t j = 0; j < len; j++) acc[j] += ag_cpu_load(dt, dz, r * n + j0 + j);
    }
  }
}

/* Columns per block of the bias gradient: one block's sums stay in L1. */
#define AG_BIAS_BLOCK 512

/* dbias[j] = sum_r dz[r, j]: threads take blocks of columns and walk the
 * rows in order, so each sum is accumulated in row order whatever the
 * thread count (the result does not depend on it). */
ag_status ag_cpu_matmul_bias_backward(ag_dtype dt, const void *dz, void *dbias, int64_t rows,
                                      int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("matmul_bias_backward", dt);
  const int64_t blocks = (n + AG_BIAS_BLOCK - 1) / AG_BIAS_BLOCK;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; blk++) {
    float acc[AG_BIAS_BLOCK] = {0};
    const int64_t j0 = blk * AG_BIAS_BLOCK, len = n - j0 < AG_BIAS_BLOCK ? n - j0 : AG_BIAS_BLOCK;
    add_rows(dt, dz, n, rows, j0, len, acc);
    for (int64_t j = 0; j < len; j++) ag_cpu_store(dt, dbias, j0 + j, acc[j]);
  }
  return AG_OK;
}

const ag_matmul_kernels ag_cpu_matmul_kernels = {
    .matmul = ag_cpu_matmul,
    .matmul_act_backward = ag_cpu_matmul_act_backward,
    .matmul_bias_backward = ag_cpu_matmul_bias_backward,
};
