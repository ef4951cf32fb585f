/* matmul.h - typed arguments, graph builders and eager API of the matmul
 * ops: batched matrix products with an optional bias and activation epilogue
 * (see runtime/ops/matmul.list). */
#ifndef AG_OPS_MATMUL_H
#define AG_OPS_MATMUL_H

#include "kernels/common/ag_epilogue.h"
#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* Arguments of matmul and matmul_bias: transposes and the activation
 * applied last. */
typedef struct ag_matmul_args {
  int trans_a, trans_b;
  int epilogue; /* AG_MATMUL_EPI_*: 0 none, 1 relu, 2 gelu (tanh) */
} ag_matmul_args;

/* The one place a call's parameter slots are read or written for the family. */
void ag_matmul_args_encode(ag_op_call *c, const ag_matmul_args *a);
ag_matmul_args ag_matmul_args_decode(const ag_op_call *c);

/* Graph builders. y = a @ b. */
ag_tensor *ag_matmul(ag_graph *g, ag_tensor *a, ag_tensor *b);
/* y = act(op(a) @ op(b) + bias); bias [N] or NULL (then the op matmul). */
ag_tensor *ag_matmul_ex(ag_graph *g, ag_tensor *a, ag_tensor *b, ag_tensor *bias,
                        ag_matmul_args args);
/* A dense layer in PyTorch's layout: y = act(x @ w^T + bias), w [out, in],
 * bias [out] or NULL; act is an AG_MATMUL_EPI_* epilogue. */
ag_tensor *ag_linear(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias, int act);

/* y = act(op(a) @ op(b)) */
ag_status ag_eager_matmul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                          ag_matmul_args args);
/* y = act(op(a) @ op(b) + bias) */
ag_status ag_eager_matmul_bias(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                               const ag_tensor *bias, ag_matmul_args args);

#ifdef __cplusplus
}
#endif

#endif
