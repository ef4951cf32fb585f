/* Classifier features of image arrays: one graph for a fixed batch, images
 * normalised on the host as the classifier was trained. */
#include <stdlib.h>
#include <string.h>

#include "ag_features.h"

struct ag_featurizer {
  ag_classifier_config c;
  int64_t batch;
  ag_graph *g;
  ag_sched *s;
  ag_tensor *x, *features, *logits;
  float *in, *feat, *logit; /* one batch of host staging */
};

void ag_featurizer_free(ag_featurizer *f) {
  if (!f) return;
  ag_sched_free(f->s);
  ag_graph_free(f->g);
  free(f->in);
  free(f->feat);
  free(f->logit);
  free(f);
}

int64_t ag_featurizer_dim(const ag_featurizer *f) { return f->c.hidden; }

static ag_status build_graph(ag_featurizer *f, ag_params *p) {
  f->g = ag_graph_new(ag_params_backend(p));
  if (!f->g) return ag_set_error(AG_ERR_OOM, "features: out of memory for the graph");
  const int64_t xs[4] = {f->batch, 1, f->c.height, f->c.width};
  f->x = ag_graph_input(f->g, "images", AG_F32, 4, xs);
  ag_tensor *feat = NULL;
  f->logits = ag_graph_output(f->g, ag_classifier_forward(f->g, p, &f->c, f->x, &feat));
  f->features = ag_graph_output(f->g, feat);
  ag_status st = ag_graph_status(f->g);
  if (st != AG_OK) return ag_set_error(st, "features: %s", ag_graph_error(f->g));
  return ag_sched_new(f->g, NULL, &f->s);
}

ag_status ag_featurizer_new(ag_params *p, const ag_classifier_config *c, int64_t batch,
                            ag_featurizer **out) {
  *out = NULL;
  if (batch < 1) return ag_set_error(AG_ERR_INVALID, "features: batch %lld", (long long)batch);
  ag_featurizer *f = calloc(1, sizeof *f);
  if (!f) return ag_set_error(AG_ERR_OOM, "features: out of host memory");
  f->c = *c;
  f->batch = batch;
  const size_t pixels = (size_t)(batch * c->height * c->width);
  f->in = malloc(sizeof(float) * pixels);
  f->feat = malloc(sizeof(float) * (size_t)(batch * c->hidden));
  f->logit = malloc(sizeof(float) * (size_t)(batch * c->classes));
  ag_status st = f->in && f->feat && f->logit
                     ? build_graph(f, p)
                     : ag_set_error(AG_ERR_OOM, "features: out of host memory");
  if (st != AG_OK) {
    ag_featurizer_free(f);
    return st;
  }
  *out = f;
  return AG_OK;
}

static int32_t argmax(const float *row, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; k++)
    if (row[k] > row[best]) best = k;
  return (int32_t)best;
}

/* Images [count] of one batch (count <= batch); the rest of the batch is 0. */
static ag_status run_batch(ag_featurizer *f, const float *images, int64_t count, float *features,
                           int32_t *predicted) {
  const int64_t hw = f->c.height * f->c.width;
  const float mean = f->c.norm_mean, inv_std = 1.0f / f->c.norm_std;
  for (int64_t i = 0; i < count * hw; i++) f->in[i] = (images[i] - mean) * inv_std;
  memset(f->in + count * hw, 0, sizeof(float) * (size_t)((f->batch - count) * hw));
  AG_TRY(ag_tensor_write(f->x, f->in, sizeof(float) * (size_t)(f->batch * hw)));
  AG_TRY(ag_sched_run(f->s));
  if (features) {
    AG_TRY(ag_tensor_read(f->features, f->feat, sizeof(float) * (size_t)(f->batch * f->c.hidden)));
    memcpy(features, f->feat, sizeof(float) * (size_t)(count * f->c.hidden));
  }
  if (predicted) {
    AG_TRY(ag_tensor_read(f->logits, f->logit, sizeof(float) * (size_t)(f->batch * f->c.classes)));
    for (int64_t i = 0; i < count; i++) predicted[i] = argmax(f->logit + i * f->c.classes, f->c.classes);
  }
  return AG_OK;
}

ag_status ag_featurizer_run(ag_featurizer *f, const float *images, int64_t n, float *features,
                            int32_t *predicted) {
  const int64_t hw = f->c.height * f->c.width;
  for (int64_t first = 0; first < n; first += f->batch) {
    const int64_t count = n - first < f->batch ? n - first : f->batch;
    AG_TRY(run_batch(f, images + first * hw, count, features ? features + first * f->c.hidden : NULL,
                     predicted ? predicted + first : NULL));
  }
  return AG_OK;
}

void ag_mnist_unit_images(const ag_mnist *ds, int64_t first, int64_t n, float *out) {
  const int64_t hw = ds->h * ds->w;
  const uint8_t *src = ds->images + first * hw;
  for (int64_t i = 0; i < n * hw; i++) out[i] = (float)src[i] * (1.0f / 255.0f);
}
