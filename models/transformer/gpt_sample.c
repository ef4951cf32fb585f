/* Sampling from a GPT (see ag_gpt.h): the same draws on two decoding paths,
 * the KV-cache decoder and full re-evaluation of the whole sequence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_gpt.h"
#include "kernels/common/ag_philox.h"

ag_gpt_sample_opts ag_gpt_default_sample_opts(void) {
  return (ag_gpt_sample_opts){
      .temperature = 0.8f, .top_k = 0, .n = 1, .max_new = 200, .seed = 1, .use_cache = 1};
}

/* The uniform in [0, 1) of sample i's j-th draw: Philox keyed by the seed
 * at counter (j, i), 53 bits of two words. */
static double draw(uint64_t seed, int64_t i, int64_t j) {
  const ag_philox4 ctr = {
      {(uint32_t)j, (uint32_t)((uint64_t)j >> 32), (uint32_t)i, (uint32_t)((uint64_t)i >> 32)}};
  const ag_philox4 r = ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
  const uint64_t bits = ((uint64_t)r.v[0] << 21) ^ (r.v[1] >> 11);
  return (double)bits * 0x1.0p-53;
}

static int32_t argmax(const float *logits, int64_t vocab) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; i++)
    if (logits[i] > logits[best]) best = i;
  return (int32_t)best;
}

/* Whether id i is among the k largest, ties going to the lower id. The
 * vocabulary is small (bytes), so counting beats sorting a copy. */
static int in_top_k(const float *logits, int64_t vocab, int64_t k, int64_t i) {
  int64_t above = 0;
  for (int64_t j = 0; j < vocab && above < k; j++)
    above += logits[j] > logits[i] || (logits[j] == logits[i] && j < i);
  return above < k;
}

int32_t ag_gpt_pick(const float *logits, int64_t vocab, float temperature, int64_t top_k,
                    double u) {
  if (temperature <= 0 || top_k == 1) return argmax(logits, vocab);
  const int64_t k = top_k <= 0 || top_k > vocab ? vocab : top_k;
  const double top = logits[argmax(logits, vocab)];
  double sum = 0;
  for (int64_t i = 0; i < vocab; i++)
    if (k == vocab || in_top_k(logits, vocab, k, i)) sum += exp((logits[i] - top) / temperature);
  const double target = u * sum;
  double cum = 0;
  int32_t last = 0;
  for (int64_t i = 0; i < vocab; i++) {
    if (k < vocab && !in_top_k(logits, vocab, k, i)) continue;
    cum += exp((logits[i] - top) / temperature);
    last = (int32_t)i;
    if (cum > target) break;
  }
  return last;
}

/* Picks sample i's j-th id from its logits row. */
static int32_t pick_for(const ag_gpt_sample_opts *o, const float *row, int64_t vocab, int64_t i,
                        int64_t j) {
  return ag_gpt_pick(row, vocab, o->temperature, o->top_k, draw(o->seed, i, j));
}

static ag_status sample_cached(ag_params *p, const ag_gpt_config *c, const int32_t *prompt,
                               int64_t len, const ag_gpt_sample_opts *o, int32_t *out) {
  const int64_t n = o->n, v = c->vocab;
  ag_gpt_decoder *d = NULL;
  int32_t *ids = malloc(sizeof *ids * (size_t)(n * len));
  float *all = malloc(sizeof *all * (size_t)(n * len * v));
  float *rows = malloc(sizeof *rows * (size_t)(n * v));
  ag_status st = ids && all && rows ? AG_OK : ag_set_error(AG_ERR_OOM, "gpt sample: out of memory");
  /* The last id generated is never fed back, hence the capacity. */
  if (st == AG_OK) st = ag_gpt_decoder_new(p, c, n, len, len + o->max_new - 1, &d);
  for (int64_t i = 0; st == AG_OK && i < n; i++) memcpy(ids + i * len, prompt, sizeof *ids * len);
  if (st == AG_OK) st = ag_gpt_decoder_prefill(d, ids, all);
  for (int64_t i = 0; st == AG_OK && i < n; i++)
    memcpy(rows + i * v, all + (i * len + len - 1) * v, sizeof *rows * (size_t)v);
  for (int64_t j = 0; st == AG_OK && j < o->max_new; j++) {
    for (int64_t i = 0; i < n; i++)
      ids[i] = out[i * o->max_new + j] = pick_for(o, rows + i * v, v, i, j);
    if (j + 1 < o->max_new) st = ag_gpt_decoder_step(d, ids, rows);
  }
  ag_gpt_decoder_free(d);
  free(rows);
  free(all);
  free(ids);
  return st;
}

/* One graph over the longest sequence, run once per id: causal attention
 * keeps the ids not yet generated (zeros here) from reaching earlier rows. */
static ag_status sample_full(ag_params *p, const ag_gpt_config *c, const int32_t *prompt,
                             int64_t len, const ag_gpt_sample_opts *o, int32_t *out) {
  const int64_t n = o->n, v = c->vocab, total = len + o->max_new - 1;
  ag_gpt_eval *e = NULL;
  int32_t *ids = calloc((size_t)(n * total), sizeof *ids);
  float *all = malloc(sizeof *all * (size_t)(n * total * v));
  ag_status st = ids && all ? AG_OK : ag_set_error(AG_ERR_OOM, "gpt sample: out of memory");
  if (st == AG_OK) st = ag_gpt_eval_new(p, c, n, total, &e);
  for (int64_t i = 0; st == AG_OK && i < n; i++) memcpy(ids + i * total, prompt, sizeof *ids * len);
  for (int64_t j = 0; st == AG_OK && j < o->max_new; j++) {
    st = ag_gpt_eval_run(e, ids, all);
    for (int64_t i = 0; st == AG_OK && i < n; i++) {
      const int64_t at = len + j; /* where the new id goes */
      const int32_t id = pick_for(o, all + (i * total + at - 1) * v, v, i, j);
      out[i * o->max_new + j] = id;
      if (at < total) ids[i * total + at] = id;
    }
  }
  ag_gpt_eval_free(e);
  free(all);
  free(ids);
  return st;
}

static ag_status check_request(const ag_gpt_config *c, const int32_t *prompt, int64_t len,
                               const ag_gpt_sample_opts *o) {
  if (len < 1) return ag_set_error(AG_ERR_INVALID, "gpt sample: the prompt is empty");
  if (o->n < 1 || o->max_new < 1 || o->top_k < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt sample: %lld samples of %lld ids, top-k %lld: positive counts and "
                        "top-k >= 0 expected",
                        (long long)o->n, (long long)o->max_new, (long long)o->top_k);
  if (len > c->context)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt sample: the prompt has %lld tokens, longer than the context of %lld",
                        (long long)len, (long long)c->context);
  if (len + o->max_new > c->context)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt sample: a prompt of %lld tokens and %lld new ones exceed the context "
                        "of %lld",
                        (long long)len, (long long)o->max_new, (long long)c->context);
  for (int64_t i = 0; i < len; i++)
    if (prompt[i] < 0 || prompt[i] >= c->vocab)
      return ag_set_error(AG_ERR_INVALID, "gpt sample: prompt id %d at %lld is not in [0, %lld)",
                          prompt[i], (long long)i, (long long)c->vocab);
  return AG_OK;
}

ag_status ag_gpt_sample(ag_params *p, const ag_gpt_config *c, const int32_t *prompt,
                        int64_t prompt_len, const ag_gpt_sample_opts *o, int32_t *out) {
  AG_TRY(ag_gpt_check_config(c));
  AG_TRY(check_request(c, prompt, prompt_len, o));
  return o->use_cache ? sample_cached(p, c, prompt, prompt_len, o, out)
                      : sample_full(p, c, prompt, prompt_len, o, out);
}
