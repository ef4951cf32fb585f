/* reduce.h - eager API of the reductions. */
#ifndef AG_OPS_REDUCE_H
#define AG_OPS_REDUCE_H

#include "runtime/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = x summed over its last dim, which y keeps with size 1. */
ag_status ag_sum(ag_tensor *y, const ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
