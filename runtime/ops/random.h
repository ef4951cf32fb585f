/* random.h - typed arguments, graph builders and eager API of the Philox
 * random fills. The stream for a seed is the same on every backend; element
 * i of a fill is stream value offset + i. */
#ifndef AG_OPS_RANDOM_H
#define AG_OPS_RANDOM_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* FILL_UNIFORM: y ~ U[lo, hi) from Philox(seed, offset). */
typedef struct ag_uniform_args {
  uint64_t seed, offset;
  float lo, hi;
} ag_uniform_args;

/* FILL_NORMAL: y ~ N(mean, std^2) from Philox(seed, offset). */
typedef struct ag_normal_args {
  uint64_t seed, offset;
  float mean, std;
} ag_normal_args;

void ag_uniform_args_encode(ag_op_call *c, const ag_uniform_args *a);
ag_uniform_args ag_uniform_args_decode(const ag_op_call *c);
void ag_normal_args_encode(ag_op_call *c, const ag_normal_args *a);
ag_normal_args ag_normal_args_decode(const ag_op_call *c);

/* Graph builders: a new tensor of the given float dtype and shape, drawn
 * from U[0, 1) (ag_rand) or N(0, 1) (ag_randn); the same seed and offset
 * give the same values as the eager fills, on every backend. */
ag_tensor *ag_rand(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed,
                   uint64_t offset);
ag_tensor *ag_randn(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed,
                    uint64_t offset);

ag_status ag_eager_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi);
ag_status ag_eager_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean, float std);

#ifdef __cplusplus
}
#endif

#endif
