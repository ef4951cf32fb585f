/* ag_classifier.h - a LeNet-style image classifier for Fashion-MNIST:
 *   conv 3x3 (c1) + ReLU, 2x2 average pool, conv 3x3 (c2) + ReLU, 2x2 average
 *   pool, dense (hidden) + ReLU = the features, dense (classes) = logits.
 * Besides classifying, its features are what the FID of generated images is
 * measured with, so a checkpoint records everything needed to rebuild it:
 * the config, the input normalisation, the dataset and its test accuracy. */
#ifndef AG_CLASSIFIER_H
#define AG_CLASSIFIER_H

#include "runtime/graph/ag_params.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/data/ag_fashion_mnist.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_classifier_config {
  int64_t height, width;  /* input images, one channel */
  int64_t c1, c2, hidden; /* layer widths */
  int64_t classes;
  float norm_mean, norm_std; /* pixels are (x / 255 - mean) / std */
} ag_classifier_config;

/* 28x28 inputs, 32 and 64 channels, 128 features, 10 classes, normalised
 * with Fashion-MNIST's training-set mean and std. */
ag_classifier_config ag_classifier_default_config(void);

/* Logits [N, classes] of images x [N, 1, H, W] (normalised); *features (may
 * be NULL) receives the [N, hidden] features. */
ag_tensor *ag_classifier_forward(ag_graph *g, ag_params *p, const ag_classifier_config *c,
                                 ag_tensor *x, ag_tensor **features);

/* Creates every parameter (initialised from `p`'s seed) without a graph. */
ag_status ag_classifier_init(ag_params *p, const ag_classifier_config *c);

/* What a checkpoint says besides the weights. */
typedef struct ag_classifier_meta {
  int64_t step;
  double test_accuracy; /* < 0 when not measured */
  char dataset[64];
} ag_classifier_meta;

/* Writes the weights and metadata (model kind, config, normalisation,
 * step, dataset, accuracy) to a safetensors file, atomically. */
ag_status ag_classifier_save(const char *path, const ag_params *p, const ag_classifier_config *c,
                             const ag_classifier_meta *meta);
/* Reads a checkpoint written by ag_classifier_save into new parameters on
 * `be`. A file of another model kind, a config that does not parse, or
 * weights that do not match the config are errors naming what is wrong. */
ag_status ag_classifier_load(const char *path, ag_backend *be, ag_params **p,
                             ag_classifier_config *c, ag_classifier_meta *meta);
/* The config of an open checkpoint (path names it in the errors), checked
 * field by field before anything is built from it. */
ag_status ag_classifier_read_config(const char *path, const ag_safetensors *st,
                                    ag_classifier_config *c);

/* ---- training and evaluation -------------------------------------------- */

typedef struct ag_classifier_train_opts {
  int epochs;
  int64_t batch;
  float lr, weight_decay;
  int64_t warmup; /* LR warm-up steps */
  uint64_t seed;  /* weights and shuffling */
  int64_t eval_batch;
  int progress; /* show a progress line on stderr */
} ag_classifier_train_opts;

ag_classifier_train_opts ag_classifier_default_train_opts(void);

/* Trains a new classifier on `train` with AdamW under a warm-up + cosine
 * schedule; returns its parameters. */
ag_status ag_classifier_train(ag_backend *be, const ag_classifier_config *c,
                              const ag_classifier_train_opts *o, const ag_mnist *train,
                              ag_params **out);

/* Accuracy of the classifier on `ds`, in batches of `batch`. The result
 * depends only on the weights, the data and the batch size. */
ag_status ag_classifier_evaluate(ag_params *p, const ag_classifier_config *c, const ag_mnist *ds,
                                 int64_t batch, int64_t *correct);

/* What ag_classifier_train_and_save did. */
typedef struct ag_classifier_run {
  int64_t params, correct, images; /* test images classified correctly, of `images` */
  double accuracy;                 /* correct / images */
  double train_seconds, eval_seconds;
} ag_classifier_run;

/* The whole job of `aigc train classifier`: trains on `train`, measures the
 * accuracy on `test`, and saves the checkpoint at `path` with the step, the
 * accuracy and `dataset` (its name, for the metadata). */
ag_status ag_classifier_train_and_save(ag_backend *be, const ag_classifier_config *c,
                                       const ag_classifier_train_opts *o, const ag_mnist *train,
                                       const ag_mnist *test, const char *dataset, const char *path,
                                       ag_classifier_run *run);

#ifdef __cplusplus
}
#endif

#endif
