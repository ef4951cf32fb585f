/* ag_transformer.h - a stack of pre-norm transformer blocks with a final
 * layernorm and a dense head: the trunk of a language model or of CLIP's
 * towers, and the training graph the scheduler's tests and benches use. */
#ifndef AG_TRANSFORMER_H
#define AG_TRANSFORMER_H

#include "ag_layers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_transformer_config {
  int64_t layers, heads;
  int64_t classes; /* outputs of the head */
  int causal;
} ag_transformer_config;

/* Logits [B*T, classes] of activations x [B, T, C]: blocks "blocks.<i>",
 * final layernorm "ln_f", head "head". */
ag_tensor *ag_transformer_logits(ag_graph *g, ag_params *p, const ag_transformer_config *c,
                                 ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
