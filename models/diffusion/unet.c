/* The diffusion UNet as a graph (see ag_unet.h). */
#include "ag_unet.h"

#include <stdio.h>

#include "models/ag_layers.h"

#define MAX_BLOCKS 4
/* conv_in, then every block and every downsampling conv of the way down. */
#define MAX_SKIPS (1 + AG_UNET_MAX_LEVELS * (MAX_BLOCKS + 1))

ag_unet_config ag_unet_default_config(void) {
  return (ag_unet_config){.height = 28,
                          .width = 28,
                          .channels = 1,
                          .base = 32,
                          .levels = 3,
                          .mult = {1, 2, 2},
                          .attn = {0, 0, 1},
                          .blocks = 1,
                          .head_dim = 32,
                          .groups = 8,
                          .classes = 10};
}

static ag_status check_level(const ag_unet_config *c, int l) {
  const int64_t ch = c->base * c->mult[l];
  if (c->mult[l] < 1 || c->mult[l] > 16)
    return ag_set_error(AG_ERR_INVALID, "unet: mult[%d] = %lld, 1..16 expected", l,
                        (long long)c->mult[l]);
  if (ch % c->groups)
    return ag_set_error(AG_ERR_INVALID, "unet: %lld channels at level %d not divisible by %lld "
                        "groups", (long long)ch, l, (long long)c->groups);
  if (c->attn[l] != 0 && c->attn[l] != 1)
    return ag_set_error(AG_ERR_INVALID, "unet: attn[%d] = %lld, 0 or 1 expected", l,
                        (long long)c->attn[l]);
  if (c->attn[l] && ch % c->head_dim)
    return ag_set_error(AG_ERR_INVALID, "unet: %lld channels at level %d not divisible by "
                        "head_dim %lld", (long long)ch, l, (long long)c->head_dim);
  return AG_OK;
}

ag_status ag_unet_check(const ag_unet_config *c) {
  if (c->height < 1 || c->width < 1 || c->channels < 1 || c->channels > 4)
    return ag_set_error(AG_ERR_INVALID, "unet: images %lldx%lldx%lld out of range",
                        (long long)c->height, (long long)c->width, (long long)c->channels);
  if (c->levels < 1 || c->levels > AG_UNET_MAX_LEVELS)
    return ag_set_error(AG_ERR_INVALID, "unet: levels %lld, 1..%d expected", (long long)c->levels,
                        AG_UNET_MAX_LEVELS);
  const int64_t down = (int64_t)1 << (c->levels - 1);
  if (c->height % down || c->width % down)
    return ag_set_error(AG_ERR_INVALID,
                        "unet: %lldx%lld images do not halve evenly %lld time(s) for %lld levels",
                        (long long)c->height, (long long)c->width, (long long)(c->levels - 1),
                        (long long)c->levels);
  if (c->base < 1 || c->blocks < 1 || c->blocks > MAX_BLOCKS || c->head_dim < 1 || c->groups < 1)
    return ag_set_error(AG_ERR_INVALID,
                        "unet: base %lld, blocks %lld (1..%d), head_dim %lld, groups %lld: each "
                        "must be positive",
                        (long long)c->base, (long long)c->blocks, MAX_BLOCKS,
                        (long long)c->head_dim, (long long)c->groups);
  if (c->classes < 0 || c->classes > 100000)
    return ag_set_error(AG_ERR_INVALID, "unet: classes %lld out of range", (long long)c->classes);
  for (int l = 0; l < c->levels; l++) AG_TRY(check_level(c, l));
  const int64_t mid = c->base * c->mult[c->levels - 1];
  if (mid % c->head_dim)
    return ag_set_error(AG_ERR_INVALID,
                        "unet: %lld channels in the middle (with attention) not divisible by "
                        "head_dim %lld",
                        (long long)mid, (long long)c->head_dim);
  return AG_OK;
}

/* "<a>.<b>" into buf. Names nest a few levels deep (down.1.block0.res.conv1
 * and the layer's .weight), each level's buffer larger than the one before. */
static const char *sub(char *buf, size_t len, const char *a, const char *b) {
  snprintf(buf, len, "%s.%s", a, b);
  return buf;
}

/* SiLU of the joint timestep + class embedding [B, 4 * base]: every
 * residual block projects it, always through a SiLU first. */
static ag_tensor *embedding(ag_graph *g, ag_params *p, const ag_unet_config *c, ag_tensor *t,
                            ag_tensor *labels) {
  const ag_timestep_embedding_args ta = {
      .dim = c->base, .flip_sin_to_cos = 1, .max_period = 10000.0f};
  const int64_t dim = 4 * c->base;
  ag_tensor *e = ag_timestep_embedding(g, t, ta);
  e = ag_silu(g, ag_nn_linear(g, p, "time_embed.fc1", e, dim, AG_MATMUL_EPI_NONE, 1));
  e = ag_nn_linear(g, p, "time_embed.fc2", e, dim, AG_MATMUL_EPI_NONE, 1);
  if (c->classes > 0) {
    const int64_t ts[2] = {c->classes + 1, dim};
    ag_tensor *table = ag_param(g, p, "class_embed.weight", AG_F32, 2, ts,
                                (ag_init){AG_INIT_NORMAL, 1.0f});
    e = ag_add(g, e, ag_embedding(g, table, labels));
  }
  return ag_silu(g, e);
}

/* The residual block of ag_unet.h; emb is the SiLU'd embedding. */
static ag_tensor *res_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                            ag_tensor *emb, int64_t cout, int groups) {
  char n[64];
  if (!x || !emb) return NULL;
  const int64_t b = x->shape[0], shift_shape[4] = {b, cout, 1, 1};
  ag_tensor *h = ag_silu(g, ag_nn_groupnorm(g, p, sub(n, sizeof n, name, "norm1"), x, groups));
  h = ag_nn_conv2d(g, p, sub(n, sizeof n, name, "conv1"), h, cout, 3, 1);
  ag_tensor *shift = ag_nn_linear(g, p, sub(n, sizeof n, name, "emb"), emb, cout, 0, 1);
  h = ag_add(g, h, ag_reshape(g, shift, 4, shift_shape));
  h = ag_silu(g, ag_nn_groupnorm(g, p, sub(n, sizeof n, name, "norm2"), h, groups));
  h = ag_nn_conv2d(g, p, sub(n, sizeof n, name, "conv2"), h, cout, 3, 1);
  ag_tensor *skip =
      x->shape[1] == cout ? x : ag_nn_conv2d(g, p, sub(n, sizeof n, name, "skip"), x, cout, 1, 1);
  return ag_add(g, h, skip);
}

/* x + attention over the H*W positions of groupnorm(x). */
static ag_tensor *attn_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                             const ag_unet_config *c) {
  char n[64];
  if (!x) return NULL;
  static const int to_tokens[3] = {0, 2, 1};
  const int64_t b = x->shape[0], ch = x->shape[1], hw = x->shape[2] * x->shape[3];
  const int64_t flat[3] = {b, ch, hw}, image[4] = {b, ch, x->shape[2], x->shape[3]};
  ag_tensor *h = ag_nn_groupnorm(g, p, sub(n, sizeof n, name, "norm"), x, (int)c->groups);
  h = ag_permute(g, ag_reshape(g, h, 3, flat), to_tokens);
  h = ag_nn_attention(g, p, sub(n, sizeof n, name, "attn"), h, NULL, (int)(ch / c->head_dim), 0);
  h = ag_reshape(g, ag_permute(g, h, to_tokens), 4, image);
  return ag_add(g, x, h);
}

/* A residual block at level l, then attention where the level has it. */
static ag_tensor *level_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                              ag_tensor *emb, const ag_unet_config *c, int l) {
  char n[48];
  x = res_block(g, p, sub(n, sizeof n, name, "res"), x, emb, c->base * c->mult[l],
                (int)c->groups);
  return c->attn[l] ? attn_block(g, p, sub(n, sizeof n, name, "attn"), x, c) : x;
}

typedef struct skips {
  ag_tensor *t[MAX_SKIPS];
  int n;
} skips;

static ag_tensor *push(skips *s, ag_tensor *x) {
  s->t[s->n++] = x;
  return x;
}

static ag_tensor *down_path(ag_graph *g, ag_params *p, const ag_unet_config *c, ag_tensor *h,
                            ag_tensor *emb, skips *s) {
  char n[32];
  push(s, h);
  for (int l = 0; l < c->levels; l++) {
    for (int b = 0; b < c->blocks; b++) {
      snprintf(n, sizeof n, "down.%d.block%d", l, b);
      h = push(s, level_block(g, p, n, h, emb, c, l));
    }
    if (l == c->levels - 1) break;
    snprintf(n, sizeof n, "down.%d.sample", l);
    h = push(s, ag_nn_conv2d(g, p, n, h, h ? h->shape[1] : 0, 3, 2));
  }
  return h;
}

static ag_tensor *up_path(ag_graph *g, ag_params *p, const ag_unet_config *c, ag_tensor *h,
                          ag_tensor *emb, skips *s) {
  char n[32];
  for (int l = (int)c->levels - 1; l >= 0; l--) {
    for (int b = 0; b <= c->blocks; b++) {
      snprintf(n, sizeof n, "up.%d.block%d", l, b);
      h = level_block(g, p, n, ag_concat(g, h, s->t[--s->n], 1), emb, c, l);
    }
    if (l == 0) break;
    snprintf(n, sizeof n, "up.%d.sample", l);
    h = ag_nn_conv2d(g, p, n, ag_upsample_nearest2x(g, h), h ? h->shape[1] : 0, 3, 1);
  }
  return h;
}

ag_tensor *ag_unet(ag_graph *g, ag_params *p, const ag_unet_config *c, ag_tensor *x, ag_tensor *t,
                   ag_tensor *labels) {
  if (!x || !t || (c->classes > 0 && !labels)) return NULL;
  if (ag_unet_check(c) != AG_OK) return ag_graph_set_error(g, AG_ERR_INVALID, ag_last_error()), NULL;
  ag_tensor *emb = embedding(g, p, c, t, labels);
  ag_tensor *h = ag_nn_conv2d(g, p, "conv_in", x, c->base * c->mult[0], 3, 1);
  skips s = {.n = 0};
  h = down_path(g, p, c, h, emb, &s);
  const int last = (int)c->levels - 1;
  h = res_block(g, p, "mid.res0", h, emb, c->base * c->mult[last], (int)c->groups);
  h = attn_block(g, p, "mid.attn", h, c);
  h = res_block(g, p, "mid.res1", h, emb, c->base * c->mult[last], (int)c->groups);
  h = up_path(g, p, c, h, emb, &s);
  h = ag_silu(g, ag_nn_groupnorm(g, p, "norm_out", h, (int)c->groups));
  return ag_nn_conv2d(g, p, "conv_out", h, c->channels, 3, 1);
}

ag_status ag_unet_init(ag_params *p, const ag_unet_config *c) {
  AG_TRY(ag_unet_check(c));
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return ag_set_error(AG_ERR_OOM, "unet: out of host memory");
  static const int64_t one = 1;
  const int64_t xs[4] = {1, c->channels, c->height, c->width};
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 4, xs);
  ag_tensor *t = ag_graph_input(g, "t", AG_F32, 1, &one);
  ag_tensor *labels = c->classes > 0 ? ag_graph_input(g, "labels", AG_I32, 1, &one) : NULL;
  ag_unet(g, p, c, x, t, labels);
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "unet: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}
