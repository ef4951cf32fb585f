/* The ViT image encoder (see ag_vit.h). */
#include "ag_vit.h"

#include <math.h>
#include <stdio.h>

ag_status ag_vit_check(const ag_vit_config *c) {
  if (c->height < 1 || c->width < 1 || c->channels < 1)
    return ag_set_error(AG_ERR_INVALID, "vit: images %lldx%lldx%lld", (long long)c->channels,
                        (long long)c->height, (long long)c->width);
  if (c->patch < 1 || c->height % c->patch || c->width % c->patch)
    return ag_set_error(AG_ERR_INVALID, "vit: patch %lld does not divide %lldx%lld",
                        (long long)c->patch, (long long)c->height, (long long)c->width);
  if (c->dim < 1 || c->layers < 1 || c->heads < 1 || c->dim % c->heads)
    return ag_set_error(AG_ERR_INVALID, "vit: dim %lld, %lld layers, %lld heads (heads divide dim)",
                        (long long)c->dim, (long long)c->layers, (long long)c->heads);
  return AG_OK;
}

int64_t ag_vit_tokens(const ag_vit_config *c) {
  return (c->height / c->patch) * (c->width / c->patch) + 1;
}

static const char *sub(char *buf, size_t len, const char *prefix, const char *part) {
  snprintf(buf, len, "%s.%s", prefix, part);
  return buf;
}

/* [N, C, H, W] -> [N, patches, dim]: a patch-sized convolution at stride
 * patch (no padding), so each output pixel is one patch's linear embedding. */
static ag_tensor *embed_patches(ag_graph *g, ag_params *p, const char *prefix,
                                const ag_vit_config *c, ag_tensor *x) {
  char n[96];
  const int64_t k = c->patch, ws[4] = {c->dim, c->channels, k, k};
  const ag_init init = {AG_INIT_UNIFORM, 1.0f / sqrtf((float)(c->channels * k * k))};
  const char *wn = sub(n, sizeof n, prefix, "patch.weight");
  ag_tensor *w = ag_nn_weight(g, p, wn, x->dtype, 4, ws, init);
  ag_tensor *b =
      ag_nn_weight(g, p, sub(n, sizeof n, prefix, "patch.bias"), x->dtype, 1, &c->dim, init);
  const ag_conv2d_args args = {{k, k}, {0, 0}, {1, 1}, 1, 0};
  ag_tensor *y = ag_conv2d(g, x, w, b, &args);
  const int64_t flat[3] = {x->shape[0], c->dim, ag_vit_tokens(c) - 1};
  static const int to_tokens[3] = {0, 2, 1};
  return ag_permute(g, ag_reshape(g, y, 3, flat), to_tokens);
}

/* The class token in front of every image's patches, then the positions. */
static ag_tensor *add_class_and_positions(ag_graph *g, ag_params *p, const char *prefix,
                                          const ag_vit_config *c, ag_tensor *patches) {
  char n[96];
  if (!patches) return NULL;
  const ag_init init = {AG_INIT_NORMAL, 0.02f};
  const int64_t cs[3] = {1, 1, c->dim}, ps[3] = {1, ag_vit_tokens(c), c->dim};
  const int64_t bs[3] = {patches->shape[0], 1, c->dim};
  const ag_dtype dt = patches->dtype;
  ag_tensor *cls = ag_nn_weight(g, p, sub(n, sizeof n, prefix, "cls"), dt, 3, cs, init);
  ag_tensor *pos = ag_nn_weight(g, p, sub(n, sizeof n, prefix, "pos"), dt, 3, ps, init);
  /* concat takes equal batch dims: broadcast the token over the batch first */
  ag_tensor *cls_rows = ag_add(g, ag_full(g, dt, 3, bs, 0.0f), cls);
  return ag_add(g, ag_concat(g, cls_rows, patches, 1), pos);
}

ag_tensor *ag_vit_forward(ag_graph *g, ag_params *p, const char *prefix, const ag_vit_config *c,
                          ag_tensor *x) {
  char n[96];
  if (!x) return NULL;
  if (ag_vit_check(c) != AG_OK) return ag_graph_set_error(g, AG_ERR_INVALID, ag_last_error()), NULL;
  if (x->ndim != 4 || x->shape[1] != c->channels || x->shape[2] != c->height ||
      x->shape[3] != c->width)
    return ag_graph_set_error(g, AG_ERR_INVALID, "vit: images are not [N, C, H, W] of the config"),
           NULL;
  x = ag_nn_cast(g, x, ag_params_compute_dtype(p));
  ag_tensor *h = add_class_and_positions(g, p, prefix, c, embed_patches(g, p, prefix, c, x));
  for (int64_t l = 0; l < c->layers; l++) {
    snprintf(n, sizeof n, "%s.blocks.%lld", prefix, (long long)l);
    h = ag_nn_transformer_block(g, p, n, h, (int)c->heads, 0);
  }
  ag_tensor *cls = NULL, *rest = NULL;
  if (!h || ag_split(g, h, 1, 1, &cls, &rest) != AG_OK) return NULL;
  const int64_t feat[2] = {x->shape[0], c->dim};
  return ag_nn_layernorm(g, p, sub(n, sizeof n, prefix, "ln_post"), ag_reshape(g, cls, 2, feat));
}
