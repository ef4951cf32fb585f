/* The GPT model: its config, its graph and its checkpoints (see ag_gpt.h). */
#include "ag_gpt.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_tokenizer.h"
#include "models/ag_transformer.h"
#include "runtime/io/json.h"

ag_gpt_config ag_gpt_default_config(void) {
  return (ag_gpt_config){
      .vocab = AG_TOK_VOCAB, .context = 128, .layers = 4, .width = 128, .heads = 4};
}

ag_status ag_gpt_check_config(const ag_gpt_config *c) {
  const struct {
    const char *name;
    int64_t v;
  } f[] = {{"vocab", c->vocab},
           {"context", c->context},
           {"layers", c->layers},
           {"width", c->width},
           {"heads", c->heads}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (f[i].v < 1)
      return ag_set_error(AG_ERR_INVALID, "gpt: %s %lld must be positive", f[i].name,
                          (long long)f[i].v);
  if (c->width % c->heads)
    return ag_set_error(AG_ERR_INVALID, "gpt: width %lld is not divisible by %lld heads",
                        (long long)c->width, (long long)c->heads);
  return AG_OK;
}

/* GPT-2's initialisation of both embeddings: N(0, 0.02). */
static ag_tensor *embedding_table(ag_graph *g, ag_params *p, const char *name, int64_t rows,
                                  int64_t width) {
  const int64_t shape[2] = {rows, width};
  return ag_param(g, p, name, AG_F32, 2, shape, (ag_init){AG_INIT_NORMAL, 0.02f});
}

/* wte[ids] + wpe[positions]: [B, T, C] from ids [B, T] and positions [T],
 * in the compute dtype (the tables are looked up in f32). */
static ag_tensor *embed(ag_graph *g, ag_params *p, const ag_gpt_config *c, ag_tensor *ids,
                        ag_tensor *positions) {
  ag_tensor *tok = ag_embedding(g, embedding_table(g, p, "wte.weight", c->vocab, c->width), ids);
  ag_tensor *pos =
      ag_embedding(g, embedding_table(g, p, "wpe.weight", c->context, c->width), positions);
  return ag_nn_cast(g, ag_add(g, tok, pos), ag_params_compute_dtype(p));
}

/* Positions 0..len-1, computed in the graph. */
static ag_tensor *first_positions(ag_graph *g, int64_t len) {
  ag_op_call call = {0};
  ag_arange_args_encode(&call, &(ag_arange_args){0.0f, 1.0f});
  return ag_graph_source(g, AG_OP_ARANGE, &call, AG_I32, 1, &len);
}

static int too_long(ag_graph *g, const ag_gpt_config *c, const ag_tensor *ids) {
  if (ids->ndim == 2 && ids->shape[1] <= c->context) return 0;
  char msg[128];
  snprintf(msg, sizeof msg, "gpt: ids must be [batch, tokens] with at most %lld tokens",
           (long long)c->context);
  ag_graph_set_error(g, AG_ERR_INVALID, msg);
  return 1;
}

ag_tensor *ag_gpt_logits(ag_graph *g, ag_params *p, const ag_gpt_config *c, ag_tensor *ids) {
  if (!ids || too_long(g, c, ids)) return NULL;
  const ag_transformer_config tc = {c->layers, c->heads, c->vocab, 1};
  ag_tensor *h = embed(g, p, c, ids, first_positions(g, ids->shape[1]));
  return ag_nn_cast(g, ag_transformer_logits(g, p, &tc, h), AG_F32);
}

ag_tensor *ag_gpt_logits_kv(ag_graph *g, ag_params *p, const ag_gpt_config *c, ag_tensor *ids,
                            ag_tensor *positions, ag_nn_kv *kv) {
  if (!ids || too_long(g, c, ids)) return NULL;
  ag_tensor *h = embed(g, p, c, ids, positions);
  for (int64_t l = 0; l < c->layers; l++) {
    char name[32];
    snprintf(name, sizeof name, "blocks.%lld", (long long)l);
    h = ag_nn_transformer_block_kv(g, p, name, h, (int)c->heads, 1, &kv[l]);
  }
  const int64_t flat[2] = {ids->shape[0] * ids->shape[1], c->width};
  h = ag_reshape(g, ag_nn_layernorm(g, p, "ln_f", h), 2, flat);
  return ag_nn_cast(g, ag_nn_linear(g, p, "head", h, c->vocab, AG_MATMUL_EPI_NONE, 1), AG_F32);
}

/* Parameters are created by building a throwaway one-token graph. */
ag_status ag_gpt_init(ag_params *p, const ag_gpt_config *c) {
  AG_TRY(ag_gpt_check_config(c));
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return AG_ERR_OOM;
  const int64_t shape[2] = {1, 1};
  ag_gpt_logits(g, p, c, ag_graph_input(g, "ids", AG_I32, 2, shape));
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "gpt: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}

void ag_gpt_meta_of(const ag_gpt_config *c, ag_gpt_meta *m) {
  snprintf(m->config, sizeof m->config,
           "{\"vocab\":%lld,\"context\":%lld,\"layers\":%lld,\"width\":%lld,\"heads\":%lld}",
           (long long)c->vocab, (long long)c->context, (long long)c->layers, (long long)c->width,
           (long long)c->heads);
  m->keys[0] = "aigc.model";
  m->values[0] = AG_GPT_KIND;
  m->keys[1] = "aigc.config";
  m->values[1] = m->config;
}

ag_status ag_gpt_read_config(const ag_safetensors *st, const char *path, ag_gpt_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_GPT_KIND, "gpt"));
  char where[512];
  snprintf(where, sizeof where, "%s: gpt config", path);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(ag_st_metadata(st, "aigc.config"), where, &j));
  static const char *const keys[5] = {"vocab", "context", "layers", "width", "heads"};
  int64_t v[5] = {0};
  ag_status s = AG_OK;
  for (int i = 0; s == AG_OK && i < 5; i++)
    s = ag_json_int(j, where, keys[i], 1, AG_JSON_MAX_COUNT, &v[i]);
  cJSON_Delete(j);
  AG_TRY(s);
  *c = (ag_gpt_config){v[0], v[1], v[2], v[3], v[4]};
  if (ag_gpt_check_config(c) != AG_OK) {
    char why[256];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return ag_set_error(AG_ERR_IO, "%s: %s", where, why);
  }
  return AG_OK;
}

static ag_status load_from(const char *path, const ag_safetensors *st, ag_backend *be,
                           ag_params **out, ag_gpt_config *c) {
  AG_TRY(ag_gpt_read_config(st, path, c));
  ag_params *p = ag_params_new(be, 0);
  if (!p) return AG_ERR_OOM;
  ag_status s = ag_gpt_init(p, c);
  if (s == AG_OK) s = ag_params_load(p, st);
  if (s != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_params_free(p);
    return ag_set_error(s, "%s: %s", path, msg);
  }
  *out = p;
  return AG_OK;
}

ag_status ag_gpt_load(const char *path, ag_backend *be, ag_params **p, ag_gpt_config *c,
                      int64_t *steps) {
  *p = NULL;
  ag_safetensors *st = ag_st_open(path);
  if (!st) return AG_ERR_IO;
  ag_status s = load_from(path, st, be, p, c);
  if (s == AG_OK && steps) {
    const char *v = ag_st_metadata(st, "optim.steps");
    *steps = v ? strtoll(v, NULL, 10) : 0;
  }
  ag_st_close(st);
  return s;
}
