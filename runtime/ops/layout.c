/* Layout ops: shape inference. */
#include "ops_internal.h"

ag_status ag_infer_contiguous(const ag_op_call *c, ag_shape *out) {
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}
