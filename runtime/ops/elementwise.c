/* Elementwise ops: shape inference and eager API. */
#include "ops_internal.h"

static ag_status infer_binary(const char *op, const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float(op, "input 0", c->in[0]));
  AG_TRY(ag_op_require_same(op, "inputs differ", c->in[0], c->in[1]));
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

static ag_status infer_unary(const char *op, const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float(op, "input 0", c->in[0]));
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

ag_status ag_infer_add(const ag_op_call *c, ag_shape *out) { return infer_binary("add", c, out); }
ag_status ag_infer_mul(const ag_op_call *c, ag_shape *out) { return infer_binary("mul", c, out); }
ag_status ag_infer_scale(const ag_op_call *c, ag_shape *out) { return infer_unary("scale", c, out); }
ag_status ag_infer_gelu(const ag_op_call *c, ag_shape *out) { return infer_unary("gelu", c, out); }
ag_status ag_infer_silu(const ag_op_call *c, ag_shape *out) { return infer_unary("silu", c, out); }

ag_status ag_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return ag_op_eager(AG_OP_ADD, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b) {
  return ag_op_eager(AG_OP_MUL, &(ag_op_call){.in = {a, b}, .out = {y}});
}

ag_status ag_scale(ag_tensor *y, const ag_tensor *a, float s) {
  return ag_op_eager(AG_OP_SCALE, &(ag_op_call){.in = {a}, .out = {y}, .f = {s}});
}

ag_status ag_gelu(ag_tensor *y, const ag_tensor *x) {
  return ag_op_eager(AG_OP_GELU, &(ag_op_call){.in = {x}, .out = {y}});
}

ag_status ag_silu(ag_tensor *y, const ag_tensor *x) {
  return ag_op_eager(AG_OP_SILU, &(ag_op_call){.in = {x}, .out = {y}});
}
