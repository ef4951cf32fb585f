/* Training CLIP data-parallel (see ag_clip.h): one graph for a rank's shard
 * of the global batch, planned once, its gradients averaged and applied by
 * ag_dp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_clip.h"
#include "runtime/core/ag_info.h"
#include "runtime/data/ag_loader.h"
#include "runtime/dist/ag_dp.h"
#include "runtime/train/ag_progress.h"

ag_clip_train_opts ag_clip_default_train_opts(void) {
  return (ag_clip_train_opts){.steps = 1500,
                              .batch = 256,
                              .warmup = 100,
                              .lr = 2e-3f,
                              .weight_decay = 0.1f,
                              .seed = 1,
                              .progress = 1};
}

/* The planned training graph of one rank's shard. */
typedef struct step_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *images, *ids, *eot_rows, *loss;
} step_graph;

static void step_graph_free(step_graph *sg) {
  ag_sched_free(sg->s);
  ag_graph_free(sg->g);
  memset(sg, 0, sizeof *sg);
}

static ag_status step_graph_build(step_graph *sg, ag_params *p, const ag_clip_config *c, int64_t n,
                                  int world) {
  sg->g = ag_graph_new(ag_params_backend(p));
  if (!sg->g) return AG_ERR_OOM;
  const int64_t is[4] = {n, 1, c->vision.height, c->vision.width}, ts[2] = {n, c->text.context};
  sg->images = ag_graph_input(sg->g, "images", AG_F32, 4, is);
  sg->ids = ag_graph_input(sg->g, "ids", AG_I32, 2, ts);
  sg->eot_rows = ag_graph_input(sg->g, "eot_rows", AG_I32, 1, &n);
  ag_tensor *img = ag_clip_image_embed(sg->g, p, c, sg->images);
  ag_tensor *txt = ag_clip_text_embed(sg->g, p, c, sg->ids, sg->eot_rows, NULL);
  sg->loss = ag_graph_output(sg->g, ag_clip_loss(sg->g, p, img, txt, world));
  if (ag_graph_status(sg->g) == AG_OK) ag_backward(sg->g, sg->loss);
  if (ag_graph_status(sg->g) != AG_OK)
    return ag_set_error(ag_graph_status(sg->g), "clip: %s", ag_graph_error(sg->g));
  return ag_sched_new(sg->g, NULL, &sg->s);
}

typedef struct trainer {
  ag_comm *comm;
  const ag_clip_config *c;
  const ag_clip_train_opts *o;
  ag_params *p;
  ag_dataset *data;
  int f_image, f_ids, f_eot;
  ag_loader *loader;
  step_graph sg;
  ag_dp *dp;
  int32_t *eot_rows; /* host staging, one per item of a rank's batch */
} trainer;

static void trainer_close(trainer *t) {
  free(t->eot_rows);
  ag_dp_free(t->dp);
  step_graph_free(&t->sg);
  ag_loader_close(t->loader);
  ag_dataset_free(t->data);
}

static ag_status check_opts(const ag_clip_train_opts *o, const ag_mnist *train, int world) {
  if (o->steps < 1 || o->batch < 1 || o->batch > train->n || !(o->lr > 0) || o->warmup < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "train clip: steps %lld, batch %lld (dataset %lld), lr %g: each must be "
                        "positive and the batch no larger than the dataset",
                        (long long)o->steps, (long long)o->batch, (long long)train->n, o->lr);
  if (o->batch % world)
    return ag_set_error(AG_ERR_INVALID,
                        "train clip: the global batch %lld is not divisible by the %d ranks",
                        (long long)o->batch, world);
  return AG_OK;
}

/* The weights of the checkpoint being resumed, which must hold this model. */
static ag_status load_resumed_weights(trainer *t, const ag_safetensors *st) {
  ag_clip_config saved;
  AG_TRY(ag_clip_read_config(t->o->resume, st, &saved));
  char diff[512];
  if (ag_clip_config_diff(&saved, t->c, diff, sizeof diff))
    return ag_set_error(
        AG_ERR_INVALID,
        "resume: %s holds a clip model of other shapes (checkpoint vs this run: %s)", t->o->resume,
        diff);
  ag_status s = ag_params_load(t->p, st);
  if (s != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    return ag_set_error(s, "resume: %s: %s", t->o->resume, msg);
  }
  return AG_OK;
}

static ag_status open_data(trainer *t, const ag_mnist *train) {
  ag_clip_data_opts d = {.context = t->c->text.context,
                         .seed = t->o->seed,
                         .norm_mean = t->c->norm_mean,
                         .norm_std = t->c->norm_std};
  AG_TRY(ag_clip_fit_thresholds(train, &d.thresholds));
  AG_TRY(ag_clip_dataset_open(train, &d, &t->data));
  t->f_image = ag_dataset_find_field(t->data, "image");
  t->f_ids = ag_dataset_find_field(t->data, "ids");
  t->f_eot = ag_dataset_find_field(t->data, "eot");
  return AG_OK;
}

/* The model, its graph and the data-parallel optimizer; a resumed run's
 * weights and optimizer state come from `st`. */
static ag_status open_model(trainer *t, const ag_safetensors *st) {
  const int world = ag_comm_world(t->comm);
  const int64_t n = t->o->batch / world;
  AG_TRY(ag_clip_init(t->p, t->c));
  if (st) AG_TRY(load_resumed_weights(t, st));
  AG_TRY(step_graph_build(&t->sg, t->p, t->c, n, world));
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = t->o->lr;
  oo.weight_decay = t->o->weight_decay;
  oo.beta2 = 0.98f; /* CLIP's: steadier with a temperature in the loss */
  const ag_dp_opts dpo = {.zero = t->o->zero};
  AG_TRY(ag_dp_new(t->comm, &oo, &dpo, t->p, t->sg.g, t->sg.s, &t->dp));
  if (st) AG_TRY(ag_dp_load(t->dp, st));
  t->eot_rows = malloc(sizeof *t->eot_rows * (size_t)n);
  return t->eot_rows ? AG_OK : ag_set_error(AG_ERR_OOM, "train clip: out of host memory");
}

/* The loader positioned at update `done`: batches are a pure function of
 * (seed, epoch, index), so skipping the ones already used resumes them. */
static ag_status open_loader(trainer *t, int64_t done) {
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = t->o->batch;
  lo.seed = t->o->seed;
  lo.drop_last = 1;
  lo.rank = ag_comm_rank(t->comm);
  lo.world_size = ag_comm_world(t->comm);
  lo.transform = ag_clip_recaption;
  lo.transform_ctx = t->data;
  const int64_t per_epoch = ag_dataset_length(t->data) / t->o->batch;
  lo.first_epoch = (uint64_t)(done / per_epoch);
  AG_TRY(ag_loader_open(t->data, &lo, &t->loader));
  const ag_batch *b = NULL;
  for (int64_t k = 0; k < done % per_epoch; k++) AG_TRY(ag_loader_next(t->loader, &b));
  return AG_OK;
}

/* The next batch of the run, crossing into the next epoch when one ends. */
static ag_status next_batch(trainer *t, const ag_batch **b) {
  AG_TRY(ag_loader_next(t->loader, b));
  if (!*b) AG_TRY(ag_loader_next(t->loader, b));
  return AG_OK;
}

/* One update. Captions are pooled at their end-of-text token: row
 * k * context + eot[k] of the flattened token features. */
static ag_status train_step(trainer *t, float lr, int read_loss, float *loss) {
  const ag_batch *b = NULL;
  AG_TRY(next_batch(t, &b));
  const int32_t *eot = b->data[t->f_eot];
  for (int64_t k = 0; k < b->count; k++)
    t->eot_rows[k] = (int32_t)(k * t->c->text.context + eot[k]);
  AG_TRY(ag_batch_write_field(b, t->f_image, t->sg.images));
  AG_TRY(ag_batch_write_field(b, t->f_ids, t->sg.ids));
  AG_TRY(ag_tensor_write(t->sg.eot_rows, t->eot_rows, sizeof *t->eot_rows * (size_t)b->count));
  AG_TRY(ag_sched_run(t->sg.s));
  AG_TRY(ag_dp_step(t->dp, lr));
  AG_TRY(ag_clip_clamp_logit_scale(t->p, NULL));
  return read_loss ? ag_tensor_read(t->sg.loss, loss, sizeof *loss) : AG_OK;
}

static ag_status train_loop(trainer *t, ag_clip_train_result *res) {
  const ag_clip_train_opts *o = t->o;
  const int show = o->progress && ag_comm_rank(t->comm) == 0;
  ag_progress prog = {0};
  if (show) ag_progress_begin(&prog, "train clip", o->steps, "pairs", stderr);
  float loss = NAN;
  ag_status st = AG_OK;
  const int64_t end = o->until > 0 && o->until < o->steps ? o->until : o->steps;
  for (int64_t step = res->resumed_at; step < end && st == AG_OK; step++) {
    const float lr = ag_lr_warmup_cosine(step, o->warmup, o->steps, o->lr, 0.0f);
    st = train_step(t, lr, o->losses || step % 10 == 0 || step == end - 1, &loss);
    if (st == AG_OK && o->losses) o->losses[step] = loss;
    if (st == AG_OK && show) ag_progress_update(&prog, step + 1, o->batch, loss);
  }
  if (show) ag_progress_end(&prog);
  if (st == AG_OK && !isfinite(loss))
    st = ag_set_error(AG_ERR_INVALID, "train clip: the loss diverged (%g); try a lower --lr", loss);
  res->last_loss = loss;
  res->steps_done = ag_dp_steps(t->dp);
  return st == AG_OK ? ag_clip_clamp_logit_scale(t->p, &res->logit_scale) : st;
}

static ag_status save(trainer *t) {
  const char *keys[AG_CLIP_META], *values[AG_CLIP_META];
  char *config = NULL;
  ag_status st = ag_clip_meta(t->c, keys, values, &config);
  if (st == AG_OK) st = ag_dp_save(t->dp, t->o->out, keys, values, AG_CLIP_META);
  free(config);
  return st;
}

static ag_status run(trainer *t, const ag_mnist *train, ag_clip_train_result *res) {
  ag_safetensors *st = NULL;
  AG_TRY(ag_params_set_compute_dtype(t->p, t->o->dtype));
  if (t->o->resume && !(st = ag_st_open(t->o->resume))) return AG_ERR_IO;
  ag_status s = open_data(t, train);
  if (s == AG_OK) s = open_model(t, st);
  ag_st_close(st);
  if (s != AG_OK) return s;
  res->resumed_at = ag_dp_steps(t->dp);
  if (res->resumed_at >= t->o->steps)
    return ag_set_error(AG_ERR_INVALID, "resume: %s has done %lld updates already, --steps is %lld",
                        t->o->resume, (long long)res->resumed_at, (long long)t->o->steps);
  AG_TRY(open_loader(t, res->resumed_at));
  AG_TRY(train_loop(t, res));
  return t->o->out ? save(t) : AG_OK;
}

ag_status ag_clip_train(ag_comm *comm, const ag_clip_config *c, const ag_clip_train_opts *o,
                        const ag_mnist *train, ag_params **out, ag_clip_train_result *res) {
  *out = NULL;
  memset(res, 0, sizeof *res);
  AG_TRY(ag_clip_check(c));
  AG_TRY(check_opts(o, train, ag_comm_world(comm)));
  if (train->h != c->vision.height || train->w != c->vision.width)
    return ag_set_error(AG_ERR_INVALID,
                        "train clip: images are %lldx%lld, the model takes %lldx%lld",
                        (long long)train->h, (long long)train->w, (long long)c->vision.height,
                        (long long)c->vision.width);
  trainer t = {.comm = comm, .c = c, .o = o, .p = ag_params_new(ag_comm_backend(comm), o->seed)};
  if (!t.p) return ag_set_error(AG_ERR_OOM, "train clip: out of memory");
  const double t0 = ag_now_seconds();
  ag_status st = run(&t, train, res);
  res->seconds = ag_now_seconds() - t0;
  trainer_close(&t);
  if (st != AG_OK) {
    ag_params_free(t.p);
    return st;
  }
  *out = t.p;
  return AG_OK;
}
