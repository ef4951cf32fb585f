/* elementwise.h - typed arguments, graph builders and eager API of the
 * elementwise ops. Binary ops broadcast numpy-style; y must have the
 * broadcast shape. */
#ifndef AG_OPS_ELEMENTWISE_H
#define AG_OPS_ELEMENTWISE_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* SCALE's factor or LEAKY_RELU's negative slope; the other unary ops take
 * none (their kernels ignore it). */
typedef struct ag_unary_args {
  float param;
} ag_unary_args;

/* CAST: the target dtype (f32, f16, bf16 or i32). */
typedef struct ag_cast_args {
  ag_dtype dtype;
} ag_cast_args;

/* FILL: the value every element takes. */
typedef struct ag_fill_args {
  float value;
} ag_fill_args;

/* ARANGE: y[i] = start + i * step. */
typedef struct ag_arange_args {
  float start, step;
} ag_arange_args;

void ag_unary_args_encode(ag_op_call *c, const ag_unary_args *a);
ag_unary_args ag_unary_args_decode(const ag_op_call *c);
void ag_cast_args_encode(ag_op_call *c, const ag_cast_args *a);
ag_cast_args ag_cast_args_decode(const ag_op_call *c);
void ag_fill_args_encode(ag_op_call *c, const ag_fill_args *a);
ag_fill_args ag_fill_args_decode(const ag_op_call *c);
void ag_arange_args_encode(ag_op_call *c, const ag_arange_args *a);
ag_arange_args ag_arange_args_decode(const ag_op_call *c);

/* Graph builders. */
ag_tensor *ag_add(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_sub(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_mul(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_div(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_scale(ag_graph *g, ag_tensor *x, float s);
/* Any parameterless unary op (AG_OP_RELU, AG_OP_GELU, AG_OP_EXP, ...). */
ag_tensor *ag_unary(ag_graph *g, ag_op op, ag_tensor *x);
ag_tensor *ag_relu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_gelu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_silu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_leaky_relu(ag_graph *g, ag_tensor *x, float slope);
ag_tensor *ag_cast(ag_graph *g, ag_tensor *x, ag_dtype dt);
/* A tensor of the given shape filled with `value`. */
ag_tensor *ag_full(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, float value);

/* Eager API. */
ag_status ag_eager_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_div(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_scale(ag_tensor *y, const ag_tensor *a, float s);
ag_status ag_eager_gelu(ag_tensor *y, const ag_tensor *x);
/* y = op(x) for a unary op without parameters: AG_OP_EXP, AG_OP_LOG,
 * AG_OP_SQRT, AG_OP_RSQRT, AG_OP_RELU, AG_OP_GELU, AG_OP_SILU, AG_OP_SIGMOID,
 * AG_OP_TANH, AG_OP_SOFTPLUS, AG_OP_TRUNC_EXP. */
ag_status ag_eager_unary(ag_tensor *y, const ag_tensor *x, ag_op op);
/* y = x converted to y's dtype. */
ag_status ag_eager_cast(ag_tensor *y, const ag_tensor *x);
ag_status ag_eager_fill(ag_tensor *y, float value);
ag_status ag_eager_arange(ag_tensor *y, float start, float step);

#ifdef __cplusplus
}
#endif

#endif
