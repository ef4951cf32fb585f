/* elementwise.h - eager API of the elementwise ops. Binary ops broadcast
 * numpy-style; y must have the broadcast shape. */
#ifndef AG_OPS_ELEMENTWISE_H
#define AG_OPS_ELEMENTWISE_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_status ag_eager_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_sub(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_div(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_scale(ag_tensor *y, const ag_tensor *a, float s);
ag_status ag_eager_gelu(ag_tensor *y, const ag_tensor *x);
ag_status ag_eager_silu(ag_tensor *y, const ag_tensor *x);
/* y = op(x) for a unary op without parameters: AG_OP_EXP, AG_OP_LOG,
 * AG_OP_SQRT, AG_OP_RSQRT, AG_OP_RELU, AG_OP_GELU, AG_OP_SILU, AG_OP_SIGMOID,
 * AG_OP_TANH, AG_OP_SOFTPLUS, AG_OP_TRUNC_EXP. */
ag_status ag_eager_unary(ag_tensor *y, const ag_tensor *x, ag_op op);
ag_status ag_eager_leaky_relu(ag_tensor *y, const ag_tensor *x, float slope);
/* y = x converted to y's dtype. */
ag_status ag_eager_cast(ag_tensor *y, const ag_tensor *x);
ag_status ag_eager_fill(ag_tensor *y, float value);
ag_status ag_eager_arange(ag_tensor *y, float start, float step);

#ifdef __cplusplus
}
#endif

#endif
