/* Elementwise ops: typed arguments, shape inference, graph builders and
 * eager API. */
#include "kernels/common/ag_kernels.h"
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

void ag_unary_args_encode(ag_op_call *c, const ag_unary_args *a) { c->f[0] = a->param; }
ag_unary_args ag_unary_args_decode(const ag_op_call *c) { return (ag_unary_args){c->f[0]}; }

void ag_cast_args_encode(ag_op_call *c, const ag_cast_args *a) { c->i[0] = a->dtype; }
ag_cast_args ag_cast_args_decode(const ag_op_call *c) { return (ag_cast_args){(ag_dtype)c->i[0]}; }

void ag_fill_args_encode(ag_op_call *c, const ag_fill_args *a) { c->f[0] = a->value; }
ag_fill_args ag_fill_args_decode(const ag_op_call *c) { return (ag_fill_args){c->f[0]}; }

void ag_arange_args_encode(ag_op_call *c, const ag_arange_args *a) {
  c->f[0] = a->start;
  c->f[1] = a->step;
}
ag_arange_args ag_arange_args_decode(const ag_op_call *c) {
  return (ag_arange_args){c->f[0], c->f[1]};
}

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

#define AG_EW_INFER_UNARY(ID, name)                                                               \
  ag_status ag_infer_##name(const ag_op_call *c, ag_shape *out) {                                 \
    return infer_unary(#name, c, out);                                                            \
  }
AG_UNARY_FN_LIST(AG_EW_INFER_UNARY)
#undef AG_EW_INFER_UNARY

ag_status ag_infer_cast(const ag_op_call *c, ag_shape *out) {
  const ag_dtype to = ag_cast_args_decode(c).dtype;
  AG_TRY(require_castable("cast", "input 0", c->in[0]->dtype));
  if ((int)to < 0 || to >= AG_DTYPE_COUNT || !castable(to))
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "cast: target dtype %lld; f32, f16, bf16 or i32 expected", (long long)to);
  out[0] = ag_shape_of(c->in[0]);
  out[0].dtype = to;
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

static ag_tensor *op1(ag_graph *g, ag_op op, ag_op_call c) { return ag_graph_op(g, op, &c, NULL); }

ag_tensor *ag_add(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_ADD, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_sub(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_SUB, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_mul(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_MUL, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_div(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_DIV, (ag_op_call){.in = {a, b}});
}

static ag_tensor *unary_with(ag_graph *g, ag_op op, ag_tensor *x, float param) {
  ag_op_call c = {.in = {x}};
  ag_unary_args_encode(&c, &(ag_unary_args){param});
  return op1(g, op, c);
}

ag_tensor *ag_scale(ag_graph *g, ag_tensor *x, float s) { return unary_with(g, AG_OP_SCALE, x, s); }
ag_tensor *ag_unary(ag_graph *g, ag_op op, ag_tensor *x) {
  return op1(g, op, (ag_op_call){.in = {x}});
}
ag_tensor *ag_relu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_RELU, x); }
ag_tensor *ag_gelu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_GELU, x); }
ag_tensor *ag_silu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_SILU, x); }
ag_tensor *ag_leaky_relu(ag_graph *g, ag_tensor *x, float slope) {
  return unary_with(g, AG_OP_LEAKY_RELU, x, slope);
}
ag_tensor *ag_cast(ag_graph *g, ag_tensor *x, ag_dtype dt) {
  ag_op_call c = {.in = {x}};
  ag_cast_args_encode(&c, &(ag_cast_args){dt});
  return op1(g, AG_OP_CAST, c);
}
ag_tensor *ag_full(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, float value) {
  ag_op_call c = {0};
  ag_fill_args_encode(&c, &(ag_fill_args){value});
  return ag_graph_source(g, AG_OP_FILL, &c, dt, ndim, shape);
}

static ag_status binary(ag_op op, ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return ag_op_eager(op, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_eager_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_ADD, y, a, b);
}

ag_status ag_eager_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_MUL, y, a, b);
}

ag_status ag_eager_div(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return binary(AG_OP_DIV, y, a, b);
}

ag_status ag_eager_scale(ag_tensor *y, const ag_tensor *a, float s) {
  ag_op_call c = {.in = {a}, .out = {y}};
  ag_unary_args_encode(&c, &(ag_unary_args){s});
  return ag_op_eager(AG_OP_SCALE, &c);
}

ag_status ag_eager_gelu(ag_tensor *y, const ag_tensor *x) {
  return ag_eager_unary(y, x, AG_OP_GELU);
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

ag_status ag_eager_cast(ag_tensor *y, const ag_tensor *x) {
  if (!y) return ag_set_error(AG_ERR_INVALID, "cast: output 0 is missing");
  ag_op_call c = {.in = {x}, .out = {y}};
  ag_cast_args_encode(&c, &(ag_cast_args){y->dtype});
  return ag_op_eager(AG_OP_CAST, &c);
}

ag_status ag_eager_fill(ag_tensor *y, float value) {
  ag_op_call c = {.out = {y}};
  ag_fill_args_encode(&c, &(ag_fill_args){value});
  return ag_op_eager(AG_OP_FILL, &c);
}

ag_status ag_eager_arange(ag_tensor *y, float start, float step) {
  ag_op_call c = {.out = {y}};
  ag_arange_args_encode(&c, &(ag_arange_args){start, step});
  return ag_op_eager(AG_OP_ARANGE, &c);
}
