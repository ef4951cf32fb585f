/* ops_internal.h - what op families share: each op's inference function and
 * binding, and helpers for writing them. Not part of the public API. */
#ifndef AG_OPS_INTERNAL_H
#define AG_OPS_INTERNAL_H

#include "ag_ops.h"

/* How an op runs: kernel calls for a call that runtime/ops/ops.c checked.
 * supports() says whether the backend's kernels admit a call (NULL: all
 * that the op's inference accepts); it leaves the reason in ag_last_error. */
typedef ag_status (*ag_op_fn)(const ag_op_call *call);
typedef struct ag_op_binding {
  ag_op_fn forward;
  ag_op_fn backward; /* NULL for ops without a gradient */
  ag_status (*supports)(const ag_op_call *call, int backward);
} ag_op_binding;

/* Each op's shape inference (in <family>.c) and binding (bind_<family>.c). */
#define AG_OP(ID, name, n_in, n_out, grad, strided, inplace)                                      \
  ag_status ag_infer_##name(const ag_op_call *c, ag_shape *out);                                  \
  extern const ag_op_binding ag_bind_##name;
#include "ag_family_lists.h"
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
