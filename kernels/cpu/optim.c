/* Optimizer steps and gradient-norm clipping: the CPU reference. The
 * tensors are split into chunks of AG_CPU_CHUNK elements for the threads,
 * and a chunk is worked through in blocks of OPTIM_BLOCK: every input of a
 * block is widened into a local f32 array before any output of the block is
 * written. Outputs may therefore alias their inputs (an in-place step), and
 * the math loops, which see only local arrays, vectorise without alias
 * checks. Whole blocks are called with the constant OPTIM_BLOCK as their
 * length, so their loops have a fixed trip count (and f32 copies stay vector
 * moves); only the last block of a chunk may be shorter. Chunk functions are
 * AG_CPU_SIMD (cpu_simd.h) and call their dtype-generic body with a constant
 * dtype, so conversions happen in registers. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

#define OPTIM_BLOCK 64

/* v[k] = x[i + k] as f32, k < n (n <= OPTIM_BLOCK); dt is a constant
 * wherever this is inlined. */
AG_CPU_INLINE void widen(ag_dtype dt, const void *x, int64_t i, int64_t n, float *v) {
  for (int64_t k = 0; k < n; k++) v[k] = ag_cpu_load(dt, x, i + k);
}

/* y[i + k] = v[k] rounded to dt, k < n. */
AG_CPU_INLINE void narrow(ag_dtype dt, void *y, int64_t i, int64_t n, const float *v) {
  for (int64_t k = 0; k < n; k++) ag_cpu_store(dt, y, i + k, v[k]);
}

/* The chunks of n elements, [c * AG_CPU_CHUNK, min((c + 1) * AG_CPU_CHUNK, n)). */
static int64_t chunks(int64_t n) { return (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK; }
static int64_t chunk_end(int64_t c, int64_t n) {
  return (c + 1) * AG_CPU_CHUNK < n ? (c + 1) * AG_CPU_CHUNK : n;
}

/* An optimizer call's tensors, in the order of its kernel's signature. */
typedef struct optim_job {
  const void *in[4];
  void *out[4];
} optim_job;

/* Elements [i, i + n) of an AdamW step: in p, g, m, v; out p', m', v'. */
AG_CPU_INLINE void adamw_block(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i,
                           int64_t n) {
  float p[OPTIM_BLOCK], g[OPTIM_BLOCK], m[OPTIM_BLOCK], v[OPTIM_BLOCK];
  widen(dt, j->in[0], i, n, p);
  widen(dt, j->in[1], i, n, g);
  widen(dt, j->in[2], i, n, m);
  widen(dt, j->in[3], i, n, v);
  for (int64_t k = 0; k < n; k++) {
    ag_adamw_state s = ag_adamw_update(coef, p[k], g[k], m[k], v[k]);
    p[k] = s.p;
    m[k] = s.m;
    v[k] = s.v;
  }
  narrow(dt, j->out[0], i, n, p);
  narrow(dt, j->out[1], i, n, m);
  narrow(dt, j->out[2], i, n, v);
}

AG_CPU_INLINE void adamw_range(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i0,
                           int64_t i1) {
  int64_t i = i0;
  for (; i + OPTIM_BLOCK <= i1; i += OPTIM_BLOCK) adamw_block(dt, j, coef, i, OPTIM_BLOCK);
  if (i < i1) adamw_block(dt, j, coef, i, i1 - i);
}

AG_CPU_SIMD
static void adamw_chunk(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i0,
                        int64_t i1) {
  AG_CPU_BY_DTYPE(dt, adamw_range, j, coef, i0, i1);
}

ag_status ag_cpu_adamw(ag_dtype dt, const void *p, const void *g, const void *m, const void *v,
                       void *p_out, void *m_out, void *v_out, int64_t n, ag_adamw_coef coef,
                       void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("adamw", dt);
  const optim_job j = {{p, g, m, v}, {p_out, m_out, v_out}};
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks(n); c++)
    adamw_chunk(dt, &j, coef, c * AG_CPU_CHUNK, chunk_end(c, n));
  return AG_OK;
}

/* Elements [i, i + n) of an AdamW step on f32 master weights: in g (dt),
 * master, m, v; out p' (dt), master', m', v'. */
AG_CPU_INLINE void adamw_master_block(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i,
                                  int64_t n) {
  float g[OPTIM_BLOCK], p[OPTIM_BLOCK], m[OPTIM_BLOCK], v[OPTIM_BLOCK];
  widen(dt, j->in[0], i, n, g);
  widen(AG_F32, j->in[1], i, n, p);
  widen(AG_F32, j->in[2], i, n, m);
  widen(AG_F32, j->in[3], i, n, v);
  for (int64_t k = 0; k < n; k++) {
    ag_adamw_state s = ag_adamw_update(coef, p[k], g[k], m[k], v[k]);
    p[k] = s.p;
    m[k] = s.m;
    v[k] = s.v;
  }
  narrow(dt, j->out[0], i, n, p);
  narrow(AG_F32, j->out[1], i, n, p);
  narrow(AG_F32, j->out[2], i, n, m);
  narrow(AG_F32, j->out[3], i, n, v);
}

AG_CPU_INLINE void adamw_master_range(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i0,
                                  int64_t i1) {
  int64_t i = i0;
  for (; i + OPTIM_BLOCK <= i1; i += OPTIM_BLOCK) adamw_master_block(dt, j, coef, i, OPTIM_BLOCK);
  if (i < i1) adamw_master_block(dt, j, coef, i, i1 - i);
}

AG_CPU_SIMD
static void adamw_master_chunk(ag_dtype dt, const optim_job *j, ag_adamw_coef coef, int64_t i0,
                               int64_t i1) {
  AG_CPU_BY_DTYPE(dt, adamw_master_range, j, coef, i0, i1);
}

ag_status ag_cpu_adamw_master(ag_dtype dt, const void *g, const float *master, const float *m,
                              const float *v, void *p_out, float *master_out, float *m_out,
                              float *v_out, int64_t n, ag_adamw_coef coef, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("adamw_master", dt);
  const optim_job j = {{g, master, m, v}, {p_out, master_out, m_out, v_out}};
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks(n); c++)
    adamw_master_chunk(dt, &j, coef, c * AG_CPU_CHUNK, chunk_end(c, n));
  return AG_OK;
}

/* Elements [i, i + n) of an SGD step: in p, g, buf; out p', buf'. */
AG_CPU_INLINE void sgd_block(ag_dtype dt, const optim_job *j, ag_sgd_coef coef, int64_t i, int64_t n) {
  float p[OPTIM_BLOCK], g[OPTIM_BLOCK], buf[OPTIM_BLOCK];
  widen(dt, j->in[0], i, n, p);
  widen(dt, j->in[1], i, n, g);
  widen(dt, j->in[2], i, n, buf);
  for (int64_t k = 0; k < n; k++) {
    ag_sgd_state s = ag_sgd_update(coef, p[k], g[k], buf[k]);
    p[k] = s.p;
    buf[k] = s.buf;
  }
  narrow(dt, j->out[0], i, n, p);
  narrow(dt, j->out[1], i, n, buf);
}

AG_CPU_INLINE void sgd_range(ag_dtype dt, const optim_job *j, ag_sgd_coef coef, int64_t i0,
                         int64_t i1) {
  int64_t i = i0;
  for (; i + OPTIM_BLOCK <= i1; i += OPTIM_BLOCK) sgd_block(dt, j, coef, i, OPTIM_BLOCK);
  if (i < i1) sgd_block(dt, j, coef, i, i1 - i);
}

AG_CPU_SIMD
static void sgd_chunk(ag_dtype dt, const optim_job *j, ag_sgd_coef coef, int64_t i0, int64_t i1) {
  AG_CPU_BY_DTYPE(dt, sgd_range, j, coef, i0, i1);
}

ag_status ag_cpu_sgd(ag_dtype dt, const void *p, const void *g, const void *buf, void *p_out,
                     void *buf_out, int64_t n, ag_sgd_coef coef, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sgd", dt);
  const optim_job j = {{p, g, buf}, {p_out, buf_out}};
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks(n); c++)
    sgd_chunk(dt, &j, coef, c * AG_CPU_CHUNK, chunk_end(c, n));
  return AG_OK;
}

/* Adds x^2 over [i, i + n) to the OPTIM_BLOCK partial sums s, in double. */
AG_CPU_INLINE void sq_sum_block(ag_dtype dt, const void *x, double *s, int64_t i, int64_t n) {
  float v[OPTIM_BLOCK];
  widen(dt, x, i, n, v);
  for (int64_t k = 0; k < n; k++) s[k] += (double)v[k] * (double)v[k];
}

/* *sum = the sum of x^2 over [i0, i1), in double, by interleaved partial
 * sums added pairwise. */
AG_CPU_INLINE void sq_sum_range(ag_dtype dt, const void *x, int64_t i0, int64_t i1, double *sum) {
  double s[OPTIM_BLOCK] = {0};
  int64_t i = i0;
  for (; i + OPTIM_BLOCK <= i1; i += OPTIM_BLOCK) sq_sum_block(dt, x, s, i, OPTIM_BLOCK);
  if (i < i1) sq_sum_block(dt, x, s, i, i1 - i);
  for (int half = OPTIM_BLOCK / 2; half > 0; half /= 2)
    for (int k = 0; k < half; k++) s[k] += s[k + half];
  *sum = s[0];
}

AG_CPU_SIMD
static void sq_sum_chunk(ag_dtype dt, const void *x, int64_t i0, int64_t i1, double *sum) {
  AG_CPU_BY_DTYPE(dt, sq_sum_range, x, i0, i1, sum);
}

/* Accumulated in double so the result hardly depends on summation order. */
ag_status ag_cpu_sq_norm(ag_dtype dt, const void *x, const float *acc, float *out, int64_t n,
                         void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sq_norm", dt);
  double sum = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (int64_t c = 0; c < chunks(n); c++) {
    double s;
    sq_sum_chunk(dt, x, c * AG_CPU_CHUNK, chunk_end(c, n), &s);
    sum += s;
  }
  out[0] = (float)((double)acc[0] + sum);
  return AG_OK;
}

/* gx = scale * g over [i, i + n). */
AG_CPU_INLINE void scale_block(ag_dtype dt, const void *g, float scale, void *gx, int64_t i,
                           int64_t n) {
  float v[OPTIM_BLOCK];
  widen(dt, g, i, n, v);
  for (int64_t k = 0; k < n; k++) v[k] = scale * v[k];
  narrow(dt, gx, i, n, v);
}

AG_CPU_INLINE void scale_range(ag_dtype dt, const void *g, float scale, void *gx, int64_t i0,
                           int64_t i1) {
  int64_t i = i0;
  for (; i + OPTIM_BLOCK <= i1; i += OPTIM_BLOCK) scale_block(dt, g, scale, gx, i, OPTIM_BLOCK);
  if (i < i1) scale_block(dt, g, scale, gx, i, i1 - i);
}

AG_CPU_SIMD
static void scale_chunk(ag_dtype dt, const void *g, float scale, void *gx, int64_t i0, int64_t i1) {
  AG_CPU_BY_DTYPE(dt, scale_range, g, scale, gx, i0, i1);
}

ag_status ag_cpu_clip_scale(ag_dtype dt, const void *g, const float *sq_total, float max_norm,
                            void *gx, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("clip_scale", dt);
  const float coef = ag_clip_coef(sq_total[0], max_norm);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks(n); c++)
    scale_chunk(dt, g, coef, gx, c * AG_CPU_CHUNK, chunk_end(c, n));
  return AG_OK;
}

const ag_optim_kernels ag_cpu_optim_kernels = {
    .adamw = ag_cpu_adamw,
    .adamw_master = ag_cpu_adamw_master,
    .sgd = ag_cpu_sgd,
    .sq_norm = ag_cpu_sq_norm,
    .clip_scale = ag_cpu_clip_scale,
};
