/* Normalisation ops: arguments, shape inference and graph builders. */
#include <math.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

/* Slots: f[0] eps for every op of the family; i[0] groups (groupnorm) or
 * training (batchnorm); f[1] momentum (batchnorm). */
void ag_norm_args_encode(ag_op_call *c, const ag_norm_args *a) { c->f[0] = a->eps; }

ag_norm_args ag_norm_args_decode(const ag_op_call *c) { return (ag_norm_args){c->f[0]}; }

void ag_groupnorm_args_encode(ag_op_call *c, const ag_groupnorm_args *a) {
  c->i[0] = a->groups;
  c->f[0] = a->eps;
}

ag_groupnorm_args ag_groupnorm_args_decode(const ag_op_call *c) {
  return (ag_groupnorm_args){c->i[0], c->f[0]};
}

void ag_batchnorm_args_encode(ag_op_call *c, const ag_batchnorm_args *a) {
  c->i[0] = a->training;
  c->f[0] = a->eps;
  c->f[1] = a->momentum;
}

ag_batchnorm_args ag_batchnorm_args_decode(const ag_op_call *c) {
  return (ag_batchnorm_args){c->i[0] != 0, c->f[0], c->f[1]};
}

static ag_shape f32_shape(int ndim, const int64_t *dims) {
  ag_shape s = {AG_F32, ndim, {0}};
  for (int i = 0; i < ndim; i++) s.dims[i] = dims[i];
  return s;
}

static ag_status require_eps(const char *op, float eps) {
  if (eps >= 0.0f && isfinite(eps)) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "%s: eps %g must be finite and >= 0", op, (double)eps);
}

/* A per-feature parameter (weight, bias) of x's dtype and shape [n]. */
static ag_status require_param(const char *op, const char *role, const ag_tensor *p,
                               const ag_tensor *x, int64_t n, ag_dtype dt) {
  if (p->dtype == dt && p->ndim == 1 && p->shape[0] == n) return AG_OK;
  char dp[64], dx[64];
  return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be %s[%lld] for x %s", op, role,
                      ag_tensor_describe(p, dp, sizeof dp), ag_dtype_name(dt), (long long)n,
                      ag_tensor_describe(x, dx, sizeof dx));
}

/* y like x, then one f32 [rows] statistic per remaining output. */
static ag_status infer_last_dim(const char *op, const ag_op_call *c, int n_params, int n_stats,
                                ag_shape *out) {
  const ag_tensor *x = c->in[0];
  AG_TRY(ag_op_require_float(op, "x", x));
  AG_TRY(require_eps(op, ag_norm_args_decode(c).eps));
  if (x->ndim == 0) return ag_set_error(AG_ERR_INVALID, "%s: x has no dims", op);
  int64_t d = x->shape[x->ndim - 1];
  if (d == 0) return ag_set_error(AG_ERR_INVALID, "%s: the normalised dim of x is empty", op);
  int64_t rows = ag_tensor_numel(x) / d;
  static const char *const roles[2] = {"weight", "bias"};
  for (int k = 0; k < n_params; k++)
    AG_TRY(require_param(op, roles[k], c->in[1 + k], x, d, x->dtype));
  out[0] = ag_shape_of(x);
  for (int k = 1; k <= n_stats; k++) out[k] = f32_shape(1, &rows);
  return AG_OK;
}

ag_status ag_infer_layernorm(const ag_op_call *c, ag_shape *out) {
  return infer_last_dim("layernorm", c, 2, 2, out);
}

ag_status ag_infer_layernorm_noaffine(const ag_op_call *c, ag_shape *out) {
  return infer_last_dim("layernorm_noaffine", c, 0, 2, out);
}

ag_status ag_infer_rmsnorm(const ag_op_call *c, ag_shape *out) {
  return infer_last_dim("rmsnorm", c, 1, 1, out);
}

/* A non-empty x [N, C, ...] with 2 to 4 dims, and its weight and bias [C]. */
static ag_status require_channels(const char *op, const ag_op_call *c, float eps) {
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(ag_op_require_float(op, "x", x));
  AG_TRY(require_eps(op, eps));
  if (x->ndim < 2 || x->ndim > 4 || ag_tensor_numel(x) == 0)
    return ag_set_error(AG_ERR_INVALID,
                        "%s: x %s must be a non-empty [N, C], [N, C, L] or [N, C, H, W]", op,
                        ag_tensor_describe(x, d, sizeof d));
  AG_TRY(require_param(op, "weight", c->in[1], x, x->shape[1], x->dtype));
  return require_param(op, "bias", c->in[2], x, x->shape[1], x->dtype);
}

ag_status ag_infer_groupnorm(const ag_op_call *c, ag_shape *out) {
  const ag_groupnorm_args a = ag_groupnorm_args_decode(c);
  AG_TRY(require_channels("groupnorm", c, a.eps));
  const ag_tensor *x = c->in[0];
  const int64_t groups = a.groups;
  if (groups < 1 || x->shape[1] % groups != 0) {
    char d[64];
    return ag_set_error(AG_ERR_INVALID, "groupnorm: %lld groups do not divide the channels of x %s",
                        (long long)groups, ag_tensor_describe(x, d, sizeof d));
  }
  int64_t dims[2] = {x->shape[0], groups};
  out[0] = ag_shape_of(x);
  out[1] = out[2] = f32_shape(2, dims);
  return AG_OK;
}

ag_status ag_infer_batchnorm(const ag_op_call *c, ag_shape *out) {
  const ag_batchnorm_args a = ag_batchnorm_args_decode(c);
  AG_TRY(require_channels("batchnorm", c, a.eps));
  const ag_tensor *x = c->in[0];
  int64_t ch = x->shape[1];
  AG_TRY(require_param("batchnorm", "running_mean", c->in[3], x, ch, AG_F32));
  AG_TRY(require_param("batchnorm", "running_var", c->in[4], x, ch, AG_F32));
  if (a.training && ag_tensor_numel(x) / ch <= 1) {
    char d[64];
    return ag_set_error(AG_ERR_INVALID,
                        "batchnorm: training needs more than one value per channel, x is %s",
                        ag_tensor_describe(x, d, sizeof d));
  }
  int64_t dims[2] = {2, ch};
  out[0] = ag_shape_of(x);
  out[1] = out[2] = f32_shape(2, dims);
  return AG_OK;
}

ag_tensor *ag_layernorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, float eps) {
  ag_op_call c = {.in = {x, w, b}};
  ag_norm_args_encode(&c, &(ag_norm_args){eps});
  return ag_graph_op(g, AG_OP_LAYERNORM, &c, NULL);
}

ag_tensor *ag_rmsnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, float eps) {
  ag_op_call c = {.in = {x, w}};
  ag_norm_args_encode(&c, &(ag_norm_args){eps});
  return ag_graph_op(g, AG_OP_RMSNORM, &c, NULL);
}

ag_tensor *ag_groupnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                        ag_groupnorm_args args) {
  ag_op_call c = {.in = {x, w, b}};
  ag_groupnorm_args_encode(&c, &args);
  return ag_graph_op(g, AG_OP_GROUPNORM, &c, NULL);
}

ag_tensor *ag_batchnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                        ag_tensor *running_mean, ag_tensor *running_var, ag_batchnorm_args args,
                        ag_tensor **running) {
  ag_op_call c = {.in = {x, w, b, running_mean, running_var}};
  ag_batchnorm_args_encode(&c, &args);
  ag_tensor *outs[3] = {0};
  ag_tensor *y = ag_graph_op(g, AG_OP_BATCHNORM, &c, outs);
  if (running) *running = outs[2];
  return y;
}
