/* matmul ops: shape inference and eager API. */
#include <string.h>

#include "ops_internal.h"

/* The batch dims (all but the last two) of a tensor, as an ag_shape. */
static ag_shape batch_dims(const ag_tensor *t) {
  ag_shape s = {t->dtype, t->ndim - 2, {0}};
  memcpy(s.dims, t->shape, sizeof(int64_t) * (size_t)s.ndim);
  return s;
}

static ag_status check_params(const char *op, const ag_op_call *c) {
  if ((c->i[0] | c->i[1]) & ~(int64_t)1)
    return ag_set_error(AG_ERR_INVALID, "%s: transpose flags i[0]=%lld i[1]=%lld must be 0 or 1",
                        op, (long long)c->i[0], (long long)c->i[1]);
  if (c->i[2] < 0 || c->i[2] > 2)
    return ag_set_error(AG_ERR_INVALID, "%s: epilogue i[2]=%lld; 0 none, 1 relu, 2 gelu expected",
                        op, (long long)c->i[2]);
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
  AG_TRY(check_params(op, c));
  AG_TRY(ag_op_require_float(op, "a", a));
  AG_TRY(check_ranks(op, a, b));
  const int64_t m = a->shape[a->ndim - 1 - !c->i[0]], ka = a->shape[a->ndim - 1 - (int)c->i[0]];
  const int64_t kb = b->shape[b->ndim - 1 - !c->i[1]], n = b->shape[b->ndim - 1 - (int)c->i[1]];
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

ag_status ag_eager_matmul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                          ag_matmul_opts opts) {
  return ag_op_eager(AG_OP_MATMUL,
                     &(ag_op_call){.in = {a, b}, .out = {y},
                                   .i = {opts.trans_a, opts.trans_b, opts.epilogue}});
}

ag_status ag_eager_matmul_bias(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                               const ag_tensor *bias, ag_matmul_opts opts) {
  return ag_op_eager(AG_OP_MATMUL_BIAS,
                     &(ag_op_call){.in = {a, b, bias}, .out = {y},
                                   .i = {opts.trans_a, opts.trans_b, opts.epilogue}});
}
