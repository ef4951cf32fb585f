/* matmul ops: arguments, shape inference, graph builders and eager API. */
#include <string.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_matmul_args_encode(ag_op_call *c, const ag_matmul_args *a) {
  c->i[0] = a->trans_a;
  c->i[1] = a->trans_b;
  c->i[2] = a->epilogue;
}

ag_matmul_args ag_matmul_args_decode(const ag_op_call *c) {
  return (ag_matmul_args){(int)c->i[0], (int)c->i[1], (int)c->i[2]};
}

/* The batch dims (all but the last two) of a tensor, as an ag_shape. */
static ag_shape batch_dims(const ag_tensor *t) {
  ag_shape s = {t->dtype, t->ndim - 2, {0}};
  memcpy(s.dims, t->shape, sizeof(int64_t) * (size_t)s.ndim);
  return s;
}

static ag_status check_args(const char *op, const ag_matmul_args *a) {
  if ((a->trans_a | a->trans_b) & ~1)
    return ag_set_error(AG_ERR_INVALID, "%s: transpose flags trans_a=%d trans_b=%d must be 0 or 1",
                        op, a->trans_a, a->trans_b);
  if (a->epilogue < 0 || a->epilogue > 2)
    return ag_set_error(AG_ERR_INVALID, "%s: epilogue %d; 0 none, 1 relu, 2 gelu expected", op,
                        a->epilogue);
  return AG_OK;
}

static ag_status check_ranks(const char *op, const ag_tensor *a, const ag_tensor *b) {
  char da[64], db[64];
  if (a->ndim < 2 || b->ndim < 2 || a->ndim > 4 || b->ndim > 4)
    return ag_set_error(AG_ERR_INVALID, "%s: a %s and b %s must have 2 to 4 dims", op,
                        ag_tensor_describe(a, da, sizeof da), ag_tensor_describe(b, db, sizeof db));
  if (a->dtype != b->dtype) return ag_op_error_shapes(op, "dtypes differ", a, b);
  if (a->ndim > 2 && b->ndim > 2) {
    ag_shape ba = batch_dims(a), bb = batch_dims(b);
    if (!ag_shape_equal(&ba, &bb)) return ag_op_error_shapes(op, "batch dims differ", a, b);
  }
  return AG_OK;
}

/* Validates a, b (and bias when present) and writes y's shape. */
static ag_status infer_matmul(const char *op, const ag_op_call *c, const ag_tensor *bias,
                              ag_shape *out) {
  const ag_tensor *a = c->in[0], *b = c->in[1];
  const ag_matmul_args args = ag_matmul_args_decode(c);
  AG_TRY(check_args(op, &args));
  AG_TRY(ag_op_require_float(op, "a", a));
  AG_TRY(check_ranks(op, a, b));
  const int ta = args.trans_a, tb = args.trans_b;
  const int64_t m = a->shape[a->ndim - 1 - !ta], ka = a->shape[a->ndim - 1 - ta];
  const int64_t kb = b->shape[b->ndim - 1 - !tb], n = b->shape[b->ndim - 1 - tb];
  if (ka != kb) return ag_op_error_shapes(op, "inner dims differ", a, b);
  if (bias && (bias->ndim != 1 || bias->shape[0] != n || bias->dtype != a->dtype))
    return ag_op_error_shapes(op, "bias must be [N] of the output's dtype", b, bias);
  const ag_tensor *batched = a->ndim >= b->ndim ? a : b;
  out[0] = batch_dims(batched);
  out[0].dtype = a->dtype;
  out[0].dims[out[0].ndim++] = m;
  out[0].dims[out[0].ndim++] = n;
  return AG_OK;
}

ag_status ag_infer_matmul(const ag_op_call *c, ag_shape *out) {
  return infer_matmul("matmul", c, NULL, out);
}

ag_status ag_infer_matmul_bias(const ag_op_call *c, ag_shape *out) {
  return infer_matmul("matmul_bias", c, c->in[2], out);
}

ag_tensor *ag_matmul(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return ag_matmul_ex(g, a, b, NULL, (ag_matmul_args){0});
}

ag_tensor *ag_matmul_ex(ag_graph *g, ag_tensor *a, ag_tensor *b, ag_tensor *bias,
                        ag_matmul_args args) {
  ag_op_call c = {.in = {a, b, bias}};
  ag_matmul_args_encode(&c, &args);
  return ag_graph_op(g, bias ? AG_OP_MATMUL_BIAS : AG_OP_MATMUL, &c, NULL);
}

ag_tensor *ag_linear(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias, int act) {
  return ag_matmul_ex(g, x, w, bias, (ag_matmul_args){.trans_b = 1, .epilogue = act});
}

ag_status ag_eager_matmul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                          ag_matmul_args args) {
  ag_op_call c = {.in = {a, b}, .out = {y}};
  ag_matmul_args_encode(&c, &args);
  return ag_op_eager(AG_OP_MATMUL, &c);
}

ag_status ag_eager_matmul_bias(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                               const ag_tensor *bias, ag_matmul_args args) {
  ag_op_call c = {.in = {a, b, bias}, .out = {y}};
  ag_matmul_args_encode(&c, &args);
  return ag_op_eager(AG_OP_MATMUL_BIAS, &c);
}
