/* ag_features.h - the Fashion-MNIST classifier (models/ag_classifier.h) as a
 * feature extractor for the generator metrics: image arrays in [0, 1] in,
 * its 128-d feature layer and its predicted classes out, in batches through
 * one planned graph. */
#ifndef AG_FEATURES_H
#define AG_FEATURES_H

#include "models/ag_classifier.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_featurizer ag_featurizer;

/* Plans the classifier's graph for `batch` images (borrows p and c). */
ag_status ag_featurizer_new(ag_params *p, const ag_classifier_config *c, int64_t batch,
                            ag_featurizer **out);
void ag_featurizer_free(ag_featurizer *f);
int64_t ag_featurizer_dim(const ag_featurizer *f);

/* images: n x H x W floats in [0, 1] (what the generators return);
 * features: n x dim (may be NULL); predicted: n classes (may be NULL). A
 * last partial batch is padded, and every image's outputs depend on that
 * image alone. */
ag_status ag_featurizer_run(ag_featurizer *f, const float *images, int64_t n, float *features,
                            int32_t *predicted);

/* Images first..first+n of a raw split as floats in [0, 1]: n x h x w. */
void ag_mnist_unit_images(const ag_mnist *ds, int64_t first, int64_t n, float *out);

#ifdef __cplusplus
}
#endif

#endif
