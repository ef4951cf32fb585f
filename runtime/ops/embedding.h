/* embedding.h - eager API of the embedding ops. */
#ifndef AG_OPS_EMBEDDING_H
#define AG_OPS_EMBEDDING_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y[..., d] = table[ids[...], d]; table [V, D], ids i32 with 1 to 3 dims. */
ag_status ag_eager_embedding(ag_tensor *y, const ag_tensor *table, const ag_tensor *ids);

/* y [N, D] = sinusoidal embedding of timesteps t [N] (diffusers
 * get_timestep_embedding); max_period 0 means 10000. */
ag_status ag_eager_timestep_embedding(ag_tensor *y, const ag_tensor *t, int flip_sin_to_cos,
                                      float max_period, float downscale_freq_shift);

#ifdef __cplusplus
}
#endif

#endif
