/* reduce.h - typed arguments, graph builders and eager API of the
 * reductions. */
#ifndef AG_OPS_REDUCE_H
#define AG_OPS_REDUCE_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* Every reduction: the axis (negative counts from the end), and whether y
 * keeps it with size 1 (keepdim) or drops it. */
typedef struct ag_reduce_args {
  int axis;
  int keepdim;
} ag_reduce_args;

void ag_reduce_args_encode(ag_op_call *c, const ag_reduce_args *a);
ag_reduce_args ag_reduce_args_decode(const ag_op_call *c);

/* Graph builders. */
ag_tensor *ag_sum(ag_graph *g, ag_tensor *x, int axis, int keepdim);
ag_tensor *ag_mean(ag_graph *g, ag_tensor *x, int axis, int keepdim);
/* The mean of every element, as a [1] tensor. */
ag_tensor *ag_mean_all(ag_graph *g, ag_tensor *x);

/* y = x summed over its last dim, which y keeps with size 1. */
ag_status ag_eager_sum(ag_tensor *y, const ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
