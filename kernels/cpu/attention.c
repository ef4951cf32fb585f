/* Exact (math) attention in f32: the reference for the fused CUDA kernels.
 *
 * Work goes by blocks of ATTN_BLOCK query rows of one (batch, head), so the
 * scratch is a block of scores (ATTN_BLOCK x Tk floats), not the whole
 * Tq x Tk matrix. bf16/f16 operands are widened to f32 once (f32 ones are
 * used in place) and the products S = scale * Q K^T, O = P V and those of
 * the backward are oneDNN sgemm calls, made from inside the OpenMP loops and
 * so single-threaded (see cpu_dnnl.h). A block only multiplies the keys that
 * at least one of its rows sees, which skips most of the masked half of a
 * causal product.
 *
 * The forward runs one (batch, head, query block) per iteration; the
 * backward one (batch, head) per iteration, whose thread walks its query
 * blocks in order and accumulates dK and dV in scratch, so the accumulation
 * needs no atomics. Both are deterministic: every output element is
 * computed by one thread in a fixed order, whatever the thread count. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_dnnl.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "cpu_vmath.h"
#include "kernels/common/ag_kernels.h"

/* Query rows per block: enough rows for sgemm to be efficient, few enough
 * that a block of scores for a long sequence stays in cache. */
enum { ATTN_BLOCK = 64 };

/* n elements of src (dtype dt) from element `at`, as f32: src itself for
 * f32, else widened into dst. */
AG_CPU_SIMD static const float *attn_f32(ag_dtype dt, const void *src, int64_t at, int64_t n, float *dst) {
  const uint16_t *h = (const uint16_t *)src + at;
  switch (dt) {
  case AG_BF16:
    for (int64_t i = 0; i < n; i++) dst[i] = ag_bf16_to_f32(h[i]);
    return dst;
  case AG_F16:
    for (int64_t i = 0; i < n; i++) dst[i] = ag_f16_to_f32(h[i]);
    return dst;
  default: return (const float *)src + at;
  }
}

/* Where to compute an f32 result bound for dst from element `at`: in place
 * when dst is f32, else in scratch (attn_store then rounds it into dst). */
static float *attn_out_f32(ag_dtype dt, void *dst, int64_t at, float *scratch) {
  return dt == AG_F32 ? (float *)dst + at : scratch;
}

/* Stores n f32 values src into dst (dtype dt) from element `at`; a no-op
 * for a result attn_out_f32 placed in dst itself. */
AG_CPU_SIMD static void attn_store(ag_dtype dt, void *dst, int64_t at, int64_t n, const float *src) {
  uint16_t *h = (uint16_t *)dst + at;
  switch (dt) {
  case AG_BF16:
    for (int64_t i = 0; i < n; i++) h[i] = ag_f32_to_bf16(src[i]);
    break;
  case AG_F16:
    for (int64_t i = 0; i < n; i++) h[i] = ag_f32_to_f16(src[i]);
    break;
  default: break;
  }
}

/* One past the last key query i sees (0: none). Key j is visible exactly
 * when j < attn_row_end, the same rule as ag_attn_visible. */
static int64_t attn_row_end(const ag_attn_dims *d, int64_t limit, int64_t i) {
  const int64_t e = ag_attn_causal_end(d, i);
  const int64_t end = e < limit ? e : limit;
  return end > 0 ? end : 0;
}

/* Query rows [i0, i0 + rows) of head bh (= b * H + h), and the n keys
 * [0, n) that at least one of them sees; keys are visible below limit. */
typedef struct attn_block {
  int64_t bh, i0, rows, n, limit;
} attn_block;

static attn_block attn_block_at(const ag_attn_dims *d, const int32_t *kv_len, int64_t bh,
                                int64_t i0) {
  attn_block b = {bh, i0, d->tq - i0 < ATTN_BLOCK ? d->tq - i0 : ATTN_BLOCK, 0,
                  ag_attn_key_limit(d, kv_len, bh / d->heads)};
  /* The causal end grows with i, so the block's last row sees the most. */
  b.n = attn_row_end(d, b.limit, i0 + b.rows - 1);
  return b;
}

/* First element of the block's rows in a [B, H, Tq, D] tensor. */
static int64_t attn_block_at_elem(const ag_attn_dims *d, const attn_block *b) {
  return (b->bh * d->tq + b->i0) * d->dim;
}

/* ---- forward ---- */

typedef struct attn_fwd_in {
  ag_dtype dt;
  ag_attn_dims d;
  const void *q;
  const float *k, *v; /* f32 [B, H, Tk, D] */
  const int32_t *kv_len;
  void *o;
  float *lse;
} attn_fwd_in;

/* Lanes of the row reductions below: one AVX-512 register of floats. */
enum { ATTN_LANES = 16 };

/* The largest of s[0, n) (-inf for n = 0), in ATTN_LANES running maxima. */
AG_CPU_SIMD static float attn_row_max(const float *s, int64_t n) {
  float lane[ATTN_LANES];
  for (int l = 0; l < ATTN_LANES; l++) lane[l] = -INFINITY;
  int64_t j = 0;
  for (; j + ATTN_LANES <= n; j += ATTN_LANES)
    for (int l = 0; l < ATTN_LANES; l++) lane[l] = s[j + l] > lane[l] ? s[j + l] : lane[l];
  float m = -INFINITY;
  for (int l = 0; l < ATTN_LANES; l++) m = lane[l] > m ? lane[l] : m;
  for (; j < n; j++) m = s[j] > m ? s[j] : m;
  return m;
}

/* s[j] = exp(s[j] - shift) over [0, n), returning their sum (in lanes). */
AG_CPU_SIMD static float attn_exp_shifted(float *s, int64_t n, float shift) {
  float lane[ATTN_LANES] = {0};
  int64_t j = 0;
  for (; j + ATTN_LANES <= n; j += ATTN_LANES)
    for (int l = 0; l < ATTN_LANES; l++) {
      s[j + l] = ag_vexp(s[j + l] - shift);
      lane[l] += s[j + l];
    }
  float sum = 0.0f;
  for (; j < n; j++) {
    s[j] = ag_vexp(s[j] - shift);
    sum += s[j];
  }
  for (int l = 0; l < ATTN_LANES; l++) sum += lane[l];
  return sum;
}

/* Softmax of a row of n scaled scores whose first `end` are visible, in
 * place (masked scores become 0). Writes the row's lse and returns 1 / the
 * sum of the exponentials, or 0 for a row that sees no key (lse = +inf). */
static float attn_softmax_row(float *s, int64_t end, int64_t n, float *lse) {
  const float m = attn_row_max(s, end);
  const float l = m == -INFINITY ? 0.0f : attn_exp_shifted(s, end, m);
  memset(s + end, 0, (size_t)(n - end) * sizeof *s);
  if (m == -INFINITY) memset(s, 0, (size_t)end * sizeof *s);
  *lse = l > 0.0f ? m + logf(l) : INFINITY;
  return l > 0.0f ? 1.0f / l : 0.0f;
}

/* Floats of forward scratch per thread: scores, the block of Q, the block
 * of O and the rows' 1 / sum. */
static size_t attn_fwd_scratch_floats(const ag_attn_dims *d) {
  return (size_t)(ATTN_BLOCK * (d->tk + 2 * d->dim + 1));
}

static void attn_forward_block(const attn_fwd_in *f, attn_block b, float *scratch) {
  const ag_attn_dims *d = &f->d;
  const int64_t dim = d->dim, at = attn_block_at_elem(d, &b), kv = b.bh * d->tk * dim;
  float *s = scratch, *qbuf = s + ATTN_BLOCK * d->tk, *obuf = qbuf + ATTN_BLOCK * dim;
  float *rinv = obuf + ATTN_BLOCK * dim;
  float *o = attn_out_f32(f->dt, f->o, at, obuf);
  if (b.n > 0) {
    const float *q = attn_f32(f->dt, f->q, at, b.rows * dim, qbuf);
    ag_cpu_sgemm(0, 1, b.rows, b.n, dim, d->scale, q, dim, f->k + kv, dim, 0.0f, s, b.n);
  }
  for (int64_t r = 0; r < b.rows; r++)
    rinv[r] = attn_softmax_row(s + r * b.n, attn_row_end(d, b.limit, b.i0 + r), b.n,
                               &f->lse[b.bh * d->tq + b.i0 + r]);
  if (b.n > 0)
    ag_cpu_sgemm(0, 0, b.rows, dim, b.n, 1.0f, s, b.n, f->v + kv, dim, 0.0f, o, dim);
  /* A row that sees no key gets exactly 0 (its products were skipped or
   * all-zero). */
  for (int64_t r = 0; r < b.rows; r++)
    for (int64_t c = 0; c < dim; c++)
      o[r * dim + c] = rinv[r] > 0.0f ? o[r * dim + c] * rinv[r] : 0.0f;
  attn_store(f->dt, f->o, at, b.rows * dim, o);
}

/* Widens n elements of src into dst, in chunks over the threads. */
static void attn_widen_all(ag_dtype dt, const void *src, int64_t n, float *dst) {
  const int64_t chunk = 1 << 14;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < n; c += chunk)
    attn_f32(dt, src, c, n - c < chunk ? n - c : chunk, dst + c);
}

/* K and V as f32: in place for f32, else widened into *buf, which the
 * caller frees. Returns 0 when out of memory. */
static int attn_kv_f32(ag_dtype dt, const ag_attn_dims *d, const void *k, const void *v,
                       const float **kf, const float **vf, float **buf) {
  const int64_t n = d->batch * d->heads * d->tk * d->dim;
  *buf = NULL;
  *kf = k;
  *vf = v;
  if (dt == AG_F32) return 1;
  *buf = malloc((size_t)(2 * n) * sizeof **buf);
  if (!*buf) return 0;
  attn_widen_all(dt, k, n, *buf);
  attn_widen_all(dt, v, n, *buf + n);
  *kf = *buf;
  *vf = *buf + n;
  return 1;
}

/* Runs every query block; 0 when a thread could not get its scratch. */
static int attn_forward_blocks(const attn_fwd_in *f) {
  const ag_attn_dims *d = &f->d;
  const int64_t blocks = (d->tq + ATTN_BLOCK - 1) / ATTN_BLOCK;
  const int64_t tasks = d->batch * d->heads * blocks;
  int failed = 0;
#pragma omp parallel reduction(| : failed)
  {
    float *scratch = malloc(attn_fwd_scratch_floats(d) * sizeof *scratch);
    failed = !scratch;
    /* Dynamic: causal blocks near the top are cheap. */
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; t++) {
      if (!scratch) continue;
      const int64_t bh = t / blocks, i0 = t % blocks * ATTN_BLOCK;
      attn_forward_block(f, attn_block_at(d, f->kv_len, bh, i0), scratch);
    }
    free(scratch);
  }
  return !failed;
}

ag_status ag_cpu_attention_forward(ag_dtype dt, ag_attn_dims d, const void *q, const void *k,
                                   const void *v, const int32_t *kv_len, void *o, float *lse,
                                   void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("attention_forward", dt);
  attn_fwd_in f = {dt, d, q, NULL, NULL, kv_len, o, lse};
  float *kv_buf;
  const int ok = attn_kv_f32(dt, &d, k, v, &f.k, &f.v, &kv_buf) && attn_forward_blocks(&f);
  free(kv_buf);
  if (!ok) return ag_set_error(AG_ERR_OOM, "cpu kernel attention_forward: out of memory");
  return AG_OK;
}

/* ---- backward ---- */

/* Everything the backward reads and writes; dq, dk, dv may be NULL. */
typedef struct attn_bwd_in {
  ag_dtype dt;
  ag_attn_dims d;
  const void *q, *k, *v, *o, *dout;
  const int32_t *kv_len;
  const float *lse, *dlse;
  void *dq, *dk, *dv;
} attn_bwd_in;

/* One thread's scratch: the head's K, V, dK, dV ([Tk, D] each), a block's
 * P and dP ([ATTN_BLOCK, Tk]) and its Q, O, dO, dQ ([ATTN_BLOCK, D]). */
typedef struct attn_bwd_scratch {
  float *k, *v, *dk, *dv, *p, *dp, *q, *o, *dout, *dq;
} attn_bwd_scratch;

/* Carves the scratch out of one allocation, returned (NULL: out of memory). */
static float *attn_bwd_scratch_alloc(const ag_attn_dims *d, attn_bwd_scratch *w) {
  const int64_t kv = d->tk * d->dim, sq = ATTN_BLOCK * d->tk, rows = ATTN_BLOCK * d->dim;
  float *mem = malloc((size_t)(4 * kv + 2 * sq + 4 * rows) * sizeof *mem);
  if (!mem) return NULL;
  float *next = mem;
  float **const parts[] = {&w->k, &w->v, &w->dk, &w->dv, &w->p,
                           &w->dp, &w->q, &w->o, &w->dout, &w->dq};
  const int64_t sizes[] = {kv, kv, kv, kv, sq, sq, rows, rows, rows, rows};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    *parts[i] = next;
    next += sizes[i];
  }
  return mem;
}

/* One head's K and V in f32, and its dK and dV accumulators (NULL: not
 * requested). */
typedef struct attn_head {
  const float *k, *v;
  float *dk, *dv;
} attn_head;

/* P = exp(S - lse) in place over the block's scaled scores s [rows, n],
 * 0 where masked (and for a row with no visible key, whose lse is +inf). */
static void attn_probs(const attn_bwd_in *g, const attn_block *b, float *s) {
  for (int64_t r = 0; r < b->rows; r++) {
    const int64_t end = attn_row_end(&g->d, b->limit, b->i0 + r);
    const float lse = g->lse[b->bh * g->d.tq + b->i0 + r];
    float *p = s + r * b->n;
    if (lse == INFINITY) memset(p, 0, (size_t)end * sizeof *p);
    else attn_exp_shifted(p, end, lse);
    memset(p + end, 0, (size_t)(b->n - end) * sizeof *p);
  }
}

/* ds[j] = p[j] (ds[j] - delta), and exactly 0 where p is (masked keys). */
AG_CPU_SIMD static void attn_dscores_row(const float *p, float *ds, int64_t n, float delta) {
  for (int64_t j = 0; j < n; j++) ds[j] = p[j] == 0.0f ? 0.0f : p[j] * (ds[j] - delta);
}

/* dS = P * (dP - delta) in place over dp, delta = rowsum(dO * O) - dlse. */
static void attn_dscores(const attn_bwd_in *g, const attn_block *b, const float *p, float *dp,
                         const float *dout, const float *o) {
  const int64_t dim = g->d.dim;
  for (int64_t r = 0; r < b->rows; r++) {
    const int64_t row = b->bh * g->d.tq + b->i0 + r;
    float delta = 0.0f;
    for (int64_t c = 0; c < dim; c++) delta += dout[r * dim + c] * o[r * dim + c];
    if (g->dlse) delta -= g->dlse[row];
    attn_dscores_row(p + r * b->n, dp + r * b->n, b->n, delta);
  }
}

/* dQ of the block, and the block's share of dK and dV added to h. */
static void attn_backward_block(const attn_bwd_in *g, attn_block b, const attn_head *h,
                                const attn_bwd_scratch *w) {
  const ag_attn_dims *d = &g->d;
  const int64_t dim = d->dim, at = attn_block_at_elem(d, &b), n = b.n;
  float *dq = g->dq ? attn_out_f32(g->dt, g->dq, at, w->dq) : NULL;
  if (n == 0) { /* no row of the block sees a key: dQ is 0, dK and dV get nothing */
    if (!dq) return;
    memset(dq, 0, (size_t)(b.rows * dim) * sizeof *dq);
    attn_store(g->dt, g->dq, at, b.rows * dim, dq);
    return;
  }
  const float *q = attn_f32(g->dt, g->q, at, b.rows * dim, w->q);
  const float *o = attn_f32(g->dt, g->o, at, b.rows * dim, w->o);
  const float *dout = attn_f32(g->dt, g->dout, at, b.rows * dim, w->dout);
  ag_cpu_sgemm(0, 1, b.rows, n, dim, d->scale, q, dim, h->k, dim, 0.0f, w->p, n);
  attn_probs(g, &b, w->p);
  ag_cpu_sgemm(0, 1, b.rows, n, dim, 1.0f, dout, dim, h->v, dim, 0.0f, w->dp, n);
  attn_dscores(g, &b, w->p, w->dp, dout, o);
  if (dq) {
    ag_cpu_sgemm(0, 0, b.rows, dim, n, d->scale, w->dp, n, h->k, dim, 0.0f, dq, dim);
    attn_store(g->dt, g->dq, at, b.rows * dim, dq);
  }
  if (h->dk) ag_cpu_sgemm(1, 0, n, dim, b.rows, d->scale, w->dp, n, q, dim, 1.0f, h->dk, dim);
  if (h->dv) ag_cpu_sgemm(1, 0, n, dim, b.rows, 1.0f, w->p, n, dout, dim, 1.0f, h->dv, dim);
}

/* All gradients of head bh: its query blocks in order, then dK and dV. */
static void attn_backward_head(const attn_bwd_in *g, int64_t bh, const attn_bwd_scratch *w) {
  const ag_attn_dims *d = &g->d;
  const int64_t at = bh * d->tk * d->dim, n = d->tk * d->dim;
  attn_head h = {attn_f32(g->dt, g->k, at, n, w->k), attn_f32(g->dt, g->v, at, n, w->v),
                 g->dk ? attn_out_f32(g->dt, g->dk, at, w->dk) : NULL,
                 g->dv ? attn_out_f32(g->dt, g->dv, at, w->dv) : NULL};
  if (h.dk) memset(h.dk, 0, (size_t)n * sizeof *h.dk);
  if (h.dv) memset(h.dv, 0, (size_t)n * sizeof *h.dv);
  for (int64_t i0 = 0; i0 < d->tq; i0 += ATTN_BLOCK)
    attn_backward_block(g, attn_block_at(d, g->kv_len, bh, i0), &h, w);
  if (h.dk) attn_store(g->dt, g->dk, at, n, h.dk);
  if (h.dv) attn_store(g->dt, g->dv, at, n, h.dv);
}

ag_status ag_cpu_attention_backward(ag_dtype dt, ag_attn_dims d, const void *q, const void *k,
                                    const void *v, const int32_t *kv_len, const void *o,
                                    const float *lse, const void *dout, const float *dlse,
                                    void *dq, void *dk, void *dv, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("attention_backward", dt);
  const attn_bwd_in g = {dt, d, q, k, v, o, dout, kv_len, lse, dlse, dq, dk, dv};
  int failed = 0;
#pragma omp parallel reduction(| : failed)
  {
    attn_bwd_scratch w;
    float *mem = attn_bwd_scratch_alloc(&d, &w);
    failed = !mem;
    /* One head per iteration: its dK and dV have a single writer. */
#pragma omp for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < d.batch * d.heads; bh++)
      if (mem) attn_backward_head(&g, bh, &w);
    free(mem);
  }
  if (failed) return ag_set_error(AG_ERR_OOM, "cpu kernel attention_backward: out of memory");
  return AG_OK;
}

const ag_attention_kernels ag_cpu_attention_kernels = {
    .attention_forward = ag_cpu_attention_forward,
    .attention_backward = ag_cpu_attention_backward,
};
