/* ag_gpt.h - a byte-level GPT language model (GPT-2's layout):
 *   x = wte[ids] + wpe[positions]   token embedding wte [vocab, C] (the
 *                                   tokenizer's ids, ag_tokenizer.h) plus
 *                                   learned positions wpe [context, C]
 *   pre-norm causal blocks "blocks.<i>" (ag_nn_transformer_block), final
 *   layernorm "ln_f", and an untied dense head "head" [vocab, C] + bias
 * (the trunk is ag_transformer_logits). Weights are f32; the graphs
 * compute in the parameters' compute dtype (ag_params_set_compute_dtype:
 * bf16 over f32 master weights, as training on a GPU does) and give f32
 * logits.
 * Besides the graph: checkpoints (model kind "gpt" and the config in the
 * metadata), training over a text file (gpt_train.c, data-parallel through
 * runtime/dist), full and incremental evaluation with a KV cache
 * (gpt_decode.c), and sampling (gpt_sample.c). */
#ifndef AG_GPT_H
#define AG_GPT_H

#include "models/ag_layers.h"
#include "runtime/dist/ag_comm.h"
#include "runtime/io/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_GPT_KIND "gpt"

typedef struct ag_gpt_config {
  int64_t vocab;   /* ids in [0, vocab): AG_TOK_VOCAB */
  int64_t context; /* the longest sequence: rows of wpe */
  int64_t layers, width, heads;
} ag_gpt_config;

/* The CPU-sized default: 4 layers, 128 wide, 4 heads, context 128. */
ag_gpt_config ag_gpt_default_config(void);
/* Every field positive, width divisible by heads; else an error naming it. */
ag_status ag_gpt_check_config(const ag_gpt_config *c);

/* Logits [B*T, vocab] of ids i32 [B, T] (T <= context) at positions
 * 0..T-1, causal: the training and full-evaluation graph. */
ag_tensor *ag_gpt_logits(ag_graph *g, ag_params *p, const ag_gpt_config *c, ag_tensor *ids);
/* The same network (the same weights) with every layer's keys and values
 * exposed: ids i32 [B, T] at positions i32 [T]; kv[l] (c->layers of them)
 * gives layer l's past keys and mask and receives its keys and values
 * (ag_nn_kv). Logits [B*T, vocab]. */
ag_tensor *ag_gpt_logits_kv(ag_graph *g, ag_params *p, const ag_gpt_config *c, ag_tensor *ids,
                            ag_tensor *positions, ag_nn_kv *kv);
/* Creates every parameter (initialised from p's seed) without a graph. */
ag_status ag_gpt_init(ag_params *p, const ag_gpt_config *c);

/* ---- checkpoints ---------------------------------------------------------- */

/* The metadata a GPT checkpoint carries: the model kind and the config, as
 * pairs for ag_params_save / ag_dp_save. */
typedef struct ag_gpt_meta {
  const char *keys[2], *values[2];
  char config[160];
} ag_gpt_meta;
void ag_gpt_meta_of(const ag_gpt_config *c, ag_gpt_meta *m);

/* The config of an opened checkpoint; a file of another model kind (CLIP, a
 * classifier) or a config that does not parse is an error naming `path`. */
ag_status ag_gpt_read_config(const ag_safetensors *st, const char *path, ag_gpt_config *c);
/* New parameters on `be` with the weights of the GPT checkpoint at `path`
 * (training state in it is ignored); *steps (may be NULL) gets the
 * optimizer steps it was trained for. */
ag_status ag_gpt_load(const char *path, ag_backend *be, ag_params **p, ag_gpt_config *c,
                      int64_t *steps);

/* ---- training ------------------------------------------------------------- */

typedef struct ag_gpt_train_opts {
  int64_t steps;    /* optimizer steps of the whole schedule (a resumed run ends here too) */
  int64_t until;    /* stop (and save) after this many steps; 0: steps. The schedule still
                       spans `steps`, so stopping here and resuming is one uninterrupted run */
  int64_t batch;    /* global: sequences per step over all ranks, divisible by the ranks */
  float lr, min_lr; /* AdamW peak, and the floor the cosine decays to */
  float weight_decay, clip_norm;
  int64_t warmup;     /* linear LR warm-up steps */
  uint64_t seed;      /* the initial weights and the training windows */
  int zero;           /* 1: ZeRO-1 optimizer sharding (ag_dp_opts.zero) */
  ag_dtype dtype;     /* compute: AG_F32 (the default) or AG_BF16 over f32 master weights */
  const char *out;    /* checkpoint written at the end; NULL: none */
  const char *resume; /* checkpoint to continue from; NULL: a fresh start */
  int progress;       /* rank 0 shows a progress line on stderr */
  /* NULL, or `steps` entries: losses[s] = the global mean loss of step s,
   * written for the steps this call runs (from a resumed step on). */
  double *losses;
} ag_gpt_train_opts;

/* 600 steps, batch 16, lr 3e-3 to 3e-4, weight decay 0.1, clip 1, warm-up
 * 30, seed 1, no ZeRO, no files, progress on. */
ag_gpt_train_opts ag_gpt_default_train_opts(void);

/* Trains c (context = the window length) on `text` with AdamW under a
 * warm-up + cosine schedule, data-parallel over `comm` (one rank: plain
 * training). Step s trains on `batch` windows of context + 1 bytes whose
 * starts depend only on (seed, s, the window's index in the global batch),
 * rank r taking the r-th contiguous share, so the run is the same whatever
 * the world size. *out (may be NULL) receives the trained parameters.
 * Collective: every rank calls it with the same arguments. */
ag_status ag_gpt_train(ag_comm *comm, const ag_gpt_config *c, const ag_gpt_train_opts *o,
                       const char *text, size_t n, ag_params **out);

/* ---- evaluation and decoding ------------------------------------------- */

/* Full evaluation: one planned graph of the whole network on ids [batch,
 * len] (len <= context). */
typedef struct ag_gpt_eval ag_gpt_eval;
ag_status ag_gpt_eval_new(ag_params *p, const ag_gpt_config *c, int64_t batch, int64_t len,
                          ag_gpt_eval **out);
/* ids [batch * len] in, logits [batch * len * vocab] out. */
ag_status ag_gpt_eval_run(ag_gpt_eval *e, const int32_t *ids, float *logits);
void ag_gpt_eval_free(ag_gpt_eval *e);

/* Incremental decoding with a KV cache: a prefill graph for a prompt of
 * prompt_len ids, then a one-token decode graph planned once and run per
 * token, for up to `capacity` ids in all (prompt_len <= capacity <=
 * context). Each layer's cache holds its keys and values [batch, heads,
 * capacity, width / heads], newest first: a decode step attends over its
 * own key followed by the cache (masked past the ids fed so far), and its
 * graph also outputs that sequence cut to the capacity, which becomes the
 * cache of the next step. */
typedef struct ag_gpt_decoder ag_gpt_decoder;
ag_status ag_gpt_decoder_new(ag_params *p, const ag_gpt_config *c, int64_t batch,
                             int64_t prompt_len, int64_t capacity, ag_gpt_decoder **out);
/* Runs the prompt ids [batch * prompt_len], fills the caches, and gives
 * logits [batch * prompt_len * vocab]; starts a new sequence. */
ag_status ag_gpt_decoder_prefill(ag_gpt_decoder *d, const int32_t *ids, float *logits);
/* Feeds one id per row (tokens [batch]) at the next position and gives its
 * logits [batch * vocab]; an error once capacity ids were fed. */
ag_status ag_gpt_decoder_step(ag_gpt_decoder *d, const int32_t *tokens, float *logits);
void ag_gpt_decoder_free(ag_gpt_decoder *d);

/* ---- sampling ----------------------------------------------------------- */

typedef struct ag_gpt_sample_opts {
  float temperature; /* <= 0: greedy */
  int64_t top_k;     /* sample among the k most likely ids; 0: all */
  int64_t n;         /* samples, decoded together as one batch */
  int64_t max_new;   /* ids generated per sample; prompt + max_new <= context */
  uint64_t seed;
  int use_cache; /* 1: prefill + KV-cache decoding; 0: full re-evaluation per id */
} ag_gpt_sample_opts;

/* temperature 0.8, all ids, 1 sample, 200 new ids, seed 1, with the cache. */
ag_gpt_sample_opts ag_gpt_default_sample_opts(void);

/* One id from a row of logits: greedy (the first maximum) when temperature
 * <= 0, else softmax(logits / temperature) over the top_k largest (ties to
 * the lower id) sampled by inverse CDF at u in [0, 1). */
int32_t ag_gpt_pick(const float *logits, int64_t vocab, float temperature, int64_t top_k, double u);

/* Continues `prompt` (prompt_len >= 1 ids) o->n times: out [n * max_new]
 * gets the ids generated. The draw of sample i's j-th id depends only on
 * (seed, i, j), so both decoding paths give the same ids from the same
 * logits. */
ag_status ag_gpt_sample(ag_params *p, const ag_gpt_config *c, const int32_t *prompt,
                        int64_t prompt_len, const ag_gpt_sample_opts *o, int32_t *out);

#ifdef __cplusplus
}
#endif

#endif
