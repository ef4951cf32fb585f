/* `aigc-bench pipelines`, sampling rows: the image generators' real
 * sampling calls, in the table of the training rows (bench_pipelines.c),
 * against PyTorch sampling the same architectures in the same invocation
 * (bench/torch_peer_generators.py). Rows:
 *   ddim50  group "diffusion": ag_ddpm_sample of the class-conditional UNet
 *           at ag_ddpm_default_config(), sampler ddim, 50 steps and
 *           ag_ddpm_default_sample_opts()' guidance 3, so every step is one UNet
 *           pass over the doubled batch [cond; uncond]; labels i % classes
 *           (balanced); 256 images a call on CUDA and with --full. The CPU
 *           default is 8 images of 5 steps, named "ddim5" accordingly, so
 *           that the row takes seconds.
 *   gan     group "gan": ag_gan_sample of the DCGAN generator at
 *           ag_gan_default_config(), 256 images a call on CUDA and with
 *           --full, 64 by default on the CPU.
 * The models have fresh weights from a fixed seed (ag_ddpm_new,
 * ag_gan_new): a call does the same work whatever the weights. A row's
 * item is an image and its step one whole sampling call: the initial noise,
 * every denoising step, and the images copied back to the host as [0, 1]
 * pixels, as a caller gets them; items/s = images per call / the call's
 * median time.
 *
 * Timing as the training rows: ag_bench_median_ms over --steps calls after
 * 1 warm-up call on the CPU, 2 on CUDA; the peer warms up and times the same
 * counts, eager, and on CUDA also under torch.compile (torch_compile,
 * ratio_compile). params is the generator's parameter count (the UNet; the
 * GAN generator without its batchnorm statistics); a peer whose model has
 * another count is reported as not the same architecture instead of timed.
 * No FLOP count (flop_params 0). Memory as the training rows
 * (ag_bench_memory_*). Under mpirun every rank samples its own call of the
 * row's batch; the peer runs only on a single rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_bench.h"
#include "models/diffusion/ag_ddpm.h"
#include "models/gan/ag_gan.h"
#include "runtime/core/ag_info.h"

#define BG_SEED 1

typedef enum bg_model { BG_DDIM, BG_GAN } bg_model;

typedef struct bg_case {
  bg_model model;
  const char *group;
  int64_t batch, denoise_steps;         /* CUDA, and the CPU with --full */
  int64_t cpu_batch, cpu_denoise_steps; /* the CPU's quick default */
} bg_case;

static const bg_case bg_cases[] = {
    {BG_DDIM, "diffusion", 256, 50, 8, 5},
    {BG_GAN, "gan", 256, 0, 64, 0},
};
#define BG_CASES (sizeof bg_cases / sizeof bg_cases[0])

static int64_t bg_batch(const bg_case *bc, int full) { return full ? bc->batch : bc->cpu_batch; }

static int64_t bg_steps(const bg_case *bc, int full) {
  return full ? bc->denoise_steps : bc->cpu_denoise_steps;
}

/* "ddim<steps>" or "gan". */
static void bg_name(const bg_case *bc, int full, char *buf, size_t len) {
  if (bc->model == BG_GAN)
    snprintf(buf, len, "gan");
  else
    snprintf(buf, len, "ddim%lld", (long long)bg_steps(bc, full));
}

static int bg_matches(const bg_case *bc, int full, const char *filter) {
  char name[24];
  bg_name(bc, full, name, sizeof name);
  return ag_bench_row_matches(name, bc->group, filter);
}

int ag_bench_generators_matching(const ag_backend *be, const ag_bench_pipeline_opts *o, char *names,
                                 size_t len) {
  const int full = ag_bench_full_shapes(be, o);
  int matched = 0;
  size_t used = 0;
  for (size_t k = 0; k < BG_CASES; k++) {
    char name[24];
    bg_name(&bg_cases[k], full, name, sizeof name);
    used = ag_bench_name_append(names, len, used, name);
    matched += bg_matches(&bg_cases[k], full, o->filter);
  }
  return matched;
}

/* ---- the sampling call ---------------------------------------------------- */

typedef struct bg_sampler {
  ag_ddpm *ddpm; /* one of the two */
  ag_gan *gan;
  ag_ddpm_sample_opts opts;
  int64_t batch;
  float *images;
} bg_sampler;

static void bg_sampler_free(bg_sampler *s) {
  ag_ddpm_free(s->ddpm);
  ag_gan_free(s->gan);
  free(s->images);
  memset(s, 0, sizeof *s);
}

/* Labels NULL: image i gets class i % classes (the unconditional GAN none). */
static ag_status bg_sample(void *ctx) {
  bg_sampler *s = ctx;
  if (s->ddpm) return ag_ddpm_sample(s->ddpm, &s->opts, s->batch, NULL, s->images);
  return ag_gan_sample(s->gan, BG_SEED, 0, s->batch, s->batch, NULL, s->images);
}

/* The model with fresh weights, the call's options and its output buffer;
 * r->params from the model. */
static ag_status bg_open(ag_backend *be, const bg_case *bc, ag_bench_pipeline *r, bg_sampler *s) {
  ag_generator_info info;
  s->batch = r->batch;
  if (bc->model == BG_DDIM) {
    const ag_ddpm_config c = ag_ddpm_default_config();
    AG_TRY(ag_ddpm_new(&c, be, BG_SEED, &s->ddpm));
    s->opts = ag_ddpm_default_sample_opts();
    s->opts.sampler = "ddim";
    s->opts.steps = r->denoise_steps;
    s->opts.batch = r->batch; /* one call is one batch: the [cond; uncond] pass of all of it */
    ag_ddpm_info(s->ddpm, &info);
  } else {
    const ag_gan_config c = ag_gan_default_config();
    AG_TRY(ag_gan_new(&c, be, BG_SEED, &s->gan));
    ag_gan_info(s->gan, &info);
  }
  r->params = info.params;
  s->images = malloc(sizeof *s->images * (size_t)(r->batch * info.height * info.width));
  if (!s->images) return ag_set_error(AG_ERR_OOM, "bench: out of host memory");
  return AG_OK;
}

/* ---- rows ----------------------------------------------------------------- */

typedef struct bg_env {
  ag_backend *be;
  ag_comm *comm;
  const ag_bench_pipeline_opts *o;
  int rank, world, cuda, full;
} bg_env;

static void bg_describe(const bg_case *bc, ag_bench_pipeline *r) {
  if (bc->model == BG_DDIM) {
    const ag_ddpm_config c = ag_ddpm_default_config();
    const ag_ddpm_sample_opts so = ag_ddpm_default_sample_opts();
    const ag_unet_config *u = &c.unet;
    snprintf(r->shape, sizeof r->shape,
             "B=%lld DDIM-%lld cfg %g (2B rows) unet base %lld %lldx%lld", (long long)r->batch,
             (long long)r->denoise_steps, (double)so.guidance, (long long)u->base,
             (long long)u->height, (long long)u->width);
    return;
  }
  const ag_gan_config c = ag_gan_default_config();
  snprintf(r->shape, sizeof r->shape, "B=%lld dcgan z=%lld g=%lld %lldx%lld", (long long)r->batch,
           (long long)c.zdim, (long long)c.g_channels, (long long)c.height, (long long)c.width);
}

static void bg_row_init(const bg_env *env, const bg_case *bc, ag_bench_pipeline *r) {
  memset(r, 0, sizeof *r);
  bg_name(bc, env->full, r->name, sizeof r->name);
  snprintf(r->group, sizeof r->group, "%s", bc->group);
  snprintf(r->item, sizeof r->item, "img");
  r->world = env->world;
  r->warmup = env->cuda ? 2 : 1;
  r->steps = env->o->steps > 0 ? env->o->steps : env->cuda ? 10 : 3;
  r->batch = bg_batch(bc, env->full);
  r->denoise_steps = bg_steps(bc, env->full);
  r->items = r->batch * r->world;
  bg_describe(bc, r);
}

/* Builds the model and times its sampling call on every rank. */
static ag_status bg_measure(const bg_env *env, const bg_case *bc, ag_bench_pipeline *r) {
  ag_bench_memory mem;
  bg_sampler s = {0};
  ag_bench_memory_start(env->be, &mem);
  ag_status st = bg_open(env->be, bc, r, &s);
  if (st == AG_OK)
    st = ag_bench_median_ms(env->be, bg_sample, &s, r->warmup, r->steps, NULL, &r->ms, NULL);
  if (st == AG_OK) ag_bench_memory_end(env->be, &mem, r);
  bg_sampler_free(&s);
  AG_TRY(st);
  AG_TRY(ag_comm_sum_host(env->comm, &r->ms));
  r->ms /= env->world;
  r->items_per_s = (double)r->items / (r->ms * 1e-3);
  return AG_OK;
}

/* v[0..n) as "1,2,2"; n is at most AG_UNET_MAX_LEVELS, so it fits. */
static void bg_list(const int64_t *v, int64_t n, char *buf, size_t len) {
  size_t used = 0;
  buf[0] = '\0';
  for (int64_t i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "", (long long)v[i]);
}

/* The peer's arguments for row r: the model's config, the call's shape and
 * the counts. */
static void bg_peer_args(const bg_env *env, const bg_case *bc, const ag_bench_pipeline *r,
                         char *buf, size_t len) {
  size_t n =
      (size_t)snprintf(buf, len, "%s --device %s --threads %d --batch %lld --warmup %d --steps %d",
                       bc->model == BG_DDIM ? "ddim" : "gan", env->cuda ? "cuda" : "cpu",
                       ag_cpu_threads(), (long long)r->batch, r->warmup, r->steps);
  if (n >= len) return;
  if (bc->model == BG_GAN) {
    const ag_gan_config c = ag_gan_default_config();
    snprintf(buf + n, len - n,
             " --height %lld --width %lld --zdim %lld --g-channels %lld --gan-classes %lld "
             "--embed-dim %lld",
             (long long)c.height, (long long)c.width, (long long)c.zdim, (long long)c.g_channels,
             (long long)c.classes, (long long)c.embed_dim);
    return;
  }
  const ag_ddpm_config c = ag_ddpm_default_config();
  const ag_unet_config *u = &c.unet;
  const ag_noise_schedule_config *ns = &c.schedule;
  char mult[48], attn[48];
  bg_list(u->mult, u->levels, mult, sizeof mult);
  bg_list(u->attn, u->levels, attn, sizeof attn);
  snprintf(buf + n, len - n,
           " --ddim-steps %lld --guidance %g --train-timesteps %lld --beta-schedule %s "
           "--beta-start %g --beta-end %g --prediction %s --height %lld --width %lld "
           "--channels %lld --base %lld --mult %s --attn %s --blocks %lld --head-dim %lld "
           "--groups %lld --unet-classes %lld",
           (long long)r->denoise_steps, (double)ag_ddpm_default_sample_opts().guidance,
           (long long)ns->train_timesteps, ag_beta_schedule_name(ns->beta_schedule), ns->beta_start,
           ns->beta_end, ag_prediction_name(ns->prediction), (long long)u->height,
           (long long)u->width, (long long)u->channels, (long long)u->base, mult, attn,
           (long long)u->blocks, (long long)u->head_dim, (long long)u->groups,
           (long long)u->classes);
}

static ag_status bg_run_case(const bg_env *env, const bg_case *bc, ag_bench_pipeline *r) {
  bg_row_init(env, bc, r);
  AG_TRY(bg_measure(env, bc, r));
  if (env->rank != 0) return AG_OK;
  char args[768];
  bg_peer_args(env, bc, r, args, sizeof args);
  ag_bench_run_peer(env->be, env->o, env->world, "torch_peer_generators.py", args, r);
  return AG_OK;
}

ag_status ag_bench_generators(ag_backend *be, ag_comm *comm, const ag_bench_pipeline_opts *o,
                              ag_bench_pipeline *rows, int max, int *count) {
  const bg_env env = {be,
                      comm,
                      o,
                      ag_comm_rank(comm),
                      ag_comm_world(comm),
                      be->kind == AG_DEVICE_CUDA,
                      ag_bench_full_shapes(be, o)};
  for (size_t k = 0; k < BG_CASES && *count < max; k++) {
    if (!bg_matches(&bg_cases[k], env.full, o->filter)) continue;
    AG_TRY(bg_run_case(&env, &bg_cases[k], &rows[*count]));
    (*count)++;
  }
  return AG_OK;
}
