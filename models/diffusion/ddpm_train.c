/* Training the DDPM denoiser (see ag_ddpm.h): one graph for this rank's
 * share of a batch, planned once; noise from the eager diffusion_noise op;
 * data parallelism, the optimizer and checkpoints through ag_dp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm_internal.h"
#include "kernels/common/ag_philox.h"
#include "runtime/core/ag_info.h"
#include "runtime/data/ag_loader.h"
#include "runtime/ops/diffusion.h"
#include "runtime/train/ag_progress.h"

ag_ddpm_config ag_ddpm_default_config(void) {
  return (ag_ddpm_config){.unet = ag_unet_default_config(),
                          .schedule = ag_noise_schedule_default(),
                          .label_dropout = 0.1f};
}

ag_status ag_ddpm_check(const ag_ddpm_config *c) {
  AG_TRY(ag_unet_check(&c->unet));
  AG_TRY(ag_noise_schedule_check(&c->schedule));
  if (!(c->label_dropout >= 0.0f && c->label_dropout < 1.0f))
    return ag_set_error(AG_ERR_INVALID, "ddpm: label dropout %g, [0, 1) expected",
                        (double)c->label_dropout);
  if (c->label_dropout > 0 && c->unet.classes == 0)
    return ag_set_error(AG_ERR_INVALID,
                        "ddpm: label dropout %g needs a class-conditional UNet (classes 0)",
                        (double)c->label_dropout);
  return AG_OK;
}

ag_ddpm_train_opts ag_ddpm_default_train_opts(void) {
  return (ag_ddpm_train_opts){.steps = 1200,
                              .batch = 128,
                              .warmup = 100,
                              .lr = 2e-3f,
                              .clip_norm = 1.0f,
                              .ema = 0.995f,
                              .seed = 1,
                              .dataset = "fashion-mnist",
                              .progress = 1};
}

typedef struct trainer {
  ag_comm *comm;
  const ag_ddpm_config *c;
  const ag_ddpm_train_opts *o;
  ag_params *p;
  ag_dataset *data;
  int f_image, f_label;
  ag_loader *loader;
  int64_t local, first; /* images of this rank per update, the global index of its first */
  ag_graph *g;
  ag_sched *s;
  ag_tensor *x_t, *t, *labels, *target, *loss; /* graph values */
  ag_tensor *x0, *t_int, *alphas;              /* inputs of the noise op */
  ag_dp *dp;
  ag_ema *ema;
  ag_tensor **averages; /* the EMA's tensors, one per parameter */
  int32_t *host_t, *host_labels;
  float *host_tf;
  ag_ddpm_train_record before; /* what a resumed checkpoint had recorded */
  char device[32];
} trainer;

static void trainer_close(trainer *t) {
  free(t->host_t), free(t->host_labels), free(t->host_tf), free(t->averages);
  ag_ema_free(t->ema);
  ag_dp_free(t->dp);
  ag_sched_free(t->s);
  ag_graph_free(t->g);
  ag_tensor_free(t->x0), ag_tensor_free(t->t_int), ag_tensor_free(t->alphas);
  ag_loader_close(t->loader);
  ag_dataset_free(t->data);
  ag_params_free(t->p);
}

static ag_status check_request(ag_comm *comm, const ag_ddpm_config *c, const ag_ddpm_train_opts *o,
                               const ag_mnist *train) {
  AG_TRY(ag_ddpm_check(c));
  if (o->steps < 1 || o->until < 0 || o->until > o->steps || o->batch < 1 ||
      o->batch > train->n || !(o->lr > 0) || o->warmup < 0 || !(o->ema >= 0 && o->ema < 1) ||
      o->weight_decay < 0 || o->clip_norm < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "train ddpm: steps %lld (until %lld), batch %lld (dataset %lld), lr %g, "
                        "ema %g: positive steps, batch and lr, until <= steps, a batch no larger "
                        "than the dataset and ema in [0, 1) expected",
                        (long long)o->steps, (long long)o->until, (long long)o->batch,
                        (long long)train->n, o->lr, o->ema);
  if (o->batch % ag_comm_world(comm))
    return ag_set_error(AG_ERR_INVALID,
                        "train ddpm: the global batch %lld is not divisible by the %d ranks",
                        (long long)o->batch, ag_comm_world(comm));
  if (train->h != c->unet.height || train->w != c->unet.width || c->unet.channels != 1)
    return ag_set_error(AG_ERR_INVALID,
                        "train ddpm: the images are %lldx%lld, the model takes %lldx%lldx%lld",
                        (long long)train->h, (long long)train->w, (long long)c->unet.height,
                        (long long)c->unet.width, (long long)c->unet.channels);
  return AG_OK;
}

/* Images in [-1, 1] with their labels. */
static ag_status open_data(trainer *t, const ag_mnist *train) {
  const ag_fashion_mnist_opts fo = {.norm = AG_PIXEL_SIGNED};
  AG_TRY(ag_fashion_mnist_view(train, &fo, &t->data));
  t->f_image = ag_dataset_find_field(t->data, "image");
  t->f_label = ag_dataset_find_field(t->data, "label");
  return AG_OK;
}

static ag_status build_graph(trainer *t) {
  const ag_unet_config *u = &t->c->unet;
  const int64_t n = t->local, xs[4] = {n, u->channels, u->height, u->width};
  ag_backend *be = ag_params_backend(t->p);
  if (!(t->g = ag_graph_new(be))) return ag_set_error(AG_ERR_OOM, "train ddpm: out of memory");
  t->x_t = ag_graph_input(t->g, "x_t", AG_F32, 4, xs);
  t->t = ag_graph_input(t->g, "t", AG_F32, 1, &n);
  t->labels = u->classes ? ag_graph_input(t->g, "labels", AG_I32, 1, &n) : NULL;
  t->target = ag_graph_input(t->g, "target", AG_F32, 4, xs);
  ag_tensor *pred = ag_unet(t->g, t->p, u, t->x_t, t->t, t->labels);
  t->loss = ag_graph_output(t->g, ag_mse_loss(t->g, pred, t->target));
  if (ag_graph_status(t->g) == AG_OK) ag_backward(t->g, t->loss);
  if (ag_graph_status(t->g) != AG_OK)
    return ag_set_error(ag_graph_status(t->g), "train ddpm: %s", ag_graph_error(t->g));
  return ag_sched_new(t->g, NULL, &t->s);
}

/* The noise op's inputs: the clean images, integer timesteps, and the
 * schedule's alphas_cumprod (computed in double, used in f32). */
static ag_status alloc_noise_inputs(trainer *t) {
  const ag_unet_config *u = &t->c->unet;
  const int64_t n = t->local, xs[4] = {n, u->channels, u->height, u->width};
  const int64_t steps = t->c->schedule.train_timesteps;
  ag_backend *be = ag_params_backend(t->p);
  t->x0 = ag_tensor_new(be, AG_F32, 4, xs);
  t->t_int = ag_tensor_new(be, AG_I32, 1, &n);
  t->alphas = ag_tensor_new(be, AG_F32, 1, &steps);
  t->host_t = malloc(sizeof *t->host_t * (size_t)n);
  t->host_labels = malloc(sizeof *t->host_labels * (size_t)n);
  t->host_tf = malloc(sizeof *t->host_tf * (size_t)(n > steps ? n : steps));
  double *ab = malloc(sizeof *ab * (size_t)steps);
  ag_status st = t->x0 && t->t_int && t->alphas && t->host_t && t->host_labels && t->host_tf && ab
                     ? ag_alphas_cumprod(&t->c->schedule, ab)
                     : ag_set_error(AG_ERR_OOM, "train ddpm: out of memory");
  for (int64_t i = 0; st == AG_OK && i < steps; i++) t->host_tf[i] = (float)ab[i];
  if (st == AG_OK) st = ag_tensor_write(t->alphas, t->host_tf, sizeof(float) * (size_t)steps);
  free(ab);
  return st;
}

static ag_status open_optimizer(trainer *t) {
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = t->o->lr;
  oo.weight_decay = t->o->weight_decay;
  oo.clip_norm = t->o->clip_norm;
  const ag_dp_opts d = {.zero = t->o->zero};
  AG_TRY(ag_dp_new(t->comm, &oo, &d, t->p, t->g, t->s, &t->dp));
  const int n = ag_params_count(t->p);
  ag_tensor **params = malloc(sizeof *params * (size_t)n);
  if (!params || !(t->averages = malloc(sizeof *t->averages * (size_t)n)))
    return free(params), ag_set_error(AG_ERR_OOM, "train ddpm: out of host memory");
  for (int i = 0; i < n; i++) params[i] = ag_params_tensor(t->p, i);
  /* After ag_dp_new: rank 0's weights are everywhere, so every rank's
   * average starts (and stays) the same. */
  ag_status st = ag_ema_new(n, params, t->o->ema, &t->ema);
  free(params);
  for (int i = 0; st == AG_OK && i < n; i++) t->averages[i] = ag_ema_tensor(t->ema, i);
  return st;
}

/* ---- resuming ------------------------------------------------------------- */

static ag_status check_same_config(const trainer *t, const ag_ddpm_config *saved) {
  char *a = ag_ddpm_config_json(saved), *b = ag_ddpm_config_json(t->c);
  ag_status st = a && b ? AG_OK : ag_set_error(AG_ERR_OOM, "train ddpm: out of host memory");
  if (st == AG_OK && strcmp(a, b) != 0)
    st = ag_set_error(AG_ERR_INVALID,
                      "resume: %s holds a ddpm model of another config (checkpoint %s, this run "
                      "%s)",
                      t->o->resume, a, b);
  free(a), free(b);
  return st;
}

static ag_status resume_weights(trainer *t, const ag_safetensors *st) {
  ag_ddpm_config saved;
  AG_TRY(ag_ddpm_read_config(t->o->resume, st, &saved));
  AG_TRY(check_same_config(t, &saved));
  t->before = ag_ddpm_read_record(st);
  ag_status s = ag_params_load(t->p, st);
  if (s == AG_OK) return AG_OK;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  return ag_set_error(s, "resume: %s: %s", t->o->resume, msg);
}

/* Optimizer state, step count and averages. */
static ag_status resume_state(trainer *t, const ag_safetensors *st) {
  char name[160];
  AG_TRY(ag_dp_load(t->dp, st));
  for (int i = 0; i < ag_params_count(t->p); i++) {
    ag_ddpm_ema_name(name, sizeof name, ag_params_name(t->p, i));
    if (ag_st_find(st, name) < 0)
      return ag_set_error(AG_ERR_INVALID, "resume: %s has no averaged weights '%s'", t->o->resume,
                          name);
    AG_TRY(ag_st_load_into(st, name, t->averages[i]));
  }
  const int64_t end = t->o->until ? t->o->until : t->o->steps;
  if (ag_dp_steps(t->dp) >= end)
    return ag_set_error(AG_ERR_INVALID, "resume: %s has done %lld updates already, --steps is %lld",
                        t->o->resume, (long long)ag_dp_steps(t->dp), (long long)end);
  return AG_OK;
}

/* ---- one update ----------------------------------------------------------- */

/* The loader positioned at update `done`: batches are a pure function of
 * (seed, epoch, index), so skipping the ones already used resumes them. */
static ag_status open_loader(trainer *t, int64_t done) {
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = t->o->batch;
  lo.seed = t->o->seed;
  lo.drop_last = 1;
  lo.rank = ag_comm_rank(t->comm);
  lo.world_size = ag_comm_world(t->comm);
  const int64_t per_epoch = ag_dataset_length(t->data) / t->o->batch;
  lo.first_epoch = (uint64_t)(done / per_epoch);
  AG_TRY(ag_loader_open(t->data, &lo, &t->loader));
  const ag_batch *b = NULL;
  for (int64_t k = 0; k < done % per_epoch; k++) AG_TRY(ag_loader_next(t->loader, &b));
  return AG_OK;
}

static ag_status next_batch(trainer *t, const ag_batch **b) {
  AG_TRY(ag_loader_next(t->loader, b));
  if (!*b) AG_TRY(ag_loader_next(t->loader, b));
  return AG_OK;
}

/* Image `index` of update `step`: its timestep, and whether its label is
 * dropped. Philox keyed by the seed at counter (step, index), so they
 * depend on nothing else. */
static void draw_timestep(const trainer *t, int64_t step, int64_t index, int32_t *ts, int *drop) {
  const ag_philox4 ctr = {{(uint32_t)step, (uint32_t)((uint64_t)step >> 32), (uint32_t)index,
                           (uint32_t)((uint64_t)index >> 32)}};
  const uint64_t seed = t->o->seed ^ 0x5DEECE66Dull; /* apart from the loader's streams */
  const ag_philox4 r = ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
  *ts = (int32_t)(((uint64_t)r.v[0] * (uint64_t)t->c->schedule.train_timesteps) >> 32);
  *drop = (double)r.v[1] < (double)t->c->label_dropout * 4294967296.0;
}

static ag_status write_inputs(trainer *t, int64_t step, const ag_batch *b) {
  const int32_t *labels = b->data[t->f_label];
  for (int64_t k = 0; k < t->local; k++) {
    int drop;
    draw_timestep(t, step, t->first + k, &t->host_t[k], &drop);
    t->host_tf[k] = (float)t->host_t[k];
    t->host_labels[k] = drop ? AG_UNET_NULL_CLASS(&t->c->unet) : labels[k];
  }
  AG_TRY(ag_batch_write_field(b, t->f_image, t->x0));
  AG_TRY(ag_tensor_write(t->t_int, t->host_t, sizeof *t->host_t * (size_t)t->local));
  AG_TRY(ag_tensor_write(t->t, t->host_tf, sizeof *t->host_tf * (size_t)t->local));
  if (t->labels)
    AG_TRY(ag_tensor_write(t->labels, t->host_labels, sizeof *t->host_labels * (size_t)t->local));
  const ag_diffusion_noise_args na = {.prediction = t->c->schedule.prediction,
                                      .seed = ag_diffusion_step_seed(t->o->seed, (uint64_t)step),
                                      .first = (uint64_t)t->first};
  return ag_eager_diffusion_noise(t->x0, t->t_int, t->alphas, t->x_t, t->target, &na);
}

static ag_status train_step(trainer *t, int64_t step, double *loss) {
  const ag_ddpm_train_opts *o = t->o;
  const int64_t warmup = o->warmup < o->steps ? o->warmup : 0;
  const float lr = ag_lr_warmup_cosine(step, warmup, o->steps, o->lr, 0.0f);
  const ag_batch *b = NULL;
  float local = NAN;
  AG_TRY(next_batch(t, &b));
  AG_TRY(write_inputs(t, step, b));
  AG_TRY(ag_sched_run(t->s));
  AG_TRY(ag_dp_step(t->dp, lr));
  AG_TRY(ag_ema_update(t->ema));
  AG_TRY(ag_tensor_read(t->loss, &local, sizeof local));
  *loss = local;
  return ag_dp_mean_host(t->dp, loss);
}

static ag_status train_loop(trainer *t, ag_ddpm_train_result *res) {
  const ag_ddpm_train_opts *o = t->o;
  const int show = o->progress && ag_comm_rank(t->comm) == 0;
  const int64_t end = o->until ? o->until : o->steps;
  ag_progress prog = {0};
  if (show) ag_progress_begin(&prog, "train ddpm", o->steps, "img", stderr);
  double loss = NAN;
  ag_status st = AG_OK;
  const double t0 = ag_now_seconds();
  for (int64_t step = res->resumed_at; step < end && st == AG_OK; step++) {
    st = train_step(t, step, &loss);
    if (st == AG_OK && o->losses) o->losses[step] = loss;
    if (st == AG_OK && show) ag_progress_update(&prog, step + 1, o->batch, (float)loss);
  }
  res->seconds = ag_now_seconds() - t0;
  if (show) ag_progress_end(&prog);
  if (st == AG_OK && !isfinite(loss))
    st = ag_set_error(AG_ERR_INVALID, "train ddpm: the loss diverged (%g); try a lower --lr", loss);
  res->last_loss = (float)loss;
  res->steps_done = ag_dp_steps(t->dp);
  return st;
}

static ag_status finish(trainer *t, ag_ddpm_train_result *res) {
  ag_backend *be = ag_params_backend(t->p);
  const int64_t peak = (int64_t)ag_allocator_stats(be->alloc).peak;
  res->total_seconds = t->before.seconds + res->seconds;
  res->peak_bytes = peak > t->before.peak_bytes ? peak : t->before.peak_bytes;
  if (!t->o->out) return AG_OK;
  const ag_ddpm_train_record r = {.seconds = res->total_seconds,
                                  .peak_bytes = res->peak_bytes,
                                  .device = t->device,
                                  .dataset = t->o->dataset ? t->o->dataset : ""};
  return ag_ddpm_save(t->dp, t->o->out, t->c, t->p, t->averages, &r);
}

static ag_status run(trainer *t, const ag_mnist *train, ag_ddpm_train_result *res) {
  ag_safetensors *st = NULL;
  if (t->o->resume && !(st = ag_st_open(t->o->resume))) return AG_ERR_IO;
  ag_status s = open_data(t, train);
  if (s == AG_OK) s = ag_unet_init(t->p, &t->c->unet);
  if (s == AG_OK && st) s = resume_weights(t, st);
  if (s == AG_OK) s = build_graph(t);
  if (s == AG_OK) s = alloc_noise_inputs(t);
  if (s == AG_OK) s = open_optimizer(t);
  if (s == AG_OK && st) s = resume_state(t, st);
  ag_st_close(st);
  if (s != AG_OK) return s;
  res->resumed_at = ag_dp_steps(t->dp);
  AG_TRY(open_loader(t, res->resumed_at));
  AG_TRY(train_loop(t, res));
  return finish(t, res);
}

ag_status ag_ddpm_train(ag_comm *comm, const ag_ddpm_config *c, const ag_ddpm_train_opts *o,
                        const ag_mnist *train, ag_ddpm_train_result *res) {
  memset(res, 0, sizeof *res);
  AG_TRY(check_request(comm, c, o, train));
  const int world = ag_comm_world(comm);
  ag_backend *be = ag_comm_backend(comm);
  trainer t = {.comm = comm, .c = c, .o = o, .local = o->batch / world};
  t.first = t.local * ag_comm_rank(comm);
  if (world > 1)
    snprintf(t.device, sizeof t.device, "%s x%d", be->name, world);
  else
    snprintf(t.device, sizeof t.device, "%s", be->name);
  if (!(t.p = ag_params_new(be, o->seed)))
    return ag_set_error(AG_ERR_OOM, "train ddpm: out of memory");
  const ag_status st = run(&t, train, res);
  trainer_close(&t);
  return st;
}
