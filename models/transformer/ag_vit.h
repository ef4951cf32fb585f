/* ag_vit.h - a Vision Transformer image encoder (Dosovitskiy et al., 2020):
 * non-overlapping patches embedded by a convolution whose stride is the patch
 * size, a learned class token in front, learned positions, pre-norm
 * bidirectional transformer blocks, and a final layernorm of the class
 * token, which is the image's feature. CLIP's image tower. */
#ifndef AG_VIT_H
#define AG_VIT_H

#include "models/ag_layers.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_vit_config {
  int64_t height, width, channels; /* input images [N, channels, height, width] */
  int64_t patch;                   /* divides height and width */
  int64_t dim, layers, heads;      /* heads divides dim */
} ag_vit_config;

/* AG_OK, or AG_ERR_INVALID naming the first field out of range. */
ag_status ag_vit_check(const ag_vit_config *c);
/* Tokens the blocks see: the patches plus the class token. */
int64_t ag_vit_tokens(const ag_vit_config *c);

/* The class-token feature [N, dim] of images x [N, channels, height, width].
 * Weights are "<prefix>.patch", "<prefix>.cls" [1, 1, dim], "<prefix>.pos"
 * [1, tokens, dim], "<prefix>.blocks.<i>" and "<prefix>.ln_post". */
ag_tensor *ag_vit_forward(ag_graph *g, ag_params *p, const char *prefix, const ag_vit_config *c,
                          ag_tensor *x);

#ifdef __cplusplus
}
#endif

#endif
