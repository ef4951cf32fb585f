/* Sampling a DDPM (see ag_ddpm.h): one planned UNet graph for the batch
 * shape, run once per sampler step, the step itself fused on the device by
 * the scheduler. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm_internal.h"
#include "runtime/sched/ag_sched.h"

/* Images per forward pass when the caller leaves it to us: what fits a
 * budget of the backend's memory (host backends keep it modest, the
 * batches past a few hundred gain nothing on a CPU), from the planned
 * footprint of one image. */
#define HOST_BUDGET ((size_t)1 << 30)
#define DEVICE_BUDGET ((size_t)8 << 30)
#define HOST_MAX_BATCH 256
#define DEVICE_MAX_BATCH 2048

ag_ddpm_sample_opts ag_ddpm_default_sample_opts(void) {
  return (ag_ddpm_sample_opts){
      .sampler = "ddpm", .steps = 50, .guidance = 3.0f, .seed = 1, .batch = 0, .first = 0};
}

/* The planned denoiser over `rows` images: [cond; uncond] halves when
 * guided. */
typedef struct denoiser {
  ag_graph *g;
  ag_sched *s;
  ag_tensor *x, *t, *labels, *out;
  int64_t batch, rows;
} denoiser;

static void denoiser_free(denoiser *d) {
  ag_sched_free(d->s);
  ag_graph_free(d->g);
  memset(d, 0, sizeof *d);
}

static ag_status denoiser_build(denoiser *d, ag_ddpm *m, int64_t batch, int guided) {
  const ag_unet_config *u = &m->c.unet;
  d->batch = batch;
  d->rows = guided ? 2 * batch : batch;
  const int64_t xs[4] = {d->rows, u->channels, u->height, u->width};
  if (!(d->g = ag_graph_new(ag_params_backend(m->p))))
    return ag_set_error(AG_ERR_OOM, "ddpm sample: out of memory");
  d->x = ag_graph_input(d->g, "x", AG_F32, 4, xs);
  d->t = ag_graph_input(d->g, "t", AG_F32, 1, &d->rows);
  d->labels = u->classes ? ag_graph_input(d->g, "labels", AG_I32, 1, &d->rows) : NULL;
  d->out = ag_graph_output(d->g, ag_unet(d->g, m->p, u, d->x, d->t, d->labels));
  if (ag_graph_status(d->g) != AG_OK)
    return ag_set_error(ag_graph_status(d->g), "ddpm sample: %s", ag_graph_error(d->g));
  return ag_sched_new(d->g, NULL, &d->s);
}

/* The batch to use: the caller's, or what the memory budget holds. */
static ag_status pick_batch(ag_ddpm *m, const ag_ddpm_sample_opts *o, int64_t n, int guided,
                            int64_t *batch) {
  if (o->batch > 0) {
    *batch = o->batch < n ? o->batch : n;
    return AG_OK;
  }
  const ag_backend *be = ag_params_backend(m->p);
  denoiser probe = {0};
  ag_status st = denoiser_build(&probe, m, 1, guided);
  const ag_sched_stats s = st == AG_OK ? ag_sched_get_stats(probe.s) : (ag_sched_stats){0};
  denoiser_free(&probe);
  AG_TRY(st);
  const size_t per_image = s.arena_bytes + s.resident_bytes + 1;
  const size_t budget = be->host_visible ? HOST_BUDGET : DEVICE_BUDGET;
  const int64_t cap = be->host_visible ? HOST_MAX_BATCH : DEVICE_MAX_BATCH;
  int64_t b = (int64_t)(budget / per_image);
  b = b < 1 ? 1 : (b > cap ? cap : b);
  *batch = b < n ? b : n;
  return AG_OK;
}

typedef struct run {
  ag_ddpm *m;
  const ag_ddpm_sample_opts *o;
  ag_sampler *sampler;
  denoiser d;
  ag_tensor *x, *x_rows[2]; /* the state; the graph input's halves */
  int32_t *labels;          /* rows of the denoiser */
  float *host;              /* rows timesteps, then batch images */
  int guided;
} run;

static void run_free(run *r) {
  ag_sampler_free(r->sampler);
  denoiser_free(&r->d);
  ag_tensor_free(r->x), ag_tensor_free(r->x_rows[0]), ag_tensor_free(r->x_rows[1]);
  free(r->labels), free(r->host);
}

static ag_status run_open(run *r, int64_t n) {
  const ag_ddpm_sample_opts *o = r->o;
  const ag_unet_config *u = &r->m->c.unet;
  ag_sampler_config sc;
  AG_TRY(ag_sampler_config_named(o->sampler, &sc));
  AG_TRY(ag_sampler_new(&r->m->c.schedule, &sc, o->steps, &r->sampler));
  int64_t batch;
  AG_TRY(pick_batch(r->m, o, n, r->guided, &batch));
  AG_TRY(denoiser_build(&r->d, r->m, batch, r->guided));
  const int64_t xs[4] = {batch, u->channels, u->height, u->width};
  r->x = ag_tensor_new(ag_params_backend(r->m->p), AG_F32, 4, xs);
  r->x_rows[0] = ag_tensor_slice(r->d.x, 0, 0, batch);
  r->x_rows[1] = r->guided ? ag_tensor_slice(r->d.x, 0, batch, 2 * batch) : NULL;
  r->labels = malloc(sizeof *r->labels * (size_t)r->d.rows);
  const int64_t host = r->d.rows + batch * u->channels * u->height * u->width;
  r->host = malloc(sizeof *r->host * (size_t)host);
  if (!r->x || !r->x_rows[0] || (r->guided && !r->x_rows[1]) || !r->labels || !r->host)
    return ag_set_error(AG_ERR_OOM, "ddpm sample: out of memory");
  return AG_OK;
}

/* The class of every row: images first..first+batch-1 (those past n pad
 * the last batch, with class 0), then the null class for the unguided
 * half. */
static ag_status write_labels(run *r, int64_t k0, int64_t n, const int32_t *labels) {
  const ag_unet_config *u = &r->m->c.unet;
  if (!r->d.labels) return AG_OK;
  for (int64_t j = 0; j < r->d.batch; j++) {
    const int64_t i = k0 + j;
    r->labels[j] = i >= n ? 0 : labels ? labels[i] : (int32_t)((r->o->first + i) % u->classes);
  }
  for (int64_t j = r->d.batch; j < r->d.rows; j++) r->labels[j] = AG_UNET_NULL_CLASS(u);
  return ag_tensor_write(r->d.labels, r->labels, sizeof *r->labels * (size_t)r->d.rows);
}

/* Step i: the model on x scaled for this step (both halves alike), then
 * the fused update of x. */
static ag_status denoise_step(run *r, int64_t i, int64_t first) {
  const float scale = (float)ag_sampler_input_scale(r->sampler, i);
  const float t = (float)ag_sampler_timestep(r->sampler, i);
  for (int64_t j = 0; j < r->d.rows; j++) r->host[j] = t;
  AG_TRY(ag_tensor_write(r->d.t, r->host, sizeof *r->host * (size_t)r->d.rows));
  AG_TRY(ag_eager_scale(r->x_rows[0], r->x, scale));
  if (r->guided) AG_TRY(ag_eager_scale(r->x_rows[1], r->x, scale));
  AG_TRY(ag_sched_run(r->d.s));
  return ag_sampler_step(r->sampler, i, r->x, r->d.out, r->guided ? r->o->guidance : 1.0f,
                         r->o->seed, first);
}

/* Images k0.. of the call into images[k0..] (at most n - k0 of them), as
 * pixels in [0, 1]. */
static ag_status sample_batch(run *r, int64_t k0, int64_t n, const int32_t *labels,
                              float *images) {
  const int64_t first = r->o->first + k0;
  AG_TRY(write_labels(r, k0, n, labels));
  AG_TRY(ag_sampler_init_noise(r->sampler, r->x, r->o->seed, first));
  for (int64_t i = 0; i < ag_sampler_steps(r->sampler); i++) AG_TRY(denoise_step(r, i, first));
  float *px = r->host + r->d.rows;
  AG_TRY(ag_tensor_read(r->x, px, ag_tensor_nbytes(r->x)));
  const int64_t per = ag_tensor_numel(r->x) / r->d.batch;
  const int64_t count = n - k0 < r->d.batch ? n - k0 : r->d.batch;
  for (int64_t e = 0; e < count * per; e++) {
    const float v = 0.5f * (px[e] + 1.0f);
    images[k0 * per + e] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  }
  return AG_OK;
}

static ag_status check_request(const ag_ddpm *m, const ag_ddpm_sample_opts *o, int64_t n,
                               const int32_t *labels) {
  const int64_t classes = m->c.unet.classes;
  if (n < 1 || o->steps < 1 || o->batch < 0 || o->first < 0 || !(o->guidance >= 0) || !o->sampler)
    return ag_set_error(AG_ERR_INVALID,
                        "ddpm sample: %lld images, %lld steps, batch %lld, guidance %g: at least "
                        "one image and one step, a batch >= 0 and guidance >= 0 expected",
                        (long long)n, (long long)o->steps, (long long)o->batch,
                        (double)o->guidance);
  if (labels && classes == 0)
    return ag_set_error(AG_ERR_INVALID, "ddpm sample: the model is unconditional; no labels");
  for (int64_t i = 0; labels && i < n; i++)
    if (labels[i] < 0 || labels[i] >= classes)
      return ag_set_error(AG_ERR_INVALID, "ddpm sample: label %d of image %lld is not in 0..%lld",
                          labels[i], (long long)i, (long long)(classes - 1));
  return AG_OK;
}

ag_status ag_ddpm_sample(ag_ddpm *m, const ag_ddpm_sample_opts *o, int64_t n,
                         const int32_t *labels, float *images) {
  AG_TRY(check_request(m, o, n, labels));
  run r = {.m = m, .o = o};
  /* Guidance 1 is the conditional output alone: no unconditional pass. */
  r.guided = m->c.unet.classes > 0 && o->guidance != 0.0f && o->guidance != 1.0f;
  ag_status st = run_open(&r, n);
  for (int64_t k0 = 0; st == AG_OK && k0 < n; k0 += r.d.batch)
    st = sample_batch(&r, k0, n, labels, images);
  run_free(&r);
  return st;
}
