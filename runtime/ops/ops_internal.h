/* ops_internal.h - what op families share: the inference functions named in
 * ag_op_list.h and helpers for writing them. Not part of the public API. */
#ifndef AG_OPS_INTERNAL_H
#define AG_OPS_INTERNAL_H

#include "ag_ops.h"

#define AG_OP(ID, name, n_in, n_out, grad, strided)                            \
  ag_status ag_infer_##name(const ag_op_call *c, ag_shape *out);
#include "ag_op_list.h"
#undef AG_OP

/* Errors that name the op: "add: inputs differ: f32[2,3] vs f32[3,2]". */
ag_status ag_op_error_shapes(const char *op, const char *what, const ag_tensor *a,
                             const ag_tensor *b);
/* Requires a float dtype (f32, f16, bf16). */
ag_status ag_op_require_float(const char *op, const char *role, const ag_tensor *t);
/* Requires equal shapes and dtypes. */
ag_status ag_op_require_same(const char *op, const char *what, const ag_tensor *a,
                             const ag_tensor *b);

#endif
