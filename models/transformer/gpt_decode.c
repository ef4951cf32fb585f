/* Evaluating a GPT: the full graph on a whole sequence, and incremental
 * decoding with a KV cache (see ag_gpt.h). Every graph is planned once. */
#include <stdlib.h>
#include <string.h>

#include "ag_gpt.h"
#include "runtime/sched/ag_sched.h"

struct ag_gpt_eval {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *ids, *logits;
};

void ag_gpt_eval_free(ag_gpt_eval *e) {
  if (!e) return;
  ag_sched_free(e->s);
  ag_graph_free(e->g);
  free(e);
}

/* Plans g with its first error, if any, prefixed by `what`. */
static ag_status plan(ag_graph *g, const char *what, ag_sched **s) {
  const ag_status st = ag_graph_status(g);
  if (st != AG_OK) return ag_set_error(st, "gpt %s: %s", what, ag_graph_error(g));
  return ag_sched_new(g, NULL, s);
}

ag_status ag_gpt_eval_new(ag_params *p, const ag_gpt_config *c, int64_t batch, int64_t len,
                          ag_gpt_eval **out) {
  *out = NULL;
  ag_gpt_eval *e = calloc(1, sizeof *e);
  if (!e || !(e->g = ag_graph_new(ag_params_backend(p)))) {
    free(e);
    return ag_set_error(AG_ERR_OOM, "gpt eval: out of host memory");
  }
  const int64_t shape[2] = {batch, len};
  e->ids = ag_graph_input(e->g, "ids", AG_I32, 2, shape);
  e->logits = ag_graph_output(e->g, ag_gpt_logits(e->g, p, c, e->ids));
  const ag_status st = plan(e->g, "eval", &e->s);
  if (st != AG_OK) {
    ag_gpt_eval_free(e);
    return st;
  }
  *out = e;
  return AG_OK;
}

ag_status ag_gpt_eval_run(ag_gpt_eval *e, const int32_t *ids, float *logits) {
  AG_TRY(ag_tensor_write(e->ids, ids, ag_tensor_nbytes(e->ids)));
  AG_TRY(ag_sched_run(e->s));
  return ag_tensor_read(e->logits, logits, ag_tensor_nbytes(e->logits));
}

/* One layer's cache and the graph values that refill it. */
typedef struct layer_cache {
  ag_tensor *k, *v;             /* [B, H, slots, D], newest first; owned */
  ag_tensor *first_k, *first_v; /* the prefill's: the prompt's keys and values */
  ag_tensor *next_k, *next_v;   /* a decode step's: its own, then the cache's */
} layer_cache;

/* A planned graph and its inputs and logits. */
typedef struct planned {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *ids, *positions, *order, *kv_len, *logits;
} planned;

struct ag_gpt_decoder {
  ag_gpt_config c;
  int64_t batch, prompt_len, slots; /* slots: the capacity */
  int64_t fed;                      /* ids of the sequence run so far */
  layer_cache *cache;
  ag_nn_kv *kv; /* scratch for building a graph, c.layers of them */
  planned prefill, step;
  int32_t *host; /* batch or prompt_len i32 of input staging */
};

static void planned_free(planned *pl) {
  ag_sched_free(pl->s);
  ag_graph_free(pl->g);
}

void ag_gpt_decoder_free(ag_gpt_decoder *d) {
  if (!d) return;
  planned_free(&d->step);
  planned_free(&d->prefill);
  for (int64_t l = 0; d->cache && l < d->c.layers; l++) {
    ag_tensor_free(d->cache[l].k);
    ag_tensor_free(d->cache[l].v);
  }
  free(d->cache);
  free(d->kv);
  free(d->host);
  free(d);
}

/* The prompt's keys [B, H, P, D] as a full cache: reversed (newest first)
 * by gathering positions P-1..0 (`order`), then zeros in the slots not yet
 * used, which kv_len masks but which must hold numbers, not garbage. */
static ag_tensor *newest_first(ag_graph *g, ag_tensor *keys, ag_tensor *order, int64_t slots) {
  ag_tensor *r = ag_gather(g, keys, order, 2);
  if (!r || r->shape[2] == slots) return r;
  const int64_t pad[4] = {r->shape[0], r->shape[1], slots - r->shape[2], r->shape[3]};
  return ag_concat(g, r, ag_full(g, r->dtype, 4, pad, 0.0f), 2);
}

static ag_status build_prefill(ag_gpt_decoder *d, ag_params *p) {
  planned *pl = &d->prefill;
  if (!(pl->g = ag_graph_new(ag_params_backend(p)))) return AG_ERR_OOM;
  const int64_t shape[2] = {d->batch, d->prompt_len};
  pl->ids = ag_graph_input(pl->g, "ids", AG_I32, 2, shape);
  pl->positions = ag_graph_input(pl->g, "positions", AG_I32, 1, &d->prompt_len);
  pl->order = ag_graph_input(pl->g, "newest_first", AG_I32, 1, &d->prompt_len);
  memset(d->kv, 0, sizeof *d->kv * (size_t)d->c.layers);
  pl->logits =
      ag_graph_output(pl->g, ag_gpt_logits_kv(pl->g, p, &d->c, pl->ids, pl->positions, d->kv));
  for (int64_t l = 0; l < d->c.layers; l++) {
    layer_cache *lc = &d->cache[l];
    lc->first_k = ag_graph_output(pl->g, newest_first(pl->g, d->kv[l].keys, pl->order, d->slots));
    lc->first_v = ag_graph_output(pl->g, newest_first(pl->g, d->kv[l].values, pl->order, d->slots));
  }
  return plan(pl->g, "prefill", &pl->s);
}

/* The first `slots` of a decode step's keys (its own, then the cache's):
 * the next step's cache. */
static ag_tensor *keep_newest(ag_graph *g, ag_tensor *keys, int64_t slots) {
  ag_tensor *kept = NULL, *dropped = NULL;
  if (keys) ag_split(g, keys, 2, slots, &kept, &dropped);
  return kept;
}

static ag_status build_step(ag_gpt_decoder *d, ag_params *p) {
  planned *pl = &d->step;
  if (!(pl->g = ag_graph_new(ag_params_backend(p)))) return AG_ERR_OOM;
  const int64_t shape[2] = {d->batch, 1}, one = 1;
  pl->ids = ag_graph_input(pl->g, "ids", AG_I32, 2, shape);
  pl->positions = ag_graph_input(pl->g, "position", AG_I32, 1, &one);
  pl->kv_len = ag_graph_input(pl->g, "kv_len", AG_I32, 1, &d->batch);
  for (int64_t l = 0; l < d->c.layers; l++)
    d->kv[l] = (ag_nn_kv){.past_k = ag_graph_const(pl->g, d->cache[l].k),
                          .past_v = ag_graph_const(pl->g, d->cache[l].v),
                          .kv_len = pl->kv_len};
  pl->logits =
      ag_graph_output(pl->g, ag_gpt_logits_kv(pl->g, p, &d->c, pl->ids, pl->positions, d->kv));
  for (int64_t l = 0; l < d->c.layers; l++) {
    d->cache[l].next_k = ag_graph_output(pl->g, keep_newest(pl->g, d->kv[l].keys, d->slots));
    d->cache[l].next_v = ag_graph_output(pl->g, keep_newest(pl->g, d->kv[l].values, d->slots));
  }
  return plan(pl->g, "decode", &pl->s);
}

/* The caches hold keys and values in the compute dtype of the weights. */
static ag_status alloc_caches(ag_gpt_decoder *d, const ag_params *p) {
  const int64_t shape[4] = {d->batch, d->c.heads, d->slots, d->c.width / d->c.heads};
  ag_backend *be = ag_params_backend(p);
  const ag_dtype dt = ag_params_compute_dtype(p);
  for (int64_t l = 0; l < d->c.layers; l++) {
    d->cache[l].k = ag_tensor_new(be, dt, 4, shape);
    d->cache[l].v = ag_tensor_new(be, dt, 4, shape);
    if (!d->cache[l].k || !d->cache[l].v) return AG_ERR_OOM;
  }
  return AG_OK;
}

static ag_status check_sizes(const ag_gpt_config *c, int64_t batch, int64_t prompt_len,
                             int64_t capacity) {
  AG_TRY(ag_gpt_check_config(c));
  if (batch < 1 || prompt_len < 1 || capacity < prompt_len || capacity > c->context)
    return ag_set_error(AG_ERR_INVALID,
                        "gpt decoder: batch %lld, prompt %lld and capacity %lld ids: a positive "
                        "batch and prompt, and prompt <= capacity <= context (%lld) expected",
                        (long long)batch, (long long)prompt_len, (long long)capacity,
                        (long long)c->context);
  return AG_OK;
}

ag_status ag_gpt_decoder_new(ag_params *p, const ag_gpt_config *c, int64_t batch,
                             int64_t prompt_len, int64_t capacity, ag_gpt_decoder **out) {
  *out = NULL;
  AG_TRY(check_sizes(c, batch, prompt_len, capacity));
  ag_gpt_decoder *d = calloc(1, sizeof *d);
  if (!d) return ag_set_error(AG_ERR_OOM, "gpt decoder: out of host memory");
  *d = (ag_gpt_decoder){.c = *c, .batch = batch, .prompt_len = prompt_len, .slots = capacity};
  d->cache = calloc((size_t)c->layers, sizeof *d->cache);
  d->kv = calloc((size_t)c->layers, sizeof *d->kv);
  d->host = calloc((size_t)(batch > prompt_len ? batch : prompt_len), sizeof *d->host);
  ag_status st = d->cache && d->kv && d->host
                     ? AG_OK
                     : ag_set_error(AG_ERR_OOM, "gpt decoder: out of host memory");
  if (st == AG_OK) st = alloc_caches(d, p);
  if (st == AG_OK) st = build_prefill(d, p);
  if (st == AG_OK) st = build_step(d, p);
  if (st != AG_OK) {
    ag_gpt_decoder_free(d);
    return st;
  }
  *out = d;
  return AG_OK;
}

static ag_status write_ints(ag_tensor *t, int32_t *host, int64_t n, int32_t first, int32_t step) {
  for (int64_t i = 0; i < n; i++) host[i] = first + (int32_t)i * step;
  return ag_tensor_write(t, host, sizeof *host * (size_t)n);
}

ag_status ag_gpt_decoder_prefill(ag_gpt_decoder *d, const int32_t *ids, float *logits) {
  planned *pl = &d->prefill;
  const int32_t last = (int32_t)d->prompt_len - 1;
  d->fed = 0;
  AG_TRY(ag_tensor_write(pl->ids, ids, ag_tensor_nbytes(pl->ids)));
  AG_TRY(write_ints(pl->positions, d->host, d->prompt_len, 0, 1));
  AG_TRY(write_ints(pl->order, d->host, d->prompt_len, last, -1));
  AG_TRY(ag_sched_run(pl->s));
  for (int64_t l = 0; l < d->c.layers; l++) {
    AG_TRY(ag_tensor_copy(d->cache[l].k, d->cache[l].first_k));
    AG_TRY(ag_tensor_copy(d->cache[l].v, d->cache[l].first_v));
  }
  AG_TRY(ag_tensor_read(pl->logits, logits, ag_tensor_nbytes(pl->logits)));
  d->fed = d->prompt_len;
  return AG_OK;
}

ag_status ag_gpt_decoder_step(ag_gpt_decoder *d, const int32_t *tokens, float *logits) {
  planned *pl = &d->step;
  if (d->fed == 0) return ag_set_error(AG_ERR_INVALID, "gpt decoder: a step before the prefill");
  if (d->fed >= d->slots)
    return ag_set_error(AG_ERR_INVALID, "gpt decoder: the cache is full (%lld ids)",
                        (long long)d->slots);
  AG_TRY(ag_tensor_write(pl->ids, tokens, ag_tensor_nbytes(pl->ids)));
  AG_TRY(write_ints(pl->positions, d->host, 1, (int32_t)d->fed, 0));
  AG_TRY(write_ints(pl->kv_len, d->host, d->batch, (int32_t)d->fed + 1, 0));
  AG_TRY(ag_sched_run(pl->s));
  for (int64_t l = 0; l < d->c.layers; l++) {
    AG_TRY(ag_tensor_copy(d->cache[l].k, d->cache[l].next_k));
    AG_TRY(ag_tensor_copy(d->cache[l].v, d->cache[l].next_v));
  }
  AG_TRY(ag_tensor_read(pl->logits, logits, ag_tensor_nbytes(pl->logits)));
  d->fed++;
  return AG_OK;
}
