/* Training-loop helpers: optimizer with accumulation and clipping, LR
 * schedule, EMA of weights. All tensor math goes through eager ops. */
#include "ag_train.h"

#include <math.h>
#include <stdlib.h>

#include "runtime/ops/elementwise.h"
#include "runtime/ops/optim.h"

struct ag_optimizer {
  ag_optim_opts opts;
  int n;
  ag_tensor **params, **grads;
  ag_tensor **m;     /* AdamW first moment / SGD momentum buffer */
  ag_tensor **v;     /* AdamW second moment; NULL for SGD */
  ag_tensor **master; /* AdamW: f32 copies of 16-bit params (NULL entries for f32 ones) */
  ag_tensor **accum; /* summed micro-batch gradients; NULL when accum_steps is 1 */
  int *decay;
  ag_tensor *sq; /* f32 [1]: sum of squares of the gradients of the last update */
  int micro;     /* micro-batches summed since the last update */
  int64_t steps;
  ag_optim_norm_hook norm_hook; /* completes o->sq over the ranks (ZeRO) */
  void *norm_user;
};

ag_optim_opts ag_optim_defaults(ag_optim_kind kind) {
  ag_optim_opts o = {.kind = kind, .accum_steps = 1};
  if (kind == AG_OPTIM_ADAMW) {
    o.lr = 1e-3f, o.beta1 = 0.9f, o.beta2 = 0.999f, o.eps = 1e-8f, o.weight_decay = 1e-2f;
  } else {
    o.lr = 1e-2f;
  }
  return o;
}

static ag_status check_opts(const ag_optim_opts *o) {
  if (o->kind != AG_OPTIM_ADAMW && o->kind != AG_OPTIM_SGD)
    return ag_set_error(AG_ERR_INVALID, "optimizer: unknown kind %d", (int)o->kind);
  if (o->accum_steps < 1)
    return ag_set_error(AG_ERR_INVALID, "optimizer: accum_steps %d, expected >= 1", o->accum_steps);
  if (!(o->lr >= 0.0f) || !(o->weight_decay >= 0.0f))
    return ag_set_error(AG_ERR_INVALID, "optimizer: lr %g and weight decay %g must be >= 0",
                        (double)o->lr, (double)o->weight_decay);
  if (o->kind == AG_OPTIM_ADAMW) {
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f) || !(o->beta2 >= 0.0f && o->beta2 < 1.0f))
      return ag_set_error(AG_ERR_INVALID, "optimizer: AdamW betas (%g, %g) must lie in [0, 1)",
                          (double)o->beta1, (double)o->beta2);
    if (!(o->eps >= 0.0f))
      return ag_set_error(AG_ERR_INVALID, "optimizer: AdamW eps %g must be >= 0", (double)o->eps);
    return AG_OK;
  }
  if (!(o->momentum >= 0.0f))
    return ag_set_error(AG_ERR_INVALID, "optimizer: SGD momentum %g must be >= 0",
                        (double)o->momentum);
  if (o->nesterov && (o->momentum <= 0.0f || o->dampening != 0.0f))
    return ag_set_error(AG_ERR_INVALID,
                        "optimizer: SGD nesterov needs momentum > 0 and dampening 0 (got %g, %g)",
                        (double)o->momentum, (double)o->dampening);
  return AG_OK;
}

static int is_float(ag_dtype dt) { return dt == AG_F32 || dt == AG_F16 || dt == AG_BF16; }

/* Parameter i and its gradient against each other and against param 0's
 * backend: the state lives on one backend. */
static ag_status check_pair(int i, const ag_tensor *p, const ag_tensor *g, ag_backend *be) {
  char dp[64], dg[64];
  if (!p || !g)
    return ag_set_error(AG_ERR_INVALID, "optimizer: param %d: %s is NULL", i,
                        p ? "gradient" : "parameter");
  ag_tensor_describe(p, dp, sizeof dp);
  ag_tensor_describe(g, dg, sizeof dg);
  if (!ag_tensor_same_shape(p, g) || p->dtype != g->dtype)
    return ag_set_error(AG_ERR_INVALID, "optimizer: param %d is %s but its gradient is %s", i, dp,
                        dg);
  if (!is_float(p->dtype))
    return ag_set_error(AG_ERR_INVALID, "optimizer: param %d is %s, expected a float dtype", i, dp);
  if (ag_tensor_backend(p) != be || ag_tensor_backend(g) != be)
    return ag_set_error(AG_ERR_INVALID,
                        "optimizer: param %d (%s) or its gradient is on backend %s/%s, param 0 "
                        "on %s",
                        i, dp, ag_tensor_backend(p)->name, ag_tensor_backend(g)->name, be->name);
  return AG_OK;
}

static ag_tensor *new_like(const ag_tensor *t) {
  return ag_tensor_new(ag_tensor_backend(t), t->dtype, t->ndim, t->shape);
}

/* A zeroed state tensor shaped like param i into slot[i]: f32 where the
 * update keeps an f32 master copy, else the param's dtype. */
static ag_status new_state(ag_tensor **slot, const ag_tensor *param, int f32) {
  *slot = f32 ? ag_tensor_new(ag_tensor_backend(param), AG_F32, param->ndim, param->shape)
              : new_like(param);
  if (!*slot) return AG_ERR_OOM;
  return ag_eager_fill(*slot, 0.0f);
}

/* AdamW on a 16-bit parameter updates an f32 master copy of it. */
static int wants_master(const ag_optimizer *o, const ag_tensor *param) {
  return o->opts.kind == AG_OPTIM_ADAMW && param->dtype != AG_F32;
}

static ag_status new_master(ag_tensor **slot, const ag_tensor *param) {
  AG_TRY(new_state(slot, param, 1));
  return ag_eager_cast(*slot, param);
}

static ag_status alloc_state(ag_optimizer *o) {
  int n = o->n;
  o->params = calloc((size_t)n, sizeof *o->params);
  o->grads = calloc((size_t)n, sizeof *o->grads);
  o->m = calloc((size_t)n, sizeof *o->m);
  o->decay = calloc((size_t)n, sizeof *o->decay);
  if (o->opts.kind == AG_OPTIM_ADAMW) o->v = calloc((size_t)n, sizeof *o->v);
  o->master = calloc((size_t)n, sizeof *o->master);
  if (o->opts.accum_steps > 1) o->accum = calloc((size_t)n, sizeof *o->accum);
  if (!o->params || !o->grads || !o->m || !o->decay || !o->master ||
      (o->opts.kind == AG_OPTIM_ADAMW && !o->v) ||
      (o->opts.accum_steps > 1 && !o->accum))
    return ag_set_error(AG_ERR_OOM, "optimizer: out of host memory for %d params", n);
  return AG_OK;
}

static ag_status init_state(ag_optimizer *o, ag_tensor *const *params, ag_tensor *const *grads) {
  for (int i = 0; i < o->n; i++) {
    o->params[i] = params[i];
    o->grads[i] = grads[i];
    o->decay[i] = 1;
    const int master = wants_master(o, params[i]);
    AG_TRY(new_state(&o->m[i], params[i], master));
    if (o->v) AG_TRY(new_state(&o->v[i], params[i], master));
    if (master) AG_TRY(new_master(&o->master[i], params[i]));
    if (o->accum) AG_TRY(new_state(&o->accum[i], params[i], 0));
  }
  int64_t one = 1;
  o->sq = ag_tensor_new(ag_tensor_backend(params[0]), AG_F32, 1, &one);
  if (!o->sq) return AG_ERR_OOM;
  return ag_eager_fill(o->sq, 0.0f);
}

ag_status ag_optimizer_new(const ag_optim_opts *opts, int n, ag_tensor *const *params,
                           ag_tensor *const *grads, ag_optimizer **out) {
  *out = NULL;
  if (n <= 0 || !params || !grads)
    return ag_set_error(AG_ERR_INVALID, "optimizer: %d params, expected at least one", n);
  AG_TRY(check_opts(opts));
  if (!params[0]) return ag_set_error(AG_ERR_INVALID, "optimizer: param 0 is NULL");
  ag_backend *be = ag_tensor_backend(params[0]);
  for (int i = 0; i < n; i++) AG_TRY(check_pair(i, params[i], grads[i], be));
  ag_optimizer *o = calloc(1, sizeof *o);
  if (!o) return ag_set_error(AG_ERR_OOM, "optimizer: out of host memory");
  o->opts = *opts;
  o->n = n;
  ag_status st = alloc_state(o);
  if (st == AG_OK) st = init_state(o, params, grads);
  if (st != AG_OK) {
    ag_optimizer_free(o);
    return st;
  }
  *out = o;
  return AG_OK;
}

static void free_tensors(ag_tensor **ts, int n) {
  if (!ts) return;
  for (int i = 0; i < n; i++) ag_tensor_free(ts[i]);
  free(ts);
}

void ag_optimizer_free(ag_optimizer *o) {
  if (!o) return;
  free_tensors(o->m, o->n);
  free_tensors(o->v, o->n);
  free_tensors(o->master, o->n);
  free_tensors(o->accum, o->n);
  ag_tensor_free(o->sq);
  free(o->params);
  free(o->grads);
  free(o->decay);
  free(o);
}

ag_status ag_optimizer_set_decay(ag_optimizer *o, int i, int decay) {
  if (i < 0 || i >= o->n)
    return ag_set_error(AG_ERR_INVALID, "optimizer: param index %d out of range [0, %d)", i, o->n);
  o->decay[i] = decay != 0;
  return AG_OK;
}

/* Adds this micro-batch's gradients to the running sums (the first one of a
 * round overwrites them, so the buffers need no clearing). */
static ag_status accumulate(ag_optimizer *o) {
  for (int i = 0; i < o->n; i++) {
    if (o->micro == 0)
      AG_TRY(ag_eager_scale(o->accum[i], o->grads[i], 1.0f));
    else
      AG_TRY(ag_eager_add(o->accum[i], o->accum[i], o->grads[i]));
  }
  o->micro++;
  return AG_OK;
}

/* The gradients this update uses: the mean of the accumulated ones, or the
 * caller's own. */
static ag_status update_grads(ag_optimizer *o, ag_tensor ***out) {
  if (!o->accum) {
    *out = o->grads;
    return AG_OK;
  }
  float inv = 1.0f / (float)o->opts.accum_steps;
  for (int i = 0; i < o->n; i++) AG_TRY(ag_eager_scale(o->accum[i], o->accum[i], inv));
  *out = o->accum;
  return AG_OK;
}

/* Sum of squares of all gradients into o->sq (always: it is the logged norm),
 * then clip_grad_norm_'s scaling if clipping is on. */
static ag_status measure_and_clip(ag_optimizer *o, ag_tensor **g) {
  AG_TRY(ag_eager_fill(o->sq, 0.0f));
  for (int i = 0; i < o->n; i++) AG_TRY(ag_eager_sq_norm_acc(o->sq, g[i]));
  if (o->norm_hook) AG_TRY(o->norm_hook(o->norm_user, o->sq));
  if (!(o->opts.clip_norm > 0.0f)) return AG_OK;
  for (int i = 0; i < o->n; i++) AG_TRY(ag_eager_clip_scale(g[i], g[i], o->sq, o->opts.clip_norm));
  return AG_OK;
}

static ag_status apply_update(ag_optimizer *o, ag_tensor **g, float lr) {
  const ag_optim_opts *op = &o->opts;
  for (int i = 0; i < o->n; i++) {
    float wd = o->decay[i] ? op->weight_decay : 0.0f;
    if (op->kind == AG_OPTIM_ADAMW) {
      ag_adamw_args hp = {lr, op->beta1, op->beta2, op->eps, wd, o->steps + 1};
      if (o->master[i])
        AG_TRY(ag_eager_adamw_master(o->params[i], o->master[i], o->m[i], o->v[i], g[i], &hp));
      else
        AG_TRY(ag_eager_adamw(o->params[i], o->m[i], o->v[i], g[i], &hp));
    } else {
      ag_sgd_args hp = {lr, op->momentum, wd, op->dampening, op->nesterov, o->steps == 0};
      AG_TRY(ag_eager_sgd(o->params[i], o->m[i], g[i], &hp));
    }
  }
  return AG_OK;
}

ag_status ag_optimizer_step(ag_optimizer *o, float lr, int *stepped) {
  if (stepped) *stepped = 0;
  if (!(lr >= 0.0f))
    return ag_set_error(AG_ERR_INVALID, "optimizer: step lr %g, expected >= 0", (double)lr);
  if (o->accum) {
    AG_TRY(accumulate(o));
    if (o->micro < o->opts.accum_steps) return AG_OK;
    o->micro = 0;
  }
  ag_tensor **g;
  AG_TRY(update_grads(o, &g));
  AG_TRY(measure_and_clip(o, g));
  AG_TRY(apply_update(o, g, lr));
  o->steps++;
  if (stepped) *stepped = 1;
  return AG_OK;
}

float ag_optimizer_last_grad_norm(const ag_optimizer *o) {
  float sq = 0.0f;
  if (o->steps == 0) return 0.0f;
  /* Read lazily: a device sync per step only when someone logs the norm. */
  if (ag_tensor_read(o->sq, &sq, sizeof sq) != AG_OK) return NAN;
  return sqrtf(sq);
}

int64_t ag_optimizer_steps(const ag_optimizer *o) { return o->steps; }

void ag_optimizer_set_steps(ag_optimizer *o, int64_t steps) { o->steps = steps; }

ag_tensor *ag_optimizer_state(const ag_optimizer *o, int i, ag_optim_state which) {
  if (i < 0 || i >= o->n) return NULL;
  switch (which) {
  case AG_OPTIM_STATE_M: return o->m[i];
  case AG_OPTIM_STATE_V: return o->v ? o->v[i] : NULL;
  case AG_OPTIM_STATE_MASTER: return o->master[i];
  default: return NULL;
  }
}

void ag_optimizer_set_norm_hook(ag_optimizer *o, ag_optim_norm_hook fn, void *user) {
  o->norm_hook = fn;
  o->norm_user = user;
}

ag_status ag_optimizer_for_params(const ag_optim_opts *o, ag_params *p, const ag_graph *g,
                                  ag_optimizer **out) {
  *out = NULL;
  const int n = ag_params_count(p);
  ag_tensor **params = malloc(sizeof *params * (size_t)(n + 1));
  ag_tensor **grads = malloc(sizeof *grads * (size_t)(n + 1));
  ag_status st = params && grads ? AG_OK : ag_set_error(AG_ERR_OOM, "optimizer: out of host memory");
  for (int i = 0; i < n && st == AG_OK; i++) {
    params[i] = ag_params_tensor(p, i);
    grads[i] = ag_graph_grad(g, params[i]);
    if (!grads[i])
      st = ag_set_error(AG_ERR_INVALID, "optimizer: parameter '%s' has no gradient in this graph",
                        ag_params_name(p, i));
  }
  if (st == AG_OK) st = ag_optimizer_new(o, n, params, grads, out);
  for (int i = 0; i < n && st == AG_OK; i++)
    if (params[i]->ndim == 1) st = ag_optimizer_set_decay(*out, i, 0);
  if (st != AG_OK) {
    ag_optimizer_free(*out);
    *out = NULL;
  }
  free(params);
  free(grads);
  return st;
}

float ag_lr_warmup_cosine(int64_t step, int64_t warmup, int64_t total, float peak, float floor) {
  if (step < warmup) return (float)((double)peak * (double)step / (double)warmup);
  if (step >= total) return floor;
  double progress = (double)(step - warmup) / (double)(total - warmup);
  double pi = 3.14159265358979323846;
  return (float)(floor + 0.5 * ((double)peak - floor) * (1.0 + cos(pi * progress)));
}

struct ag_ema {
  int n;
  float decay;
  ag_tensor **params;
  ag_tensor **avg;
  ag_tensor **tmp; /* (1 - decay) * param, per param: one op cannot scale and add */
};

void ag_ema_free(ag_ema *e) {
  if (!e) return;
  free_tensors(e->avg, e->n);
  free_tensors(e->tmp, e->n);
  free(e->params);
  free(e);
}

static ag_status ema_init(ag_ema *e, ag_tensor *const *params) {
  ag_backend *be = ag_tensor_backend(params[0]);
  for (int i = 0; i < e->n; i++) {
    char d[64];
    if (!params[i]) return ag_set_error(AG_ERR_INVALID, "ema: param %d is NULL", i);
    if (!is_float(params[i]->dtype) || ag_tensor_backend(params[i]) != be)
      return ag_set_error(
          AG_ERR_INVALID, "ema: param %d is %s on backend %s, expected a float dtype on %s", i,
          ag_tensor_describe(params[i], d, sizeof d), ag_tensor_backend(params[i])->name, be->name);
    e->params[i] = params[i];
    e->avg[i] = new_like(params[i]);
    e->tmp[i] = new_like(params[i]);
    if (!e->avg[i] || !e->tmp[i]) return AG_ERR_OOM;
    AG_TRY(ag_eager_scale(e->avg[i], params[i], 1.0f));
  }
  return AG_OK;
}

ag_status ag_ema_new(int n, ag_tensor *const *params, float decay, ag_ema **out) {
  *out = NULL;
  if (n <= 0 || !params)
    return ag_set_error(AG_ERR_INVALID, "ema: %d params, expected at least one", n);
  if (!(decay >= 0.0f && decay <= 1.0f))
    return ag_set_error(AG_ERR_INVALID, "ema: decay %g, expected in [0, 1]", (double)decay);
  if (!params[0]) return ag_set_error(AG_ERR_INVALID, "ema: param 0 is NULL");
  ag_ema *e = calloc(1, sizeof *e);
  if (!e) return ag_set_error(AG_ERR_OOM, "ema: out of host memory");
  e->n = n;
  e->decay = decay;
  e->params = calloc((size_t)n, sizeof *e->params);
  e->avg = calloc((size_t)n, sizeof *e->avg);
  e->tmp = calloc((size_t)n, sizeof *e->tmp);
  ag_status st = (e->params && e->avg && e->tmp)
                     ? ema_init(e, params)
                     : ag_set_error(AG_ERR_OOM, "ema: out of host memory for %d params", n);
  if (st != AG_OK) {
    ag_ema_free(e);
    return st;
  }
  *out = e;
  return AG_OK;
}

ag_status ag_ema_update(ag_ema *e) {
  for (int i = 0; i < e->n; i++) {
    AG_TRY(ag_eager_scale(e->tmp[i], e->params[i], 1.0f - e->decay));
    AG_TRY(ag_eager_scale(e->avg[i], e->avg[i], e->decay));
    AG_TRY(ag_eager_add(e->avg[i], e->avg[i], e->tmp[i]));
  }
  return AG_OK;
}

ag_tensor *ag_ema_tensor(const ag_ema *e, int i) { return i >= 0 && i < e->n ? e->avg[i] : NULL; }

ag_status ag_ema_copy_to_params(ag_ema *e) {
  for (int i = 0; i < e->n; i++) AG_TRY(ag_eager_scale(e->params[i], e->avg[i], 1.0f));
  return AG_OK;
}
