/* Exact (math) attention: scores, mask, softmax and the weighted sum of
 * values, row by row in f32. The reference for the fused CUDA kernels. */
#include <math.h>
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

/* Scaled score of query row qi (an index into q) and key row kj. */
static float attn_score(ag_dtype dt, const ag_attn_dims *d, const void *q, int64_t qi,
                        const void *k, int64_t kj) {
  float s = 0.0f;
  for (int64_t c = 0; c < d->dim; c++)
    s += ag_cpu_load(dt, q, qi * d->dim + c) * ag_cpu_load(dt, k, kj * d->dim + c);
  return s * d->scale;
}

/* Dot product of row r of a and row r of b, both [.., D]. */
static float attn_row_dot(ag_dtype dt, const ag_attn_dims *d, const void *a, const void *b,
                          int64_t r) {
  float s = 0.0f;
  for (int64_t c = 0; c < d->dim; c++)
    s += ag_cpu_load(dt, a, r * d->dim + c) * ag_cpu_load(dt, b, r * d->dim + c);
  return s;
}

/* One query row: o = sum_j p_j v_j with p the softmax over visible keys.
 * `p` is scratch for Tk scores. */
static void attn_forward_row(ag_dtype dt, const ag_attn_dims *d, const void *q, const void *k,
                             const void *v, int64_t limit, int64_t row, void *o, float *lse,
                             float *p) {
  const int64_t i = row % d->tq, kv0 = row / d->tq * d->tk;
  float m = -INFINITY;
  for (int64_t j = 0; j < d->tk; j++) {
    p[j] = ag_attn_visible(d, limit, i, j) ? attn_score(dt, d, q, row, k, kv0 + j) : -INFINITY;
    m = fmaxf(m, p[j]);
  }
  float l = 0.0f;
  for (int64_t j = 0; j < d->tk; j++) {
    p[j] = m == -INFINITY ? 0.0f : expf(p[j] - m);
    l += p[j];
  }
  lse[row] = l > 0.0f ? m + logf(l) : INFINITY;
  for (int64_t c = 0; c < d->dim; c++) {
    float acc = 0.0f;
    for (int64_t j = 0; j < d->tk; j++)
      if (p[j] != 0.0f) acc += p[j] * ag_cpu_load(dt, v, (kv0 + j) * d->dim + c);
    ag_cpu_store(dt, o, row * d->dim + c, l > 0.0f ? acc / l : 0.0f);
  }
}

ag_status ag_cpu_attention_forward(ag_dtype dt, ag_attn_dims d, const void *q, const void *k,
                                   const void *v, const int32_t *kv_len, void *o, float *lse,
                                   void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("attention_forward", dt);
  const int64_t rows = d.batch * d.heads * d.tq;
  int failed = 0;
#pragma omp parallel reduction(| : failed)
  {
    float *p = malloc((size_t)d.tk * sizeof *p);
    failed = !p;
#pragma omp for schedule(static)
    for (int64_t row = 0; row < rows; row++) {
      if (!p) continue;
      const int64_t limit = ag_attn_key_limit(&d, kv_len, row / (d.heads * d.tq));
      attn_forward_row(dt, &d, q, k, v, limit, row, o, lse, p);
    }
    free(p);
  }
  if (failed) return ag_set_error(AG_ERR_OOM, "cpu kernel attention_forward: out of memory");
  return AG_OK;
}

/* Everything the backward passes read. delta[row] = rowsum(dO * O) - dlse. */
typedef struct attn_grad_in {
  ag_dtype dt;
  ag_attn_dims d;
  const void *q, *k, *v, *dout;
  const int32_t *kv_len;
  const float *lse, *delta;
} attn_grad_in;

/* dS_ij (the gradient of the scaled score) for query row `row`, key index
 * kj = bh * Tk + j; zero where j is masked. */
static float attn_dscore(const attn_grad_in *g, int64_t row, int64_t kj, int64_t limit) {
  const ag_attn_dims *d = &g->d;
  const int64_t i = row % d->tq, j = kj % d->tk;
  if (!ag_attn_visible(d, limit, i, j)) return 0.0f;
  const float p = expf(attn_score(g->dt, d, g->q, row, g->k, kj) - g->lse[row]);
  float dp = 0.0f;
  for (int64_t c = 0; c < d->dim; c++)
    dp += ag_cpu_load(g->dt, g->dout, row * d->dim + c) * ag_cpu_load(g->dt, g->v, kj * d->dim + c);
  return p * (dp - g->delta[row]);
}

/* dQ_i = scale * sum_j dS_ij k_j, one query row per iteration; `acc` holds D
 * floats (NULL: out of memory, skip). Called inside a parallel region. */
static void attn_grad_q(const attn_grad_in *g, void *dq, float *acc) {
  const ag_attn_dims *d = &g->d;
#pragma omp for schedule(static)
  for (int64_t row = 0; row < d->batch * d->heads * d->tq; row++) {
    if (!acc) continue;
    const int64_t kv0 = row / d->tq * d->tk;
    const int64_t limit = ag_attn_key_limit(d, g->kv_len, row / (d->heads * d->tq));
    for (int64_t c = 0; c < d->dim; c++) acc[c] = 0.0f;
    for (int64_t j = 0; j < d->tk; j++) {
      const float ds = attn_dscore(g, row, kv0 + j, limit);
      if (ds == 0.0f) continue;
      for (int64_t c = 0; c < d->dim; c++)
        acc[c] += ds * ag_cpu_load(g->dt, g->k, (kv0 + j) * d->dim + c);
    }
    for (int64_t c = 0; c < d->dim; c++) ag_cpu_store(g->dt, dq, row * d->dim + c, d->scale * acc[c]);
  }
}

/* dK_j = scale * sum_i dS_ij q_i and dV_j = sum_i p_ij dO_i, one key row per
 * iteration; `acc` holds 2 * D floats (NULL: out of memory, skip). */
static void attn_grad_kv(const attn_grad_in *g, void *dk, void *dv, float *acc) {
  const ag_attn_dims *d = &g->d;
  float *ak = acc, *av = acc ? acc + d->dim : NULL;
#pragma omp for schedule(static)
  for (int64_t kj = 0; kj < d->batch * d->heads * d->tk; kj++) {
    if (!acc) continue;
    const int64_t q0 = kj / d->tk * d->tq, j = kj % d->tk;
    const int64_t limit = ag_attn_key_limit(d, g->kv_len, kj / (d->heads * d->tk));
    for (int64_t c = 0; c < 2 * d->dim; c++) acc[c] = 0.0f;
    for (int64_t i = 0; i < d->tq; i++) {
      if (!ag_attn_visible(d, limit, i, j)) continue;
      const int64_t row = q0 + i;
      const float p = expf(attn_score(g->dt, d, g->q, row, g->k, kj) - g->lse[row]);
      const float ds = attn_dscore(g, row, kj, limit);
      for (int64_t c = 0; c < d->dim; c++) {
        ak[c] += ds * ag_cpu_load(g->dt, g->q, row * d->dim + c);
        av[c] += p * ag_cpu_load(g->dt, g->dout, row * d->dim + c);
      }
    }
    for (int64_t c = 0; c < d->dim; c++) {
      if (dk) ag_cpu_store(g->dt, dk, kj * d->dim + c, d->scale * ak[c]);
      if (dv) ag_cpu_store(g->dt, dv, kj * d->dim + c, av[c]);
    }
  }
}

ag_status ag_cpu_attention_backward(ag_dtype dt, ag_attn_dims d, const void *q, const void *k,
                                    const void *v, const int32_t *kv_len, const void *o,
                                    const float *lse, const void *dout, const float *dlse,
                                    void *dq, void *dk, void *dv, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("attention_backward", dt);
  const int64_t rows = d.batch * d.heads * d.tq;
  float *delta = malloc((size_t)rows * sizeof *delta);
  if (!delta) return ag_set_error(AG_ERR_OOM, "cpu kernel attention_backward: out of memory");
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows; row++)
    delta[row] = attn_row_dot(dt, &d, dout, o, row) - (dlse ? dlse[row] : 0.0f);
  const attn_grad_in g = {dt, d, q, k, v, dout, kv_len, lse, delta};
  int failed = 0;
#pragma omp parallel reduction(| : failed)
  {
    float *acc = malloc((size_t)(2 * d.dim) * sizeof *acc);
    failed = !acc;
    /* Every thread reaches both worksharing loops; one without scratch
     * skips its iterations and reports the failure. */
    if (dq) attn_grad_q(&g, dq, acc);
    if (dk || dv) attn_grad_kv(&g, dk, dv, acc);
    free(acc);
  }
  free(delta);
  if (failed) return ag_set_error(AG_ERR_OOM, "cpu kernel attention_backward: out of memory");
  return AG_OK;
}
