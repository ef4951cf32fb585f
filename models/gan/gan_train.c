/* Training the GAN (see ag_gan.h). Each update alternates, as DCGAN does:
 *   D step: G(z) with G's weights as constants, D's loss on a real batch and
 *           the generated one (plus R1), D's Adam update;
 *   G step: G(z') through the updated D, D's weights as constants, G's
 *           loss, G's Adam update, the EMA.
 * A network is frozen in the other's graph by wrapping its tensors as graph
 * constants before the graph is built: the layers' ag_param then finds them
 * already wrapped (one tensor, one value), so backward computes no gradient
 * for them and no optimizer sees them.
 *
 * Two optimizers make one update; ag_dp trains one parameter set and writes
 * its optimizer state in a checkpoint of its own, so this loop runs on one
 * process with ag_optimizer directly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gan_internal.h"
#include "runtime/core/ag_info.h"
#include "runtime/data/ag_loader.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/train/ag_progress.h"

/* Standing statistics of the saved generator: batches of this many. */
#define STATS_BATCH 256
#define STATS_BATCHES 4
/* Streams of the latents and R1 directions, apart from the weights'. */
#define Z_STREAM 0x9e3779b97f4a7c15ull
#define V_STREAM 0xc2b2ae3d27d4eb4full

ag_gan_train_opts ag_gan_default_train_opts(void) {
  return (ag_gan_train_opts){.steps = 3000,
                             .batch = 64,
                             .lr = 2e-4f,
                             .beta1 = 0.5f,
                             .beta2 = 0.999f,
                             .loss = AG_GAN_LOSS_NS,
                             .seed = 1,
                             .progress = 1};
}

/* One planned step graph: the D step's or the G step's. */
typedef struct step_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *real, *z, *labels, *v; /* inputs (real: D step and ragan's G step) */
  ag_tensor *loss, *r, *f;          /* outputs (r: D step and ragan) */
} step_graph;

static void step_graph_free(step_graph *sg) {
  ag_sched_free(sg->s);
  ag_graph_free(sg->g);
  memset(sg, 0, sizeof *sg);
}

typedef struct trainer {
  const ag_gan_config *c;
  const ag_gan_train_opts *o;
  ag_backend *be;
  ag_params *gen, *disc, *ema_params, *stats;
  step_graph dg, gg;
  ag_optimizer *gen_opt, *disc_opt;
  ag_ema *ema;
  ag_dataset *data;
  int f_image, f_label;
  ag_loader *loader;
  double seconds_before;
} trainer;

/* Wraps every tensor of `p` as a constant of g (see the top). */
static void freeze(ag_graph *g, const ag_params *p) {
  for (int i = 0; i < ag_params_count(p); i++) ag_graph_const(g, ag_params_tensor(p, i));
}

static void step_inputs(trainer *t, step_graph *sg, int real) {
  const ag_gan_config *c = t->c;
  const int64_t n = t->o->batch, zs[2] = {n, c->zdim}, xs[4] = {n, 1, c->height, c->width};
  sg->z = ag_graph_input(sg->g, "z", AG_F32, 2, zs);
  if (c->classes) sg->labels = ag_graph_input(sg->g, "labels", AG_I32, 1, &n);
  if (real) sg->real = ag_graph_input(sg->g, "real", AG_F32, 4, xs);
}

/* The critic R1 differentiates: D on the real batch's labels. */
typedef struct critic_ctx {
  trainer *t;
  ag_tensor *labels;
} critic_ctx;

static ag_tensor *critic(void *ctx, ag_graph *g, ag_tensor *x) {
  critic_ctx *k = ctx;
  return ag_gan_discriminator(g, k->t->disc, k->t->stats, k->t->c, x, k->labels);
}

static ag_status plan(step_graph *sg) {
  if (ag_graph_status(sg->g) == AG_OK) ag_backward(sg->g, sg->loss);
  if (ag_graph_status(sg->g) != AG_OK)
    return ag_set_error(ag_graph_status(sg->g), "gan: %s", ag_graph_error(sg->g));
  return ag_sched_new(sg->g, NULL, &sg->s);
}

/* Real and generated batches share the real labels, so the generator is
 * asked for the classes in the data's proportions. */
static ag_status build_d_step(trainer *t) {
  step_graph *sg = &t->dg;
  if (!(sg->g = ag_graph_new(t->be))) return ag_set_error(AG_ERR_OOM, "gan: out of memory");
  freeze(sg->g, t->gen);
  step_inputs(t, sg, 1);
  ag_tensor *fake = ag_gan_generator(sg->g, t->gen, t->stats, t->c, sg->z, sg->labels, 1);
  sg->r = ag_gan_discriminator(sg->g, t->disc, t->stats, t->c, sg->real, sg->labels);
  sg->f = ag_gan_discriminator(sg->g, t->disc, t->stats, t->c, fake, sg->labels);
  ag_tensor *loss = ag_gan_d_loss(sg->g, t->o->loss, sg->r, sg->f);
  if (t->o->r1_gamma > 0) {
    sg->v = ag_graph_input(sg->g, "r1_directions", AG_F32, 4, sg->real ? sg->real->shape : NULL);
    critic_ctx k = {t, sg->labels};
    ag_tensor *r1 = ag_gan_r1(sg->g, critic, &k, sg->real, sg->v, AG_GAN_R1_STEP);
    loss = ag_add(sg->g, loss, ag_scale(sg->g, r1, 0.5f * t->o->r1_gamma));
  }
  sg->loss = ag_graph_output(sg->g, loss);
  ag_graph_output(sg->g, sg->r);
  ag_graph_output(sg->g, sg->f);
  return plan(sg);
}

static ag_status build_g_step(trainer *t) {
  step_graph *sg = &t->gg;
  if (!(sg->g = ag_graph_new(t->be))) return ag_set_error(AG_ERR_OOM, "gan: out of memory");
  freeze(sg->g, t->disc);
  const int ragan = t->o->loss == AG_GAN_LOSS_RAGAN;
  step_inputs(t, sg, ragan);
  ag_tensor *fake = ag_gan_generator(sg->g, t->gen, t->stats, t->c, sg->z, sg->labels, 1);
  sg->f = ag_gan_discriminator(sg->g, t->disc, t->stats, t->c, fake, sg->labels);
  if (ragan) sg->r = ag_gan_discriminator(sg->g, t->disc, t->stats, t->c, sg->real, sg->labels);
  sg->loss = ag_graph_output(sg->g, ag_gan_g_loss(sg->g, t->o->loss, sg->r, sg->f));
  return plan(sg);
}

/* ---- setup -------------------------------------------------------------- */

static ag_status check_opts(const ag_gan_train_opts *o, const ag_gan_config *c,
                            const ag_mnist *train) {
  AG_TRY(ag_gan_check(c));
  if (o->steps < 1 || o->batch < 2 || o->batch > train->n || !(o->lr > 0) || !(o->beta1 >= 0) ||
      !(o->beta1 < 1) || !(o->beta2 >= 0) || !(o->beta2 < 1))
    return ag_set_error(AG_ERR_INVALID,
                        "train gan: steps %lld, batch %lld (dataset %lld), lr %g, betas (%g, %g): "
                        "steps >= 1, 2 <= batch <= dataset, lr > 0 and betas in [0, 1) expected",
                        (long long)o->steps, (long long)o->batch, (long long)train->n, o->lr,
                        o->beta1, o->beta2);
  if (!(o->r1_gamma >= 0) || !(o->ema_decay >= 0) || !(o->ema_decay < 1) ||
      !ag_gan_loss_name(o->loss))
    return ag_set_error(AG_ERR_INVALID,
                        "train gan: r1 gamma %g, ema decay %g: gamma >= 0 and decay in [0, 1)",
                        o->r1_gamma, o->ema_decay);
  if (train->h != c->height || train->w != c->width)
    return ag_set_error(
        AG_ERR_INVALID, "train gan: images are %lldx%lld, the model makes %lldx%lld",
        (long long)train->h, (long long)train->w, (long long)c->height, (long long)c->width);
  if (c->classes && c->classes < AG_FASHION_MNIST_CLASSES)
    return ag_set_error(AG_ERR_INVALID, "train gan: %lld classes; the data has labels 0..%d",
                        (long long)c->classes, AG_FASHION_MNIST_CLASSES - 1);
  return AG_OK;
}

static ag_status open_data(trainer *t, const ag_mnist *train) {
  const ag_fashion_mnist_opts fo = {AG_PIXEL_SIGNED, 0, 1};
  AG_TRY(ag_fashion_mnist_view(train, &fo, &t->data));
  t->f_image = ag_dataset_find_field(t->data, "image");
  t->f_label = ag_dataset_find_field(t->data, "label");
  if (t->f_image < 0 || t->f_label < 0)
    return ag_set_error(AG_ERR_INVALID, "train gan: dataset has no 'image' and 'label' fields");
  return AG_OK;
}

/* The loader positioned at update `done`: batches are a pure function of
 * (seed, epoch, index), so skipping the ones already used resumes them. */
static ag_status open_loader(trainer *t, int64_t done) {
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = t->o->batch;
  lo.seed = t->o->seed;
  lo.drop_last = 1;
  const int64_t per_epoch = ag_dataset_length(t->data) / t->o->batch;
  lo.first_epoch = (uint64_t)(done / per_epoch);
  AG_TRY(ag_loader_open(t->data, &lo, &t->loader));
  const ag_batch *b = NULL;
  for (int64_t k = 0; k < done % per_epoch; k++) AG_TRY(ag_loader_next(t->loader, &b));
  return AG_OK;
}

static ag_status new_optimizer(trainer *t, ag_params *p, const ag_graph *g, ag_optimizer **out) {
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = t->o->lr;
  oo.beta1 = t->o->beta1;
  oo.beta2 = t->o->beta2;
  oo.weight_decay = 0.0f; /* Adam, as DCGAN */
  return ag_optimizer_for_params(&oo, p, g, out);
}

static ag_status new_ema(trainer *t) {
  const int n = ag_params_count(t->gen);
  ag_tensor **params = malloc(sizeof *params * (size_t)n);
  if (!params) return ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  for (int i = 0; i < n; i++) params[i] = ag_params_tensor(t->gen, i);
  ag_status st = ag_ema_new(n, params, t->o->ema_decay, &t->ema);
  free(params);
  return st;
}

/* The state a resumed run continues from; its config must be this run's. */
static ag_status resume_from(trainer *t, const ag_safetensors *st, const char *path) {
  ag_gan_config saved;
  ag_gan_meta m;
  char diff[512];
  AG_TRY(ag_gan_read_config(path, st, &saved));
  if (ag_gan_config_diff(&saved, t->c, diff, sizeof diff))
    return ag_set_error(AG_ERR_INVALID,
                        "resume: %s holds a gan of other shapes (checkpoint vs this run: %s)", path,
                        diff);
  AG_TRY(ag_gan_read_meta(st, path, &m));
  AG_TRY(ag_gan_load_set(st, path, t->gen, ""));
  AG_TRY(ag_gan_load_set(st, path, t->disc, ""));
  AG_TRY(ag_gan_load_optim(st, path, t->gen, t->gen_opt, m.steps));
  AG_TRY(ag_gan_load_optim(st, path, t->disc, t->disc_opt, m.steps));
  for (int i = 0; i < ag_params_count(t->gen); i++) {
    char name[160];
    snprintf(name, sizeof name, AG_GAN_EMA_PREFIX "%s", ag_params_name(t->gen, i));
    AG_TRY(ag_st_load_into(st, name, ag_ema_tensor(t->ema, i)));
  }
  t->seconds_before = m.seconds;
  return AG_OK;
}

static ag_status open_model(trainer *t) {
  AG_TRY(ag_gan_init(t->gen, t->disc, t->stats, t->c));
  AG_TRY(ag_gan_init(t->ema_params, NULL, t->stats, t->c));
  AG_TRY(build_d_step(t));
  AG_TRY(build_g_step(t));
  AG_TRY(new_optimizer(t, t->disc, t->dg.g, &t->disc_opt));
  AG_TRY(new_optimizer(t, t->gen, t->gg.g, &t->gen_opt));
  AG_TRY(new_ema(t));
  if (!t->o->resume) return AG_OK;
  ag_safetensors *st = ag_st_open(t->o->resume);
  if (!st) return AG_ERR_IO;
  const ag_status s = resume_from(t, st, t->o->resume);
  ag_st_close(st);
  return s;
}

static void trainer_close(trainer *t) {
  ag_loader_close(t->loader);
  ag_dataset_free(t->data);
  ag_ema_free(t->ema);
  ag_optimizer_free(t->gen_opt);
  ag_optimizer_free(t->disc_opt);
  step_graph_free(&t->dg);
  step_graph_free(&t->gg);
  ag_params_free(t->gen);
  ag_params_free(t->disc);
  ag_params_free(t->ema_params);
  ag_params_free(t->stats);
}

/* ---- the loop ----------------------------------------------------------- */

/* The next batch of the run, crossing into the next epoch when one ends. */
static ag_status next_batch(trainer *t, const ag_batch **b) {
  AG_TRY(ag_loader_next(t->loader, b));
  if (!*b) AG_TRY(ag_loader_next(t->loader, b));
  return AG_OK;
}

/* Latents of update `step`'s D (which 0) or G (1) step. */
static ag_status fill_latents(trainer *t, ag_tensor *z, int64_t step, int which) {
  const uint64_t per = (uint64_t)ag_tensor_numel(z);
  return ag_eager_fill_normal(z, t->o->seed ^ Z_STREAM, (uint64_t)(2 * step + which) * per, 0.0f,
                              1.0f);
}

/* The fraction of real logits > 0 and generated ones < 0. */
static ag_status d_accuracy(const step_graph *sg, int64_t n, float *logits, float *acc) {
  AG_TRY(ag_tensor_read(sg->r, logits, sizeof *logits * (size_t)n));
  AG_TRY(ag_tensor_read(sg->f, logits + n, sizeof *logits * (size_t)n));
  int64_t right = 0;
  for (int64_t i = 0; i < n; i++) right += (logits[i] > 0) + (logits[n + i] < 0);
  *acc = (float)right / (float)(2 * n);
  return AG_OK;
}

typedef struct step_losses {
  float d, g, acc;
} step_losses;

static ag_status d_step(trainer *t, const ag_batch *b, int64_t step) {
  step_graph *sg = &t->dg;
  AG_TRY(ag_batch_write_field(b, t->f_image, sg->real));
  if (sg->labels) AG_TRY(ag_batch_write_field(b, t->f_label, sg->labels));
  AG_TRY(fill_latents(t, sg->z, step, 0));
  if (sg->v)
    AG_TRY(ag_eager_fill_normal(sg->v, t->o->seed ^ V_STREAM,
                                (uint64_t)step * (uint64_t)ag_tensor_numel(sg->v), 0.0f, 1.0f));
  AG_TRY(ag_sched_run(sg->s));
  return ag_optimizer_step(t->disc_opt, t->o->lr, NULL);
}

static ag_status g_step(trainer *t, const ag_batch *b, int64_t step) {
  step_graph *sg = &t->gg;
  if (sg->real) AG_TRY(ag_batch_write_field(b, t->f_image, sg->real));
  if (sg->labels) AG_TRY(ag_batch_write_field(b, t->f_label, sg->labels));
  AG_TRY(fill_latents(t, sg->z, step, 1));
  AG_TRY(ag_sched_run(sg->s));
  AG_TRY(ag_optimizer_step(t->gen_opt, t->o->lr, NULL));
  return ag_ema_update(t->ema);
}

/* One update of both networks; the losses are read only when asked (every
 * few steps), since reading waits for the device. */
static ag_status train_step(trainer *t, int64_t step, int read, float *logits, step_losses *l) {
  const ag_batch *b = NULL;
  AG_TRY(next_batch(t, &b));
  AG_TRY(d_step(t, b, step));
  if (read) AG_TRY(ag_tensor_read(t->dg.loss, &l->d, sizeof l->d));
  if (read) AG_TRY(d_accuracy(&t->dg, t->o->batch, logits, &l->acc));
  AG_TRY(g_step(t, b, step));
  return read ? ag_tensor_read(t->gg.loss, &l->g, sizeof l->g) : AG_OK;
}

static void record(const ag_gan_train_opts *o, int64_t step, const step_losses *l) {
  if (o->d_loss) o->d_loss[step] = l->d;
  if (o->g_loss) o->g_loss[step] = l->g;
  if (o->d_acc) o->d_acc[step] = l->acc;
}

static ag_status train_loop(trainer *t, int64_t from, int64_t end, ag_gan_train_result *res) {
  const ag_gan_train_opts *o = t->o;
  const int each = o->d_loss || o->g_loss || o->d_acc;
  float *logits = malloc(sizeof *logits * (size_t)(2 * o->batch));
  if (!logits) return ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  ag_progress prog = {0};
  if (o->progress) ag_progress_begin(&prog, "train gan", o->steps, "img", stderr);
  step_losses l = {NAN, NAN, NAN};
  ag_status st = AG_OK;
  for (int64_t step = from; step < end && st == AG_OK; step++) {
    const int read = each || step % 10 == 0 || step == end - 1;
    st = train_step(t, step, read, logits, &l);
    if (st == AG_OK) record(o, step, &l);
    if (st == AG_OK && o->progress) ag_progress_update(&prog, step + 1, o->batch, l.d);
  }
  if (o->progress) ag_progress_end(&prog);
  free(logits);
  res->d_loss = l.d;
  res->g_loss = l.g;
  if (st == AG_OK && !(isfinite(l.d) && isfinite(l.g)))
    st = ag_set_error(AG_ERR_INVALID,
                      "train gan: the losses diverged (D %g, G %g); try a lower --lr", l.d, l.g);
  return st;
}

/* The sampled generator: the EMA (or G's copy) with its standing statistics. */
static ag_status save(trainer *t, const ag_gan_train_result *res) {
  for (int i = 0; i < ag_params_count(t->gen); i++)
    AG_TRY(ag_tensor_copy(ag_params_tensor(t->ema_params, i), ag_ema_tensor(t->ema, i)));
  AG_TRY(
      ag_gan_standing_stats(t->ema_params, t->stats, t->c, t->o->seed, STATS_BATCH, STATS_BATCHES));
  ag_gan_meta m = {.steps = ag_optimizer_steps(t->gen_opt),
                   .seconds = res->seconds,
                   .peak_bytes = res->peak_bytes,
                   .loss = t->o->loss,
                   .r1_gamma = t->o->r1_gamma,
                   .ema_decay = t->o->ema_decay};
  snprintf(m.device, sizeof m.device, "%s", t->be->name);
  snprintf(m.dataset, sizeof m.dataset, "%.63s", t->data->name);
  const ag_gan_state s = {t->gen, t->disc, t->ema_params, t->stats, t->gen_opt, t->disc_opt};
  return ag_gan_save(t->o->out, t->c, &m, &s);
}

static ag_status run(trainer *t, const ag_mnist *train, ag_gan_train_result *res) {
  AG_TRY(open_data(t, train));
  AG_TRY(open_model(t));
  res->resumed_at = ag_optimizer_steps(t->gen_opt);
  if (res->resumed_at >= t->o->steps)
    return ag_set_error(AG_ERR_INVALID, "resume: %s has done %lld updates already, --steps is %lld",
                        t->o->resume, (long long)res->resumed_at, (long long)t->o->steps);
  AG_TRY(open_loader(t, res->resumed_at));
  const int64_t end = t->o->until > 0 && t->o->until < t->o->steps ? t->o->until : t->o->steps;
  const double t0 = ag_now_seconds();
  AG_TRY(train_loop(t, res->resumed_at, end, res));
  res->seconds = t->seconds_before + ag_now_seconds() - t0;
  res->steps_done = ag_optimizer_steps(t->gen_opt);
  res->peak_bytes = (int64_t)ag_allocator_stats(t->be->alloc).peak;
  return t->o->out ? save(t, res) : AG_OK;
}

ag_status ag_gan_train(ag_backend *be, const ag_gan_config *c, const ag_gan_train_opts *o,
                       const ag_mnist *train, ag_gan_train_result *res) {
  memset(res, 0, sizeof *res);
  AG_TRY(check_opts(o, c, train));
  trainer t = {.c = c,
               .o = o,
               .be = be,
               .gen = ag_params_new(be, o->seed),
               .disc = ag_params_new(be, o->seed),
               .ema_params = ag_params_new(be, o->seed),
               .stats = ag_params_new(be, o->seed)};
  ag_status st = t.gen && t.disc && t.ema_params && t.stats
                     ? run(&t, train, res)
                     : ag_set_error(AG_ERR_OOM, "train gan: out of memory");
  trainer_close(&t);
  return st;
}
