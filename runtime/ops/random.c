/* Random fills: shape inference and eager API. A fill has no inputs, so its
 * output gives the shape. */
#include "ops_internal.h"

static ag_status infer_fill(const char *op, const ag_op_call *c, ag_shape *out) {
  if (!c->out[0]) return ag_set_error(AG_ERR_INVALID, "%s: output 0 is missing", op);
  AG_TRY(ag_op_require_float(op, "output 0", c->out[0]));
  out[0] = ag_shape_of(c->out[0]);
  return AG_OK;
}

ag_status ag_infer_fill_uniform(const ag_op_call *c, ag_shape *out) {
  return infer_fill("fill_uniform", c, out);
}

ag_status ag_infer_fill_normal(const ag_op_call *c, ag_shape *out) {
  return infer_fill("fill_normal", c, out);
}

ag_status ag_eager_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi) {
  return ag_op_eager(AG_OP_FILL_UNIFORM,
                     &(ag_op_call){.out = {y}, .f = {lo, hi}, .u = {seed, offset}});
}

ag_status ag_eager_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean,
                               float std) {
  return ag_op_eager(AG_OP_FILL_NORMAL,
                     &(ag_op_call){.out = {y}, .f = {mean, std}, .u = {seed, offset}});
}
