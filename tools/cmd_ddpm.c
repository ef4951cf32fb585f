/* aigc train ddpm / aigc sample ddpm: the class-conditional diffusion UNet
 * on Fashion-MNIST (models/diffusion/ag_ddpm.h), trained data-parallel and
 * sampled rank-sharded when started by mpirun. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aigc_cli.h"
#include "models/diffusion/ag_ddpm.h"
#include "runtime/core/ag_info.h"
#include "runtime/data/ag_pixels.h"
#include "runtime/io/png.h"

#define DEFAULT_CHECKPOINT "ddpm.safetensors"
#define DEFAULT_GRID "ddpm_samples.png"

/* ---- train ------------------------------------------------------------------ */

const char ag_cmd_train_ddpm_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --steps N                  optimizer updates in all, a resumed run's included (1200)\n"
    "  --batch N                  global batch: images per update over all ranks (128)\n"
    "  --lr X                     peak AdamW learning rate (0.002; warm-up, cosine to 0)\n"
    "  --seed N                   seed of the weights, shuffling, timesteps and noise (1)\n"
    "  --prediction epsilon|v     what the UNet predicts: the noise or v (epsilon)\n"
    "  --beta-schedule S          linear, scaled_linear or squaredcos_cap_v2 (linear)\n"
    "  --ema D                    decay of the weight average sampling uses (0.995)\n"
    "  --label-dropout P          probability of the null class, for guidance (0.1)\n"
    "  --base N                   UNet channels at full resolution (32)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --resume FILE              continue from a checkpoint of the same model\n"
    "  --zero 0|1                 ZeRO-1: shard the optimizer state over the ranks (0)\n"
    "  --quiet                    no progress line\n"
    "  (started by mpirun -np N)  data-parallel over N ranks\n";

typedef struct train_args {
  const char *data, *out, *resume, *zero, *prediction, *beta_schedule;
  long long base;
  float label_dropout;
  ag_ddpm_train_opts opts;
} train_args;

/* "v" is v_prediction; the other names as diffusers spells them. */
static int parse_prediction(const ag_cli *cli, const char *name, ag_diffusion_prediction *out) {
  if (strcmp(name, "v") == 0) name = "v_prediction";
  if (strcmp(name, "epsilon") == 0 || strcmp(name, "v_prediction") == 0 ||
      strcmp(name, "sample") == 0)
    return ag_prediction_parse(name, out) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  return ag_cli_usage_error(cli, "--prediction '%s': epsilon, v or sample expected", name);
}

static int parse_schedule(const ag_cli *cli, const char *name, ag_beta_schedule *out) {
  if (strcmp(name, "linear") == 0 || strcmp(name, "scaled_linear") == 0 ||
      strcmp(name, "squaredcos_cap_v2") == 0)
    return ag_beta_schedule_parse(name, out) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  return ag_cli_usage_error(cli,
                            "--beta-schedule '%s': linear, scaled_linear or squaredcos_cap_v2 "
                            "expected",
                            name);
}

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long steps = t->opts.steps, batch = t->opts.batch, seed = (long long)t->opts.seed;
  int quiet = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &t->data);
    ag_cli_text(&a, "--out", &t->out);
    ag_cli_text(&a, "--resume", &t->resume);
    ag_cli_text(&a, "--zero", &t->zero);
    ag_cli_text(&a, "--prediction", &t->prediction);
    ag_cli_text(&a, "--beta-schedule", &t->beta_schedule);
    ag_cli_int(&a, "--steps", LLONG_MAX, &steps);
    ag_cli_int(&a, "--batch", INT_MAX, &batch);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_int(&a, "--base", 1024, &t->base);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_float(&a, "--ema", &t->opts.ema);
    ag_cli_float(&a, "--label-dropout", &t->label_dropout);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  if (a.rc) return a.rc;
  if (strcmp(t->zero, "0") != 0 && strcmp(t->zero, "1") != 0)
    return ag_cli_usage_error(cli, "--zero '%s': 0 or 1 expected", t->zero);
  if (!(t->opts.ema < 1.0f))
    return ag_cli_usage_error(cli, "--ema %g: a decay below 1 expected", (double)t->opts.ema);
  if (!(t->label_dropout < 1.0f))
    return ag_cli_usage_error(cli, "--label-dropout %g: below 1 expected",
                              (double)t->label_dropout);
  t->opts.steps = steps;
  t->opts.batch = batch;
  t->opts.seed = (uint64_t)seed;
  t->opts.zero = t->zero[0] == '1';
  t->opts.progress = !quiet;
  t->opts.out = t->out;
  t->opts.resume = t->resume;
  t->opts.dataset = t->data;
  return AG_EXIT_OK;
}

static int config_of(const ag_cli *cli, const train_args *t, ag_ddpm_config *c) {
  *c = ag_ddpm_default_config();
  c->unet.base = t->base;
  c->label_dropout = t->label_dropout;
  int rc = parse_prediction(cli, t->prediction, &c->schedule.prediction);
  if (rc == AG_EXIT_OK) rc = parse_schedule(cli, t->beta_schedule, &c->schedule.beta_schedule);
  if (rc == AG_EXIT_OK && c->schedule.beta_schedule == AG_BETA_SCALED_LINEAR) {
    /* Stable Diffusion's range, the one scaled_linear is used with. */
    c->schedule.beta_start = 0.00085;
    c->schedule.beta_end = 0.012;
  }
  if (rc == AG_EXIT_OK && ag_ddpm_check(c) != AG_OK) rc = AG_EXIT_RUNTIME;
  return rc;
}

static void print_model(const ag_ddpm_config *c) {
  const ag_unet_config *u = &c->unet;
  printf("model:             UNet base %lld, multipliers", (long long)u->base);
  for (int l = 0; l < u->levels; l++) printf(" %lld", (long long)u->mult[l]);
  printf(", %lld block(s) per level, attention at", (long long)u->blocks);
  for (int l = 0; l < u->levels; l++)
    if (u->attn[l]) printf(" %lldx%lld", (long long)(u->height >> l), (long long)(u->width >> l));
  printf(" and the middle, %lld classes + null\n", (long long)u->classes);
  printf("noise:             %s betas over %lld timesteps, %s prediction, label dropout %g\n",
         ag_beta_schedule_name(c->schedule.beta_schedule),
         (long long)c->schedule.train_timesteps, ag_prediction_name(c->schedule.prediction),
         (double)c->label_dropout);
}

static void print_plan(const train_args *t, const ag_ddpm_config *c, const ag_mnist *train,
                       int world) {
  printf("data:              %s (%lld train images of %lldx%lld)\n", ag_cli_dataset_dir(t->data),
         (long long)train->n, (long long)train->h, (long long)train->w);
  print_model(c);
  printf(
      "training:          %lld updates of %lld images on %d rank%s%s, AdamW lr %g (warm-up "
      "%lld, cosine), EMA %g\n",
      (long long)t->opts.steps, (long long)t->opts.batch, world, world > 1 ? "s" : "",
      t->opts.zero ? " (ZeRO-1)" : "", (double)t->opts.lr, (long long)t->opts.warmup,
      (double)t->opts.ema);
  fflush(stdout);
}

static void print_result(const train_args *t, const ag_ddpm_train_result *r, int64_t params) {
  char peak[32];
  const int64_t run = r->steps_done - r->resumed_at;
  if (r->resumed_at) printf("resumed:           at update %lld\n", (long long)r->resumed_at);
  printf(
      "trained:           %lld parameters, %lld updates in %.1f s (%.3f s/update, %.1f s in "
      "all), last loss %.4f\n",
      (long long)params, (long long)r->steps_done, r->seconds,
      run > 0 ? r->seconds / (double)run : 0.0, r->total_seconds, (double)r->last_loss);
  printf("peak memory:       %s\n", ag_format_bytes((size_t)r->peak_bytes, peak, sizeof peak));
  printf("saved:             %s\n", t->out);
  fflush(stdout);
}

static int train_on(ag_comm *comm, const train_args *t, const ag_ddpm_config *c) {
  ag_mnist train = {0};
  int rc = ag_mnist_load(ag_cli_dataset_dir(t->data), "train", &train) == AG_OK ? AG_EXIT_OK
                                                                          : AG_EXIT_RUNTIME;
  const int rank0 = ag_comm_rank(comm) == 0;
  if (rc == AG_EXIT_OK && rank0) print_plan(t, c, &train, ag_comm_world(comm));
  ag_ddpm_train_result res;
  if (rc == AG_EXIT_OK && ag_ddpm_train(comm, c, &t->opts, &train, &res) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && rank0) {
    ag_params *p = ag_params_new(ag_comm_backend(comm), 0);
    if (p && ag_unet_init(p, &c->unet) == AG_OK) print_result(t, &res, ag_params_numel(p));
    ag_params_free(p);
  }
  ag_mnist_free(&train);
  return rc;
}

int ag_cmd_train_ddpm(const ag_cli *cli, int argc, char **argv) {
  const ag_ddpm_config d = ag_ddpm_default_config();
  train_args t = {.data = "fashion-mnist",
                  .out = DEFAULT_CHECKPOINT,
                  .zero = "0",
                  .prediction = "epsilon",
                  .beta_schedule = "linear",
                  .base = d.unet.base,
                  .label_dropout = d.label_dropout,
                  .opts = ag_ddpm_default_train_opts()};
  ag_backend *be = NULL;
  ag_comm *comm = NULL;
  ag_ddpm_config c;
  int rc = parse_train(cli, argc, argv, &t);
  if (rc == AG_EXIT_OK) rc = config_of(cli, &t, &c);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.out);
  if (rc == AG_EXIT_OK && ag_comm_open(be, &(ag_comm_opts){AG_COMM_AUTO, 0}, &comm) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = train_on(comm, &t, &c);
  if (comm) ag_comm_close(comm);
  return rc;
}

/* ---- sample ----------------------------------------------------------------- */

const char ag_cmd_sample_ddpm_options[] =
    "  --checkpoint FILE          the model to sample (" DEFAULT_CHECKPOINT
    ")\n"
    "  --n N                      images to make (64)\n"
    "  --sampler S                ddpm, ddim, euler, euler_a, dpmpp_2m or dpmpp_2m_karras (ddpm)\n"
    "  --steps N                  sampler steps (50)\n"
    "  --guidance G               classifier-free guidance scale; 0 or 1: conditional only (3)\n"
    "  --seed N                   seed of the noise (1)\n"
    "  --class K                  every image of class K (default: image i of class i % 10)\n"
    "  --batch N                  images per forward pass (default: sized to memory)\n"
    "  --out FILE                 the grid PNG, one class per column (" DEFAULT_GRID
    ")\n"
    "  --out-dir DIR              also one PNG per image, DIR/ddpm_00000.png ...\n"
    "  (started by mpirun -np N)  each rank samples its share, rank 0 writes\n";

typedef struct sample_args {
  const char *checkpoint, *out, *out_dir, *class_text, *guidance_text;
  long long n, batch, klass;
  ag_ddpm_sample_opts opts;
} sample_args;

/* A number >= 0 (guidance 0 is allowed, unlike ag_cli_float's). */
static int parse_nonnegative(const ag_cli *cli, const char *name, const char *text, double max,
                             double *out) {
  char *end = NULL;
  errno = 0;
  *out = strtod(text, &end);
  if (errno || end == text || *end || !(*out >= 0 && *out <= max))
    return ag_cli_usage_error(cli, "%s '%s': a number in 0..%g expected", name, text, max);
  return AG_EXIT_OK;
}

static int parse_sample(const ag_cli *cli, int argc, char **argv, sample_args *s) {
  long long steps = s->opts.steps, seed = (long long)s->opts.seed;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &s->checkpoint);
    ag_cli_text(&a, "--out", &s->out);
    ag_cli_text(&a, "--out-dir", &s->out_dir);
    ag_cli_text(&a, "--sampler", &s->opts.sampler);
    ag_cli_text(&a, "--class", &s->class_text);
    ag_cli_text(&a, "--guidance", &s->guidance_text);
    ag_cli_int(&a, "--n", 1 << 20, &s->n);
    ag_cli_int(&a, "--steps", 100000, &steps);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_int(&a, "--batch", 1 << 20, &s->batch);
  }
  if (a.rc) return a.rc;
  ag_sampler_config sc;
  if (ag_sampler_config_named(s->opts.sampler, &sc) != AG_OK)
    return ag_cli_usage_error(cli, "--sampler '%s': one of %s expected", s->opts.sampler,
                              ag_sampler_names());
  double g = s->opts.guidance, k = -1;
  if (s->guidance_text && parse_nonnegative(cli, "--guidance", s->guidance_text, 100, &g))
    return AG_EXIT_USAGE;
  if (s->class_text && parse_nonnegative(cli, "--class", s->class_text, 1e6, &k))
    return AG_EXIT_USAGE;
  if (s->class_text && k != (double)(long long)k)
    return ag_cli_usage_error(cli, "--class '%s': a class number expected", s->class_text);
  s->klass = (long long)k;
  s->opts.guidance = (float)g;
  s->opts.steps = steps;
  s->opts.seed = (uint64_t)seed;
  s->opts.batch = s->batch;
  return AG_EXIT_OK;
}

/* The directory for --out-dir, made when missing: only once the images
 * exist, so a run that fails leaves no directory behind (its parent is
 * checked before sampling). */
static ag_status make_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return AG_OK;
  }
  return ag_set_error(AG_ERR_IO, "--out-dir %s: cannot make the directory (%s)", dir,
                      strerror(errno));
}

/* The share of n images rank r of w makes: [lo, hi). */
static void share_of(int64_t n, int r, int w, int64_t *lo, int64_t *hi) {
  *lo = n * r / w;
  *hi = n * (r + 1) / w;
}

/* Every rank's images into everyone's `images` (rank order = image order). */
static ag_status gather(ag_comm *comm, int64_t n, int64_t per_image, float *images) {
  const int w = ag_comm_world(comm);
  for (int r = 0; r < w; r++) {
    int64_t lo, hi;
    share_of(n, r, w, &lo, &hi);
    if (hi > lo)
      AG_TRY(ag_comm_broadcast_host(comm, images + lo * per_image,
                                    sizeof *images * (size_t)((hi - lo) * per_image), r));
  }
  return AG_OK;
}

static ag_status sample_share(ag_comm *comm, ag_ddpm *m, const sample_args *s, float *images,
                              double *seconds) {
  const ag_unet_config *u = &ag_ddpm_config_of(m)->unet;
  const int64_t per = u->height * u->width;
  int64_t lo, hi;
  share_of(s->n, ag_comm_rank(comm), ag_comm_world(comm), &lo, &hi);
  int32_t *labels = NULL;
  if (s->klass >= 0 && hi > lo) {
    if (!(labels = malloc(sizeof *labels * (size_t)(hi - lo))))
      return ag_set_error(AG_ERR_OOM, "sample ddpm: out of host memory");
    for (int64_t i = 0; i < hi - lo; i++) labels[i] = (int32_t)s->klass;
  }
  ag_ddpm_sample_opts o = s->opts;
  o.first = lo;
  const double t0 = ag_now_seconds();
  ag_status st = hi > lo ? ag_ddpm_sample(m, &o, hi - lo, labels, images + lo * per) : AG_OK;
  free(labels);
  /* Every rank learns whether all worked before the images move. */
  double failed = st != AG_OK;
  char msg[1024] = "";
  if (st != AG_OK) snprintf(msg, sizeof msg, "%s", ag_last_error());
  AG_TRY(ag_comm_sum_host(comm, &failed));
  *seconds = ag_now_seconds() - t0;
  if (st != AG_OK) return ag_set_error(st, "%s", msg);
  if (failed > 0) return ag_set_error(AG_ERR_INVALID, "sample ddpm: another rank failed");
  return gather(comm, s->n, per, images);
}

static ag_status write_images(const sample_args *s, const ag_ddpm *m, const float *images) {
  const ag_unet_config *u = &ag_ddpm_config_of(m)->unet;
  const int64_t per = u->height * u->width;
  if (s->out_dir) AG_TRY(make_dir(s->out_dir));
  ag_grid_opts g = ag_grid_default_opts();
  g.signed_range = 0;
  /* One class per column when image i is of class i % classes. */
  if (s->klass < 0 && u->classes > 0 && s->n >= u->classes) g.cols = (int)u->classes;
  ag_image grid = {0};
  AG_TRY(ag_image_grid(images, s->n, 1, u->height, u->width, &g, &grid));
  ag_status st = ag_png_write(s->out, grid.pixels, grid.w, grid.h, grid.c);
  ag_image_free(&grid);
  uint8_t *pix = s->out_dir ? malloc((size_t)per) : NULL;
  if (st == AG_OK && s->out_dir && !pix) st = ag_set_error(AG_ERR_OOM, "out of host memory");
  for (int64_t i = 0; st == AG_OK && s->out_dir && i < s->n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/ddpm_%05lld.png", s->out_dir, (long long)i);
    ag_f32_to_u8(images + i * per, pix, (size_t)per, 255.0f, 0.0f);
    st = ag_png_write(path, pix, (int)u->width, (int)u->height, 1);
  }
  free(pix);
  return st;
}

static void print_model_info(const sample_args *s, const ag_ddpm *m) {
  ag_generator_info i;
  ag_ddpm_info(m, &i);
  printf("checkpoint:        %s (ddpm, %lld parameters, %lld updates in %.1f s on %s)\n",
         s->checkpoint, (long long)i.params, (long long)i.train_steps, i.train_seconds, i.device);
  fflush(stdout);
}

static int sample_on(ag_comm *comm, const sample_args *s, ag_ddpm *m) {
  const ag_unet_config *u = &ag_ddpm_config_of(m)->unet;
  const int rank0 = ag_comm_rank(comm) == 0;
  if (s->klass >= u->classes) {
    ag_set_error(AG_ERR_INVALID, "--class %lld: the model has classes 0..%lld", s->klass,
                 (long long)(u->classes - 1));
    return AG_EXIT_RUNTIME;
  }
  float *images = malloc(sizeof *images * (size_t)(s->n * u->height * u->width));
  if (!images) return ag_set_error(AG_ERR_OOM, "out of host memory"), AG_EXIT_RUNTIME;
  if (rank0) {
    print_model_info(s, m);
    printf("sampling:          %lld images, %s, %lld steps, guidance %g, seed %llu, %d rank%s\n",
           s->n, s->opts.sampler, (long long)s->opts.steps, (double)s->opts.guidance,
           (unsigned long long)s->opts.seed, ag_comm_world(comm),
           ag_comm_world(comm) > 1 ? "s" : "");
    fflush(stdout);
  }
  double seconds = 0;
  int rc = sample_share(comm, m, s, images, &seconds) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && rank0) rc = write_images(s, m, images) == AG_OK ? AG_EXIT_OK
                                                                           : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && rank0) {
    printf("sampled:           %.1f s (%.2f images/s)\n", seconds, (double)s->n / seconds);
    printf("wrote:             %s%s%s\n", s->out, s->out_dir ? " and one PNG per image in " : "",
           s->out_dir ? s->out_dir : "");
  }
  free(images);
  return rc;
}

int ag_cmd_sample_ddpm(const ag_cli *cli, int argc, char **argv) {
  sample_args s = {.checkpoint = DEFAULT_CHECKPOINT,
                   .out = DEFAULT_GRID,
                   .n = 64,
                   .opts = ag_ddpm_default_sample_opts()};
  ag_backend *be = NULL;
  ag_comm *comm = NULL;
  ag_ddpm *m = NULL;
  int rc = parse_sample(cli, argc, argv, &s);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(s.out);
  if (rc == AG_EXIT_OK && s.out_dir) rc = ag_cli_check_writable_dir(s.out_dir);
  if (rc == AG_EXIT_OK && ag_ddpm_load(s.checkpoint, be, &m) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && ag_comm_open(be, &(ag_comm_opts){AG_COMM_AUTO, 0}, &comm) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = sample_on(comm, &s, m);
  if (comm) ag_comm_close(comm);
  ag_ddpm_free(m);
  return rc;
}
