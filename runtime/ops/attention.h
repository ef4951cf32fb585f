/* attention.h - typed arguments and graph builders of the
 * attention ops (see attention.list). */
#ifndef AG_OPS_ATTENTION_H
#define AG_OPS_ATTENTION_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* scale 0 means 1/sqrt(D) (applied where D is known); causal: key j is
 * visible to query i when j <= i + Tk - Tq. */
typedef struct ag_attention_args {
  float scale;
  int causal;
} ag_attention_args;

/* The one place a call's parameter slots are read or written for the family. */
void ag_attention_args_encode(ag_op_call *c, const ag_attention_args *a);
ag_attention_args ag_attention_args_decode(const ag_op_call *c);

/* Graph builders: o = softmax(scale * q k^T [causal mask]) v on q [B,H,Tq,D],
 * k and v [B,H,Tk,D]; the padded one masks out keys j >= kv_len[b] (kv_len
 * i32 [B]). The row log-sum-exp stays internal. Eager calls go through
 * ag_op_eager with the args encoded. */
ag_tensor *ag_attention(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v,
                        ag_attention_args args);
ag_tensor *ag_attention_padded(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v,
                               ag_tensor *kv_len, ag_attention_args args);

#ifdef __cplusplus
}
#endif

#endif
