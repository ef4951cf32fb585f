/* Reductions: shape inference and eager API. */
#include "ops_internal.h"

/* Every reduction: float input with at least one dim, i[0] a valid axis. */
static ag_status infer_axis_reduction(const char *op, const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(ag_op_require_float(op, "input 0", x));
  if (x->ndim == 0) return ag_set_error(AG_ERR_INVALID, "%s: input has no dims", op);
  int64_t axis = c->i[0] < 0 ? c->i[0] + x->ndim : c->i[0];
  if (axis < 0 || axis >= x->ndim)
    return ag_set_error(AG_ERR_INVALID, "%s: axis %lld is out of range for %s", op,
                        (long long)c->i[0], ag_tensor_describe(x, d, sizeof d));
  if (x->shape[axis] == 0)
    return ag_set_error(AG_ERR_INVALID, "%s: axis %lld of %s is empty", op, (long long)c->i[0],
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = ag_shape_of(x);
  if (c->i[1]) {
    out[0].dims[axis] = 1;
    return AG_OK;
  }
  for (int k = (int)axis; k + 1 < x->ndim; k++) out[0].dims[k] = x->shape[k + 1];
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

static ag_status reduce_eager(ag_op op, ag_tensor *y, const ag_tensor *x, int axis, int keepdim) {
  return ag_op_eager(op, &(ag_op_call){.in = {x}, .out = {y}, .i = {axis, keepdim != 0}});
}

ag_status ag_eager_sum(ag_tensor *y, const ag_tensor *x) {
  return reduce_eager(AG_OP_SUM, y, x, -1, 1);
}

ag_status ag_eager_sum_axis(ag_tensor *y, const ag_tensor *x, int axis, int keepdim) {
  return reduce_eager(AG_OP_SUM, y, x, axis, keepdim);
}

ag_status ag_eager_mean(ag_tensor *y, const ag_tensor *x, int axis, int keepdim) {
  return reduce_eager(AG_OP_MEAN, y, x, axis, keepdim);
}

ag_status ag_eager_max(ag_tensor *y, const ag_tensor *x, int axis, int keepdim) {
  return reduce_eager(AG_OP_MAX, y, x, axis, keepdim);
}
