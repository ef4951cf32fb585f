/* reduce.h - eager API of the reductions. */
#ifndef AG_OPS_REDUCE_H
#define AG_OPS_REDUCE_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y = x summed over its last dim, which y keeps with size 1. */
ag_status ag_eager_sum(ag_tensor *y, const ag_tensor *x);

/* y = x reduced over `axis` (negative counts from the end); y keeps the axis
 * with size 1 when `keepdim`, else drops it. */
ag_status ag_eager_sum_axis(ag_tensor *y, const ag_tensor *x, int axis, int keepdim);
ag_status ag_eager_mean(ag_tensor *y, const ag_tensor *x, int axis, int keepdim);
ag_status ag_eager_max(ag_tensor *y, const ag_tensor *x, int axis, int keepdim);

#ifdef __cplusplus
}
#endif

#endif
