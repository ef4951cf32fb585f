/* The metrics built on nearest neighbours: precision, recall, density and
 * coverage of k-NN balls, and the memorisation check. Distances are
 * Euclidean, accumulated in f64; rows are independent, so the loops run in
 * parallel and give the same result on any number of threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_metrics.h"
#include "metrics_util.h"

#define PRDC_MAX_K 32

static double sqdist(const float *x, const float *y, int64_t d) {
  double acc = 0;
  for (int64_t k = 0; k < d; k++) {
    const double t = (double)x[k] - (double)y[k];
    acc += t * t;
  }
  return acc;
}

/* r2[i]: squared distance from row i to its (k+1)-th nearest row of f, the
 * row itself (at 0) included: the radius of its k-NN ball, as prdc's
 * get_kth_value(..., k + 1) takes it. */
static void knn_radii(const ag_feats *f, int k, double *r2) {
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < f->n; i++) {
    double best[PRDC_MAX_K + 1];
    for (int t = 0; t <= k; t++) best[t] = INFINITY;
    for (int64_t j = 0; j < f->n; j++) {
      double dd = sqdist(f->x + i * f->d, f->x + j * f->d, f->d);
      if (dd >= best[k]) continue;
      int t = k;
      for (; t > 0 && best[t - 1] > dd; t--) best[t] = best[t - 1];
      best[t] = dd;
    }
    r2[i] = best[k];
  }
}

/* Sums over fakes of "inside some real ball" and of "real balls holding it". */
static void fake_side(const ag_feats *real, const ag_feats *fake, const double *real_r2,
                      double *precision, double *density) {
  int64_t inside = 0, holders = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : inside, holders)
  for (int64_t j = 0; j < fake->n; j++) {
    int64_t count = 0;
    for (int64_t i = 0; i < real->n; i++)
      count += sqdist(real->x + i * real->d, fake->x + j * fake->d, real->d) < real_r2[i];
    inside += count > 0;
    holders += count;
  }
  *precision = (double)inside;
  *density = (double)holders;
}

/* Sums over reals of "inside some fake ball" and of "own ball holds a fake". */
static void real_side(const ag_feats *real, const ag_feats *fake, const double *real_r2,
                      const double *fake_r2, double *recall, double *coverage) {
  int64_t inside = 0, covered = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : inside, covered)
  for (int64_t i = 0; i < real->n; i++) {
    double nearest = INFINITY;
    int in = 0;
    for (int64_t j = 0; j < fake->n; j++) {
      const double dd = sqdist(real->x + i * real->d, fake->x + j * fake->d, real->d);
      in |= dd < fake_r2[j];
      if (dd < nearest) nearest = dd;
    }
    inside += in;
    covered += nearest < real_r2[i];
  }
  *recall = (double)inside;
  *coverage = (double)covered;
}

/* The four values on the given sets: [precision, recall, density, coverage]. */
static ag_status prdc_values(const ag_feats *real, const ag_feats *fake, int k, double v[4]) {
  double *real_r2 = malloc(sizeof(double) * (size_t)real->n);
  double *fake_r2 = malloc(sizeof(double) * (size_t)fake->n);
  if (!real_r2 || !fake_r2) {
    free(real_r2);
    free(fake_r2);
    return ag_set_error(AG_ERR_OOM, "prdc: out of host memory");
  }
  knn_radii(real, k, real_r2);
  knn_radii(fake, k, fake_r2);
  fake_side(real, fake, real_r2, &v[0], &v[2]);
  real_side(real, fake, real_r2, fake_r2, &v[1], &v[3]);
  v[0] /= (double)fake->n;
  v[2] /= (double)fake->n * k;
  v[1] /= (double)real->n;
  v[3] /= (double)real->n;
  free(real_r2);
  free(fake_r2);
  return AG_OK;
}

ag_prdc_opts ag_prdc_default_opts(void) { return (ag_prdc_opts){.k = 3, .halves = 10, .seed = 1}; }

typedef struct half_work {
  int64_t *perm, *idx;
  float *real, *fake;
  double *values; /* 4 x halves: each metric's half-sample values */
} half_work;

static void half_work_free(half_work *w) {
  free(w->perm);
  free(w->idx);
  free(w->real);
  free(w->fake);
  free(w->values);
}

/* One half-sample evaluation into v[4]. */
static ag_status prdc_half(const ag_feats *real, const ag_feats *fake, int k, ag_rng64 *r,
                           half_work *w, double v[4]) {
  const int64_t hr = real->n / 2, hf = fake->n / 2;
  ag_draw_without_replacement(r, real->n, hr, w->perm, w->idx);
  ag_gather_rows(real, w->idx, hr, w->real);
  ag_draw_without_replacement(r, fake->n, hf, w->perm, w->idx);
  ag_gather_rows(fake, w->idx, hf, w->fake);
  const ag_feats fr = {w->real, hr, real->d}, ff = {w->fake, hf, fake->d};
  return prdc_values(&fr, &ff, k, v);
}

static ag_status prdc_spread(const ag_feats *real, const ag_feats *fake, const ag_prdc_opts *o,
                             double std[4]) {
  const int64_t nmax = real->n > fake->n ? real->n : fake->n;
  half_work w = {malloc(sizeof(int64_t) * (size_t)nmax), malloc(sizeof(int64_t) * (size_t)nmax),
                 malloc(sizeof(float) * (size_t)(real->n * real->d)),
                 malloc(sizeof(float) * (size_t)(fake->n * fake->d)),
                 malloc(sizeof(double) * (size_t)(4 * o->halves))};
  ag_status st = w.perm && w.idx && w.real && w.fake && w.values
                     ? AG_OK
                     : ag_set_error(AG_ERR_OOM, "prdc: out of host memory");
  ag_rng64 r = {o->seed};
  for (int h = 0; h < o->halves && st == AG_OK; h++) {
    double v[4];
    st = prdc_half(real, fake, o->k, &r, &w, v);
    for (int m = 0; m < 4; m++) w.values[m * o->halves + h] = v[m];
  }
  for (int m = 0; m < 4 && st == AG_OK; m++) std[m] = ag_spread(w.values + m * o->halves, o->halves, 1);
  half_work_free(&w);
  return st;
}

ag_status ag_prdc_compute(const ag_feats *real, const ag_feats *fake, const ag_prdc_opts *o,
                          ag_prdc *out) {
  memset(out, 0, sizeof *out);
  if (o->k < 1 || o->k > PRDC_MAX_K || o->halves < 0)
    return ag_set_error(AG_ERR_INVALID, "prdc: k %d (1..%d), halves %d", o->k, PRDC_MAX_K,
                        o->halves);
  if (real->d < 1 || real->d != fake->d)
    return ag_set_error(AG_ERR_INVALID, "prdc: feature sizes %lld and %lld differ or are empty",
                        (long long)real->d, (long long)fake->d);
  const int64_t min_n = 2 * (int64_t)o->k + 2; /* a half still has k other neighbours */
  if (real->n < min_n || fake->n < min_n)
    return ag_set_error(AG_ERR_INVALID, "prdc: %lld real and %lld fake samples; k %d needs %lld each",
                        (long long)real->n, (long long)fake->n, o->k, (long long)min_n);
  double v[4], std[4] = {0, 0, 0, 0};
  AG_TRY(prdc_values(real, fake, o->k, v));
  if (o->halves >= 2) AG_TRY(prdc_spread(real, fake, o, std));
  out->precision = (ag_estimate){v[0], std[0]};
  out->recall = (ag_estimate){v[1], std[1]};
  out->density = (ag_estimate){v[2], std[2]};
  out->coverage = (ag_estimate){v[3], std[3]};
  return AG_OK;
}

/* ---- memorisation ------------------------------------------------------ */

ag_status ag_nearest_distances(const ag_feats *queries, const ag_feats *ref, double *out) {
  if (queries->d < 1 || queries->d != ref->d || ref->n < 1)
    return ag_set_error(AG_ERR_INVALID,
                        "nearest neighbours: %lld-d queries against %lld references of %lld-d",
                        (long long)queries->d, (long long)ref->n, (long long)ref->d);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < queries->n; i++) {
    double best = INFINITY;
    for (int64_t j = 0; j < ref->n; j++) {
      const double dd = sqdist(queries->x + i * queries->d, ref->x + j * ref->d, ref->d);
      if (dd < best) best = dd;
    }
    out[i] = sqrt(best);
  }
  return AG_OK;
}

ag_memo_opts ag_memo_default_opts(void) {
  return (ag_memo_opts){.ratio_flag = 0.5, .copy_flag = 0.1, .reps = 200, .seed = 1};
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of v[idx[0..n)] (or of v[0..n) when idx is NULL), via `scratch`. */
static double median_of(const double *v, const int64_t *idx, int64_t n, double *scratch) {
  for (int64_t i = 0; i < n; i++) scratch[i] = v[idx ? idx[i] : i];
  qsort(scratch, (size_t)n, sizeof *scratch, compare_doubles);
  return n % 2 ? scratch[n / 2] : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

static double safe_ratio(double a, double b) { return b > 0 ? a / b : (a > 0 ? INFINITY : 1.0); }

/* The bootstrap standard deviation of the median ratio. */
static double ratio_spread(const double *gen, int64_t n_gen, const double *test, int64_t n_test,
                           const ag_memo_opts *o, int64_t *idx, double *scratch, double *reps) {
  ag_rng64 r = {o->seed};
  for (int i = 0; i < o->reps; i++) {
    ag_draw_with_replacement(&r, n_gen, n_gen, idx);
    const double g = median_of(gen, idx, n_gen, scratch);
    ag_draw_with_replacement(&r, n_test, n_test, idx);
    reps[i] = safe_ratio(g, median_of(test, idx, n_test, scratch));
  }
  return ag_spread(reps, o->reps, 1);
}

ag_status ag_memorisation_compute(const double *gen_nn, int64_t n_gen, const double *test_nn,
                                  int64_t n_test, const ag_memo_opts *o, ag_memorisation *out) {
  memset(out, 0, sizeof *out);
  if (n_gen < 1 || n_test < 1)
    return ag_set_error(AG_ERR_INVALID, "memorisation: %lld generated and %lld test distances",
                        (long long)n_gen, (long long)n_test);
  const int64_t nmax = n_gen > n_test ? n_gen : n_test;
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)nmax);
  double *scratch = malloc(sizeof(double) * (size_t)nmax);
  double *reps = malloc(sizeof(double) * (size_t)(o->reps > 0 ? o->reps : 1));
  if (!idx || !scratch || !reps) {
    free(idx);
    free(scratch);
    free(reps);
    return ag_set_error(AG_ERR_OOM, "memorisation: out of host memory");
  }
  out->gen_median = median_of(gen_nn, NULL, n_gen, scratch);
  out->test_median = median_of(test_nn, NULL, n_test, scratch); /* leaves test sorted */
  const double q01 = scratch[(int64_t)(0.01 * (double)(n_test - 1))];
  int64_t copies = 0;
  for (int64_t i = 0; i < n_gen; i++) copies += gen_nn[i] < q01 || gen_nn[i] == 0;
  out->copy_fraction = (double)copies / (double)n_gen;
  out->ratio.value = safe_ratio(out->gen_median, out->test_median);
  if (o->reps >= 2)
    out->ratio.std = ratio_spread(gen_nn, n_gen, test_nn, n_test, o, idx, scratch, reps);
  out->flagged = out->ratio.value < o->ratio_flag || out->copy_fraction > o->copy_flag;
  free(idx);
  free(scratch);
  free(reps);
  return AG_OK;
}
