/* Class coverage: which classes the classifier sees in generated images. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_metrics.h"
#include "metrics_util.h"

/* KL(hist / n || uniform) in nats; empty classes add nothing. */
static double kl_to_uniform(const int64_t *hist, int64_t classes, int64_t n) {
  double kl = 0;
  for (int64_t c = 0; c < classes; c++) {
    if (!hist[c]) continue;
    const double p = (double)hist[c] / (double)n;
    kl += p * log(p * (double)classes);
  }
  return kl;
}

/* KL and label accuracy of the images idx[0..n) (all when idx is NULL). */
static void class_values(const int32_t *pred, const int32_t *req, const int64_t *idx, int64_t n,
                         int64_t classes, int64_t *hist, double *kl, double *acc) {
  memset(hist, 0, sizeof(int64_t) * (size_t)classes);
  int64_t hits = 0;
  for (int64_t i = 0; i < n; i++) {
    const int64_t k = idx ? idx[i] : i;
    hist[pred[k]]++;
    hits += req && pred[k] == req[k];
  }
  *kl = kl_to_uniform(hist, classes, n);
  *acc = req ? (double)hits / (double)n : -1.0;
}

static ag_status class_bootstrap(const int32_t *pred, const int32_t *req, int64_t n,
                                 int64_t classes, int reps, uint64_t seed, ag_class_coverage *out) {
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
  double *kl = malloc(sizeof(double) * (size_t)reps), *acc = malloc(sizeof(double) * (size_t)reps);
  if (!idx || !kl || !acc) {
    free(idx);
    free(kl);
    free(acc);
    return ag_set_error(AG_ERR_OOM, "class coverage: out of host memory");
  }
  int64_t hist[AG_METRICS_MAX_CLASSES];
  ag_rng64 r = {seed};
  for (int i = 0; i < reps; i++) {
    ag_draw_with_replacement(&r, n, n, idx);
    class_values(pred, req, idx, n, classes, hist, &kl[i], &acc[i]);
  }
  out->kl.std = ag_spread(kl, reps, 1);
  if (req) out->label_accuracy.std = ag_spread(acc, reps, 1);
  free(idx);
  free(kl);
  free(acc);
  return AG_OK;
}

ag_status ag_class_coverage_compute(const int32_t *predicted, const int32_t *requested, int64_t n,
                                    int64_t classes, int reps, uint64_t seed,
                                    ag_class_coverage *out) {
  memset(out, 0, sizeof *out);
  if (n < 1 || classes < 2 || classes > AG_METRICS_MAX_CLASSES)
    return ag_set_error(AG_ERR_INVALID, "class coverage: %lld images of %lld classes (2..%d)",
                        (long long)n, (long long)classes, AG_METRICS_MAX_CLASSES);
  for (int64_t i = 0; i < n; i++) {
    if (predicted[i] < 0 || predicted[i] >= classes)
      return ag_set_error(AG_ERR_INVALID, "class coverage: image %lld predicted as class %d of %lld",
                          (long long)i, (int)predicted[i], (long long)classes);
    if (requested && (requested[i] < 0 || requested[i] >= classes))
      return ag_set_error(AG_ERR_INVALID, "class coverage: image %lld asked for class %d of %lld",
                          (long long)i, (int)requested[i], (long long)classes);
  }
  out->classes = classes;
  class_values(predicted, requested, NULL, n, classes, out->hist, &out->kl.value,
               &out->label_accuracy.value);
  for (int64_t c = 0; c < classes; c++) out->covered += 2 * out->hist[c] * classes >= n;
  return reps >= 2 ? class_bootstrap(predicted, requested, n, classes, reps, seed, out) : AG_OK;
}
