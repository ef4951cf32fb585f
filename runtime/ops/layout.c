/* Layout ops: typed arguments, shape inference, graph builders and eager
 * API. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_axis_args_encode(ag_op_call *c, const ag_axis_args *a) { c->i[0] = a->axis; }
ag_axis_args ag_axis_args_decode(const ag_op_call *c) { return (ag_axis_args){(int)c->i[0]}; }

void ag_split_args_encode(ag_op_call *c, const ag_split_args *a) {
  c->i[0] = a->axis;
  c->i[1] = a->first;
}
ag_split_args ag_split_args_decode(const ag_op_call *c) {
  return (ag_split_args){(int)c->i[0], c->i[1]};
}

ag_status ag_infer_contiguous(const ag_op_call *c, ag_shape *out) {
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

/* `axis` resolved against t, or an error naming the op. */
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
  AG_TRY(resolve_axis("concat", a, ag_axis_args_decode(c).axis, &axis));
  int fits = a->dtype == b->dtype && a->ndim == b->ndim;
  for (int d = 0; fits && d < a->ndim; d++) fits = d == axis || a->shape[d] == b->shape[d];
  if (!fits) return ag_op_error_shapes("concat", "inputs differ off the concat axis", a, b);
  out[0] = ag_shape_of(a);
  out[0].dims[axis] += b->shape[axis];
  return AG_OK;
}

ag_status ag_infer_split(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  const ag_split_args a = ag_split_args_decode(c);
  int axis;
  char d[64];
  AG_TRY(resolve_axis("split", x, a.axis, &axis));
  if (a.first < 1 || a.first >= x->shape[axis])
    return ag_set_error(AG_ERR_INVALID, "split: split point %lld must lie in [1, %lld) for %s",
                        (long long)a.first, (long long)x->shape[axis],
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = out[1] = ag_shape_of(x);
  out[0].dims[axis] = a.first;
  out[1].dims[axis] = x->shape[axis] - a.first;
  return AG_OK;
}

ag_status ag_infer_gather(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0], *idx = c->in[1];
  int axis;
  char d[64];
  AG_TRY(resolve_axis("gather", x, ag_axis_args_decode(c).axis, &axis));
  if (idx->dtype != AG_I32 || idx->ndim != 1)
    return ag_set_error(AG_ERR_INVALID, "gather: indices %s must be an i32 vector",
                        ag_tensor_describe(idx, d, sizeof d));
  out[0] = ag_shape_of(x);
  out[0].dims[axis] = idx->shape[0];
  return AG_OK;
}

static ag_op_call on_axis(ag_op_call c, int axis) {
  ag_axis_args_encode(&c, &(ag_axis_args){axis});
  return c;
}

ag_tensor *ag_concat(ag_graph *g, ag_tensor *a, ag_tensor *b, int axis) {
  const ag_op_call c = on_axis((ag_op_call){.in = {a, b}}, axis);
  return ag_graph_op(g, AG_OP_CONCAT, &c, NULL);
}

ag_status ag_split(ag_graph *g, ag_tensor *x, int axis, int64_t at, ag_tensor **y0,
                   ag_tensor **y1) {
  ag_tensor *outs[2] = {0};
  ag_op_call c = {.in = {x}};
  ag_split_args_encode(&c, &(ag_split_args){axis, at});
  ag_graph_op(g, AG_OP_SPLIT, &c, outs);
  *y0 = outs[0];
  *y1 = outs[1];
  return ag_graph_status(g);
}

ag_tensor *ag_gather(ag_graph *g, ag_tensor *x, ag_tensor *idx, int axis) {
  const ag_op_call c = on_axis((ag_op_call){.in = {x, idx}}, axis);
  return ag_graph_op(g, AG_OP_GATHER, &c, NULL);
}

ag_status ag_eager_gather(ag_tensor *y, const ag_tensor *x, const ag_tensor *idx, int axis) {
  const ag_op_call c = on_axis((ag_op_call){.in = {x, idx}, .out = {y}}, axis);
  return ag_op_eager(AG_OP_GATHER, &c);
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
