/* ag_clip_encode_text: captions to joint embeddings (and per-token
 * features) for the pipelines that condition on text (see ag_clip.h). */
#include <stdlib.h>
#include <string.h>

#include "ag_clip.h"
#include "ag_tokenizer.h"
#include "runtime/sched/ag_sched.h"

/* Host rows of the captions: ids [n, context], eot_rows [n] (the flattened
 * row of each end-of-text token) and lengths [n]. */
static ag_status tokenize(const ag_clip_config *c, const char *const *captions, int64_t n,
                          int32_t *ids, int32_t *eot_rows, int32_t *lengths) {
  const int64_t t = c->text.context;
  for (int64_t i = 0; i < n; i++) {
    const size_t len = strlen(captions[i]);
    if (len > (size_t)(t - 2))
      return ag_set_error(AG_ERR_INVALID,
                          "clip: caption %lld '%s' has %zu bytes; the text tower takes at most "
                          "%lld",
                          (long long)i, captions[i], len, (long long)(t - 2));
    int64_t used = 0;
    AG_TRY(ag_tok_encode_padded(captions[i], len, t, ids + i * t, &used));
    lengths[i] = (int32_t)used;
    eot_rows[i] = (int32_t)(i * t + used - 1);
  }
  return AG_OK;
}

/* A new tensor holding a copy of graph value v (which dies with its graph). */
static ag_tensor *copy_out(const ag_tensor *v) {
  ag_tensor *t = ag_tensor_new(ag_tensor_backend(v), v->dtype, v->ndim, v->shape);
  if (t && ag_tensor_copy(t, v) != AG_OK) {
    ag_tensor_free(t);
    return NULL;
  }
  return t;
}

/* Runs the text tower on the rows and copies its outputs into `out`. */
static ag_status run_tower(ag_params *p, const ag_clip_config *c, int64_t n, const int32_t *ids,
                           const int32_t *eot_rows, int want_tokens, ag_clip_text_out *out) {
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return ag_set_error(AG_ERR_OOM, "clip: out of memory");
  const int64_t ts[2] = {n, c->text.context};
  ag_tensor *ids_in = ag_graph_input(g, "ids", AG_I32, 2, ts);
  ag_tensor *eot_in = ag_graph_input(g, "eot_rows", AG_I32, 1, &n);
  ag_tensor *tokens = NULL;
  ag_tensor *emb =
      ag_graph_output(g, ag_clip_text_embed(g, p, c, ids_in, eot_in, want_tokens ? &tokens : NULL));
  if (tokens) ag_graph_output(g, tokens);
  ag_sched *s = NULL;
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "clip: %s", ag_graph_error(g));
  if (st == AG_OK) st = ag_sched_new(g, NULL, &s);
  if (st == AG_OK) st = ag_tensor_write(ids_in, ids, sizeof *ids * (size_t)(n * c->text.context));
  if (st == AG_OK) st = ag_tensor_write(eot_in, eot_rows, sizeof *eot_rows * (size_t)n);
  if (st == AG_OK) st = ag_sched_run(s);
  if (st == AG_OK && !(out->embeddings = copy_out(emb))) st = AG_ERR_OOM;
  if (st == AG_OK && tokens && !(out->tokens = copy_out(tokens))) st = AG_ERR_OOM;
  ag_sched_free(s);
  ag_graph_free(g);
  return st;
}

ag_status ag_clip_encode_text(ag_params *p, const ag_clip_config *c, const char *const *captions,
                              int64_t n, int want_tokens, ag_clip_text_out *out) {
  memset(out, 0, sizeof *out);
  if (n < 1) return ag_set_error(AG_ERR_INVALID, "clip: %lld captions to encode", (long long)n);
  AG_TRY(ag_clip_check(c));
  const int64_t t = c->text.context;
  int32_t *ids = malloc(sizeof *ids * (size_t)(n * t + 2 * n));
  if (!ids) return ag_set_error(AG_ERR_OOM, "clip: out of host memory");
  int32_t *eot_rows = ids + n * t, *lengths = eot_rows + n;
  ag_status st = tokenize(c, captions, n, ids, eot_rows, lengths);
  if (st == AG_OK) st = run_tower(p, c, n, ids, eot_rows, want_tokens, out);
  if (st == AG_OK && !(out->lengths = ag_tensor_new(ag_params_backend(p), AG_I32, 1, &n)))
    st = AG_ERR_OOM;
  if (st == AG_OK) st = ag_tensor_write(out->lengths, lengths, sizeof *lengths * (size_t)n);
  free(ids);
  if (st != AG_OK) ag_clip_text_out_free(out);
  return st;
}

void ag_clip_text_out_free(ag_clip_text_out *out) {
  ag_tensor_free(out->embeddings);
  ag_tensor_free(out->tokens);
  ag_tensor_free(out->lengths);
  memset(out, 0, sizeof *out);
}
