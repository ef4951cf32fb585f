/* CLIP's graphs: the two towers, their projections, the logits, the
 * symmetric InfoNCE loss and the temperature (see ag_clip.h). */
#include "ag_clip.h"

#include <math.h>
#include <stdio.h>

#include "ag_tokenizer.h"

ag_clip_config ag_clip_default_config(void) {
  return (ag_clip_config){.vision = {.height = 28,
                                     .width = 28,
                                     .channels = 1,
                                     .patch = 7,
                                     .dim = 64,
                                     .layers = 3,
                                     .heads = 2},
                          .text = {.vocab = AG_TOK_VOCAB,
                                   .context = AG_CLIP_CAPTION_MAX + 2,
                                   .dim = 64,
                                   .layers = 2,
                                   .heads = 2},
                          .embed_dim = 64,
                          .norm_mean = 0.2860f,
                          .norm_std = 0.3530f};
}

ag_status ag_clip_check(const ag_clip_config *c) {
  AG_TRY(ag_vit_check(&c->vision));
  if (c->vision.channels != 1)
    return ag_set_error(AG_ERR_INVALID, "clip: images of %lld channels (1 expected)",
                        (long long)c->vision.channels);
  const ag_clip_text_config *t = &c->text;
  if (t->vocab < 1 || t->context < 2 || t->dim < 1 || t->layers < 1 || t->heads < 1 ||
      t->dim % t->heads)
    return ag_set_error(AG_ERR_INVALID,
                        "clip: text tower vocab %lld, context %lld, dim %lld, %lld layers, "
                        "%lld heads (context >= 2, heads divide dim)",
                        (long long)t->vocab, (long long)t->context, (long long)t->dim,
                        (long long)t->layers, (long long)t->heads);
  if (c->embed_dim < 1 || !(c->norm_std > 0))
    return ag_set_error(AG_ERR_INVALID, "clip: embed dim %lld, pixel std %g",
                        (long long)c->embed_dim, c->norm_std);
  return AG_OK;
}

/* x / ||x|| along the last dim; the epsilon keeps a zero row finite. */
static ag_tensor *l2_normalise(ag_graph *g, ag_tensor *x) {
  if (!x) return NULL;
  static const int64_t one = 1;
  ag_tensor *sq = ag_sum(g, ag_mul(g, x, x), -1, 1);
  ag_tensor *inv = ag_unary(g, AG_OP_RSQRT, ag_add(g, sq, ag_full(g, AG_F32, 1, &one, 1e-12f)));
  return ag_mul(g, x, inv);
}

ag_tensor *ag_clip_image_embed(ag_graph *g, ag_params *p, const ag_clip_config *c,
                               ag_tensor *images) {
  ag_tensor *f = ag_vit_forward(g, p, "visual", &c->vision, images);
  ag_tensor *e = ag_nn_linear(g, p, "visual_proj", f, c->embed_dim, 0, 0);
  return l2_normalise(g, ag_nn_cast(g, e, AG_F32));
}

/* Token embeddings plus learned positions: [N, T] ids -> [N, T, dim], in
 * the compute dtype (the tables are looked up in f32). */
static ag_tensor *embed_tokens(ag_graph *g, ag_params *p, const ag_clip_text_config *t,
                               ag_tensor *ids) {
  const ag_init init = {AG_INIT_NORMAL, 0.02f};
  const int64_t es[2] = {t->vocab, t->dim}, ps[2] = {t->context, t->dim};
  ag_tensor *table = ag_param(g, p, "text.token_embedding", AG_F32, 2, es, init);
  ag_tensor *pos = ag_param(g, p, "text.pos", AG_F32, 2, ps, init);
  return ag_nn_cast(g, ag_add(g, ag_embedding(g, table, ids), pos), ag_params_compute_dtype(p));
}

ag_tensor *ag_clip_text_embed(ag_graph *g, ag_params *p, const ag_clip_config *c, ag_tensor *ids,
                              ag_tensor *eot_rows, ag_tensor **tokens) {
  const ag_clip_text_config *t = &c->text;
  if (tokens) *tokens = NULL;
  if (!ids || !eot_rows) return NULL;
  if (ids->ndim != 2 || ids->shape[1] != t->context || eot_rows->ndim != 1 ||
      eot_rows->shape[0] != ids->shape[0])
    return ag_graph_set_error(g, AG_ERR_INVALID,
                              "clip text: ids must be [N, context] and eot_rows [N]"),
           NULL;
  ag_tensor *h = embed_tokens(g, p, t, ids);
  for (int64_t l = 0; l < t->layers; l++) {
    char name[48];
    snprintf(name, sizeof name, "text.blocks.%lld", (long long)l);
    h = ag_nn_transformer_block(g, p, name, h, (int)t->heads, 1);
  }
  h = ag_nn_layernorm(g, p, "text.ln_final", h);
  if (tokens) *tokens = ag_nn_cast(g, h, AG_F32);
  const int64_t rows[2] = {ids->shape[0] * t->context, t->dim};
  ag_tensor *pooled = ag_gather(g, ag_reshape(g, h, 2, rows), eot_rows, 0);
  ag_tensor *e = ag_nn_linear(g, p, "text_proj", pooled, c->embed_dim, 0, 0);
  return l2_normalise(g, ag_nn_cast(g, e, AG_F32));
}

/* "logit_scale" [1], created at ln(1/0.07) (no ag_init kind gives a
 * constant, so a new one is written here). */
static ag_tensor *logit_scale(ag_graph *g, ag_params *p) {
  static const int64_t one = 1;
  const int fresh = ag_params_find(p, "logit_scale") == NULL;
  ag_tensor *s = ag_params_get(p, "logit_scale", AG_F32, 1, &one, (ag_init){AG_INIT_ZEROS, 0});
  const float init = AG_CLIP_LOGIT_SCALE_INIT;
  if (s && fresh && ag_tensor_write(s, &init, sizeof init) != AG_OK) s = NULL;
  if (!s) return ag_graph_set_error(g, AG_ERR_INVALID, ag_last_error()), NULL;
  return ag_graph_param(g, s);
}

ag_tensor *ag_clip_logits(ag_graph *g, ag_params *p, ag_tensor *img, ag_tensor *txt) {
  if (!img || !txt) return NULL;
  ag_tensor *cos = ag_matmul_ex(g, img, txt, NULL, (ag_matmul_args){.trans_b = 1});
  return ag_mul(g, cos, ag_unary(g, AG_OP_EXP, logit_scale(g, p)));
}

/* i32 [n] = 0, 1, ..., n - 1: pair i is class i. */
static ag_tensor *pair_targets(ag_graph *g, int64_t n) {
  ag_op_call call = {0};
  ag_arange_args_encode(&call, &(ag_arange_args){0.0f, 1.0f});
  return ag_graph_source(g, AG_OP_ARANGE, &call, AG_I32, 1, &n);
}

ag_tensor *ag_clip_loss(ag_graph *g, ag_params *p, ag_tensor *img, ag_tensor *txt, int world) {
  if (!img || !txt) return NULL;
  ag_tensor *all_img = ag_all_gather(g, img, world), *all_txt = ag_all_gather(g, txt, world);
  ag_tensor *logits = ag_clip_logits(g, p, all_img, all_txt);
  if (!logits) return NULL;
  static const int transpose[2] = {1, 0};
  ag_tensor *targets = pair_targets(g, logits->shape[0]);
  ag_tensor *image_to_text = ag_cross_entropy(g, logits, targets);
  ag_tensor *text_to_image = ag_cross_entropy(g, ag_permute(g, logits, transpose), targets);
  return ag_scale(g, ag_add(g, image_to_text, text_to_image), 0.5f);
}

/* Parameters are created by building a throwaway one-item graph of both
 * towers and the logits. */
ag_status ag_clip_init(ag_params *p, const ag_clip_config *c) {
  AG_TRY(ag_clip_check(c));
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return AG_ERR_OOM;
  const int64_t is[4] = {1, 1, c->vision.height, c->vision.width}, ts[2] = {1, c->text.context};
  static const int64_t one = 1;
  ag_tensor *img = ag_clip_image_embed(g, p, c, ag_graph_input(g, "images", AG_F32, 4, is));
  ag_tensor *ids = ag_graph_input(g, "ids", AG_I32, 2, ts);
  ag_tensor *eot = ag_graph_input(g, "eot_rows", AG_I32, 1, &one);
  ag_clip_logits(g, p, img, ag_clip_text_embed(g, p, c, ids, eot, NULL));
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "clip: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}

ag_status ag_clip_clamp_logit_scale(ag_params *p, float *value) {
  ag_tensor *s = ag_params_find(p, "logit_scale");
  if (!s) return ag_set_error(AG_ERR_INVALID, "clip: the model has no logit_scale");
  float v;
  AG_TRY(ag_tensor_read(s, &v, sizeof v));
  const float clamped = fminf(fmaxf(v, 0.0f), AG_CLIP_LOGIT_SCALE_MAX);
  if (clamped != v) AG_TRY(ag_tensor_write(s, &clamped, sizeof clamped));
  if (value) *value = clamped;
  return AG_OK;
}
