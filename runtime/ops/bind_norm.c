/* Normalisation ops bound to kernels (runtime/ops/bind.h).
 * Backward calls hold in[] = inputs, outputs, output gradients (ag_ops.h);
 * the statistics are forward outputs, so the backward recomputes nothing,
 * and their own gradients (always zero in a loss of y) are ignored. */
#include "bind.h"

static const ag_norm_kernels *kernels(const ag_op_call *c) { return c->be->kernels->norm; }

/* Layout of a row-norm call for the kernels (kernels/common/ag_k_norm.h). */
typedef struct norm_rows_layout {
  int64_t rows, cols, groups, spatial; /* the row view */
  int64_t n, channels;                 /* the [n, channels, spatial] view */
} norm_rows_layout;

static norm_rows_layout norm_last_dim_layout(const ag_tensor *x) {
  int64_t d = x->shape[x->ndim - 1], rows = ag_tensor_numel(x) / d;
  return (norm_rows_layout){rows, d, 1, 1, rows, d};
}

static norm_rows_layout norm_group_layout(const ag_tensor *x, int64_t groups) {
  int64_t n = x->shape[0], ch = x->shape[1], spatial = ag_tensor_numel(x) / (n * ch);
  return (norm_rows_layout){n * groups, ch / groups * spatial, groups, spatial, n, ch};
}

static float *norm_out_f32(const ag_op_call *c, int i) {
  return (float *)ag_tensor_data(c->out[i]);
}
static const float *norm_in_f32(const ag_op_call *c, int i) {
  return i < 0 ? NULL : (const float *)ag_tensor_data(c->in[i]);
}
static void *norm_grad(const ag_op_call *c, int i) {
  return i >= 0 && c->out[i] ? ag_tensor_data(c->out[i]) : NULL;
}
static const void *norm_in(const ag_op_call *c, int i) { return i < 0 ? NULL : ag_in_data(c, i); }

/* Forward of a row norm: w, b index the inputs, mean and rstd the outputs;
 * -1 where the op has none. */
static ag_status norm_rows_fwd(const ag_op_call *c, norm_rows_layout l, float eps, int w, int b,
                               int mean, int rstd) {
  return kernels(c)->norm_rows(ag_call_dtype(c), ag_in_data(c, 0), norm_in(c, w), norm_in(c, b),
                               ag_out_data(c, 0), mean < 0 ? NULL : norm_out_f32(c, mean),
                               norm_out_f32(c, rstd), l.rows, l.cols, l.groups, l.spatial, eps,
                               c->stream);
}

/* Backward of a row norm: w, b index the inputs (-1: none), mean and rstd
 * the saved statistics in in[], dy the output gradient in in[]. */
static ag_status norm_rows_bwd(const ag_op_call *c, norm_rows_layout l, int w, int b, int mean,
                               int rstd, int dy) {
  const float *mu = norm_in_f32(c, mean), *rs = norm_in_f32(c, rstd);
  if (c->out[0])
    AG_TRY(kernels(c)->norm_rows_backward(ag_call_dtype(c), ag_in_data(c, 0), norm_in(c, w),
                                          ag_in_data(c, dy), mu, rs, ag_out_data(c, 0), l.rows,
                                          l.cols, l.groups, l.spatial, c->stream));
  void *dw = norm_grad(c, w), *db = norm_grad(c, b);
  if (!dw && !db) return AG_OK;
  return kernels(c)->norm_affine_backward(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, dy), mu,
                                          rs, dw, db, l.n, l.channels, l.spatial, l.groups,
                                          c->stream);
}

static float norm_eps(const ag_op_call *c) { return ag_norm_args_decode(c).eps; }

static ag_status layernorm_fwd(const ag_op_call *c) {
  return norm_rows_fwd(c, norm_last_dim_layout(c->in[0]), norm_eps(c), 1, 2, 1, 2);
}

/* in[]: x, w, b, y, mean, rstd, dy, ... */
static ag_status layernorm_bwd(const ag_op_call *c) {
  return norm_rows_bwd(c, norm_last_dim_layout(c->in[0]), 1, 2, 4, 5, 6);
}

static ag_status layernorm_noaffine_fwd(const ag_op_call *c) {
  return norm_rows_fwd(c, norm_last_dim_layout(c->in[0]), norm_eps(c), -1, -1, 1, 2);
}

/* in[]: x, y, mean, rstd, dy, ... */
static ag_status layernorm_noaffine_bwd(const ag_op_call *c) {
  return norm_rows_bwd(c, norm_last_dim_layout(c->in[0]), -1, -1, 2, 3, 4);
}

static ag_status rmsnorm_fwd(const ag_op_call *c) {
  return norm_rows_fwd(c, norm_last_dim_layout(c->in[0]), norm_eps(c), 1, -1, -1, 1);
}

/* in[]: x, w, y, rstd, dy, ... */
static ag_status rmsnorm_bwd(const ag_op_call *c) {
  return norm_rows_bwd(c, norm_last_dim_layout(c->in[0]), 1, -1, -1, 3, 4);
}

static ag_status groupnorm_fwd(const ag_op_call *c) {
  const ag_groupnorm_args a = ag_groupnorm_args_decode(c);
  return norm_rows_fwd(c, norm_group_layout(c->in[0], a.groups), a.eps, 1, 2, 1, 2);
}

/* in[]: x, w, b, y, mean, rstd, dy, ... */
static ag_status groupnorm_bwd(const ag_op_call *c) {
  return norm_rows_bwd(c, norm_group_layout(c->in[0], ag_groupnorm_args_decode(c).groups), 1, 2,
                       4, 5, 6);
}

/* saved and running are [2, C]: row 0 mean, row 1 invstd / variance. */
static ag_status batchnorm_fwd(const ag_op_call *c) {
  norm_rows_layout l = norm_group_layout(c->in[0], 1);
  const ag_batchnorm_args a = ag_batchnorm_args_decode(c);
  float *saved = norm_out_f32(c, 1), *running = norm_out_f32(c, 2);
  return kernels(c)->batchnorm(
      ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2), norm_in_f32(c, 3),
      norm_in_f32(c, 4), ag_out_data(c, 0), saved, saved + l.channels, running,
      running + l.channels, l.n, l.channels, l.spatial, a.training, a.eps, a.momentum, c->stream);
}

/* in[]: x, w, b, running_mean, running_var, y, saved, running, dy, ... The
 * running statistics only feed the saved ones, which are constants of the
 * backward: their gradients are zero. */
static ag_status batchnorm_bwd(const ag_op_call *c) {
  norm_rows_layout l = norm_group_layout(c->in[0], 1);
  const float *saved = norm_in_f32(c, 6);
  for (int i = 3; i < 5; i++)
    if (c->out[i])
      AG_TRY(c->be->memset(c->be, ag_out_data(c, i), 0, ag_tensor_nbytes(c->out[i]), c->stream));
  return kernels(c)->batchnorm_backward(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                        ag_in_data(c, 8), saved, saved + l.channels,
                                        norm_grad(c, 0), norm_grad(c, 1), norm_grad(c, 2), l.n,
                                        l.channels, l.spatial, ag_batchnorm_args_decode(c).training,
                                        c->stream);
}

const ag_op_binding ag_bind_layernorm = {.forward = layernorm_fwd, .backward = layernorm_bwd};
const ag_op_binding ag_bind_layernorm_noaffine = {.forward = layernorm_noaffine_fwd,
                                                  .backward = layernorm_noaffine_bwd};
const ag_op_binding ag_bind_rmsnorm = {.forward = rmsnorm_fwd, .backward = rmsnorm_bwd};
const ag_op_binding ag_bind_groupnorm = {.forward = groupnorm_fwd, .backward = groupnorm_bwd};
const ag_op_binding ag_bind_batchnorm = {.forward = batchnorm_fwd, .backward = batchnorm_bwd};
