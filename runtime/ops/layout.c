/* Layout ops: shape inference and eager API. */
#include "ops_internal.h"

ag_status ag_infer_contiguous(const ag_op_call *c, ag_shape *out) {
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

/* i[0] as an axis of t, or an error naming the op. */
static ag_status resolve_axis(const char *op, const ag_tensor *t, int64_t axis, int *out) {
  char d[64];
  int64_t a = axis < 0 ? axis + t->ndim : axis;
  if (a < 0 || a >= t->ndim)
    return ag_set_error(AG_ERR_INVALID, "%s: axis %lld is out of range for %s", op,
                        (long long)axis, ag_tensor_describe(t, d, sizeof d));
  *out = (int)a;
  return AG_OK;
}

ag_status ag_infer_concat(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *a = c->in[0], *b = c->in[1];
  int axis;
  AG_TRY(resolve_axis("concat", a, c->i[0], &axis));
  int fits = a->dtype == b->dtype && a->ndim == b->ndim;
  for (int d = 0; fits && d < a->ndim; d++) fits = d == axis || a->shape[d] == b->shape[d];
  if (!fits) return ag_op_error_shapes("concat", "inputs differ off the concat axis", a, b);
  out[0] = ag_shape_of(a);
  out[0].dims[axis] += b->shape[axis];
  return AG_OK;
}

ag_status ag_infer_split(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  int axis;
  char d[64];
  AG_TRY(resolve_axis("split", x, c->i[0], &axis));
  if (c->i[1] < 1 || c->i[1] >= x->shape[axis])
    return ag_set_error(AG_ERR_INVALID, "split: split point %lld must lie in [1, %lld) for %s",
                        (long long)c->i[1], (long long)x->shape[axis],
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = out[1] = ag_shape_of(x);
  out[0].dims[axis] = c->i[1];
  out[1].dims[axis] = x->shape[axis] - c->i[1];
  return AG_OK;
}

ag_status ag_infer_gather(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0], *idx = c->in[1];
  int axis;
  char d[64];
  AG_TRY(resolve_axis("gather", x, c->i[0], &axis));
  if (idx->dtype != AG_I32 || idx->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "gather: indices %s must be an i32 vector",
                        ag_tensor_describe(idx, d, sizeof d));
  out[0] = ag_shape_of(x);
  out[0].dims[axis] = idx->shape[0];
  return AG_OK;
}

ag_status ag_eager_concat(ag_tensor *y, const ag_tensor *a, const ag_tensor *b, int axis) {
  return ag_op_eager(AG_OP_CONCAT, &(ag_op_call){.in = {a, b}, .out = {y}, .i = {axis}});
}

ag_status ag_eager_split(ag_tensor *y0, ag_tensor *y1, const ag_tensor *x, int axis,
                         int64_t first) {
  return ag_op_eager(AG_OP_SPLIT, &(ag_op_call){.in = {x}, .out = {y0, y1}, .i = {axis, first}});
}

ag_status ag_eager_gather(ag_tensor *y, const ag_tensor *x, const ag_tensor *idx, int axis) {
  return ag_op_eager(AG_OP_GATHER, &(ag_op_call){.in = {x, idx}, .out = {y}, .i = {axis}});
}

ag_tensor *ag_tensor_contiguous(const ag_tensor *t) {
  ag_backend *be = ag_tensor_backend(t);
  ag_tensor *y = ag_tensor_new(be, t->dtype, t->ndim, t->shape);
  if (!y) return NULL;
  ag_op_call call = {.in = {t}, .out = {y}};
  if (ag_op_forward(be, AG_OP_CONTIGUOUS, &call) != AG_OK) {
    ag_tensor_free(y);
    return NULL;
  }
  return y;
}

ag_tensor *ag_tensor_to(const ag_tensor *t, ag_backend *be) {
  ag_tensor *src = ag_tensor_is_contiguous(t) ? (ag_tensor *)t : ag_tensor_contiguous(t);
  if (!src) return NULL;
  ag_tensor *y = ag_tensor_new(be, t->dtype, t->ndim, t->shape);
  if (y && ag_tensor_copy(y, src) != AG_OK) {
    ag_tensor_free(y);
    y = NULL;
  }
  if (src != t) ag_tensor_free(src);
  return y;
}
