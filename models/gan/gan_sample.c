/* Sampling a GAN checkpoint's generator (see ag_gan.h): one planned graph
 * per batch size, latents written into it from Philox at each image's own
 * offset, so an image is the same whatever batch it is made in. */
#include <stdlib.h>
#include <string.h>

#include "gan_internal.h"
#include "runtime/sched/ag_sched.h"

#define DEFAULT_BATCH 256

typedef struct sample_graph {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *z, *labels, *images;
  int64_t batch;
} sample_graph;

struct ag_gan {
  ag_gan_config c;
  ag_gan_meta meta;
  ag_params *gen, *stats;
  sample_graph sg;
  float *host;  /* [batch, H, W] staging */
  int32_t *ids; /* [batch] */
};

static void sample_graph_free(sample_graph *sg) {
  ag_sched_free(sg->s);
  ag_graph_free(sg->g);
  memset(sg, 0, sizeof *sg);
}

static ag_status load_from(ag_gan *g, const ag_safetensors *st, const char *path) {
  AG_TRY(ag_gan_read_config(path, st, &g->c));
  AG_TRY(ag_gan_read_meta(st, path, &g->meta));
  AG_TRY(ag_gan_init(g->gen, NULL, g->stats, &g->c));
  AG_TRY(ag_gan_load_set(st, path, g->gen, AG_GAN_EMA_PREFIX));
  return ag_gan_load_set(st, path, g->stats, AG_GAN_STATS_PREFIX);
}

ag_status ag_gan_load(const char *path, ag_backend *be, ag_gan **out) {
  *out = NULL;
  ag_gan *g = calloc(1, sizeof *g);
  if (!g) return ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  g->gen = ag_params_new(be, 0);
  g->stats = ag_params_new(be, 0);
  ag_safetensors *st = g->gen && g->stats ? ag_st_open(path) : NULL;
  ag_status s = st                   ? load_from(g, st, path)
                : g->gen && g->stats ? AG_ERR_IO
                                     : ag_set_error(AG_ERR_OOM, "gan: out of memory");
  ag_st_close(st);
  if (s != AG_OK) {
    ag_gan_free(g);
    return s;
  }
  *out = g;
  return AG_OK;
}

ag_status ag_gan_new(const ag_gan_config *c, ag_backend *be, uint64_t seed, ag_gan **out) {
  *out = NULL;
  ag_gan *g = calloc(1, sizeof *g);
  if (!g) return ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  g->c = *c;
  g->gen = ag_params_new(be, seed);
  g->stats = ag_params_new(be, 0);
  ag_status s = g->gen && g->stats ? ag_gan_init(g->gen, NULL, g->stats, &g->c)
                                   : ag_set_error(AG_ERR_OOM, "gan: out of memory");
  if (s != AG_OK) {
    ag_gan_free(g);
    return s;
  }
  *out = g;
  return AG_OK;
}

void ag_gan_free(ag_gan *g) {
  if (!g) return;
  sample_graph_free(&g->sg);
  ag_params_free(g->gen);
  ag_params_free(g->stats);
  free(g->host);
  free(g->ids);
  free(g);
}

void ag_gan_info(const ag_gan *g, ag_generator_info *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->kind, sizeof out->kind, "%s", AG_GAN_KIND);
  out->height = g->c.height;
  out->width = g->c.width;
  out->classes = g->c.classes;
  out->params = ag_params_numel(g->gen);
  out->train_steps = g->meta.steps;
  out->train_seconds = g->meta.seconds;
  out->train_peak_bytes = g->meta.peak_bytes;
  snprintf(out->device, sizeof out->device, "%s", g->meta.device);
  snprintf(out->dataset, sizeof out->dataset, "%s", g->meta.dataset);
}

/* The graph for batches of n, rebuilt when n changes (the last, partial
 * batch of a run). */
static ag_status use_batch(ag_gan *g, int64_t n) {
  if (g->sg.g && g->sg.batch == n) return AG_OK;
  sample_graph_free(&g->sg);
  free(g->host);
  free(g->ids);
  g->host = malloc(sizeof *g->host * (size_t)(n * g->c.height * g->c.width));
  g->ids = malloc(sizeof *g->ids * (size_t)n);
  if (!g->host || !g->ids) return ag_set_error(AG_ERR_OOM, "gan: out of host memory");
  sample_graph *sg = &g->sg;
  sg->batch = n;
  if (!(sg->g = ag_graph_new(ag_params_backend(g->gen))))
    return ag_set_error(AG_ERR_OOM, "gan: out of memory");
  const int64_t zs[2] = {n, g->c.zdim};
  sg->z = ag_graph_input(sg->g, "z", AG_F32, 2, zs);
  if (g->c.classes) sg->labels = ag_graph_input(sg->g, "labels", AG_I32, 1, &n);
  sg->images = ag_graph_output(
      sg->g, ag_gan_generator(sg->g, g->gen, g->stats, &g->c, sg->z, sg->labels, 0));
  if (ag_graph_status(sg->g) != AG_OK)
    return ag_set_error(ag_graph_status(sg->g), "gan: %s", ag_graph_error(sg->g));
  return ag_sched_new(sg->g, NULL, &sg->s);
}

static ag_status check_labels(const ag_gan *g, const int32_t *labels, int64_t n) {
  for (int64_t i = 0; labels && g->c.classes && i < n; i++)
    if (labels[i] < 0 || labels[i] >= g->c.classes)
      return ag_set_error(AG_ERR_INVALID, "gan sample: label %d of image %lld is outside 0..%lld",
                          (int)labels[i], (long long)i, (long long)g->c.classes - 1);
  return AG_OK;
}

/* Images [first, first + n) of the seed into out, mapped to [0, 1]. */
static ag_status sample_batch(ag_gan *g, uint64_t seed, int64_t first, int64_t n,
                              const int32_t *labels, float *out) {
  AG_TRY(use_batch(g, n));
  sample_graph *sg = &g->sg;
  AG_TRY(ag_eager_fill_normal(sg->z, seed, (uint64_t)first * (uint64_t)g->c.zdim, 0.0f, 1.0f));
  if (sg->labels) {
    for (int64_t i = 0; i < n; i++)
      g->ids[i] = labels ? labels[i] : (int32_t)((first + i) % g->c.classes);
    AG_TRY(ag_tensor_write(sg->labels, g->ids, sizeof *g->ids * (size_t)n));
  }
  AG_TRY(ag_sched_run(sg->s));
  const int64_t count = n * g->c.height * g->c.width;
  AG_TRY(ag_tensor_read(sg->images, g->host, sizeof *g->host * (size_t)count));
  for (int64_t i = 0; i < count; i++) {
    const float v = 0.5f * (g->host[i] + 1.0f);
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return AG_OK;
}

ag_status ag_gan_sample(ag_gan *g, uint64_t seed, int64_t first, int64_t batch, int64_t n,
                        const int32_t *labels, float *images) {
  if (first < 0 || batch < 0 || n < 0)
    return ag_set_error(AG_ERR_INVALID, "gan sample: first %lld, batch %lld, n %lld: negative",
                        (long long)first, (long long)batch, (long long)n);
  AG_TRY(check_labels(g, labels, n));
  if (batch == 0) batch = DEFAULT_BATCH;
  const int64_t px = g->c.height * g->c.width;
  for (int64_t k = 0; k < n; k += batch) {
    const int64_t m = n - k < batch ? n - k : batch;
    AG_TRY(sample_batch(g, seed, first + k, m, labels ? labels + k : NULL, images + k * px));
  }
  return AG_OK;
}
