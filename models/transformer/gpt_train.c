/* Training a GPT on a text (see ag_gpt.h): one graph for this rank's share
 * of a step, planned once; data parallelism, the optimizer and checkpoints
 * through ag_dp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_gpt.h"
#include "kernels/common/ag_philox.h"
#include "runtime/dist/ag_dp.h"
#include "runtime/train/ag_progress.h"

ag_gpt_train_opts ag_gpt_default_train_opts(void) {
  return (ag_gpt_train_opts){.steps = 600,
                             .batch = 16,
                             .lr = 3e-3f,
                             .min_lr = 3e-4f,
                             .weight_decay = 0.1f,
                             .clip_norm = 1.0f,
                             .warmup = 30,
                             .seed = 1,
                             .progress = 1};
}

/* The first byte of window `index` of step `step`: Philox keyed by the
 * seed at counter (step, index), so it depends on nothing else. */
static size_t window_start(uint64_t seed, int64_t step, int64_t index, size_t starts) {
  const ag_philox4 ctr = {{(uint32_t)step, (uint32_t)((uint64_t)step >> 32), (uint32_t)index,
                           (uint32_t)((uint64_t)index >> 32)}};
  const ag_philox4 r = ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
  return (size_t)((((uint64_t)r.v[1] << 32) | r.v[0]) % starts);
}

typedef struct trainer {
  const ag_gpt_config *c;
  const ag_gpt_train_opts *o;
  const char *text;
  size_t n;
  ag_params *p;
  ag_graph *g;
  ag_sched *s;
  ag_tensor *ids, *targets, *loss;
  ag_dp *dp;
  int64_t local, first; /* windows of this rank per step, and the index of its first */
  int32_t *host_ids, *host_targets;
} trainer;

static void trainer_close(trainer *t) {
  ag_dp_free(t->dp);
  ag_sched_free(t->s);
  ag_graph_free(t->g);
  free(t->host_ids);
  free(t->host_targets);
}

/* Inputs, then the targets: window w's bytes 0..T-1 and 1..T. */
static ag_status write_batch(trainer *t, int64_t step) {
  const int64_t len = t->c->context;
  const size_t starts = t->n - (size_t)len;
  for (int64_t w = 0; w < t->local; w++) {
    const char *win = t->text + window_start(t->o->seed, step, t->first + w, starts);
    const unsigned char *b = (const unsigned char *)win;
    for (int64_t i = 0; i < len; i++) {
      t->host_ids[w * len + i] = b[i];
      t->host_targets[w * len + i] = b[i + 1];
    }
  }
  AG_TRY(ag_tensor_write(t->ids, t->host_ids, ag_tensor_nbytes(t->ids)));
  return ag_tensor_write(t->targets, t->host_targets, ag_tensor_nbytes(t->targets));
}

static ag_status build_graph(trainer *t) {
  const int64_t len = t->c->context, shape[2] = {t->local, len}, tokens = t->local * len;
  t->host_ids = malloc(sizeof *t->host_ids * (size_t)tokens);
  t->host_targets = malloc(sizeof *t->host_targets * (size_t)tokens);
  if (!t->host_ids || !t->host_targets || !(t->g = ag_graph_new(ag_params_backend(t->p))))
    return ag_set_error(AG_ERR_OOM, "gpt train: out of memory");
  t->ids = ag_graph_input(t->g, "ids", AG_I32, 2, shape);
  t->targets = ag_graph_input(t->g, "targets", AG_I32, 1, &tokens);
  t->loss = ag_graph_output(
      t->g, ag_cross_entropy(t->g, ag_gpt_logits(t->g, t->p, t->c, t->ids), t->targets));
  if (ag_graph_status(t->g) == AG_OK) ag_backward(t->g, t->loss);
  if (ag_graph_status(t->g) != AG_OK)
    return ag_set_error(ag_graph_status(t->g), "gpt train: %s", ag_graph_error(t->g));
  return ag_sched_new(t->g, NULL, &t->s);
}

static ag_status open_dp(trainer *t, ag_comm *comm) {
  ag_optim_opts oo = ag_optim_defaults(AG_OPTIM_ADAMW);
  oo.lr = t->o->lr;
  oo.weight_decay = t->o->weight_decay;
  oo.beta2 = 0.95f; /* GPT-2 / nanoGPT: steadier on small batches than 0.999 */
  oo.clip_norm = t->o->clip_norm;
  const ag_dp_opts d = {.zero = t->o->zero};
  return ag_dp_new(comm, &oo, &d, t->p, t->g, t->s, &t->dp);
}

/* The config a checkpoint was trained with must be this run's. */
static ag_status check_same_config(const char *path, const ag_gpt_config *have,
                                   const ag_gpt_config *want) {
  if (memcmp(have, want, sizeof *have) == 0) return AG_OK;
  ag_gpt_meta h, w;
  ag_gpt_meta_of(have, &h);
  ag_gpt_meta_of(want, &w);
  return ag_set_error(AG_ERR_INVALID, "gpt train: cannot resume %s: it has config %s, this run %s",
                      path, h.config, w.config);
}

/* Weights from the checkpoint, then (once ag_dp exists) the optimizer state
 * and step; *st stays open between the two. */
static ag_status resume_weights(trainer *t, ag_safetensors **st) {
  const char *path = t->o->resume;
  ag_gpt_config saved;
  if (!(*st = ag_st_open(path))) return AG_ERR_IO;
  AG_TRY(ag_gpt_read_config(*st, path, &saved));
  AG_TRY(check_same_config(path, &saved, t->c));
  if (ag_params_load(t->p, *st) == AG_OK) return AG_OK;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  return ag_set_error(AG_ERR_INVALID, "gpt train: cannot resume %s: %s", path, msg);
}

/* The step this run stops after. */
static int64_t last_step(const ag_gpt_train_opts *o) { return o->until ? o->until : o->steps; }

static ag_status resume_optimizer(trainer *t, const ag_safetensors *st) {
  AG_TRY(ag_dp_load(t->dp, st));
  if (ag_dp_steps(t->dp) < last_step(t->o)) return AG_OK;
  return ag_set_error(AG_ERR_INVALID,
                      "gpt train: %s is at step %lld already; stopping at step %lld leaves "
                      "nothing to train",
                      t->o->resume, (long long)ag_dp_steps(t->dp), (long long)last_step(t->o));
}

static ag_status train_step(trainer *t, int64_t step, double *loss) {
  const ag_gpt_train_opts *o = t->o;
  const int64_t warmup = o->warmup < o->steps ? o->warmup : 0;
  const float lr = ag_lr_warmup_cosine(step, warmup, o->steps, o->lr, o->min_lr);
  float local = NAN;
  AG_TRY(write_batch(t, step));
  AG_TRY(ag_sched_run(t->s));
  AG_TRY(ag_dp_step(t->dp, lr));
  AG_TRY(ag_tensor_read(t->loss, &local, sizeof local));
  *loss = local;
  return ag_dp_mean_host(t->dp, loss);
}

static ag_status train_loop(trainer *t) {
  const ag_gpt_train_opts *o = t->o;
  const int show = o->progress && ag_dp_rank(t->dp) == 0;
  ag_progress prog = {0};
  const int64_t first = ag_dp_steps(t->dp);
  if (show) ag_progress_begin(&prog, "train gpt", o->steps, "tok", stderr);
  double loss = NAN;
  ag_status st = AG_OK;
  for (int64_t step = first; step < last_step(o) && st == AG_OK; step++) {
    st = train_step(t, step, &loss);
    if (st != AG_OK) break;
    if (o->losses) o->losses[step] = loss;
    if (show) ag_progress_update(&prog, step + 1, o->batch * t->c->context, (float)loss);
  }
  if (show) ag_progress_end(&prog);
  if (st == AG_OK && !isfinite(loss))
    st = ag_set_error(AG_ERR_INVALID, "gpt train: the loss diverged (%g); try a lower --lr", loss);
  return st;
}

static ag_status save(trainer *t) {
  if (!t->o->out) return AG_OK;
  ag_gpt_meta m;
  ag_gpt_meta_of(t->c, &m);
  return ag_dp_save(t->dp, t->o->out, m.keys, m.values, 2);
}

static ag_status check_request(ag_comm *comm, const ag_gpt_config *c, const ag_gpt_train_opts *o,
                               size_t n) {
  AG_TRY(ag_gpt_check_config(c));
  if (o->steps < 1 || o->until < 0 || o->until > o->steps || o->batch < 1 || !(o->lr > 0) ||
      o->min_lr < 0 || o->warmup < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt train: steps %lld (until %lld), batch %lld, lr %g, min lr %g, "
                        "warm-up %lld: positive steps, batch and lr, until <= steps expected",
                        (long long)o->steps, (long long)o->until, (long long)o->batch, o->lr,
                        o->min_lr, (long long)o->warmup);
  if (n == 0) return ag_set_error(AG_ERR_INVALID, "gpt train: the text is empty");
  if (n < (size_t)c->context + 1)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt train: the text has %zu bytes; windows of %lld + 1 need more", n,
                        (long long)c->context);
  const int world = ag_comm_world(comm);
  if (o->batch % world)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt train: a global batch of %lld is not divisible by %d ranks",
                        (long long)o->batch, world);
  return AG_OK;
}

static ag_status run(trainer *t, ag_comm *comm) {
  ag_safetensors *st = NULL;
  ag_status s = ag_params_set_compute_dtype(t->p, t->o->dtype);
  if (s == AG_OK) s = ag_gpt_init(t->p, t->c);
  if (s == AG_OK && t->o->resume) s = resume_weights(t, &st);
  if (s == AG_OK) s = build_graph(t);
  if (s == AG_OK) s = open_dp(t, comm);
  if (s == AG_OK && st) s = resume_optimizer(t, st);
  ag_st_close(st);
  if (s == AG_OK) s = train_loop(t);
  if (s == AG_OK) s = save(t);
  return s;
}

ag_status ag_gpt_train(ag_comm *comm, const ag_gpt_config *c, const ag_gpt_train_opts *o,
                       const char *text, size_t n, ag_params **out) {
  if (out) *out = NULL;
  AG_TRY(check_request(comm, c, o, n));
  const int64_t local = o->batch / ag_comm_world(comm);
  trainer t = {.c = c,
               .o = o,
               .text = text,
               .n = n,
               .local = local,
               .first = local * ag_comm_rank(comm),
               .p = ag_params_new(ag_comm_backend(comm), o->seed)};
  if (!t.p) return AG_ERR_OOM;
  const ag_status st = run(&t, comm);
  trainer_close(&t);
  if (st != AG_OK || !out)
    ag_params_free(t.p);
  else
    *out = t.p;
  return st;
}
