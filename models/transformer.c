/* The transformer stack (see ag_transformer.h). */
#include "ag_transformer.h"

#include <stdio.h>

ag_tensor *ag_transformer_logits(ag_graph *g, ag_params *p, const ag_transformer_config *c,
                                 ag_tensor *x) {
  if (!x) return NULL;
  const int64_t flat[2] = {x->shape[0] * x->shape[1], x->shape[2]};
  ag_tensor *h = x;
  for (int64_t l = 0; l < c->layers; l++) {
    char name[32];
    snprintf(name, sizeof name, "blocks.%lld", (long long)l);
    h = ag_nn_transformer_block(g, p, name, h, (int)c->heads, c->causal);
  }
  h = ag_reshape(g, ag_nn_layernorm(g, p, "ln_f", h), 2, flat);
  return ag_nn_linear(g, p, "head", h, c->classes, AG_MATMUL_EPI_NONE, 1);
}
