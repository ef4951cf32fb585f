/* Training and evaluating the classifier: one graph per batch shape, planned
 * once and run for every batch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_classifier.h"
#include "runtime/train/ag_progress.h"
#include "runtime/train/ag_train.h"

ag_classifier_train_opts ag_classifier_default_train_opts(void) {
  return (ag_classifier_train_opts){.epochs = 5,
                                    .batch = 128,
                                    .lr = 2e-3f,
                                    .weight_decay = 0.01f,
                                    .warmup = 200,
                                    .seed = 1,
                                    .eval_batch = 500,
                                    .progress = 1};
}

/* A planned graph from images (and labels) to logits (and the loss). */
typedef struct step_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *x, *labels, *logits, *loss;
} step_graph;

static void step_graph_free(step_graph *sg) {
  ag_sched_free(sg->s);
  ag_graph_free(sg->g);
  memset(sg, 0, sizeof *sg);
}

static ag_status step_graph_build(step_graph *sg, ag_params *p, const ag_classifier_config *c,
                                  int64_t batch, int train) {
  memset(sg, 0, sizeof *sg);
  sg->g = ag_graph_new(ag_params_backend(p));
  if (!sg->g) return AG_ERR_OOM;
  const int64_t xs[4] = {batch, 1, c->height, c->width};
  sg->x = ag_graph_input(sg->g, "images", AG_F32, 4, xs);
  sg->logits = ag_graph_output(sg->g, ag_classifier_forward(sg->g, p, c, sg->x, NULL));
  if (train) {
    sg->labels = ag_graph_input(sg->g, "labels", AG_I32, 1, &batch);
    sg->loss = ag_graph_output(sg->g, ag_cross_entropy(sg->g, sg->logits, sg->labels));
    if (ag_graph_status(sg->g) == AG_OK) ag_backward(sg->g, sg->loss);
  }
  ag_status st = ag_graph_status(sg->g);
  if (st == AG_OK) st = ag_sched_new(sg->g, NULL, &sg->s);
  if (st != AG_OK) step_graph_free(sg);
  return st;
}

typedef struct trainer {
  ag_params *p;
  step_graph sg;
  ag_optimizer *opt;
  ag_loader *loader;
} trainer;

static void trainer_close(trainer *t) {
  ag_loader_close(t->loader);
  ag_optimizer_free(t->opt);
  step_graph_free(&t->sg);
}

static ag_status trainer_open(trainer *t, const ag_classifier_config *c,
                              const ag_classifier_train_opts *o, const ag_mnist *train) {
  AG_TRY(step_graph_build(&t->sg, t->p, c, o->batch, 1));
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = o->lr;
  oo.weight_decay = o->weight_decay;
  AG_TRY(ag_optimizer_for_params(&oo, t->p, t->sg.g, &t->opt));
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = o->batch;
  lo.seed = o->seed;
  lo.drop_last = 1;
  lo.norm = AG_NORM_MEAN_STD;
  lo.mean = c->norm_mean;
  lo.std = c->norm_std;
  /* Batches stay in host memory: train_step copies each straight into the
   * graph's inputs, one transfer and no device allocation per step. */
  lo.backend = NULL;
  return ag_loader_open(train, &lo, &t->loader);
}

/* One optimisation step on the next batch. The loss is read only when asked
 * (every few steps), since reading it waits for the device. */
static ag_status train_step(trainer *t, float lr, int read_loss, float *loss, int *epoch_end) {
  ag_tensor *images = NULL, *labels = NULL;
  AG_TRY(ag_loader_next(t->loader, &images, &labels));
  *epoch_end = images == NULL;
  if (*epoch_end) return AG_OK;
  ag_status st = ag_tensor_copy(t->sg.x, images);
  if (st == AG_OK) st = ag_tensor_copy(t->sg.labels, labels);
  ag_tensor_free(images);
  ag_tensor_free(labels);
  if (st == AG_OK) st = ag_sched_run(t->sg.s);
  if (st == AG_OK) st = ag_optimizer_step(t->opt, lr, NULL);
  if (st == AG_OK && read_loss) st = ag_tensor_read(t->sg.loss, loss, sizeof *loss);
  return st;
}

static ag_status train_loop(trainer *t, const ag_classifier_train_opts *o) {
  const int64_t per_epoch = ag_loader_batches_per_epoch(t->loader);
  const int64_t total = per_epoch * o->epochs;
  ag_progress prog = {0};
  if (o->progress) ag_progress_begin(&prog, "train classifier", total, "img", stderr);
  float loss = NAN;
  ag_status st = AG_OK;
  for (int64_t step = 0; step < total && st == AG_OK;) {
    int epoch_end = 0;
    const float lr = ag_lr_warmup_cosine(step, o->warmup, total, o->lr, 0.0f);
    st = train_step(t, lr, step % 10 == 0 || step == total - 1, &loss, &epoch_end);
    if (st != AG_OK || epoch_end) continue;
    step++;
    if (o->progress) ag_progress_update(&prog, step, o->batch, loss);
  }
  if (o->progress) ag_progress_end(&prog);
  if (st == AG_OK && !isfinite(loss))
    st = ag_set_error(AG_ERR_INVALID, "train: the loss diverged (%g); try a lower --lr", loss);
  return st;
}

ag_status ag_classifier_train(ag_backend *be, const ag_classifier_config *c,
                              const ag_classifier_train_opts *o, const ag_mnist *train,
                              ag_params **out) {
  *out = NULL;
  if (o->epochs < 1 || o->batch < 1 || o->batch > train->n || !(o->lr > 0))
    return ag_set_error(AG_ERR_INVALID,
                        "train: epochs %d, batch %lld (dataset %lld), lr %g: "
                        "each must be positive and the batch no larger than the dataset",
                        o->epochs, (long long)o->batch, (long long)train->n, o->lr);
  if (train->h != c->height || train->w != c->width)
    return ag_set_error(
        AG_ERR_INVALID, "train: images are %lldx%lld, the classifier takes %lldx%lld",
        (long long)train->h, (long long)train->w, (long long)c->height, (long long)c->width);
  trainer t = {.p = ag_params_new(be, o->seed)};
  if (!t.p) return AG_ERR_OOM;
  ag_status st = ag_classifier_init(t.p, c);
  if (st == AG_OK) st = trainer_open(&t, c, o, train);
  if (st == AG_OK) st = train_loop(&t, o);
  trainer_close(&t);
  if (st != AG_OK) {
    ag_params_free(t.p);
    return st;
  }
  *out = t.p;
  return AG_OK;
}

/* Correct predictions among images [first, first + n) of ds. */
static ag_status eval_batch(step_graph *sg, const ag_classifier_config *c, const ag_mnist *ds,
                            int64_t first, int64_t n, float *host, float *logits,
                            int64_t *correct) {
  const int64_t pixels = ds->h * ds->w;
  float scale, shift;
  AG_TRY(ag_norm_coeffs(AG_NORM_MEAN_STD, c->norm_mean, c->norm_std, &scale, &shift));
  ag_u8_to_f32(ds->images + first * pixels, host, (size_t)(n * pixels), scale, shift);
  AG_TRY(ag_tensor_write(sg->x, host, sizeof(float) * (size_t)(n * pixels)));
  AG_TRY(ag_sched_run(sg->s));
  AG_TRY(ag_tensor_read(sg->logits, logits, sizeof(float) * (size_t)(n * c->classes)));
  for (int64_t i = 0; i < n; i++) {
    const float *row = logits + i * c->classes;
    int64_t best = 0;
    for (int64_t k = 1; k < c->classes; k++)
      if (row[k] > row[best]) best = k;
    *correct += best == ds->labels[first + i];
  }
  return AG_OK;
}

ag_status ag_classifier_evaluate(ag_params *p, const ag_classifier_config *c, const ag_mnist *ds,
                                 int64_t batch, int64_t *correct) {
  *correct = 0;
  if (batch < 1) return ag_set_error(AG_ERR_INVALID, "eval: batch %lld", (long long)batch);
  if (ds->h != c->height || ds->w != c->width)
    return ag_set_error(
        AG_ERR_INVALID, "eval: images are %lldx%lld, the classifier takes %lldx%lld",
        (long long)ds->h, (long long)ds->w, (long long)c->height, (long long)c->width);
  if (batch > ds->n) batch = ds->n;
  float *host = malloc(sizeof(float) * (size_t)(batch * ds->h * ds->w));
  float *logits = malloc(sizeof(float) * (size_t)(batch * c->classes));
  step_graph full = {0}, tail = {0};
  ag_status st = host && logits ? AG_OK : ag_set_error(AG_ERR_OOM, "eval: out of host memory");
  if (st == AG_OK) st = step_graph_build(&full, p, c, batch, 0);
  int64_t first = 0;
  for (; st == AG_OK && first + batch <= ds->n; first += batch)
    st = eval_batch(&full, c, ds, first, batch, host, logits, correct);
  /* A last partial batch gets a graph of its own size. */
  if (st == AG_OK && first < ds->n) st = step_graph_build(&tail, p, c, ds->n - first, 0);
  if (st == AG_OK && first < ds->n)
    st = eval_batch(&tail, c, ds, first, ds->n - first, host, logits, correct);
  step_graph_free(&full);
  step_graph_free(&tail);
  free(host);
  free(logits);
  return st;
}
