/* Reductions: typed arguments, shape inference, graph builders and eager
 * API. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_reduce_args_encode(ag_op_call *c, const ag_reduce_args *a) {
  c->i[0] = a->axis;
  c->i[1] = a->keepdim != 0;
}
ag_reduce_args ag_reduce_args_decode(const ag_op_call *c) {
  return (ag_reduce_args){(int)c->i[0], c->i[1] != 0};
}

/* Every reduction: float input with at least one dim, a valid axis. */
static ag_status infer_axis_reduction(const char *op, const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  const ag_reduce_args a = ag_reduce_args_decode(c);
  char d[64];
  AG_TRY(ag_op_require_float(op, "input 0", x));
  if (x->ndim == 0) return ag_set_error(AG_ERR_INVALID, "%s: input has no dims", op);
  int axis = a.axis < 0 ? a.axis + x->ndim : a.axis;
  if (axis < 0 || axis >= x->ndim)
    return ag_set_error(AG_ERR_INVALID, "%s: axis %d is out of range for %s", op, a.axis,
                        ag_tensor_describe(x, d, sizeof d));
  if (x->shape[axis] == 0)
    return ag_set_error(AG_ERR_INVALID, "%s: axis %d of %s is empty", op, a.axis,
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = ag_shape_of(x);
  if (a.keepdim) {
    out[0].dims[axis] = 1;
    return AG_OK;
  }
  for (int k = axis; k + 1 < x->ndim; k++) out[0].dims[k] = x->shape[k + 1];
  out[0].ndim--;
  return AG_OK;
}

ag_status ag_infer_sum(const ag_op_call *c, ag_shape *out) {
  return infer_axis_reduction("sum", c, out);
}

ag_status ag_infer_mean(const ag_op_call *c, ag_shape *out) {
  return infer_axis_reduction("mean", c, out);
}

ag_status ag_infer_max(const ag_op_call *c, ag_shape *out) {
  return infer_axis_reduction("max", c, out);
}

static ag_tensor *reduce_op(ag_graph *g, ag_op op, ag_tensor *x, int axis, int keepdim) {
  ag_op_call c = {.in = {x}};
  ag_reduce_args_encode(&c, &(ag_reduce_args){axis, keepdim});
  return ag_graph_op(g, op, &c, NULL);
}

ag_tensor *ag_sum(ag_graph *g, ag_tensor *x, int axis, int keepdim) {
  return reduce_op(g, AG_OP_SUM, x, axis, keepdim);
}
ag_tensor *ag_mean(ag_graph *g, ag_tensor *x, int axis, int keepdim) {
  return reduce_op(g, AG_OP_MEAN, x, axis, keepdim);
}
ag_tensor *ag_mean_all(ag_graph *g, ag_tensor *x) {
  const int64_t n = x ? ag_tensor_numel(x) : 0;
  return ag_mean(g, ag_reshape(g, x, 1, &n), 0, 1);
}

ag_status ag_eager_sum(ag_tensor *y, const ag_tensor *x) {
  ag_op_call c = {.in = {x}, .out = {y}};
  ag_reduce_args_encode(&c, &(ag_reduce_args){-1, 1});
  return ag_op_eager(AG_OP_SUM, &c);
}
