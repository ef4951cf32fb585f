/* Reductions: shape inference and eager API. */
#include "ops_internal.h"

ag_status ag_infer_sum(const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float("sum", "input 0", c->in[0]));
  if (c->in[0]->ndim == 0) return ag_set_error(AG_ERR_INVALID, "sum: input has no dims");
  out[0] = ag_shape_of(c->in[0]);
  out[0].dims[out[0].ndim - 1] = 1;
  return AG_OK;
}

ag_status ag_sum(ag_tensor *y, const ag_tensor *x) {
  return ag_op_eager(AG_OP_SUM, &(ag_op_call){.in = {x}, .out = {y}});
}
