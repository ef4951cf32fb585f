/* softmax.h - eager API of the softmax and loss ops (see softmax.list). */
#ifndef AG_OPS_SOFTMAX_H
#define AG_OPS_SOFTMAX_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Softmax over the last dim of scale * x (scale 0 means 1); `causal` masks
 * a [.., T, S] input bottom-right aligned (needs S >= T). */
ag_status ag_eager_softmax(ag_tensor *y, const ag_tensor *x, float scale, int causal);
ag_status ag_eager_log_softmax(ag_tensor *y, const ag_tensor *x);
/* Per-row losses f32 [N] and logsumexp f32 [N] of logits [N, C] against i32
 * targets [N]. Rows whose target is ignore_index give 0 when has_ignore. */
ag_status ag_eager_cross_entropy(ag_tensor *losses, ag_tensor *lse, const ag_tensor *logits,
                                 const ag_tensor *targets, int has_ignore, int64_t ignore_index,
                                 float label_smoothing);
/* Mean losses into f32 [1]. */
ag_status ag_eager_mse_loss(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_eager_huber_loss(ag_tensor *y, const ag_tensor *a, const ag_tensor *b, float delta);

#ifdef __cplusplus
}
#endif

#endif
