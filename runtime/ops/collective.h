/* collective.h - typed arguments and graph builders of the collective ops
 * (runtime/ops/collective.list); the communicator is runtime/dist/ag_comm.h. */
#ifndef AG_OPS_COLLECTIVE_H
#define AG_OPS_COLLECTIVE_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* The number of ranks whose tensors are gathered: shape inference needs it,
 * and running the op checks it against the backend's communicator. */
typedef struct ag_all_gather_args {
  int world;
} ag_all_gather_args;

void ag_all_gather_args_encode(ag_op_call *c, const ag_all_gather_args *a);
ag_all_gather_args ag_all_gather_args_decode(const ag_op_call *c);

/* y [world * n, ...]: every rank's x [n, ...] in rank order along axis 0. */
ag_tensor *ag_all_gather(ag_graph *g, ag_tensor *x, int world);

#ifdef __cplusplus
}
#endif

#endif
