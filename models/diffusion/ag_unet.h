/* ag_unet.h - the denoiser of the diffusion pipeline: a DDPM-style UNet
 * (Ho et al., 2020, as diffusers' UNet2DModel lays it out) over one-channel
 * images, conditioned on the timestep and, for classifier-free guidance, on
 * a class with a null class.
 *
 * Layout, for levels l = 0..L-1 at resolutions H, H/2, ... (channels
 * base * mult[l]):
 *   conv_in 3x3 -> per level: `blocks` residual blocks (each followed by
 *   self-attention where attn[l]), then a stride-2 3x3 conv (all but the
 *   last level) -> middle: block, attention, block -> per level, deepest
 *   first: blocks + 1 residual blocks over the concatenation with the skip
 *   saved on the way down (attention where attn[l]), then nearest 2x
 *   upsampling and a 3x3 conv (all but the top) -> GroupNorm, SiLU, conv_out.
 * A residual block is GroupNorm, SiLU, conv 3x3, plus a per-channel shift
 * from the embedding, GroupNorm, SiLU, conv 3x3, plus the input (through a
 * 1x1 conv when the channel count changes). Attention is pre-GroupNorm
 * multi-head self-attention over the H*W positions with heads of head_dim
 * channels (the flash-attention op; 32 or 64 run on CUDA), added back.
 * The embedding is the sinusoidal timestep embedding of `base` channels
 * (cos first, as diffusers' flip_sin_to_cos) through Linear, SiLU, Linear
 * to 4 * base, plus a learned class embedding: `classes` rows and a last
 * row for the null class (AG_UNET_NULL_CLASS), which label dropout trains
 * and the unconditional half of guidance uses. */
#ifndef AG_UNET_H
#define AG_UNET_H

#include "runtime/graph/ag_params.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_UNET_MAX_LEVELS 4

typedef struct ag_unet_config {
  int64_t height, width, channels; /* the images: 28 x 28 x 1 */
  int64_t base;                    /* channels of level 0 */
  int64_t levels;                  /* resolutions, halved between levels */
  int64_t mult[AG_UNET_MAX_LEVELS]; /* channel multiplier of each level */
  int64_t attn[AG_UNET_MAX_LEVELS]; /* 1: self-attention at that level */
  int64_t blocks;                  /* residual blocks per level going down */
  int64_t head_dim;                /* channels per attention head */
  int64_t groups;                  /* GroupNorm groups */
  int64_t classes;                 /* class ids 0..classes-1; 0: unconditional */
} ag_unet_config;

/* The class id of "no class" (the null class of classifier-free guidance). */
#define AG_UNET_NULL_CLASS(c) ((int32_t)(c)->classes)

/* The default for Fashion-MNIST (28x28x1, 10 classes): base 32, levels
 * 28/14/7 with multipliers 1, 2, 2, one block per level, attention at 7x7
 * (two heads of 32), 8 groups. */
ag_unet_config ag_unet_default_config(void);
/* AG_OK, or AG_ERR_INVALID naming the first field out of range (sizes that
 * do not halve evenly, channels not divisible by groups or head_dim). */
ag_status ag_unet_check(const ag_unet_config *c);

/* The predicted noise (or v, or x0: what it was trained for), [B, C, H, W]
 * f32, of x_t [B, C, H, W] at timesteps t (f32 [B], the scheduler's values)
 * with class ids labels (i32 [B], AG_UNET_NULL_CLASS for none; NULL when
 * classes is 0). Weights are "<part>.<layer>.<weight>" in p. */
ag_tensor *ag_unet(ag_graph *g, ag_params *p, const ag_unet_config *c, ag_tensor *x, ag_tensor *t,
                   ag_tensor *labels);

/* Creates every parameter (initialised from p's seed) without running. */
ag_status ag_unet_init(ag_params *p, const ag_unet_config *c);

#ifdef __cplusplus
}
#endif

#endif
