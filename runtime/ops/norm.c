/* Normalisation ops: shape inference and eager API. */
#include <math.h>

#include "ops_internal.h"

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
  AG_TRY(require_eps(op, c->f[0]));
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
static ag_status require_channels(const char *op, const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(ag_op_require_float(op, "x", x));
  AG_TRY(require_eps(op, c->f[0]));
  if (x->ndim < 2 || x->ndim > 4 || ag_tensor_numel(x) == 0)
    return ag_set_error(AG_ERR_INVALID,
                        "%s: x %s must be a non-empty [N, C], [N, C, L] or [N, C, H, W]", op,
                        ag_tensor_describe(x, d, sizeof d));
  AG_TRY(require_param(op, "weight", c->in[1], x, x->shape[1], x->dtype));
  return require_param(op, "bias", c->in[2], x, x->shape[1], x->dtype);
}

ag_status ag_infer_groupnorm(const ag_op_call *c, ag_shape *out) {
  AG_TRY(require_channels("groupnorm", c));
  const ag_tensor *x = c->in[0];
  int64_t groups = c->i[0];
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
  AG_TRY(require_channels("batchnorm", c));
  const ag_tensor *x = c->in[0];
  int64_t ch = x->shape[1];
  AG_TRY(require_param("batchnorm", "running_mean", c->in[3], x, ch, AG_F32));
  AG_TRY(require_param("batchnorm", "running_var", c->in[4], x, ch, AG_F32));
  if (c->i[0] && ag_tensor_numel(x) / ch <= 1) {
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

ag_status ag_eager_layernorm(ag_tensor *y, ag_tensor *mean, ag_tensor *rstd, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, float eps) {
  if (!w != !b)
    return ag_set_error(AG_ERR_INVALID, "layernorm: give both weight and bias, or neither");
  if (!w)
    return ag_op_eager(AG_OP_LAYERNORM_NOAFFINE,
                       &(ag_op_call){.in = {x}, .out = {y, mean, rstd}, .f = {eps}});
  return ag_op_eager(AG_OP_LAYERNORM,
                     &(ag_op_call){.in = {x, w, b}, .out = {y, mean, rstd}, .f = {eps}});
}

ag_status ag_eager_rmsnorm(ag_tensor *y, ag_tensor *rstd, const ag_tensor *x, const ag_tensor *w,
                           float eps) {
  return ag_op_eager(AG_OP_RMSNORM, &(ag_op_call){.in = {x, w}, .out = {y, rstd}, .f = {eps}});
}

ag_status ag_eager_groupnorm(ag_tensor *y, ag_tensor *mean, ag_tensor *rstd, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, int64_t groups, float eps) {
  return ag_op_eager(AG_OP_GROUPNORM, &(ag_op_call){.in = {x, w, b},
                                                     .out = {y, mean, rstd},
                                                     .f = {eps},
                                                     .i = {groups}});
}

ag_status ag_eager_batchnorm(ag_tensor *y, ag_tensor *saved, ag_tensor *running, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, const ag_tensor *running_mean,
                             const ag_tensor *running_var, int training, float eps,
                             float momentum) {
  return ag_op_eager(AG_OP_BATCHNORM,
                     &(ag_op_call){.in = {x, w, b, running_mean, running_var},
                                   .out = {y, saved, running},
                                   .f = {eps, momentum},
                                   .i = {training}});
}
