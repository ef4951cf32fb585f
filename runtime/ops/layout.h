/* layout.h - ops that move data between layouts: typed arguments, graph
 * builders and eager API. Axes may be negative (counted from the end). */
#ifndef AG_OPS_LAYOUT_H
#define AG_OPS_LAYOUT_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* CONCAT and GATHER: the axis they work along. */
typedef struct ag_axis_args {
  int axis;
} ag_axis_args;

/* SPLIT: y0 takes the first `first` entries along `axis`, y1 the rest. */
typedef struct ag_split_args {
  int axis;
  int64_t first;
} ag_split_args;

void ag_axis_args_encode(ag_op_call *c, const ag_axis_args *a);
ag_axis_args ag_axis_args_decode(const ag_op_call *c);
void ag_split_args_encode(ag_op_call *c, const ag_split_args *a);
ag_split_args ag_split_args_decode(const ag_op_call *c);

/* Graph builders. */
ag_tensor *ag_concat(ag_graph *g, ag_tensor *a, ag_tensor *b, int axis);
ag_status ag_split(ag_graph *g, ag_tensor *x, int axis, int64_t at, ag_tensor **y0, ag_tensor **y1);
ag_tensor *ag_gather(ag_graph *g, ag_tensor *x, ag_tensor *idx, int axis);

/* A new contiguous copy of any view, on the same backend: the eager form
 * of CONTIGUOUS. (The tensor layer copies only contiguous data; copying a
 * strided view takes a kernel, so it lives here, above it.) */
ag_tensor *ag_tensor_contiguous(const ag_tensor *t);
/* A new contiguous copy of any view on another backend. */
ag_tensor *ag_tensor_to(const ag_tensor *t, ag_backend *be);

/* y = x.index_select(axis, idx), idx an i32 vector. */
ag_status ag_eager_gather(ag_tensor *y, const ag_tensor *x, const ag_tensor *idx, int axis);

#ifdef __cplusplus
}
#endif

#endif
