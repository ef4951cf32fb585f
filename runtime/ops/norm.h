/* norm.h - eager API of the normalisation ops. Saved statistics (mean, rstd,
 * invstd) and running statistics are f32; the rest share x's dtype. */
#ifndef AG_OPS_NORM_H
#define AG_OPS_NORM_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LayerNorm over the last dim; w and b may both be NULL (no affine). mean
 * and rstd have one value per row. */
ag_status ag_eager_layernorm(ag_tensor *y, ag_tensor *mean, ag_tensor *rstd, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, float eps);
/* RMSNorm over the last dim with weight w. */
ag_status ag_eager_rmsnorm(ag_tensor *y, ag_tensor *rstd, const ag_tensor *x, const ag_tensor *w,
                           float eps);
/* GroupNorm of x [N, C, ...] in `groups` groups; mean and rstd are [N, groups]. */
ag_status ag_eager_groupnorm(ag_tensor *y, ag_tensor *mean, ag_tensor *rstd, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, int64_t groups, float eps);
/* BatchNorm of x [N, C, ...]. saved [2, C] receives the mean and invstd that
 * normalised x, running [2, C] the new running mean and variance (f32). */
ag_status ag_eager_batchnorm(ag_tensor *y, ag_tensor *saved, ag_tensor *running, const ag_tensor *x,
                             const ag_tensor *w, const ag_tensor *b, const ag_tensor *running_mean,
                             const ag_tensor *running_var, int training, float eps, float momentum);

#ifdef __cplusplus
}
#endif

#endif
