/* matmul.h - eager API of the matmul ops: batched matrix products with an
 * optional bias and activation epilogue (see runtime/ops/matmul.list). */
#ifndef AG_OPS_MATMUL_H
#define AG_OPS_MATMUL_H

#include "kernels/common/ag_epilogue.h"
#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags of a matmul: transposes and the activation applied last. */
typedef struct ag_matmul_opts {
  int trans_a, trans_b;
  int epilogue; /* 0 none, 1 relu, 2 gelu (tanh) */
} ag_matmul_opts;

/* y = act(op(a) @ op(b)) */
ag_status ag_eager_matmul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                          ag_matmul_opts opts);
/* y = act(op(a) @ op(b) + bias) */
ag_status ag_eager_matmul_bias(ag_tensor *y, const ag_tensor *a, const ag_tensor *b,
                               const ag_tensor *bias, ag_matmul_opts opts);

#ifdef __cplusplus
}
#endif

#endif
