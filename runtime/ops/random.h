/* random.h - eager API of the Philox random fills. The stream for a seed is
 * the same on every backend; element i of a fill is stream value offset + i. */
#ifndef AG_OPS_RANDOM_H
#define AG_OPS_RANDOM_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_status ag_eager_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi);
ag_status ag_eager_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean, float std);

#ifdef __cplusplus
}
#endif

#endif
