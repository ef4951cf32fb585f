/* Evaluating CLIP: zero-shot classification with prompt ensembles and
 * retrieval between the test images and their own captions (the protocol
 * is stated in ag_clip.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ag_clip.h"
#include "runtime/data/ag_loader.h"
#include "runtime/sched/ag_sched.h"

enum { EVAL_BATCH = 500, N_CLASSES = AG_FASHION_MNIST_CLASSES };

/* Every test item embedded, on the host. */
typedef struct embedded {
  int64_t n, e, t;
  float *img, *txt; /* [n, e] each */
  int32_t *ids;     /* [n, t]: the caption rows, to tell identical captions */
  int32_t *labels;  /* [n] */
} embedded;

static void embedded_free(embedded *m) {
  free(m->img);
  free(m->txt);
  free(m->ids);
  free(m->labels);
}

static ag_status embedded_alloc(embedded *m, int64_t n, int64_t e, int64_t t) {
  *m = (embedded){.n = n, .e = e, .t = t};
  m->img = malloc(sizeof(float) * (size_t)(n * e));
  m->txt = malloc(sizeof(float) * (size_t)(n * e));
  m->ids = malloc(sizeof(int32_t) * (size_t)(n * t));
  m->labels = malloc(sizeof(int32_t) * (size_t)n);
  if (m->img && m->txt && m->ids && m->labels) return AG_OK;
  embedded_free(m);
  return ag_set_error(AG_ERR_OOM, "eval clip: out of host memory");
}

/* Both towers for a batch of n items. */
typedef struct embed_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *images, *ids, *eot_rows, *img, *txt;
  int32_t *rows; /* host staging of eot_rows */
} embed_graph;

static void embed_graph_free(embed_graph *eg) {
  free(eg->rows);
  ag_sched_free(eg->s);
  ag_graph_free(eg->g);
  memset(eg, 0, sizeof *eg);
}

static ag_status embed_graph_build(embed_graph *eg, ag_params *p, const ag_clip_config *c,
                                   int64_t n) {
  eg->g = ag_graph_new(ag_params_backend(p));
  eg->rows = malloc(sizeof *eg->rows * (size_t)n);
  if (!eg->g || !eg->rows) return ag_set_error(AG_ERR_OOM, "eval clip: out of memory");
  const int64_t is[4] = {n, 1, c->vision.height, c->vision.width}, ts[2] = {n, c->text.context};
  eg->images = ag_graph_input(eg->g, "images", AG_F32, 4, is);
  eg->ids = ag_graph_input(eg->g, "ids", AG_I32, 2, ts);
  eg->eot_rows = ag_graph_input(eg->g, "eot_rows", AG_I32, 1, &n);
  eg->img = ag_graph_output(eg->g, ag_clip_image_embed(eg->g, p, c, eg->images));
  eg->txt = ag_graph_output(eg->g, ag_clip_text_embed(eg->g, p, c, eg->ids, eg->eot_rows, NULL));
  if (ag_graph_status(eg->g) != AG_OK)
    return ag_set_error(ag_graph_status(eg->g), "clip: %s", ag_graph_error(eg->g));
  return ag_sched_new(eg->g, NULL, &eg->s);
}

typedef struct fields {
  int image, label, ids, eot;
} fields;

/* Runs one batch and stores it at item `at` of m. */
static ag_status embed_batch(embed_graph *eg, const ag_batch *b, const fields *f, embedded *m,
                             int64_t at) {
  const int32_t *eot = b->data[f->eot];
  for (int64_t k = 0; k < b->count; k++) eg->rows[k] = (int32_t)(k * m->t + eot[k]);
  AG_TRY(ag_batch_write_field(b, f->image, eg->images));
  AG_TRY(ag_batch_write_field(b, f->ids, eg->ids));
  AG_TRY(ag_tensor_write(eg->eot_rows, eg->rows, sizeof *eg->rows * (size_t)b->count));
  AG_TRY(ag_sched_run(eg->s));
  const size_t emb = sizeof(float) * (size_t)(b->count * m->e);
  AG_TRY(ag_tensor_read(eg->img, m->img + at * m->e, emb));
  AG_TRY(ag_tensor_read(eg->txt, m->txt + at * m->e, emb));
  memcpy(m->ids + at * m->t, b->data[f->ids], sizeof(int32_t) * (size_t)(b->count * m->t));
  memcpy(m->labels + at, b->data[f->label], sizeof(int32_t) * (size_t)b->count);
  return AG_OK;
}

/* One pass in dataset order; full batches share a graph, a short last one
 * gets its own. */
static ag_status embed_pass(ag_params *p, const ag_clip_config *c, ag_loader *l, const fields *f,
                            embedded *m) {
  embed_graph full = {0}, tail = {0};
  ag_status st = embed_graph_build(&full, p, c, ag_loader_rank_batch(l));
  for (int64_t at = 0; st == AG_OK;) {
    const ag_batch *b = NULL;
    st = ag_loader_next(l, &b);
    if (st != AG_OK || !b) break;
    embed_graph *eg = &full;
    if (b->count != ag_loader_rank_batch(l)) {
      eg = &tail;
      if (!tail.g) st = embed_graph_build(&tail, p, c, b->count);
    }
    if (st == AG_OK) st = embed_batch(eg, b, f, m, at);
    at += b->count;
  }
  embed_graph_free(&full);
  embed_graph_free(&tail);
  return st;
}

static ag_status embed_test_set(ag_params *p, const ag_clip_config *c, const ag_mnist *test,
                                const ag_clip_thresholds *t, uint64_t seed, embedded *m) {
  const ag_clip_data_opts d = {c->text.context, seed, c->norm_mean, c->norm_std, *t};
  ag_dataset *ds = NULL;
  ag_loader *l = NULL;
  ag_loader_opts lo = ag_loader_default_opts();
  lo.batch = test->n < EVAL_BATCH ? test->n : EVAL_BATCH;
  lo.shuffle = 0;
  fields f = {0};
  ag_status st = embedded_alloc(m, test->n, c->embed_dim, c->text.context);
  if (st == AG_OK) st = ag_clip_dataset_open(test, &d, &ds);
  if (st == AG_OK) {
    f = (fields){ag_dataset_find_field(ds, "image"), ag_dataset_find_field(ds, "label"),
                 ag_dataset_find_field(ds, "ids"), ag_dataset_find_field(ds, "eot")};
    st = ag_loader_open(ds, &lo, &l);
  }
  if (st == AG_OK) st = embed_pass(p, c, l, &f, m);
  ag_loader_close(l);
  ag_dataset_free(ds);
  return st;
}

static float dot(const float *a, const float *b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Class embeddings [classes, e]: the normalised mean of each class's
 * normalised prompt embeddings. */
static ag_status class_embeddings(ag_params *p, const ag_clip_config *c, float *out) {
  enum { N = N_CLASSES * AG_CLIP_PROMPTS };
  char text[N][AG_CLIP_CAPTION_MAX + 8];
  const char *captions[N];
  for (int k = 0; k < N; k++) {
    ag_clip_prompt(k / AG_CLIP_PROMPTS, k % AG_CLIP_PROMPTS, text[k], sizeof text[k]);
    captions[k] = text[k];
  }
  ag_clip_text_out o;
  AG_TRY(ag_clip_encode_text(p, c, captions, N, 0, &o));
  const int64_t e = c->embed_dim;
  float *emb = malloc(sizeof(float) * (size_t)(N * e));
  ag_status st = emb ? ag_tensor_read(o.embeddings, emb, sizeof(float) * (size_t)(N * e))
                     : ag_set_error(AG_ERR_OOM, "eval clip: out of host memory");
  ag_clip_text_out_free(&o);
  for (int k = 0; k < N_CLASSES && st == AG_OK; k++) {
    float *row = out + k * e;
    memset(row, 0, sizeof(float) * (size_t)e);
    for (int t = 0; t < AG_CLIP_PROMPTS; t++)
      for (int64_t j = 0; j < e; j++) row[j] += emb[(k * AG_CLIP_PROMPTS + t) * e + j];
    const float norm = sqrtf(dot(row, row, e));
    for (int64_t j = 0; j < e; j++) row[j] /= norm > 0 ? norm : 1;
  }
  free(emb);
  return st;
}

static void zero_shot(const embedded *m, const float *classes, ag_clip_eval_result *r) {
  int64_t correct = 0;
  for (int64_t i = 0; i < m->n; i++) {
    int best = 0;
    float top = -INFINITY;
    for (int k = 0; k < N_CLASSES; k++) {
      const float s = dot(m->img + i * m->e, classes + k * m->e, m->e);
      if (s > top) top = s, best = k;
    }
    r->confusion[m->labels[i]][best]++;
    correct += best == m->labels[i];
  }
  r->zero_shot = (double)correct / (double)m->n;
}

static int same_caption(const embedded *m, int64_t a, int64_t b) {
  return memcmp(m->ids + a * m->t, m->ids + b * m->t, sizeof(int32_t) * (size_t)m->t) == 0;
}

/* Recall counts of the chunk of `len` items at `at`, into hits[4]: i2t@1,
 * i2t@5, t2i@1, t2i@5. sim is scratch of len * len. */
static void retrieve_chunk(const embedded *m, int64_t at, int64_t len, float *sim,
                           int64_t hits[4]) {
  for (int64_t i = 0; i < len; i++)
    for (int64_t j = 0; j < len; j++)
      sim[i * len + j] = dot(m->img + (at + i) * m->e, m->txt + (at + j) * m->e, m->e);
  for (int64_t i = 0; i < len; i++) {
    /* image i: captions of other text scoring above its best own-text one */
    float own = -INFINITY;
    for (int64_t j = 0; j < len; j++)
      if (same_caption(m, at + i, at + j)) own = fmaxf(own, sim[i * len + j]);
    int64_t above = 0;
    for (int64_t j = 0; j < len; j++)
      above += sim[i * len + j] > own && !same_caption(m, at + i, at + j);
    hits[0] += above < 1, hits[1] += above < 5;
  }
  for (int64_t j = 0; j < len; j++) {
    int64_t above = 0;
    for (int64_t i = 0; i < len; i++) above += i != j && sim[i * len + j] > sim[j * len + j];
    hits[2] += above < 1, hits[3] += above < 5;
  }
}

static ag_status retrieval(const embedded *m, int64_t chunk, ag_clip_eval_result *r) {
  float *sim = malloc(sizeof(float) * (size_t)(chunk * chunk));
  if (!sim) return ag_set_error(AG_ERR_OOM, "eval clip: out of host memory");
  int64_t hits[4] = {0}, counted = 0;
  for (int64_t at = 0; at + chunk <= m->n; at += chunk, counted += chunk)
    retrieve_chunk(m, at, chunk, sim, hits);
  free(sim);
  r->i2t_r1 = (double)hits[0] / (double)counted;
  r->i2t_r5 = (double)hits[1] / (double)counted;
  r->t2i_r1 = (double)hits[2] / (double)counted;
  r->t2i_r5 = (double)hits[3] / (double)counted;
  return AG_OK;
}

ag_status ag_clip_evaluate(ag_params *p, const ag_clip_config *c, const ag_mnist *test,
                           const ag_clip_thresholds *t, uint64_t caption_seed, int64_t chunk,
                           ag_clip_eval_result *r) {
  memset(r, 0, sizeof *r);
  if (chunk < 5 || chunk > test->n)
    return ag_set_error(AG_ERR_INVALID, "eval clip: retrieval chunk %lld (5 .. %lld images)",
                        (long long)chunk, (long long)test->n);
  if (test->h != c->vision.height || test->w != c->vision.width)
    return ag_set_error(AG_ERR_INVALID,
                        "eval clip: images are %lldx%lld, the model takes %lldx%lld",
                        (long long)test->h, (long long)test->w, (long long)c->vision.height,
                        (long long)c->vision.width);
  r->images = test->n;
  r->chunk = chunk;
  embedded m = {0};
  float *classes = malloc(sizeof(float) * (size_t)(N_CLASSES * c->embed_dim));
  ag_status st = classes ? AG_OK : ag_set_error(AG_ERR_OOM, "eval clip: out of host memory");
  if (st == AG_OK) st = class_embeddings(p, c, classes);
  if (st == AG_OK) st = embed_test_set(p, c, test, t, caption_seed, &m);
  if (st == AG_OK) zero_shot(&m, classes, r);
  if (st == AG_OK) st = retrieval(&m, chunk, r);
  embedded_free(&m);
  free(classes);
  return st;
}
