/* FID and KID, and the resampling helpers every metric shares. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_metrics.h"
#include "metrics_util.h"

void ag_draw_without_replacement(ag_rng64 *r, int64_t n, int64_t m, int64_t *perm, int64_t *out) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = 0; i < m; i++) {
    const int64_t j = i + ag_rng64_below(r, n - i);
    const int64_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
    out[i] = perm[i];
  }
}

void ag_draw_with_replacement(ag_rng64 *r, int64_t n, int64_t m, int64_t *out) {
  for (int64_t i = 0; i < m; i++) out[i] = ag_rng64_below(r, n);
}

void ag_gather_rows(const ag_feats *f, const int64_t *idx, int64_t m, float *rows) {
  for (int64_t i = 0; i < m; i++)
    memcpy(rows + i * f->d, f->x + idx[i] * f->d, sizeof(float) * (size_t)f->d);
}

double ag_spread(const double *v, int64_t n, int ddof) {
  if (n <= ddof) return 0;
  double mean = 0, ss = 0;
  for (int64_t i = 0; i < n; i++) mean += v[i];
  mean /= (double)n;
  for (int64_t i = 0; i < n; i++) ss += (v[i] - mean) * (v[i] - mean);
  return sqrt(ss / (double)(n - ddof));
}

static ag_status check_pair(const char *what, const ag_feats *a, const ag_feats *b, int64_t min_n) {
  if (a->d < 1 || a->d != b->d)
    return ag_set_error(AG_ERR_INVALID, "%s: feature sizes %lld and %lld differ or are empty", what,
                        (long long)a->d, (long long)b->d);
  if (a->n < min_n || b->n < min_n)
    return ag_set_error(AG_ERR_INVALID, "%s: %lld and %lld samples; each set needs at least %lld",
                        what, (long long)a->n, (long long)b->n, (long long)min_n);
  return AG_OK;
}

/* ---- FID --------------------------------------------------------------- */

void ag_gaussian_free(ag_gaussian *g) {
  free(g->mean);
  free(g->cov);
  memset(g, 0, sizeof *g);
}

ag_status ag_gaussian_fit(const ag_feats *f, ag_gaussian *out) {
  memset(out, 0, sizeof *out);
  if (f->n < 2 || f->d < 1)
    return ag_set_error(AG_ERR_INVALID, "fid: %lld samples of %lld features; need 2 or more",
                        (long long)f->n, (long long)f->d);
  const int64_t d = f->d;
  out->d = d;
  out->mean = calloc((size_t)d, sizeof(double));
  out->cov = calloc((size_t)(d * d), sizeof(double));
  double *row = malloc(sizeof(double) * (size_t)d);
  if (!out->mean || !out->cov || !row) {
    free(row);
    ag_gaussian_free(out);
    return ag_set_error(AG_ERR_OOM, "fid: out of host memory for a %lld-d Gaussian", (long long)d);
  }
  for (int64_t i = 0; i < f->n; i++)
    for (int64_t j = 0; j < d; j++) out->mean[j] += f->x[i * d + j];
  for (int64_t j = 0; j < d; j++) out->mean[j] /= (double)f->n;
  /* Upper triangle of the centred scatter, then mirrored. */
  for (int64_t i = 0; i < f->n; i++) {
    for (int64_t j = 0; j < d; j++) row[j] = f->x[i * d + j] - out->mean[j];
    for (int64_t j = 0; j < d; j++) {
      double *c = out->cov + j * d;
      const double rj = row[j];
      for (int64_t k = j; k < d; k++) c[k] += rj * row[k];
    }
  }
  for (int64_t j = 0; j < d; j++)
    for (int64_t k = j; k < d; k++) {
      const double v = out->cov[j * d + k] / (double)(f->n - 1);
      out->cov[j * d + k] = out->cov[k * d + j] = v;
    }
  free(row);
  return AG_OK;
}

/* Eigenvalues (ascending) and, with `vectors`, eigenvectors (columns of the
 * row-major `a`, overwritten) of the symmetric d x d matrix a. */
static ag_status sym_eig(double *a, int64_t d, int vectors, double *w) {
  const lapack_int info =
      LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', (lapack_int)d, a, (lapack_int)d, w);
  if (info != 0)
    return ag_set_error(AG_ERR_INVALID, "fid: LAPACK dsyevd failed (info %d) on a %lldx%lld matrix",
                        (int)info, (long long)d, (long long)d);
  return AG_OK;
}

/* out = V diag(sqrt(max(w, 0))) V^T of the symmetric s, the PSD square root. */
static ag_status sym_sqrt(const double *s, int64_t d, double *out, double *v, double *w) {
  memcpy(v, s, sizeof(double) * (size_t)(d * d));
  AG_TRY(sym_eig(v, d, 1, w));
  for (int64_t k = 0; k < d; k++) w[k] = w[k] > 0 ? sqrt(w[k]) : 0;
  for (int64_t i = 0; i < d; i++)
    for (int64_t j = 0; j < d; j++) {
      double acc = 0;
      for (int64_t k = 0; k < d; k++) acc += v[i * d + k] * w[k] * v[j * d + k];
      out[i * d + j] = acc;
    }
  return AG_OK;
}

/* c = a b, all d x d. */
static void matmul(const double *a, const double *b, int64_t d, double *c) {
  memset(c, 0, sizeof(double) * (size_t)(d * d));
  for (int64_t i = 0; i < d; i++)
    for (int64_t k = 0; k < d; k++) {
      const double aik = a[i * d + k];
      for (int64_t j = 0; j < d; j++) c[i * d + j] += aik * b[k * d + j];
    }
}

/* tr(sqrt(sqrt(S1) S2 sqrt(S1))), with scratch for five d x d matrices. */
static ag_status trace_sqrt_product(const double *s1, const double *s2, int64_t d, double *scratch,
                                    double *out) {
  const size_t dd = (size_t)(d * d);
  double *r = scratch, *v = scratch + dd, *t = scratch + 2 * dd, *m = scratch + 3 * dd,
         *w = scratch + 4 * dd;
  AG_TRY(sym_sqrt(s1, d, r, v, w));
  matmul(r, s2, d, t);
  matmul(t, r, d, m);
  for (int64_t i = 0; i < d; i++) /* symmetric up to round-off: average the halves */
    for (int64_t j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = 0.5 * (m[i * d + j] + m[j * d + i]);
  AG_TRY(sym_eig(m, d, 0, w));
  double tr = 0;
  for (int64_t k = 0; k < d; k++) tr += w[k] > 0 ? sqrt(w[k]) : 0;
  *out = tr;
  return AG_OK;
}

ag_status ag_frechet_distance(const ag_gaussian *a, const ag_gaussian *b, double *out) {
  if (a->d != b->d || a->d < 1)
    return ag_set_error(AG_ERR_INVALID, "fid: Gaussians of %lld and %lld dimensions",
                        (long long)a->d, (long long)b->d);
  const int64_t d = a->d;
  double *scratch = malloc(sizeof(double) * (size_t)(5 * d * d));
  if (!scratch) return ag_set_error(AG_ERR_OOM, "fid: out of host memory");
  double tr_cross = 0;
  ag_status st = trace_sqrt_product(a->cov, b->cov, d, scratch, &tr_cross);
  free(scratch);
  AG_TRY(st);
  double fid = 0;
  for (int64_t j = 0; j < d; j++) {
    const double dm = a->mean[j] - b->mean[j];
    fid += dm * dm + a->cov[j * d + j] + b->cov[j * d + j];
  }
  *out = fid - 2 * tr_cross;
  return AG_OK;
}

static ag_status fid_of(const ag_feats *a, const ag_feats *b, double *out) {
  ag_gaussian ga, gb;
  AG_TRY(ag_gaussian_fit(a, &ga));
  ag_status st = ag_gaussian_fit(b, &gb);
  if (st == AG_OK) st = ag_frechet_distance(&ga, &gb, out);
  ag_gaussian_free(&ga);
  ag_gaussian_free(&gb);
  return st;
}

ag_fid_opts ag_fid_default_opts(void) { return (ag_fid_opts){.reps = 20, .seed = 1}; }

/* One bootstrap replicate: both sets resampled with replacement. */
static ag_status fid_replicate(const ag_feats *a, const ag_feats *b, ag_rng64 *r, int64_t *idx,
                               float *ra, float *rb, double *out) {
  ag_draw_with_replacement(r, a->n, a->n, idx);
  ag_gather_rows(a, idx, a->n, ra);
  ag_draw_with_replacement(r, b->n, b->n, idx);
  ag_gather_rows(b, idx, b->n, rb);
  const ag_feats fa = {ra, a->n, a->d}, fb = {rb, b->n, b->d};
  return fid_of(&fa, &fb, out);
}

static ag_status fid_bootstrap(const ag_feats *a, const ag_feats *b, const ag_fid_opts *o,
                               double *std) {
  const int64_t nmax = a->n > b->n ? a->n : b->n;
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)nmax);
  float *ra = malloc(sizeof(float) * (size_t)(a->n * a->d));
  float *rb = malloc(sizeof(float) * (size_t)(b->n * b->d));
  double *reps = malloc(sizeof(double) * (size_t)o->reps);
  ag_status st = idx && ra && rb && reps ? AG_OK : ag_set_error(AG_ERR_OOM, "fid: out of host memory");
  ag_rng64 r = {o->seed};
  for (int i = 0; i < o->reps && st == AG_OK; i++) st = fid_replicate(a, b, &r, idx, ra, rb, &reps[i]);
  if (st == AG_OK) *std = ag_spread(reps, o->reps, 1);
  free(idx);
  free(ra);
  free(rb);
  free(reps);
  return st;
}

ag_status ag_fid(const ag_feats *a, const ag_feats *b, const ag_fid_opts *o, ag_estimate *out) {
  *out = (ag_estimate){NAN, 0};
  AG_TRY(check_pair("fid", a, b, 2));
  AG_TRY(fid_of(a, b, &out->value));
  return o->reps >= 2 ? fid_bootstrap(a, b, o, &out->std) : AG_OK;
}

/* ---- KID --------------------------------------------------------------- */

ag_kid_opts ag_kid_default_opts(void) {
  return (ag_kid_opts){.subsets = 100, .subset_size = 1000, .seed = 1};
}

static double dot(const float *x, const float *y, int64_t d) {
  double acc = 0;
  for (int64_t k = 0; k < d; k++) acc += (double)x[k] * (double)y[k];
  return acc;
}

static double cubic_kernel(const float *x, const float *y, int64_t d) {
  const double t = dot(x, y, d) / (double)d + 1.0;
  return t * t * t;
}

/* The kernel between every row of a and every row of b: na x nb. */
static void kernel_matrix(const ag_feats *a, const ag_feats *b, double *k) {
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < a->n; i++)
    for (int64_t j = 0; j < b->n; j++) k[i * b->n + j] = cubic_kernel(a->x + i * a->d, b->x + j * b->d, a->d);
}

/* Unbiased MMD^2 of the subsets ia of a and ib of b (m each) from the kernel
 * matrices kaa, kbb, kab. */
static double mmd2_subset(const double *kaa, const double *kbb, const double *kab, int64_t na,
                          int64_t nb, const int64_t *ia, const int64_t *ib, int64_t m) {
  double xx = 0, yy = 0, xy = 0;
  for (int64_t s = 0; s < m; s++) {
    const double *ra = kaa + ia[s] * na, *rb = kbb + ib[s] * nb, *rab = kab + ia[s] * nb;
    for (int64_t t = 0; t < m; t++) {
      if (t != s) {
        xx += ra[ia[t]];
        yy += rb[ib[t]];
      }
      xy += rab[ib[t]];
    }
  }
  const double md = (double)m;
  return (xx + yy) / (md * (md - 1)) - 2 * xy / (md * md);
}

ag_status ag_kid_mmd2(const ag_feats *a, const ag_feats *b, double *out) {
  AG_TRY(check_pair("kid", a, b, 2));
  if (a->n != b->n)
    return ag_set_error(AG_ERR_INVALID, "kid: sets of %lld and %lld samples; MMD^2 takes equal sizes",
                        (long long)a->n, (long long)b->n);
  const ag_kid_opts o = {.subsets = 1, .subset_size = a->n, .seed = 0};
  ag_estimate e;
  AG_TRY(ag_kid(a, b, &o, &e));
  *out = e.value;
  return AG_OK;
}

typedef struct kid_work {
  double *kaa, *kbb, *kab, *mmd;
  int64_t *perm, *ia, *ib;
} kid_work;

static void kid_work_free(kid_work *w) {
  free(w->kaa);
  free(w->kbb);
  free(w->kab);
  free(w->mmd);
  free(w->perm);
  free(w->ia);
  free(w->ib);
}

static ag_status kid_work_alloc(kid_work *w, const ag_feats *a, const ag_feats *b, int64_t m,
                                int64_t subsets) {
  const int64_t nmax = a->n > b->n ? a->n : b->n;
  *w = (kid_work){malloc(sizeof(double) * (size_t)(a->n * a->n)),
                  malloc(sizeof(double) * (size_t)(b->n * b->n)),
                  malloc(sizeof(double) * (size_t)(a->n * b->n)),
                  malloc(sizeof(double) * (size_t)subsets),
                  malloc(sizeof(int64_t) * (size_t)nmax),
                  malloc(sizeof(int64_t) * (size_t)m),
                  malloc(sizeof(int64_t) * (size_t)m)};
  if (w->kaa && w->kbb && w->kab && w->mmd && w->perm && w->ia && w->ib) return AG_OK;
  kid_work_free(w);
  return ag_set_error(AG_ERR_OOM, "kid: out of host memory for the kernels of %lld and %lld samples",
                      (long long)a->n, (long long)b->n);
}

/* Kernel matrices are computed once over the whole sets, so each subset is
 * sums of lookups; this holds the sets to the sizes the command line uses
 * (a few thousand samples). */
#define KID_MAX_SAMPLES 8192

ag_status ag_kid(const ag_feats *a, const ag_feats *b, const ag_kid_opts *o, ag_estimate *out) {
  *out = (ag_estimate){NAN, 0};
  AG_TRY(check_pair("kid", a, b, 2));
  if (a->n > KID_MAX_SAMPLES || b->n > KID_MAX_SAMPLES)
    return ag_set_error(AG_ERR_INVALID, "kid: %lld and %lld samples; at most %d each",
                        (long long)a->n, (long long)b->n, KID_MAX_SAMPLES);
  if (o->subsets < 1 || o->subset_size < 2)
    return ag_set_error(AG_ERR_INVALID, "kid: %lld subsets of %lld; need 1 or more of 2 or more",
                        (long long)o->subsets, (long long)o->subset_size);
  int64_t m = o->subset_size;
  if (m > a->n) m = a->n;
  if (m > b->n) m = b->n;
  kid_work w;
  AG_TRY(kid_work_alloc(&w, a, b, m, o->subsets));
  kernel_matrix(a, a, w.kaa);
  kernel_matrix(b, b, w.kbb);
  kernel_matrix(a, b, w.kab);
  ag_rng64 r = {o->seed};
  double sum = 0;
  for (int64_t s = 0; s < o->subsets; s++) {
    ag_draw_without_replacement(&r, a->n, m, w.perm, w.ia);
    ag_draw_without_replacement(&r, b->n, m, w.perm, w.ib);
    w.mmd[s] = mmd2_subset(w.kaa, w.kbb, w.kab, a->n, b->n, w.ia, w.ib, m);
    sum += w.mmd[s];
  }
  *out = (ag_estimate){sum / (double)o->subsets, ag_spread(w.mmd, o->subsets, 0)};
  kid_work_free(&w);
  return AG_OK;
}
