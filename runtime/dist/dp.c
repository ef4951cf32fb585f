/* Data-parallel training (see ag_dp.h): gradient buckets reduced from
 * scheduler hooks, the optimizer over whole parameters or (ZeRO-1) over this
 * rank's shares, and checkpoints of the whole optimizer state. */
#include "ag_dp.h"

#include "runtime/ops/elementwise.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUCKET_BYTES ((size_t)4 << 20)

typedef struct ag_dp ag_dp;

/* One parameter: where its gradient sits in its bucket. */
typedef struct dp_param {
  ag_dp *dp;
  const char *name;
  ag_tensor *param, *grad;
  int bucket;
  int64_t offset, numel; /* elements, in the bucket */
  void *written;         /* event on the stream that wrote the gradient (NCCL) */
} dp_param;

/* A contiguous run of parameters whose gradients are reduced together. With
 * ZeRO-1 its length is a multiple of the world size, rank r owning elements
 * [r * share, (r + 1) * share). */
typedef struct dp_bucket {
  int first, count; /* its parameters, dp->params[first .. first + count) */
  int64_t numel, share;
  int pending;      /* gradients not yet written in this run */
  int reduced;      /* its reduction was launched in this run */
  ag_tensor *grads; /* [numel] packed gradients, reduced in place */
  /* ZeRO-1 only: */
  ag_tensor *grad_share;  /* [share] reduce-scatter output */
  ag_tensor *param_share; /* [share] this rank's master copy of its share */
  ag_tensor *params;      /* [numel] all-gathered parameters */
} dp_bucket;

/* ZeRO-1: a piece of one parameter inside this rank's share of a bucket. */
typedef struct dp_segment {
  int param;
  int64_t begin, numel; /* elements of the parameter (flattened) */
  ag_tensor *param_view, *grad_view;
} dp_segment;

struct ag_dp {
  ag_comm *comm;
  ag_backend *be;
  ag_dp_opts opts;
  int rank, world;
  int n;
  dp_param *params;
  int n_buckets;
  dp_bucket *buckets;
  int n_segments;
  dp_segment *segments;
  ag_tensor **grad_views; /* plain DP: the optimizer's gradients, views of the buckets */
  ag_optimizer *opt;      /* NULL for a ZeRO rank whose shares hold no parameter */
  ag_tensor *sq;          /* f32 [1], the norm of a rank without an optimizer */
  int adamw;              /* else SGD */
  int64_t steps;
  void *stream; /* the communicator's stream under NCCL, else NULL */
  void *done;   /* event: the stream's reductions of this run are done */
};

static int is_float(ag_dtype dt) { return dt == AG_F32 || dt == AG_F16 || dt == AG_BF16; }

static void *data_at(const ag_tensor *t, int64_t elems) {
  return (char *)ag_tensor_data(t) + (size_t)elems * ag_dtype_size(t->dtype);
}

/* Copies `numel` elements on the communicator's stream (host memory and
 * MPI: synchronously). */
static ag_status copy_elems(ag_dp *dp, void *dst, const void *src, int64_t numel, ag_dtype dt) {
  return dp->be->copy(dp->be, dst, src, (size_t)numel * ag_dtype_size(dt), AG_COPY_D2D, dp->stream);
}

static ag_tensor *flat_view(const ag_tensor *flat, int64_t begin, int64_t numel) {
  return ag_tensor_slice(flat, 0, begin, begin + numel);
}

/* ---------------------------------------------------------------- layout */

static ag_status collect_params(ag_dp *dp, ag_params *p, const ag_graph *g) {
  dp->n = ag_params_count(p);
  if (dp->n == 0) return ag_set_error(AG_ERR_INVALID, "dp: the model has no parameters");
  dp->params = calloc((size_t)dp->n, sizeof *dp->params);
  if (!dp->params) return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  const ag_dtype dt = ag_params_tensor(p, 0)->dtype;
  for (int i = 0; i < dp->n; i++) {
    dp_param *q = &dp->params[i];
    q->dp = dp;
    q->name = ag_params_name(p, i);
    q->param = ag_params_tensor(p, i);
    q->grad = ag_graph_grad(g, q->param);
    q->numel = ag_tensor_numel(q->param);
    if (!q->grad)
      return ag_set_error(AG_ERR_INVALID, "dp: parameter '%s' has no gradient in this graph",
                          q->name);
    if (q->param->dtype != dt || !is_float(dt))
      return ag_set_error(AG_ERR_INVALID,
                          "dp: parameter '%s' is %s; every parameter must have one float dtype "
                          "(the first is %s)",
                          q->name, ag_dtype_name(q->param->dtype), ag_dtype_name(dt));
  }
  return AG_OK;
}

/* Buckets over the parameters in reverse creation order, the order in which
 * backward produces their gradients, each closed once it holds
 * bucket_bytes. */
static ag_status plan_buckets(ag_dp *dp) {
  const size_t esize = ag_dtype_size(dp->params[0].param->dtype);
  const int64_t cap = (int64_t)(dp->opts.bucket_bytes / esize) + 1;
  dp->buckets = calloc((size_t)dp->n, sizeof *dp->buckets);
  if (!dp->buckets) return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  /* Parameters are renumbered in reverse so each bucket is a contiguous
   * range of dp->params. */
  for (int i = 0, j = dp->n - 1; i < j; i++, j--) {
    dp_param t = dp->params[i];
    dp->params[i] = dp->params[j];
    dp->params[j] = t;
  }
  dp_bucket *b = NULL;
  for (int i = 0; i < dp->n; i++) {
    if (!b || b->numel >= cap) {
      b = &dp->buckets[dp->n_buckets++];
      b->first = i;
    }
    dp->params[i].bucket = (int)(b - dp->buckets);
    dp->params[i].offset = b->numel;
    b->numel += dp->params[i].numel;
    b->count++;
  }
  for (int k = 0; k < dp->n_buckets; k++) {
    b = &dp->buckets[k];
    if (dp->opts.zero) b->numel = (b->numel + dp->world - 1) / dp->world * dp->world;
    b->share = b->numel / dp->world;
  }
  return AG_OK;
}

static ag_tensor *new_zeroed(ag_backend *be, ag_dtype dt, int64_t numel) {
  ag_tensor *t = ag_tensor_new(be, dt, 1, &numel);
  if (t && be->memset(be, ag_tensor_data(t), 0, ag_tensor_nbytes(t), NULL) != AG_OK) {
    ag_tensor_free(t);
    return NULL;
  }
  return t;
}

static ag_status alloc_buckets(ag_dp *dp) {
  const ag_dtype dt = dp->params[0].param->dtype;
  for (int k = 0; k < dp->n_buckets; k++) {
    dp_bucket *b = &dp->buckets[k];
    if (!(b->grads = new_zeroed(dp->be, dt, b->numel))) return AG_ERR_OOM;
    if (!dp->opts.zero) continue;
    if (!(b->grad_share = new_zeroed(dp->be, dt, b->share))) return AG_ERR_OOM;
    if (!(b->param_share = new_zeroed(dp->be, dt, b->share))) return AG_ERR_OOM;
    if (!(b->params = new_zeroed(dp->be, dt, b->numel))) return AG_ERR_OOM;
  }
  return AG_OK;
}

/* -------------------------------------------------------- the optimizer */

/* Plain DP: every parameter, its gradient a view of its bucket (reduced in
 * place), so nothing is copied back after the reduction. */
static ag_status plain_optimizer(ag_dp *dp, const ag_optim_opts *o) {
  ag_tensor **params = calloc((size_t)dp->n, sizeof *params);
  dp->grad_views = calloc((size_t)dp->n, sizeof *dp->grad_views);
  if (!params || !dp->grad_views) {
    free(params);
    return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  }
  ag_status st = AG_OK;
  for (int i = 0; i < dp->n && st == AG_OK; i++) {
    const dp_param *q = &dp->params[i];
    ag_tensor *flat = flat_view(dp->buckets[q->bucket].grads, q->offset, q->numel);
    dp->grad_views[i] = flat ? ag_tensor_reshape(flat, q->param->ndim, q->param->shape) : NULL;
    ag_tensor_free(flat);
    params[i] = q->param;
    if (!dp->grad_views[i]) st = AG_ERR_OOM;
  }
  if (st == AG_OK) st = ag_optimizer_new(o, dp->n, params, dp->grad_views, &dp->opt);
  for (int i = 0; i < dp->n && st == AG_OK; i++)
    if (dp->params[i].param->ndim == 1) st = ag_optimizer_set_decay(dp->opt, i, 0);
  free(params);
  return st;
}

/* ZeRO-1: the pieces of parameters inside this rank's share of each bucket. */
static ag_status plan_segments(ag_dp *dp) {
  dp->segments = calloc((size_t)dp->n, sizeof *dp->segments);
  if (!dp->segments) return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  for (int i = 0; i < dp->n; i++) {
    const dp_param *q = &dp->params[i];
    const dp_bucket *b = &dp->buckets[q->bucket];
    const int64_t lo = b->share * dp->rank, hi = lo + b->share;
    const int64_t begin = q->offset > lo ? q->offset : lo;
    const int64_t end = q->offset + q->numel < hi ? q->offset + q->numel : hi;
    if (begin >= end) continue;
    dp_segment *s = &dp->segments[dp->n_segments++];
    s->param = i;
    s->begin = begin - q->offset;
    s->numel = end - begin;
    s->param_view = flat_view(b->param_share, begin - lo, s->numel);
    s->grad_view = flat_view(b->grad_share, begin - lo, s->numel);
    if (!s->param_view || !s->grad_view) return AG_ERR_OOM;
  }
  return AG_OK;
}

/* The sum of squares of every rank's share: the global norm. */
static ag_status sum_norm_over_ranks(void *user, ag_tensor *sq) {
  ag_dp *dp = user;
  return ag_comm_all_reduce(dp->comm, sq, sq, AG_COMM_SUM, NULL);
}

static ag_status zero_optimizer(ag_dp *dp, const ag_optim_opts *o) {
  AG_TRY(plan_segments(dp));
  if (dp->n_segments == 0) {
    const int64_t one = 1;
    dp->sq = ag_tensor_new(dp->be, AG_F32, 1, &one);
    return dp->sq ? AG_OK : AG_ERR_OOM;
  }
  ag_tensor **params = calloc((size_t)dp->n_segments, sizeof *params);
  ag_tensor **grads = calloc((size_t)dp->n_segments, sizeof *grads);
  ag_status st = params && grads ? AG_OK : ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  for (int i = 0; i < dp->n_segments && st == AG_OK; i++) {
    params[i] = dp->segments[i].param_view;
    grads[i] = dp->segments[i].grad_view;
  }
  if (st == AG_OK) st = ag_optimizer_new(o, dp->n_segments, params, grads, &dp->opt);
  for (int i = 0; i < dp->n_segments && st == AG_OK; i++)
    if (dp->params[dp->segments[i].param].param->ndim == 1)
      st = ag_optimizer_set_decay(dp->opt, i, 0);
  if (st == AG_OK) ag_optimizer_set_norm_hook(dp->opt, sum_norm_over_ranks, dp);
  free(params);
  free(grads);
  return st;
}

/* ------------------------------------------------------ the reductions */

static ag_status pack_params(ag_dp *dp, const dp_bucket *b) {
  for (int i = b->first; i < b->first + b->count; i++) {
    const dp_param *q = &dp->params[i];
    AG_TRY(copy_elems(dp, data_at(b->params, q->offset), ag_tensor_data(q->param), q->numel,
                      q->param->dtype));
  }
  return AG_OK;
}

static ag_status unpack_params(ag_dp *dp, const dp_bucket *b) {
  for (int i = b->first; i < b->first + b->count; i++) {
    const dp_param *q = &dp->params[i];
    AG_TRY(copy_elems(dp, ag_tensor_data(q->param), data_at(b->params, q->offset), q->numel,
                      q->param->dtype));
  }
  return AG_OK;
}

/* Packs the bucket's gradients and starts their reduction: averaged in
 * place, or (ZeRO-1) reduce-scattered into this rank's share. */
static ag_status reduce_bucket(ag_dp *dp, dp_bucket *b) {
  for (int i = b->first; i < b->first + b->count; i++) {
    const dp_param *q = &dp->params[i];
    if (q->written) AG_TRY(dp->be->stream_wait_event(dp->be, dp->stream, q->written));
    AG_TRY(copy_elems(dp, data_at(b->grads, q->offset), ag_tensor_data(q->grad), q->numel,
                      q->grad->dtype));
  }
  b->reduced = 1;
  if (dp->opts.zero)
    return ag_comm_reduce_scatter(dp->comm, b->grad_share, b->grads, AG_COMM_AVG, dp->stream);
  return ag_comm_all_reduce(dp->comm, b->grads, b->grads, AG_COMM_AVG, dp->stream);
}

/* The scheduler hook of one gradient: the bucket goes once its last
 * gradient has been written. */
static ag_status gradient_written(void *user, void *stream) {
  dp_param *q = user;
  ag_dp *dp = q->dp;
  dp_bucket *b = &dp->buckets[q->bucket];
  if (q->written) AG_TRY(dp->be->event_record(dp->be, q->written, stream));
  return --b->pending == 0 ? reduce_bucket(dp, b) : AG_OK;
}

static ag_status hook_gradients(ag_dp *dp, ag_sched *s) {
  for (int i = 0; i < dp->n; i++) {
    dp_param *q = &dp->params[i];
    if (dp->stream) AG_TRY(dp->be->event_create(dp->be, &q->written, 0));
    AG_TRY(ag_sched_on_written(s, q->grad, gradient_written, q));
    dp->buckets[q->bucket].pending++;
  }
  return AG_OK;
}

/* Makes later work on the default stream wait for the reductions, after a
 * bounded wait for them (NCCL): a dead peer is an error here, not a hang. */
static ag_status join_stream(ag_dp *dp) {
  if (!dp->stream) return AG_OK;
  AG_TRY(ag_comm_synchronize(dp->comm, dp->stream));
  AG_TRY(dp->be->event_record(dp->be, dp->done, dp->stream));
  return dp->be->stream_wait_event(dp->be, NULL, dp->done);
}

/* Every bucket was reduced in this run; the counts are reset for the next. */
static ag_status finish_reductions(ag_dp *dp) {
  for (int k = 0; k < dp->n_buckets; k++) {
    dp_bucket *b = &dp->buckets[k];
    if (!b->reduced)
      return ag_set_error(AG_ERR_INVALID,
                          "dp: gradient bucket %d was not reduced: ag_dp_step without a run of "
                          "the training graph",
                          k);
    b->reduced = 0;
    b->pending = b->count;
  }
  return join_stream(dp);
}

/* ZeRO-1 after the update: every rank's shares back into the parameters. */
static ag_status gather_params(ag_dp *dp) {
  for (int k = 0; k < dp->n_buckets; k++) {
    dp_bucket *b = &dp->buckets[k];
    AG_TRY(ag_comm_all_gather(dp->comm, b->params, b->param_share, dp->stream));
    AG_TRY(unpack_params(dp, b));
  }
  return join_stream(dp);
}

static ag_status zero_update(ag_dp *dp, float lr) {
  if (dp->opt) {
    AG_TRY(ag_optimizer_step(dp->opt, lr, NULL));
  } else {
    /* No parameter here, but the norm's all-reduce needs every rank. */
    AG_TRY(ag_eager_fill(dp->sq, 0.0f));
    AG_TRY(sum_norm_over_ranks(dp, dp->sq));
  }
  return gather_params(dp);
}

ag_status ag_dp_step(ag_dp *dp, float lr) {
  AG_TRY(finish_reductions(dp));
  if (dp->opts.zero)
    AG_TRY(zero_update(dp, lr));
  else
    AG_TRY(ag_optimizer_step(dp->opt, lr, NULL));
  dp->steps++;
  return AG_OK;
}

/* ------------------------------------------------------------ lifetime */

/* ZeRO-1: this rank's master shares from the parameters (after they were
 * broadcast or loaded). */
static ag_status refresh_shares(ag_dp *dp) {
  for (int k = 0; k < dp->n_buckets; k++) {
    const dp_bucket *b = &dp->buckets[k];
    AG_TRY(pack_params(dp, b));
    AG_TRY(copy_elems(dp, ag_tensor_data(b->param_share), data_at(b->params, b->share * dp->rank),
                      b->share, b->params->dtype));
  }
  return join_stream(dp);
}

/* Rank 0's weights everywhere; under ZeRO-1 also the master shares. */
static ag_status broadcast_params(ag_dp *dp) {
  for (int i = 0; i < dp->n; i++) AG_TRY(ag_comm_broadcast(dp->comm, dp->params[i].param, 0, NULL));
  return dp->opts.zero ? refresh_shares(dp) : AG_OK;
}

static ag_status dp_open(ag_dp *dp, const ag_optim_opts *o, ag_params *p, const ag_graph *g,
                         ag_sched *s) {
  AG_TRY(collect_params(dp, p, g));
  AG_TRY(plan_buckets(dp));
  AG_TRY(alloc_buckets(dp));
  if (ag_comm_kind_of(dp->comm) == AG_COMM_NCCL) {
    AG_TRY(dp->be->stream_create(dp->be, &dp->stream));
    AG_TRY(dp->be->event_create(dp->be, &dp->done, 0));
  }
  AG_TRY(dp->opts.zero ? zero_optimizer(dp, o) : plain_optimizer(dp, o));
  AG_TRY(hook_gradients(dp, s));
  return broadcast_params(dp);
}

ag_status ag_dp_new(ag_comm *c, const ag_optim_opts *o, const ag_dp_opts *d, ag_params *p,
                    const ag_graph *g, ag_sched *s, ag_dp **out) {
  *out = NULL;
  const ag_dp_opts opts = d ? *d : (ag_dp_opts){0};
  if (opts.zero != 0 && opts.zero != 1)
    return ag_set_error(AG_ERR_INVALID, "dp: --zero %d; 0 or 1 are supported", opts.zero);
  if (ag_comm_backend(c) != ag_params_backend(p))
    return ag_set_error(AG_ERR_INVALID, "dp: the communicator is on %s, the model on %s",
                        ag_comm_backend(c)->name, ag_params_backend(p)->name);
  ag_dp *dp = calloc(1, sizeof *dp);
  if (!dp) return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  dp->comm = c;
  dp->be = ag_comm_backend(c);
  dp->opts = opts;
  if (!dp->opts.bucket_bytes) dp->opts.bucket_bytes = DEFAULT_BUCKET_BYTES;
  dp->rank = ag_comm_rank(c);
  dp->world = ag_comm_world(c);
  dp->adamw = o->kind == AG_OPTIM_ADAMW;
  ag_status st = dp_open(dp, o, p, g, s);
  if (st != AG_OK) {
    ag_dp_free(dp);
    return st;
  }
  *out = dp;
  return AG_OK;
}

void ag_dp_free(ag_dp *dp) {
  if (!dp) return;
  ag_optimizer_free(dp->opt);
  for (int i = 0; dp->grad_views && i < dp->n; i++) ag_tensor_free(dp->grad_views[i]);
  for (int i = 0; i < dp->n_segments; i++) {
    ag_tensor_free(dp->segments[i].param_view);
    ag_tensor_free(dp->segments[i].grad_view);
  }
  for (int k = 0; k < dp->n_buckets; k++) {
    ag_tensor_free(dp->buckets[k].grads);
    ag_tensor_free(dp->buckets[k].grad_share);
    ag_tensor_free(dp->buckets[k].param_share);
    ag_tensor_free(dp->buckets[k].params);
  }
  for (int i = 0; dp->params && i < dp->n; i++)
    if (dp->params[i].written) dp->be->event_destroy(dp->be, dp->params[i].written);
  if (dp->done) dp->be->event_destroy(dp->be, dp->done);
  if (dp->stream) dp->be->stream_destroy(dp->be, dp->stream);
  ag_tensor_free(dp->sq);
  free(dp->grad_views);
  free(dp->segments);
  free(dp->buckets);
  free(dp->params);
  free(dp);
}

float ag_dp_last_grad_norm(const ag_dp *dp) {
  if (dp->opt) return ag_optimizer_last_grad_norm(dp->opt);
  float sq = 0.0f;
  if (dp->steps == 0) return 0.0f;
  return ag_tensor_read(dp->sq, &sq, sizeof sq) == AG_OK ? sqrtf(sq) : NAN;
}

int64_t ag_dp_steps(const ag_dp *dp) { return dp->steps; }
int ag_dp_rank(const ag_dp *dp) { return dp->rank; }
int ag_dp_world(const ag_dp *dp) { return dp->world; }

ag_status ag_dp_mean_host(ag_dp *dp, double *value) {
  AG_TRY(ag_comm_sum_host(dp->comm, value));
  *value /= dp->world;
  return AG_OK;
}

/* ---------------------------------------------------------- checkpoints */

/* The optimizer state every parameter has (all share one dtype): the first
 * moment, AdamW's second, and AdamW's f32 master of 16-bit parameters. */
static int state_count(const ag_dp *dp) {
  if (!dp->adamw) return 1;
  return dp->params[0].param->dtype == AG_F32 ? 2 : 3;
}

static ag_dtype state_dtype(const ag_dp *dp) {
  return dp->adamw ? AG_F32 : dp->params[0].param->dtype;
}

static const char *state_name(char *buf, size_t len, int which, const char *param) {
  static const char *const kinds[AG_OPTIM_STATE_COUNT] = {"m", "v", "master"};
  snprintf(buf, len, AG_ST_STATE_PREFIX "%s/%s", kinds[which], param);
  return buf;
}

/* The whole optimizer state, one tensor per parameter and kind, ready to
 * save. Collective under ZeRO-1. */
typedef struct dp_state {
  int n;
  char (*names)[160];
  ag_tensor **tensors;
} dp_state;

static void state_free(dp_state *s) {
  for (int i = 0; s->tensors && i < s->n; i++) ag_tensor_free(s->tensors[i]);
  free(s->tensors);
  free(s->names);
}

/* ZeRO-1: this rank's segments of state `which`, packed into its share of
 * bucket b (zeros elsewhere) and all-gathered into `all`. */
static ag_status gather_bucket_state(ag_dp *dp, int k, ag_optim_state which, ag_tensor *share,
                                     ag_tensor *all) {
  const dp_bucket *b = &dp->buckets[k];
  AG_TRY(dp->be->memset(dp->be, ag_tensor_data(share), 0, ag_tensor_nbytes(share), dp->stream));
  for (int i = 0; i < dp->n_segments; i++) {
    const dp_segment *s = &dp->segments[i];
    const dp_param *q = &dp->params[s->param];
    if (q->bucket != k) continue;
    AG_TRY(copy_elems(dp, data_at(share, q->offset + s->begin - b->share * dp->rank),
                      ag_tensor_data(ag_optimizer_state(dp->opt, i, which)), s->numel,
                      share->dtype));
  }
  return ag_comm_all_gather(dp->comm, all, share, dp->stream);
}

static ag_status gather_state(ag_dp *dp, ag_optim_state which, ag_tensor **full) {
  ag_status st = AG_OK;
  for (int k = 0; k < dp->n_buckets && st == AG_OK; k++) {
    const dp_bucket *b = &dp->buckets[k];
    ag_tensor *share = ag_tensor_new(dp->be, state_dtype(dp), 1, &b->share);
    ag_tensor *all = ag_tensor_new(dp->be, state_dtype(dp), 1, &b->numel);
    st = share && all ? gather_bucket_state(dp, k, which, share, all) : AG_ERR_OOM;
    for (int i = b->first; i < b->first + b->count && st == AG_OK; i++)
      st = copy_elems(dp, ag_tensor_data(full[i]), data_at(all, dp->params[i].offset),
                      dp->params[i].numel, all->dtype);
    if (st == AG_OK) st = join_stream(dp);
    ag_tensor_free(share);
    ag_tensor_free(all);
  }
  return st;
}

static ag_status collect_state(ag_dp *dp, dp_state *s) {
  const int kinds = state_count(dp);
  s->n = dp->n * kinds;
  s->names = calloc((size_t)s->n, sizeof *s->names);
  s->tensors = calloc((size_t)s->n, sizeof *s->tensors);
  if (!s->names || !s->tensors) return ag_set_error(AG_ERR_OOM, "dp: out of host memory");
  for (int m = 0; m < kinds; m++) {
    ag_tensor **full = s->tensors + m * dp->n;
    for (int i = 0; i < dp->n; i++) {
      const ag_tensor *p = dp->params[i].param;
      state_name(s->names[m * dp->n + i], sizeof s->names[0], m, dp->params[i].name);
      if (!(full[i] = ag_tensor_new(dp->be, state_dtype(dp), p->ndim, p->shape))) return AG_ERR_OOM;
      if (!dp->opts.zero)
        AG_TRY(ag_tensor_copy(full[i], ag_optimizer_state(dp->opt, i, (ag_optim_state)m)));
    }
    if (dp->opts.zero) AG_TRY(gather_state(dp, (ag_optim_state)m, full));
  }
  return AG_OK;
}

/* Rank 0 writes; every rank learns whether it worked. */
static ag_status write_checkpoint(ag_dp *dp, const char *path, const dp_state *s,
                                  const char *const *keys, const char *const *values, int n_meta,
                                  const ag_dp_extra *extra) {
  ag_status st = AG_OK;
  char msg[1024] = "";
  if (dp->rank == 0) {
    const int n_extra = extra ? extra->n : 0, n = dp->n + s->n + n_extra;
    const char **names = calloc((size_t)n, sizeof *names);
    const ag_tensor **tensors = calloc((size_t)n, sizeof *tensors);
    const char **mk = calloc((size_t)n_meta + 2, sizeof *mk);
    const char **mv = calloc((size_t)n_meta + 2, sizeof *mv);
    char steps[32], world[16];
    snprintf(steps, sizeof steps, "%" PRId64, dp->steps);
    snprintf(world, sizeof world, "%d", dp->world);
    st = names && tensors && mk && mv ? AG_OK : ag_set_error(AG_ERR_OOM, "dp: out of host memory");
    /* Parameters in creation order (dp->params runs in reverse). */
    for (int i = 0; st == AG_OK && i < dp->n; i++) {
      names[i] = dp->params[dp->n - 1 - i].name;
      tensors[i] = dp->params[dp->n - 1 - i].param;
    }
    for (int i = 0; st == AG_OK && i < s->n; i++) {
      names[dp->n + i] = s->names[i];
      tensors[dp->n + i] = s->tensors[i];
    }
    for (int i = 0; st == AG_OK && i < n_extra; i++) {
      names[dp->n + s->n + i] = extra->names[i];
      tensors[dp->n + s->n + i] = extra->tensors[i];
    }
    for (int i = 0; st == AG_OK && i < n_meta; i++) mk[i] = keys[i], mv[i] = values[i];
    if (st == AG_OK) {
      mk[n_meta] = "optim.steps", mv[n_meta] = steps;
      mk[n_meta + 1] = "dist.world", mv[n_meta + 1] = world;
      st = ag_st_save(path, names, tensors, n, mk, mv, n_meta + 2);
    }
    if (st != AG_OK) snprintf(msg, sizeof msg, "%s", ag_last_error());
    free(names), free(tensors), free(mk), free(mv);
  }
  int code = (int)st;
  AG_TRY(ag_comm_broadcast_host(dp->comm, &code, sizeof code, 0));
  AG_TRY(ag_comm_broadcast_host(dp->comm, msg, sizeof msg, 0));
  return code == AG_OK ? AG_OK : ag_set_error((ag_status)code, "%s", msg);
}

ag_status ag_dp_save_with(ag_dp *dp, const char *path, const char *const *keys,
                          const char *const *values, int n_meta, const ag_dp_extra *extra) {
  dp_state s = {0};
  ag_status st = collect_state(dp, &s);
  if (st == AG_OK) st = write_checkpoint(dp, path, &s, keys, values, n_meta, extra);
  state_free(&s);
  return st;
}

ag_status ag_dp_save(ag_dp *dp, const char *path, const char *const *keys,
                     const char *const *values, int n_meta) {
  return ag_dp_save_with(dp, path, keys, values, n_meta, NULL);
}

/* Every state tensor is present, shaped like its parameter. */
static ag_status check_state(const ag_dp *dp, const ag_safetensors *st) {
  char name[160], a[64], b[64];
  for (int m = 0; m < state_count(dp); m++)
    for (int i = 0; i < dp->n; i++) {
      const ag_tensor *p = dp->params[i].param;
      const int k = ag_st_find(st, state_name(name, sizeof name, m, dp->params[i].name));
      ag_st_tensor_info info;
      if (k < 0 || ag_st_info(st, k, &info) != AG_OK)
        return ag_set_error(AG_ERR_INVALID, "checkpoint has no optimizer state '%s'", name);
      ag_shape want = {state_dtype(dp), p->ndim, {0}}, got = {info.dtype, info.ndim, {0}};
      memcpy(want.dims, p->shape, sizeof want.dims);
      memcpy(got.dims, info.shape, sizeof got.dims);
      if (!ag_shape_equal(&want, &got))
        return ag_set_error(AG_ERR_INVALID, "checkpoint optimizer state '%s' is %s, expected %s",
                            name, ag_shape_describe(&got, a, sizeof a),
                            ag_shape_describe(&want, b, sizeof b));
    }
  return AG_OK;
}

/* State `which` of every parameter (plain) or segment (ZeRO-1) from the
 * file's full tensors. */
static ag_status load_state(ag_dp *dp, const ag_safetensors *st, ag_optim_state which) {
  char name[160];
  if (!dp->opts.zero) {
    for (int i = 0; i < dp->n; i++)
      AG_TRY(ag_st_load_into(st, state_name(name, sizeof name, which, dp->params[i].name),
                             ag_optimizer_state(dp->opt, i, which)));
    return AG_OK;
  }
  for (int i = 0; i < dp->n_segments; i++) {
    const dp_segment *s = &dp->segments[i];
    const dp_param *q = &dp->params[s->param];
    const char *src = ag_st_data(st, ag_st_find(st, state_name(name, sizeof name, which, q->name)));
    ag_tensor *dst = ag_optimizer_state(dp->opt, i, which);
    const size_t esize = ag_dtype_size(dst->dtype);
    AG_TRY(dp->be->copy(dp->be, ag_tensor_data(dst), src + (size_t)s->begin * esize,
                        (size_t)s->numel * esize, AG_COPY_H2D, NULL));
  }
  return AG_OK;
}

ag_status ag_dp_load(ag_dp *dp, const ag_safetensors *st) {
  const char *steps = ag_st_metadata(st, "optim.steps");
  char *end = NULL;
  const long long n = steps ? strtoll(steps, &end, 10) : -1;
  if (!steps || *end || n < 0)
    return ag_set_error(AG_ERR_INVALID, "checkpoint has no valid \"optim.steps\" metadata (%s)",
                        steps ? steps : "missing");
  AG_TRY(check_state(dp, st));
  for (int m = 0; dp->opt && m < state_count(dp); m++) AG_TRY(load_state(dp, st, m));
  if (dp->opts.zero) AG_TRY(refresh_shares(dp));
  if (dp->opt) ag_optimizer_set_steps(dp->opt, n);
  dp->steps = n;
  return AG_OK;
}
