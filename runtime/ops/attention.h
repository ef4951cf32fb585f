/* attention.h - eager API of the attention ops (see attention.list). */
#ifndef AG_OPS_ATTENTION_H
#define AG_OPS_ATTENTION_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* o = softmax(scale * q k^T [causal mask]) v over [B, H, T, D] tensors; lse
 * (f32 [B, H, Tq]) receives the row log-sum-exp. scale 0 means 1/sqrt(D). */
ag_status ag_eager_attention(ag_tensor *o, ag_tensor *lse, const ag_tensor *q, const ag_tensor *k,
                             const ag_tensor *v, float scale, int causal);
/* The same with keys j >= kv_len[b] masked out (kv_len: i32 [B]). */
ag_status ag_eager_attention_padded(ag_tensor *o, ag_tensor *lse, const ag_tensor *q,
                                    const ag_tensor *k, const ag_tensor *v, const ag_tensor *kv_len,
                                    float scale, int causal);

#ifdef __cplusplus
}
#endif

#endif
