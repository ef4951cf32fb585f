/* ag_metrics.h - how close generated images are to real ones, measured on
 * host arrays of features (rows of d floats; the classifier's 128-d feature
 * layer in aigc compare) with f64 accumulation:
 *
 *   FID        Frechet distance of the two feature Gaussians; the matrix
 *              square root through LAPACK's symmetric eigensolver.
 *   KID        unbiased MMD^2 under the cubic kernel (x.y/d + 1)^3 over
 *              random subsets, as clean-fid and torch-fidelity compute it.
 *   PRDC       k-NN precision and recall (Kynkaanniemi et al. 2019), density
 *              and coverage (Naeem et al. 2020), as the authors' code does.
 *   classes    the classifier's predicted-class histogram against uniform.
 *   memorised  nearest-training-neighbour distances of generated images
 *              against those of real held-out images.
 *
 * Every metric comes with an uncertainty (ag_estimate.std); how it is
 * obtained is stated at each function, and the report repeats it. */
#ifndef AG_METRICS_H
#define AG_METRICS_H

#include <stdint.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* n rows of d features, row-major; borrowed. */
typedef struct ag_feats {
  const float *x;
  int64_t n, d;
} ag_feats;

/* A value and its standard error. */
typedef struct ag_estimate {
  double value, std;
} ag_estimate;

/* ---- FID --------------------------------------------------------------- */

/* The Gaussian of a feature set: mean [d] and covariance [d, d] (unbiased,
 * divided by n - 1), as pytorch-fid / clean-fid take them. */
typedef struct ag_gaussian {
  int64_t d;
  double *mean, *cov;
} ag_gaussian;

/* Needs n >= 2. */
ag_status ag_gaussian_fit(const ag_feats *f, ag_gaussian *out);
void ag_gaussian_free(ag_gaussian *g);

/* |m1 - m2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(sqrt(S1) S2 sqrt(S1))): the
 * symmetric form of tr(sqrt(S1 S2)), whose square roots are of symmetric
 * positive semi-definite matrices, so each is an eigendecomposition (LAPACK
 * dsyevd) with negative round-off eigenvalues clamped to zero. */
ag_status ag_frechet_distance(const ag_gaussian *a, const ag_gaussian *b, double *out);

/* FID of two feature sets; std: the spread over `reps` bootstrap
 * resamplings of both sets (with replacement, same sizes), 0 when reps < 2. */
typedef struct ag_fid_opts {
  int reps;      /* bootstrap resamplings (20) */
  uint64_t seed; /* of the resampling */
} ag_fid_opts;
ag_fid_opts ag_fid_default_opts(void);
ag_status ag_fid(const ag_feats *a, const ag_feats *b, const ag_fid_opts *o, ag_estimate *out);

/* ---- KID --------------------------------------------------------------- */

typedef struct ag_kid_opts {
  int64_t subsets;     /* 100 */
  int64_t subset_size; /* 1000; capped at the smaller set's size */
  uint64_t seed;       /* of the subset draws */
} ag_kid_opts;
ag_kid_opts ag_kid_default_opts(void);

/* Unbiased MMD^2 of two equal-size sets under k(x,y) = (x.y/d + 1)^3. */
ag_status ag_kid_mmd2(const ag_feats *a, const ag_feats *b, double *out);
/* The mean over `subsets` pairs of random subsets drawn without replacement;
 * std: the standard deviation over the subsets (as torch-fidelity's
 * kernel_inception_distance_std). */
ag_status ag_kid(const ag_feats *a, const ag_feats *b, const ag_kid_opts *o, ag_estimate *out);

/* ---- precision, recall, density, coverage ------------------------------ */

typedef struct ag_prdc_opts {
  int k;         /* neighbours defining each sample's ball (3) */
  int halves;    /* random half-samples for the std (10); 0: no std */
  uint64_t seed; /* of the half-samples */
} ag_prdc_opts;
ag_prdc_opts ag_prdc_default_opts(void);

typedef struct ag_prdc {
  ag_estimate precision, recall, density, coverage;
} ag_prdc;

/* Balls: a sample's Euclidean distance to its k-th nearest neighbour in its
 * own set. precision: fake samples inside some real ball; recall: real
 * samples inside some fake ball; density: real balls holding a fake sample,
 * over k, averaged over fakes; coverage: real samples whose ball holds a
 * fake. The value is on the full sets. The std is the spread over `halves`
 * evaluations on a random half of each set: for a half-sample the spread of
 * the estimates estimates the full-sample standard error (the delete-n/2
 * jackknife), without the duplicated points a bootstrap would put inside
 * the k-NN balls. Both sets need more than 2k samples. */
ag_status ag_prdc_compute(const ag_feats *real, const ag_feats *fake, const ag_prdc_opts *o,
                          ag_prdc *out);

/* ---- class coverage ---------------------------------------------------- */

#define AG_METRICS_MAX_CLASSES 64

typedef struct ag_class_coverage {
  int64_t classes;
  int64_t hist[AG_METRICS_MAX_CLASSES]; /* generated images per predicted class */
  ag_estimate kl;                       /* KL(predicted || uniform), nats */
  int64_t covered;                      /* classes with >= half the uniform share */
  ag_estimate label_accuracy;           /* predicted == requested; -1 without labels */
} ag_class_coverage;

/* From the classifier's predictions of n generated images and the labels
 * they were asked for (NULL: unconditional). std: the spread over `reps`
 * bootstrap resamplings of the images. */
ag_status ag_class_coverage_compute(const int32_t *predicted, const int32_t *requested, int64_t n,
                                    int64_t classes, int reps, uint64_t seed,
                                    ag_class_coverage *out);

/* ---- memorisation ------------------------------------------------------ */

/* out[i]: the Euclidean distance from query row i to its nearest row of
 * `ref` (same d). Pixels or features alike. */
ag_status ag_nearest_distances(const ag_feats *queries, const ag_feats *ref, double *out);

typedef struct ag_memo_opts {
  double ratio_flag;  /* flag below this median ratio (0.5) */
  double copy_flag;   /* or above this fraction of copies (0.1) */
  int reps;           /* bootstrap resamplings for the std (200) */
  uint64_t seed;
} ag_memo_opts;
ag_memo_opts ag_memo_default_opts(void);

typedef struct ag_memorisation {
  double gen_median, test_median; /* nearest-training distances */
  ag_estimate ratio;              /* gen_median / test_median */
  double copy_fraction; /* generated images closer to training than 99% of test images are */
  int flagged;          /* ratio below ratio_flag or copies above copy_flag */
} ag_memorisation;

/* From the nearest-training-neighbour distances of generated and of real
 * held-out images. A generator that reproduces training images has a ratio
 * near 0; one that generalises, near 1. std of the ratio: bootstrap of both
 * distance sets. */
ag_status ag_memorisation_compute(const double *gen_nn, int64_t n_gen, const double *test_nn,
                                  int64_t n_test, const ag_memo_opts *o, ag_memorisation *out);

#ifdef __cplusplus
}
#endif

#endif
