/* Elementwise ops: shape inference and eager API. */
#include "ops_internal.h"

/* numpy broadcasting: dims are right-aligned, and each pair must be equal or
 * contain a 1. */
static ag_status infer_binary(const char *op, const ag_op_call *c, ag_shape *out) {
  const ag_tensor *a = c->in[0], *b = c->in[1];
  AG_TRY(ag_op_require_float(op, "input 0", a));
  if (a->dtype != b->dtype) return ag_op_error_shapes(op, "dtypes differ", a, b);
  ag_shape s = {a->dtype, a->ndim > b->ndim ? a->ndim : b->ndim, {0}};
  for (int d = 0; d < s.ndim; d++) {
    int da = d - (s.ndim - a->ndim), db = d - (s.ndim - b->ndim);
    int64_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
    if (x != y && x != 1 && y != 1) return ag_op_error_shapes(op, "shapes do not broadcast", a, b);
    s.dims[d] = x == 1 ? y : x;
  }
  out[0] = s;
  return AG_OK;
}

static ag_status infer_unary(const char *op, const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float(op, "input 0", c->in[0]));
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

static int castable(ag_dtype dt) {
  return dt == AG_F32 || dt == AG_F16 || dt == AG_BF16 || dt == AG_I32;
}

static ag_status require_castable(const char *op, const char *role, ag_dtype dt) {
  if (castable(dt)) return AG_OK;
  return ag_set_error(AG_ERR_UNSUPPORTED, "%s: %s has dtype %s; f32, f16, bf16 or i32 expected",
                      op, role, ag_dtype_name(dt));
}

ag_status ag_infer_add(const ag_op_call *c, ag_shape *out) { return infer_binary("add", c, out); }
ag_status ag_infer_sub(const ag_op_call *c, ag_shape *out) { return infer_binary("sub", c, out); }
ag_status ag_infer_mul(const ag_op_call *c, ag_shape *out) { return infer_binary("mul", c, out); }
ag_status ag_infer_div(const ag_op_call *c, ag_shape *out) { return infer_binary("div", c, out); }

#define AG_EW_INFER_UNARY(name)                                                                   \
  ag_status ag_infer_##name(const ag_op_call *c, ag_shape *out) {                                 \
    return infer_unary(#name, c, out);                                                            \
  }
AG_EW_INFER_UNARY(scale)
AG_EW_INFER_UNARY(exp)
AG_EW_INFER_UNARY(log)
AG_EW_INFER_UNARY(sqrt)
AG_EW_INFER_UNARY(rsqrt)
AG_EW_INFER_UNARY(relu)
AG_EW_INFER_UNARY(leaky_relu)
AG_EW_INFER_UNARY(gelu)
AG_EW_INFER_UNARY(silu)
AG_EW_INFER_UNARY(sigmoid)
AG_EW_INFER_UNARY(tanh)
AG_EW_INFER_UNARY(softplus)
AG_EW_INFER_UNARY(trunc_exp)
#undef AG_EW_INFER_UNARY

ag_status ag_infer_cast(const ag_op_call *c, ag_shape *out) {
  AG_TRY(require_castable("cast", "input 0", c->in[0]->dtype));
  if (c->i[0] < 0 || c->i[0] >= AG_DTYPE_COUNT || !castable((ag_dtype)c->i[0]))
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "cast: target dtype i[0] = %lld; f32, f16, bf16 or i32 expected",
                        (long long)c->i[0]);
  out[0] = ag_shape_of(c->in[0]);
  out[0].dtype = (ag_dtype)c->i[0];
  return AG_OK;
}

/* Fills have no inputs: the output gives the shape. */
static ag_status infer_fill(const char *op, const ag_op_call *c, ag_shape *out) {
  if (!c->out[0]) return ag_set_error(AG_ERR_INVALID, "%s: output 0 is missing", op);
  AG_TRY(require_castable(op, "output 0", c->out[0]->dtype));
  out[0] = ag_shape_of(c->out[0]);
  return AG_OK;
}

ag_status ag_infer_fill(const ag_op_call *c, ag_shape *out) { return infer_fill("fill", c, out); }

ag_status ag_infer_arange(const ag_op_call *c, ag_shape *out) {
  AG_TRY(infer_fill("arange", c, out));
  if (out[0].ndim == 1) return AG_OK;
  char d[64];
  return ag_set_error(AG_ERR_INVALID, "arange: output 0 is %s; a 1-d output expected",
                      ag_shape_describe(&out[0], d, sizeof d));
}

static ag_status binary(ag_op op, ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return ag_op_eager(op, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_eager_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_ADD, y, a, b);
}

ag_status ag_eager_sub(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_SUB, y, a, b);
}

ag_status ag_eager_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_MUL, y, a, b);
}

ag_status ag_eager_div(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_DIV, y, a, b);
}

ag_status ag_eager_scale(ag_tensor *y, const ag_tensor *a, float s) {
  return ag_op_eager(AG_OP_SCALE, &(ag_op_call){.in = {a}, .out = {y}, .f = {s}});
}

ag_status ag_eager_gelu(ag_tensor *y, const ag_tensor *x) {
  return ag_eager_unary(y, x, AG_OP_GELU);
}

ag_status ag_eager_silu(ag_tensor *y, const ag_tensor *x) {
  return ag_eager_unary(y, x, AG_OP_SILU);
}

static int is_plain_unary(ag_op op) {
  switch (op) {
  case AG_OP_EXP: case AG_OP_LOG: case AG_OP_SQRT: case AG_OP_RSQRT: case AG_OP_RELU:
  case AG_OP_GELU: case AG_OP_SILU: case AG_OP_SIGMOID: case AG_OP_TANH: case AG_OP_SOFTPLUS:
  case AG_OP_TRUNC_EXP: return 1;
  default: return 0;
  }
}

ag_status ag_eager_unary(ag_tensor *y, const ag_tensor *x, ag_op op) {
  if (!is_plain_unary(op)) {
    const ag_op_info *info = ag_op_get_info(op);
    return ag_set_error(AG_ERR_INVALID, "ag_unary: %s is not a unary op without parameters",
                        info ? info->name : "(unknown op)");
  }
  return ag_op_eager(op, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_eager_leaky_relu(ag_tensor *y, const ag_tensor *x, float slope) {
  return ag_op_eager(AG_OP_LEAKY_RELU, &(ag_op_call){.in = {x}, .out = {y}, .f = {slope}});
}

ag_status ag_eager_cast(ag_tensor *y, const ag_tensor *x) {
  if (!y) return ag_set_error(AG_ERR_INVALID, "cast: output 0 is missing");
  return ag_op_eager(AG_OP_CAST, &(ag_op_call){.in = {x}, .out = {y}, .i = {y->dtype}});
}

ag_status ag_eager_fill(ag_tensor *y, float value) {
  return ag_op_eager(AG_OP_FILL, &(ag_op_call){.out = {y}, .f = {value}});
}

ag_status ag_eager_arange(ag_tensor *y, float start, float step) {
  return ag_op_eager(AG_OP_ARANGE, &(ag_op_call){.out = {y}, .f = {start, step}});
}
