/* Softmax and loss ops: typed arguments, shape inference, graph builders
 * and eager API. */
#include <math.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_softmax_args_encode(ag_op_call *c, const ag_softmax_args *a) {
  c->f[0] = a->scale;
  c->i[0] = a->causal;
}
ag_softmax_args ag_softmax_args_decode(const ag_op_call *c) {
  return (ag_softmax_args){c->f[0], c->i[0] != 0};
}

void ag_cross_entropy_args_encode(ag_op_call *c, const ag_cross_entropy_args *a) {
  c->i[0] = a->ignore_index;
  c->i[1] = a->has_ignore;
  c->f[0] = a->label_smoothing;
}
ag_cross_entropy_args ag_cross_entropy_args_decode(const ag_op_call *c) {
  return (ag_cross_entropy_args){c->i[1] != 0, c->i[0], c->f[0]};
}

void ag_huber_args_encode(ag_op_call *c, const ag_huber_args *a) { c->f[0] = a->delta; }
ag_huber_args ag_huber_args_decode(const ag_op_call *c) { return (ag_huber_args){c->f[0]}; }

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
  const ag_softmax_args a = ag_softmax_args_decode(c);
  char d[64];
  AG_TRY(require_rows("softmax", x));
  if (!isfinite(a.scale))
    return ag_set_error(AG_ERR_INVALID, "softmax: scale %g is not finite", a.scale);
  /* With S < T the first T - S rows would keep no column at all. */
  if (a.causal && (x->ndim < 2 || x->shape[x->ndim - 1] < x->shape[x->ndim - 2]))
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
  const float smoothing = ag_cross_entropy_args_decode(c).label_smoothing;
  if (!(smoothing >= 0.0f && smoothing <= 1.0f))
    return ag_set_error(AG_ERR_INVALID, "cross_entropy: label smoothing %g is not in [0, 1]",
                        smoothing);
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
  const float delta = ag_huber_args_decode(c).delta;
  if (!(delta >= 0.0f && isfinite(delta)))
    return ag_set_error(AG_ERR_INVALID, "huber_loss: delta %g must be positive (0 means 1)",
                        delta);
  return infer_mean_loss("huber_loss", c, out);
}

static ag_tensor *op1(ag_graph *g, ag_op op, ag_op_call c) { return ag_graph_op(g, op, &c, NULL); }

ag_tensor *ag_softmax(ag_graph *g, ag_tensor *x, float scale, int causal) {
  ag_op_call c = {.in = {x}};
  ag_softmax_args_encode(&c, &(ag_softmax_args){scale, causal});
  return op1(g, AG_OP_SOFTMAX, c);
}
ag_tensor *ag_log_softmax(ag_graph *g, ag_tensor *x) {
  return op1(g, AG_OP_LOG_SOFTMAX, (ag_op_call){.in = {x}});
}
ag_tensor *ag_cross_entropy(ag_graph *g, ag_tensor *logits, ag_tensor *targets) {
  ag_op_call c = {.in = {logits, targets}};
  ag_cross_entropy_args_encode(&c, &(ag_cross_entropy_args){0});
  return ag_mean_all(g, op1(g, AG_OP_CROSS_ENTROPY, c));
}
ag_tensor *ag_mse_loss(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_MSE_LOSS, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_huber_loss(ag_graph *g, ag_tensor *a, ag_tensor *b, float delta) {
  ag_op_call c = {.in = {a, b}};
  ag_huber_args_encode(&c, &(ag_huber_args){delta});
  return op1(g, AG_OP_HUBER_LOSS, c);
}

ag_status ag_eager_softmax(ag_tensor *y, const ag_tensor *x, float scale, int causal) {
  ag_op_call c = {.in = {x}, .out = {y}};
  ag_softmax_args_encode(&c, &(ag_softmax_args){scale, causal});
  return ag_op_eager(AG_OP_SOFTMAX, &c);
}
