/* embedding.h - typed arguments and graph builders of the
 * embedding ops. */
#ifndef AG_OPS_EMBEDDING_H
#define AG_OPS_EMBEDDING_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* The sinusoidal timestep embedding (diffusers get_timestep_embedding): dim
 * D columns, the cos half first when flip_sin_to_cos; max_period 0 means
 * 10000 (decode applies it). */
typedef struct ag_timestep_embedding_args {
  int64_t dim;
  int flip_sin_to_cos;
  float max_period, downscale_freq_shift;
} ag_timestep_embedding_args;

/* The one place a call's parameter slots are read or written for the family. */
void ag_timestep_embedding_args_encode(ag_op_call *c, const ag_timestep_embedding_args *a);
ag_timestep_embedding_args ag_timestep_embedding_args_decode(const ag_op_call *c);

/* Graph builders. y[..., d] = table[ids[...], d]; table [V, D], ids i32 with
 * 1 to 3 dims. */
ag_tensor *ag_embedding(ag_graph *g, ag_tensor *table, ag_tensor *ids);
/* y [N, dim] from timesteps t [N]; not differentiable. */
ag_tensor *ag_timestep_embedding(ag_graph *g, ag_tensor *t, ag_timestep_embedding_args args);

#ifdef __cplusplus
}
#endif

#endif
