/* Training and evaluating the classifier: one graph per batch shape, planned
 * once and run for every batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_classifier.h"
#include "runtime/core/ag_info.h"
#include "runtime/data/ag_loader.h"
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

/* The images and labels of a dataset's items: its "image" and "label"
 * fields, whose shapes ag_batch_write_field checks against the graph's. */
typedef struct data_fields {
  int image, label;
} data_fields;

static ag_status find_fields(const ag_dataset *ds, data_fields *f) {
  f->image = ag_dataset_find_field(ds, "image");
  f->label = ag_dataset_find_field(ds, "label");
  if (f->image < 0 || f->label < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "classifier: dataset '%s' has no 'image' and 'label' fields", ds->name);
  return AG_OK;
}

/* The training set as normalised images and labels. */
static ag_status classifier_dataset(const ag_mnist *raw, const ag_classifier_config *c,
                                    ag_dataset **out) {
  const ag_fashion_mnist_opts fo = {AG_PIXEL_MEAN_STD, c->norm_mean, c->norm_std};
  return ag_fashion_mnist_view(raw, &fo, out);
}

typedef struct trainer {
  ag_params *p;
  step_graph sg;
  ag_optimizer *opt;
  ag_dataset *data;
  data_fields fields;
  ag_loader *loader;
} trainer;

static void trainer_close(trainer *t) {
  ag_loader_close(t->loader);
  ag_dataset_free(t->data);
  ag_optimizer_free(t->opt);
  step_graph_free(&t->sg);
}

static ag_status trainer_open(trainer *t, const ag_classifier_config *c,
                              const ag_classifier_train_opts *o, const ag_mnist *train) {
  AG_TRY(classifier_dataset(train, c, &t->data));
  AG_TRY(find_fields(t->data, &t->fields));
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = o->batch;
  lo.seed = o->seed;
  lo.drop_last = 1; /* every step has the graph's batch size */
  AG_TRY(ag_loader_open(t->data, &lo, &t->loader));
  AG_TRY(step_graph_build(&t->sg, t->p, c, ag_loader_rank_batch(t->loader), 1));
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = o->lr;
  oo.weight_decay = o->weight_decay;
  return ag_optimizer_for_params(&oo, t->p, t->sg.g, &t->opt);
}

/* One optimisation step on the next batch. The batch stays in the loader's
 * host buffers and is copied once into the graph's inputs. The loss is read
 * only when asked (every few steps), since reading it waits for the device. */
static ag_status train_step(trainer *t, float lr, int read_loss, float *loss, int *epoch_end) {
  const ag_batch *b = NULL;
  AG_TRY(ag_loader_next(t->loader, &b));
  *epoch_end = b == NULL;
  if (*epoch_end) return AG_OK;
  AG_TRY(ag_batch_write_field(b, t->fields.image, t->sg.x));
  AG_TRY(ag_batch_write_field(b, t->fields.label, t->sg.labels));
  AG_TRY(ag_sched_run(t->sg.s));
  AG_TRY(ag_optimizer_step(t->opt, lr, NULL));
  return read_loss ? ag_tensor_read(t->sg.loss, loss, sizeof *loss) : AG_OK;
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

/* Adds the correct predictions of one batch to *correct; `logits` has room
 * for the graph's batch. */
static ag_status eval_batch(step_graph *sg, const ag_classifier_config *c, const ag_batch *b,
                            const data_fields *f, float *logits, int64_t *correct) {
  AG_TRY(ag_batch_write_field(b, f->image, sg->x));
  AG_TRY(ag_sched_run(sg->s));
  AG_TRY(ag_tensor_read(sg->logits, logits, sizeof(float) * (size_t)(b->count * c->classes)));
  const int32_t *labels = b->data[f->label];
  for (int64_t i = 0; i < b->count; i++) {
    const float *row = logits + i * c->classes;
    int64_t best = 0;
    for (int64_t k = 1; k < c->classes; k++)
      if (row[k] > row[best]) best = k;
    *correct += best == labels[i];
  }
  return AG_OK;
}

/* One pass over the loader's epoch. Full batches share one graph; a last
 * partial batch gets a graph of its own size. */
static ag_status eval_epoch(ag_params *p, const ag_classifier_config *c, ag_loader *loader,
                            const data_fields *f, float *logits, int64_t *correct) {
  step_graph full = {0}, tail = {0};
  ag_status st = step_graph_build(&full, p, c, ag_loader_rank_batch(loader), 0);
  for (const ag_batch *b = NULL; st == AG_OK;) {
    st = ag_loader_next(loader, &b);
    if (st != AG_OK || !b) break;
    step_graph *sg = &full;
    if (b->count != ag_loader_rank_batch(loader)) {
      sg = &tail;
      if (!tail.g) st = step_graph_build(&tail, p, c, b->count, 0);
    }
    if (st == AG_OK) st = eval_batch(sg, c, b, f, logits, correct);
  }
  step_graph_free(&full);
  step_graph_free(&tail);
  return st;
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
  ag_dataset *data = NULL;
  ag_loader *loader = NULL;
  data_fields f;
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = batch;
  lo.shuffle = 0; /* dataset order: the result depends on nothing else */
  float *logits = malloc(sizeof(float) * (size_t)(batch * c->classes));
  ag_status st = logits ? AG_OK : ag_set_error(AG_ERR_OOM, "eval: out of host memory");
  if (st == AG_OK) st = classifier_dataset(ds, c, &data);
  if (st == AG_OK) st = find_fields(data, &f);
  if (st == AG_OK) st = ag_loader_open(data, &lo, &loader);
  if (st == AG_OK) st = eval_epoch(p, c, loader, &f, logits, correct);
  ag_loader_close(loader);
  ag_dataset_free(data);
  free(logits);
  return st;
}

ag_status ag_classifier_train_and_save(ag_backend *be, const ag_classifier_config *c,
                                       const ag_classifier_train_opts *o, const ag_mnist *train,
                                       const ag_mnist *test, const char *dataset, const char *path,
                                       ag_classifier_run *run) {
  *run = (ag_classifier_run){.images = test->n};
  ag_params *p = NULL;
  const double t0 = ag_now_seconds();
  ag_status st = ag_classifier_train(be, c, o, train, &p);
  const double t1 = ag_now_seconds();
  if (st == AG_OK) st = ag_classifier_evaluate(p, c, test, o->eval_batch, &run->correct);
  run->train_seconds = t1 - t0;
  run->eval_seconds = ag_now_seconds() - t1;
  run->accuracy = test->n ? (double)run->correct / (double)test->n : 0;
  if (st == AG_OK) {
    run->params = ag_params_numel(p);
    ag_classifier_meta meta = {.step = o->epochs * (train->n / o->batch),
                               .test_accuracy = run->accuracy};
    snprintf(meta.dataset, sizeof meta.dataset, "%s", dataset);
    st = ag_classifier_save(path, p, c, &meta);
  }
  ag_params_free(p);
  return st;
}
