/* Shared model layers (see ag_layers.h). */
#include "ag_layers.h"

#include <math.h>
#include <stdio.h>

/* "<name>.<part>" into buf. */
static const char *sub(char *buf, size_t len, const char *name, const char *part) {
  snprintf(buf, len, "%s.%s", name, part);
  return buf;
}

/* PyTorch's default for Linear and Conv2d weights and biases:
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static ag_init fan_in_uniform(int64_t fan_in) {
  return (ag_init){AG_INIT_UNIFORM, 1.0f / sqrtf((float)fan_in)};
}

ag_tensor *ag_nn_weight(ag_graph *g, ag_params *p, const char *name, ag_dtype dt, int ndim,
                        const int64_t *shape, ag_init init) {
  return ag_nn_cast(g, ag_param(g, p, name, AG_F32, ndim, shape, init), dt);
}

ag_tensor *ag_nn_cast(ag_graph *g, ag_tensor *x, ag_dtype dt) {
  return x && x->dtype != dt ? ag_cast(g, x, dt) : x;
}

ag_tensor *ag_nn_linear(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t out,
                        int act, int bias) {
  char n[96];
  if (!x) return NULL;
  const int64_t in = x->shape[x->ndim - 1], ws[2] = {out, in};
  ag_tensor *w =
      ag_nn_weight(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 2, ws, fan_in_uniform(in));
  ag_tensor *b = bias ? ag_nn_weight(g, p, sub(n, sizeof n, name, "bias"), x->dtype, 1, &out,
                                     fan_in_uniform(in))
                      : NULL;
  return ag_linear(g, x, w, b, act);
}

ag_tensor *ag_nn_layernorm(ag_graph *g, ag_params *p, const char *name, ag_tensor *x) {
  char n[96];
  if (!x) return NULL;
  const int64_t c = x->shape[x->ndim - 1];
  ag_tensor *w = ag_nn_weight(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 1, &c,
                              (ag_init){AG_INIT_ONES, 0});
  ag_tensor *b = ag_nn_weight(g, p, sub(n, sizeof n, name, "bias"), x->dtype, 1, &c,
                              (ag_init){AG_INIT_ZEROS, 0});
  return ag_layernorm(g, x, w, b, 1e-5f);
}

ag_tensor *ag_nn_conv2d(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t cout,
                        int k, int stride) {
  char n[96];
  if (!x) return NULL;
  const int64_t cin = x->shape[1], ws[4] = {cout, cin, k, k};
  const ag_init init = fan_in_uniform(cin * k * k);
  ag_tensor *w = ag_nn_weight(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 4, ws, init);
  ag_tensor *b = ag_nn_weight(g, p, sub(n, sizeof n, name, "bias"), x->dtype, 1, &cout, init);
  const ag_conv2d_args cp = {{stride, stride}, {k / 2, k / 2}, {1, 1}, 1, 0};
  return ag_conv2d(g, x, w, b, &cp);
}

ag_tensor *ag_nn_groupnorm(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int groups) {
  char n[96];
  if (!x) return NULL;
  const int64_t c = x->shape[1];
  ag_tensor *w = ag_nn_weight(g, p, sub(n, sizeof n, name, "weight"), x->dtype, 1, &c,
                              (ag_init){AG_INIT_ONES, 0});
  ag_tensor *b = ag_nn_weight(g, p, sub(n, sizeof n, name, "bias"), x->dtype, 1, &c,
                              (ag_init){AG_INIT_ZEROS, 0});
  return ag_groupnorm(g, x, w, b, (ag_groupnorm_args){groups, 1e-5f});
}

ag_tensor *ag_nn_mlp(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t hidden) {
  char n[96];
  if (!x) return NULL;
  const int64_t c = x->shape[x->ndim - 1];
  ag_tensor *h =
      ag_nn_linear(g, p, sub(n, sizeof n, name, "fc1"), x, hidden, AG_MATMUL_EPI_GELU, 1);
  return ag_nn_linear(g, p, sub(n, sizeof n, name, "fc2"), h, c, AG_MATMUL_EPI_NONE, 1);
}

/* [B,T,C] -> [B,H,T,C/H] and back. */
static ag_tensor *split_heads(ag_graph *g, ag_tensor *x, int heads) {
  if (!x) return NULL;
  const int64_t s[4] = {x->shape[0], x->shape[1], heads, x->shape[2] / heads};
  static const int perm[4] = {0, 2, 1, 3};
  return ag_permute(g, ag_reshape(g, x, 4, s), perm);
}

static ag_tensor *merge_heads(ag_graph *g, ag_tensor *x) {
  if (!x) return NULL;
  static const int perm[4] = {0, 2, 1, 3};
  const int64_t s[3] = {x->shape[0], x->shape[2], x->shape[1] * x->shape[3]};
  return ag_reshape(g, ag_permute(g, x, perm), 3, s);
}

ag_tensor *ag_nn_attention(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                           ag_tensor *ctx, int heads, int causal) {
  char n[96];
  if (!x) return NULL;
  const int64_t c = x->shape[2];
  if (c % heads)
    return ag_graph_set_error(g, AG_ERR_INVALID, "attention: channels not divisible by heads"),
           NULL;
  if (!ctx) ctx = x;
  ag_tensor *q = split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "q"), x, c, 0, 1), heads);
  ag_tensor *k =
      split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "k"), ctx, c, 0, 1), heads);
  ag_tensor *v =
      split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "v"), ctx, c, 0, 1), heads);
  ag_tensor *o = merge_heads(g, ag_attention(g, q, k, v, (ag_attention_args){.causal = causal}));
  return ag_nn_linear(g, p, sub(n, sizeof n, name, "out"), o, c, 0, 1);
}

/* The pre-norm block behind both public ones: attention over ctx (NULL:
 * self-attention), so the two share their weights' names and layout. */
static ag_tensor *pre_norm_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                 ag_tensor *ctx, int heads, int causal) {
  char n[96], m[96];
  if (!x) return NULL;
  const int64_t c = x->shape[2]; /* read now: a failed add below gives NULL */
  ag_tensor *h = ag_nn_layernorm(g, p, sub(n, sizeof n, name, "ln1"), x);
  x = ag_add(g, x, ag_nn_attention(g, p, sub(m, sizeof m, name, "attn"), h, ctx, heads, causal));
  h = ag_nn_layernorm(g, p, sub(n, sizeof n, name, "ln2"), x);
  return ag_add(g, x, ag_nn_mlp(g, p, sub(m, sizeof m, name, "mlp"), h, 4 * c));
}

ag_tensor *ag_nn_transformer_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                   int heads, int causal) {
  return pre_norm_block(g, p, name, x, NULL, heads, causal);
}

ag_tensor *ag_nn_cross_attention_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                       ag_tensor *ctx, int heads) {
  return pre_norm_block(g, p, name, x, ctx, heads, 0);
}

ag_tensor *ag_nn_attention_kv(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int heads,
                              int causal, ag_nn_kv *kv) {
  char n[96];
  kv->keys = kv->values = NULL;
  if (!x) return NULL;
  const int64_t c = x->shape[2];
  if (c % heads)
    return ag_graph_set_error(g, AG_ERR_INVALID, "attention: channels not divisible by heads"),
           NULL;
  if (kv->past_k && causal && x->shape[1] != 1)
    return ag_graph_set_error(g, AG_ERR_INVALID,
                              "attention: causal attention over past keys takes one query"),
           NULL;
  ag_tensor *q = split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "q"), x, c, 0, 1), heads);
  ag_tensor *k = split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "k"), x, c, 0, 1), heads);
  ag_tensor *v = split_heads(g, ag_nn_linear(g, p, sub(n, sizeof n, name, "v"), x, c, 0, 1), heads);
  if (kv->past_k) {
    k = ag_concat(g, k, kv->past_k, 2);
    v = ag_concat(g, v, kv->past_v, 2);
  }
  kv->keys = k;
  kv->values = v;
  const ag_attention_args a = {.causal = causal};
  ag_tensor *o =
      kv->kv_len ? ag_attention_padded(g, q, k, v, kv->kv_len, a) : ag_attention(g, q, k, v, a);
  return ag_nn_linear(g, p, sub(n, sizeof n, name, "out"), merge_heads(g, o), c, 0, 1);
}

/* pre_norm_block's layout, with ag_nn_attention_kv as its attention. */
ag_tensor *ag_nn_transformer_block_kv(ag_graph *g, ag_params *p, const char *name, ag_tensor *x,
                                      int heads, int causal, ag_nn_kv *kv) {
  char n[96], m[96];
  kv->keys = kv->values = NULL;
  if (!x) return NULL;
  const int64_t c = x->shape[2];
  ag_tensor *h = ag_nn_layernorm(g, p, sub(n, sizeof n, name, "ln1"), x);
  x = ag_add(g, x, ag_nn_attention_kv(g, p, sub(m, sizeof m, name, "attn"), h, heads, causal, kv));
  h = ag_nn_layernorm(g, p, sub(n, sizeof n, name, "ln2"), x);
  return ag_add(g, x, ag_nn_mlp(g, p, sub(m, sizeof m, name, "mlp"), h, 4 * c));
}

ag_tensor *ag_nn_conv_block(ag_graph *g, ag_params *p, const char *name, ag_tensor *x, int64_t cout,
                            int groups) {
  char n[96];
  if (!x) return NULL;
  ag_tensor *h = ag_silu(g, ag_nn_groupnorm(g, p, sub(n, sizeof n, name, "norm1"), x, groups));
  h = ag_nn_conv2d(g, p, sub(n, sizeof n, name, "conv1"), h, cout, 3, 1);
  h = ag_silu(g, ag_nn_groupnorm(g, p, sub(n, sizeof n, name, "norm2"), h, groups));
  h = ag_nn_conv2d(g, p, sub(n, sizeof n, name, "conv2"), h, cout, 3, 1);
  ag_tensor *skip =
      x->shape[1] == cout ? x : ag_nn_conv2d(g, p, sub(n, sizeof n, name, "skip"), x, cout, 1, 1);
  return ag_add(g, h, skip);
}
