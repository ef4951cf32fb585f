/* Softmax and loss ops: shape inference and eager API. */
#include <math.h>

#include "ops_internal.h"

static ag_status require_rows(const char *op, const ag_tensor *x) {
  AG_TRY(ag_op_require_float(op, "input 0", x));
  char d[64];
  if (x->ndim == 0 || x->shape[x->ndim - 1] == 0)
    return ag_set_error(AG_ERR_INVALID, "%s: input %s has no last dim to normalise over", op,
                        ag_tensor_describe(x, d, sizeof d));
  return AG_OK;
}

ag_status ag_infer_softmax(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(require_rows("softmax", x));
  if (!isfinite(c->f[0]))
    return ag_set_error(AG_ERR_INVALID, "softmax: scale f[0] = %g is not finite", c->f[0]);
  /* With S < T the first T - S rows would keep no column at all. */
  if (c->i[0] && (x->ndim < 2 || x->shape[x->ndim - 1] < x->shape[x->ndim - 2]))
    return ag_set_error(AG_ERR_INVALID, "softmax: a causal mask needs [.., T, S] with S >= T, got %s",
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = ag_shape_of(x);
  return AG_OK;
}

ag_status ag_infer_log_softmax(const ag_op_call *c, ag_shape *out) {
  AG_TRY(require_rows("log_softmax", c->in[0]));
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

ag_status ag_infer_cross_entropy(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0], *t = c->in[1];
  AG_TRY(ag_op_require_float("cross_entropy", "logits", x));
  if (x->ndim != 2 || x->shape[1] == 0 || t->ndim != 1 || t->dtype != AG_I32 ||
      t->shape[0] != x->shape[0])
    return ag_op_error_shapes("cross_entropy", "logits [N, C>0] and i32 targets [N] expected", x,
                              t);
  if (!(c->f[0] >= 0.0f && c->f[0] <= 1.0f))
    return ag_set_error(AG_ERR_INVALID, "cross_entropy: label smoothing f[0] = %g is not in [0, 1]",
                        c->f[0]);
  for (int k = 0; k < 2; k++) out[k] = (ag_shape){AG_F32, 1, {x->shape[0]}};
  return AG_OK;
}

static ag_status infer_mean_loss(const char *op, const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float(op, "input 0", c->in[0]));
  AG_TRY(ag_op_require_same(op, "inputs differ", c->in[0], c->in[1]));
  char d[64];
  if (ag_tensor_numel(c->in[0]) == 0)
    return ag_set_error(AG_ERR_INVALID, "%s: the mean of empty input %s is undefined", op,
                        ag_tensor_describe(c->in[0], d, sizeof d));
  out[0] = (ag_shape){AG_F32, 1, {1}};
  return AG_OK;
}

ag_status ag_infer_mse_loss(const ag_op_call *c, ag_shape *out) {
  return infer_mean_loss("mse_loss", c, out);
}

ag_status ag_infer_huber_loss(const ag_op_call *c, ag_shape *out) {
  if (!(c->f[0] >= 0.0f && isfinite(c->f[0])))
    return ag_set_error(AG_ERR_INVALID, "huber_loss: delta f[0] = %g must be positive (0 means 1)",
                        c->f[0]);
  return infer_mean_loss("huber_loss", c, out);
}

ag_status ag_eager_softmax(ag_tensor *y, const ag_tensor *x, float scale, int causal) {
  return ag_op_eager(AG_OP_SOFTMAX, &(ag_op_call){.in = {x}, .out = {y}, .f = {scale}, .i = {causal}});
}

ag_status ag_eager_log_softmax(ag_tensor *y, const ag_tensor *x) {
  return ag_op_eager(AG_OP_LOG_SOFTMAX, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_eager_cross_entropy(ag_tensor *losses, ag_tensor *lse, const ag_tensor *logits,
                                 const ag_tensor *targets, int has_ignore, int64_t ignore_index,
                                 float label_smoothing) {
  return ag_op_eager(AG_OP_CROSS_ENTROPY,
                     &(ag_op_call){.in = {logits, targets}, .out = {losses, lse},
                                   .f = {label_smoothing}, .i = {ignore_index, has_ignore}});
}

ag_status ag_eager_mse_loss(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return ag_op_eager(AG_OP_MSE_LOSS, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_eager_huber_loss(ag_tensor *y, const ag_tensor *a, const ag_tensor *b, float delta) {
  return ag_op_eager(AG_OP_HUBER_LOSS, &(ag_op_call){.in = {a, b}, .out = {y}, .f = {delta}});
}
