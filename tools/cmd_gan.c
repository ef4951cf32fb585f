/* aigc train gan / aigc sample gan: the DCGAN (models/gan/ag_gan.h) trained
 * on Fashion-MNIST and sampled from its checkpoint into a PNG grid. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aigc_cli.h"
#include "models/gan/ag_gan.h"
#include "runtime/core/ag_info.h"
#include "runtime/io/png.h"

#define DEFAULT_CHECKPOINT "gan.safetensors"
#define DEFAULT_GRID "gan_samples.png"
#define EMA_DECAY 0.995f

/* ---- train ------------------------------------------------------------------ */

const char ag_cmd_train_gan_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --steps N                  updates of each network, a resumed run's included (3000)\n"
    "  --batch N                  images per update (64)\n"
    "  --lr X                     Adam learning rate of both networks, betas (0.5, 0.999) "
    "(0.0002)\n"
    "  --loss ns|hinge|ragan      non-saturating, hinge or relativistic average (ns)\n"
    "  --r1 GAMMA                 R1 penalty gamma/2 |grad D(real)|^2 (none)\n"
    "  --conditional              class-conditional (label embedding, projection "
    "discriminator)\n"
    "  --ema                      sample from an average of G's weights (decay 0.995)\n"
    "  --seed N                   seed of the weights, the shuffling and the latents (1)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --resume FILE              continue that checkpoint's run (weights, optimizers, step)\n"
    "  --quiet                    no progress line\n";

typedef struct train_args {
  const char *data, *loss;
  int conditional;
  ag_gan_train_opts opts;
} train_args;

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long steps = t->opts.steps, batch = t->opts.batch, seed = (long long)t->opts.seed;
  int quiet = 0, ema = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &t->data);
    ag_cli_text(&a, "--out", &t->opts.out);
    ag_cli_text(&a, "--resume", &t->opts.resume);
    ag_cli_text(&a, "--loss", &t->loss);
    ag_cli_int(&a, "--steps", INT_MAX, &steps);
    ag_cli_int(&a, "--batch", INT_MAX, &batch);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_float(&a, "--r1", &t->opts.r1_gamma);
    ag_cli_flag(&a, "--conditional", &t->conditional);
    ag_cli_flag(&a, "--ema", &ema);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  if (a.rc) return a.rc;
  if (ag_gan_loss_parse(t->loss, &t->opts.loss) != AG_OK)
    return ag_cli_usage_error(cli, "--loss '%s': ns, hinge or ragan expected", t->loss);
  if (batch < 2) return ag_cli_usage_error(cli, "--batch %lld: at least 2 expected", batch);
  t->opts.steps = steps;
  t->opts.batch = batch;
  t->opts.seed = (uint64_t)seed;
  t->opts.ema_decay = ema ? EMA_DECAY : 0.0f;
  t->opts.progress = !quiet;
  return AG_EXIT_OK;
}

static void print_plan(const train_args *t, const ag_gan_config *c, const ag_mnist *train) {
  const ag_gan_train_opts *o = &t->opts;
  printf("data:              %s (%lld train images)\n", ag_cli_dataset_dir(t->data), (long long)train->n);
  printf("model:             DCGAN %lldx%lld, z %lld, G %lld/%lld channels, D %lld/%lld%s\n",
         (long long)c->height, (long long)c->width, (long long)c->zdim,
         2 * (long long)c->g_channels, (long long)c->g_channels, (long long)c->d_channels,
         2 * (long long)c->d_channels, c->classes ? ", class-conditional (projection D)" : "");
  printf("training:          %lld updates of %lld images, Adam lr %g betas (%g, %g), loss %s",
         (long long)o->steps, (long long)o->batch, o->lr, o->beta1, o->beta2,
         ag_gan_loss_name(o->loss));
  if (o->r1_gamma > 0) printf(", R1 gamma %g", o->r1_gamma);
  if (o->ema_decay > 0) printf(", EMA %g", o->ema_decay);
  if (o->resume) printf(", resuming %s", o->resume);
  printf("\n");
  fflush(stdout);
}

static int train_on(ag_backend *be, train_args *t, const ag_gan_config *c) {
  ag_mnist train = {0};
  int rc =
      ag_mnist_load(ag_cli_dataset_dir(t->data), "train", &train) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) print_plan(t, c, &train);
  ag_gan_train_result r;
  if (rc == AG_EXIT_OK && ag_gan_train(be, c, &t->opts, &train, &r) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    if (r.resumed_at) printf("resumed:           at update %lld\n", (long long)r.resumed_at);
    printf("trained:           %lld updates in %.1f s (%.0f ms per update), peak %.1f MiB\n",
           (long long)r.steps_done, r.seconds, 1e3 * r.seconds / (double)r.steps_done,
           (double)r.peak_bytes / (1 << 20));
    printf("last losses:       D %.4f, G %.4f\n", r.d_loss, r.g_loss);
    printf("saved:             %s\n", t->opts.out);
  }
  ag_mnist_free(&train);
  return rc;
}

int ag_cmd_train_gan(const ag_cli *cli, int argc, char **argv) {
  train_args t = {.data = "fashion-mnist", .loss = "ns", .opts = ag_gan_default_train_opts()};
  t.opts.out = DEFAULT_CHECKPOINT;
  ag_backend *be = NULL;
  int rc = parse_train(cli, argc, argv, &t);
  ag_gan_config c = ag_gan_default_config();
  if (t.conditional) c.classes = AG_FASHION_MNIST_CLASSES;
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.opts.out);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = train_on(be, &t, &c);
  return rc;
}

/* ---- sample ----------------------------------------------------------------- */

const char ag_cmd_sample_gan_options[] =
    "  --checkpoint FILE          the GAN to sample (" DEFAULT_CHECKPOINT
    ")\n"
    "  --n N                      images (64)\n"
    "  --seed N                   seed of the latents (1)\n"
    "  --batch N                  images per generator pass (256)\n"
    "  --class K                  a conditional model's class for every image (default: "
    "cycling)\n"
    "  --out FILE                 the PNG grid to write (" DEFAULT_GRID
    ")\n"
    "  --out-dir DIR              also one PNG per image there\n";

typedef struct sample_args {
  const char *checkpoint, *out, *out_dir, *class_text;
  long long n, seed, batch;
} sample_args;

static int parse_sample(const ag_cli *cli, int argc, char **argv, sample_args *s) {
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &s->checkpoint);
    ag_cli_text(&a, "--out", &s->out);
    ag_cli_text(&a, "--out-dir", &s->out_dir);
    ag_cli_text(&a, "--class", &s->class_text);
    ag_cli_int(&a, "--n", 1 << 20, &s->n);
    ag_cli_int(&a, "--seed", LLONG_MAX, &s->seed);
    ag_cli_int(&a, "--batch", 1 << 16, &s->batch);
  }
  return a.rc;
}

/* --class K: a number in 0..classes-1 of a conditional model. */
static int class_labels(const ag_cli *cli, const sample_args *s, const ag_generator_info *info,
                        int32_t **labels) {
  *labels = NULL;
  if (!s->class_text) return AG_EXIT_OK;
  char *end = NULL;
  errno = 0;
  const long k = strtol(s->class_text, &end, 10);
  if (!info->classes)
    return ag_cli_usage_error(cli, "--class: %s is an unconditional model", s->checkpoint);
  if (errno || end == s->class_text || *end || k < 0 || k >= info->classes)
    return ag_cli_usage_error(cli, "--class '%s': a class in 0..%lld expected", s->class_text,
                              (long long)info->classes - 1);
  *labels = malloc(sizeof **labels * (size_t)s->n);
  if (!*labels) {
    ag_set_error(AG_ERR_OOM, "sample gan: out of host memory");
    return AG_EXIT_RUNTIME;
  }
  for (long long i = 0; i < s->n; i++) (*labels)[i] = (int32_t)k;
  return AG_EXIT_OK;
}

static int check_out_dir(const char *dir) {
  struct stat sb;
  if (!dir || (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))) return AG_EXIT_OK;
  ag_set_error(AG_ERR_IO, "%s: --out-dir is not an existing directory", dir);
  return AG_EXIT_RUNTIME;
}

static int write_images(const sample_args *s, const ag_generator_info *info, const float *px) {
  ag_grid_opts go = ag_grid_default_opts();
  go.signed_range = 0;
  ag_image grid = {0};
  ag_status st = ag_image_grid(px, s->n, 1, info->height, info->width, &go, &grid);
  if (st == AG_OK) st = ag_png_write(s->out, grid.pixels, grid.w, grid.h, 1);
  ag_image_free(&grid);
  const int64_t npx = info->height * info->width;
  uint8_t *u8 = s->out_dir && st == AG_OK ? malloc((size_t)npx) : NULL;
  if (s->out_dir && st == AG_OK && !u8) st = ag_set_error(AG_ERR_OOM, "sample gan: out of memory");
  for (long long i = 0; s->out_dir && st == AG_OK && i < s->n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/gan_%05lld.png", s->out_dir, i);
    ag_f32_to_u8(px + i * npx, u8, (size_t)npx, 255.0f, 0.0f);
    st = ag_png_write(path, u8, (int)info->width, (int)info->height, 1);
  }
  free(u8);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

static int sample(const ag_cli *cli, const sample_args *s, ag_gan *g) {
  ag_generator_info info;
  ag_gan_info(g, &info);
  int32_t *labels = NULL;
  int rc = class_labels(cli, s, &info, &labels);
  float *px =
      rc == AG_EXIT_OK ? malloc(sizeof *px * (size_t)(s->n * info.height * info.width)) : NULL;
  if (rc == AG_EXIT_OK && !px) {
    ag_set_error(AG_ERR_OOM, "sample gan: out of host memory");
    rc = AG_EXIT_RUNTIME;
  }
  if (rc == AG_EXIT_OK)
    printf("checkpoint:        %s (gan %lldx%lld, %s, %lld generator parameters, %lld updates)\n",
           s->checkpoint, (long long)info.height, (long long)info.width,
           info.classes ? "class-conditional" : "unconditional", (long long)info.params,
           (long long)info.train_steps);
  const double t0 = ag_now_seconds();
  if (rc == AG_EXIT_OK &&
      ag_gan_sample(g, (uint64_t)s->seed, 0, s->batch, s->n, labels, px) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  const double seconds = ag_now_seconds() - t0;
  if (rc == AG_EXIT_OK) rc = write_images(s, &info, px);
  if (rc == AG_EXIT_OK) {
    printf("generated:         %lld images in %.3f s (%.0f images/s)\n", s->n, seconds,
           (double)s->n / seconds);
    printf("saved:             %s%s%s\n", s->out, s->out_dir ? " and one PNG per image in " : "",
           s->out_dir ? s->out_dir : "");
  }
  free(px);
  free(labels);
  return rc;
}

int ag_cmd_sample_gan(const ag_cli *cli, int argc, char **argv) {
  sample_args s = {.checkpoint = DEFAULT_CHECKPOINT, .out = DEFAULT_GRID, .n = 64, .seed = 1};
  ag_backend *be = NULL;
  ag_gan *g = NULL;
  int rc = parse_sample(cli, argc, argv, &s);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(s.out);
  if (rc == AG_EXIT_OK) rc = check_out_dir(s.out_dir);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK && ag_gan_load(s.checkpoint, be, &g) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = sample(cli, &s, g);
  ag_gan_free(g);
  return rc;
}
