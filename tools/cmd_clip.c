/* aigc train clip / aigc eval clip: CLIP on Fashion-MNIST with measured
 * captions (models/transformer/ag_clip.h), trained data-parallel when
 * started by mpirun, saved, reloaded and evaluated. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "models/transformer/ag_clip.h"
#include "runtime/core/ag_info.h"

#define DEFAULT_CHECKPOINT "clip.safetensors"
#define EVAL_CHUNK 1000
#define EVAL_CAPTION_SEED 0 /* test captions: epoch 0 of this seed */

static int load_split(const char *data, const char *split, ag_mnist *ds) {
  return ag_mnist_load(ag_cli_dataset_dir(data), split, ds) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

/* Thresholds of the measured attributes: the training set's terciles. */
static int fit_thresholds(const char *data, ag_clip_thresholds *t) {
  ag_mnist train = {0};
  int rc = load_split(data, "train", &train);
  if (rc == AG_EXIT_OK && ag_clip_fit_thresholds(&train, t) != AG_OK) rc = AG_EXIT_RUNTIME;
  ag_mnist_free(&train);
  return rc;
}

static void print_results(const ag_clip_eval_result *r) {
  const long long correct = (long long)(r->zero_shot * (double)r->images + 0.5);
  printf("zero-shot accuracy: %.2f%% (%lld/%lld, %d prompts per class)\n", 100.0 * r->zero_shot,
         correct, (long long)r->images, AG_CLIP_PROMPTS);
  printf("retrieval:          %lld chunks of %lld test images against their own captions\n",
         (long long)(r->images / r->chunk), (long long)r->chunk);
  printf("  image->text:      R@1 %.2f%%  R@5 %.2f%%\n", 100.0 * r->i2t_r1, 100.0 * r->i2t_r5);
  printf("  text->image:      R@1 %.2f%%  R@5 %.2f%%\n", 100.0 * r->t2i_r1, 100.0 * r->t2i_r5);
  printf("confusion (rows: true class, columns: predicted):\n%12s", "");
  for (int k = 0; k < AG_FASHION_MNIST_CLASSES; k++) printf(" %5d", k);
  printf("\n");
  for (int i = 0; i < AG_FASHION_MNIST_CLASSES; i++) {
    printf("  %d %-9.9s", i, ag_fashion_mnist_class_name(i));
    for (int k = 0; k < AG_FASHION_MNIST_CLASSES; k++)
      printf(" %5lld", (long long)r->confusion[i][k]);
    printf("\n");
  }
}

static int evaluate(ag_params *p, const ag_clip_config *c, const char *data) {
  ag_clip_thresholds t;
  ag_mnist test = {0};
  int rc = fit_thresholds(data, &t);
  if (rc == AG_EXIT_OK) rc = load_split(data, "t10k", &test);
  ag_clip_eval_result r;
  const double t0 = ag_now_seconds();
  if (rc == AG_EXIT_OK &&
      ag_clip_evaluate(p, c, &test, &t, EVAL_CAPTION_SEED, EVAL_CHUNK, &r) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    print_results(&r);
    printf("evaluated in:       %.1f s\n", ag_now_seconds() - t0);
  }
  ag_mnist_free(&test);
  return rc;
}

/* ---- train ------------------------------------------------------------------ */

const char ag_cmd_train_clip_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --steps N                  optimizer updates in all, a resumed run's included (1500)\n"
    "  --batch N                  global batch: image-caption pairs per update over all ranks "
    "(256)\n"
    "  --lr X                     peak AdamW learning rate (0.002)\n"
    "  --seed N                   seed of the weights, the shuffling and the captions (1)\n"
    "  --dim N                    width of both towers and of the joint space (64)\n"
    "  --layers N                 blocks of the image tower (3)\n"
    "  --text-layers N            blocks of the text tower (2)\n"
    "  --patch N                  ViT patch size, dividing 28 (7)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --resume FILE              continue from a checkpoint of the same model\n"
    "  --zero 0|1                 ZeRO-1: shard the optimizer state over the ranks "
    "(0)\n" AG_CLI_DTYPE_HELP
    "  --no-eval                  skip the test-set evaluation after training\n"
    "  --quiet                    no progress line\n"
    "  (started by mpirun -np N)  data-parallel over N ranks\n";

typedef struct train_args {
  const char *data, *out, *resume, *zero, *dtype;
  long long dim, layers, text_layers, patch;
  int no_eval;
  ag_clip_train_opts opts;
} train_args;

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long steps = t->opts.steps, batch = t->opts.batch, seed = (long long)t->opts.seed;
  int quiet = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &t->data);
    ag_cli_text(&a, "--out", &t->out);
    ag_cli_text(&a, "--resume", &t->resume);
    ag_cli_text(&a, "--zero", &t->zero);
    ag_cli_text(&a, "--dtype", &t->dtype);
    ag_cli_int(&a, "--steps", LLONG_MAX, &steps);
    ag_cli_int(&a, "--batch", INT_MAX, &batch);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_int(&a, "--dim", 4096, &t->dim);
    ag_cli_int(&a, "--layers", 64, &t->layers);
    ag_cli_int(&a, "--text-layers", 64, &t->text_layers);
    ag_cli_int(&a, "--patch", 28, &t->patch);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_flag(&a, "--no-eval", &t->no_eval);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  if (a.rc) return a.rc;
  if (strcmp(t->zero, "0") != 0 && strcmp(t->zero, "1") != 0)
    return ag_cli_usage_error(cli, "--zero '%s': 0 or 1 expected", t->zero);
  t->opts.steps = steps;
  t->opts.batch = batch;
  t->opts.seed = (uint64_t)seed;
  t->opts.zero = t->zero[0] == '1';
  t->opts.progress = !quiet;
  t->opts.out = t->out;
  t->opts.resume = t->resume;
  return AG_EXIT_OK;
}

static ag_clip_config config_of(const train_args *t) {
  ag_clip_config c = ag_clip_default_config();
  c.vision.dim = c.text.dim = c.embed_dim = t->dim;
  /* Heads of 32 channels, the head dim every backend's attention takes. */
  c.vision.heads = c.text.heads = t->dim % 32 == 0 ? t->dim / 32 : 1;
  c.vision.layers = t->layers;
  c.text.layers = t->text_layers;
  c.vision.patch = t->patch;
  return c;
}

static void print_plan(const train_args *t, const ag_clip_config *c, const ag_mnist *train,
                       int world) {
  printf("data:              %s (%lld train images, measured captions)\n",
         ag_cli_dataset_dir(t->data), (long long)train->n);
  printf(
      "model:             ViT %lld blocks of %lld on %lldx%lld patches, text %lld blocks of "
      "%lld on %lld tokens, joint dim %lld\n",
      (long long)c->vision.layers, (long long)c->vision.dim, (long long)c->vision.patch,
      (long long)c->vision.patch, (long long)c->text.layers, (long long)c->text.dim,
      (long long)c->text.context, (long long)c->embed_dim);
  printf(
      "training:          %lld updates of %lld pairs on %d rank%s%s, %s compute, AdamW lr %g "
      "(warm-up %lld, cosine)\n",
      (long long)t->opts.steps, (long long)t->opts.batch, world, world > 1 ? "s" : "",
      t->opts.zero ? " (ZeRO-1)" : "", ag_dtype_name(t->opts.dtype), t->opts.lr,
      (long long)t->opts.warmup);
  fflush(stdout);
}

static int train_on(ag_comm *comm, const train_args *t, const ag_clip_config *c, ag_params **p) {
  ag_mnist train = {0};
  int rc = load_split(t->data, "train", &train);
  const int rank0 = ag_comm_rank(comm) == 0;
  if (rc == AG_EXIT_OK && rank0) print_plan(t, c, &train, ag_comm_world(comm));
  ag_clip_train_result res;
  if (rc == AG_EXIT_OK && ag_clip_train(comm, c, &t->opts, &train, p, &res) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && rank0) {
    if (res.resumed_at) printf("resumed:           at update %lld\n", (long long)res.resumed_at);
    printf(
        "trained:           %lld parameters, %lld updates in %.1f s, last loss %.4f, "
        "logit scale %.3f\n",
        (long long)ag_params_numel(*p), (long long)res.steps_done, res.seconds, res.last_loss,
        res.logit_scale);
    printf("saved:             %s\n", t->out);
    fflush(stdout);
  }
  ag_mnist_free(&train);
  return rc;
}

int ag_cmd_train_clip(const ag_cli *cli, int argc, char **argv) {
  const ag_clip_config d = ag_clip_default_config();
  train_args t = {.data = "fashion-mnist",
                  .out = DEFAULT_CHECKPOINT,
                  .zero = "0",
                  .dim = d.vision.dim,
                  .layers = d.vision.layers,
                  .text_layers = d.text.layers,
                  .patch = d.vision.patch,
                  .opts = ag_clip_default_train_opts()};
  const int rank = ag_comm_env_read().rank;
  ag_backend *be = NULL;
  ag_comm *comm = NULL;
  ag_params *p = NULL;
  int rc = parse_train(cli, argc, argv, &t);
  const ag_clip_config c = config_of(&t);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_compute_dtype(cli, t.dtype, be, &t.opts.dtype);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.out);
  if (rc == AG_EXIT_OK && ag_comm_open(be, &(ag_comm_opts){AG_COMM_AUTO, 0}, &comm) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = train_on(comm, &t, &c, &p);
  /* Evaluation is rank 0's alone: the communicator is closed first, so no
   * peer waits in a collective meanwhile. */
  if (comm) ag_comm_close(comm);
  if (rc == AG_EXIT_OK && rank == 0 && !t.no_eval) rc = evaluate(p, &c, t.data);
  ag_params_free(p);
  return rc;
}

/* ---- eval ------------------------------------------------------------------- */

const char ag_cmd_eval_clip_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --checkpoint FILE          the checkpoint to evaluate (" DEFAULT_CHECKPOINT ")\n";

int ag_cmd_eval_clip(const ag_cli *cli, int argc, char **argv) {
  const char *data = "fashion-mnist", *path = DEFAULT_CHECKPOINT;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &data);
    ag_cli_text(&a, "--checkpoint", &path);
  }
  ag_backend *be = NULL;
  ag_params *p = NULL;
  ag_clip_config c;
  int rc = a.rc;
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK && ag_clip_load(path, be, &p, &c) != AG_OK) rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    printf("checkpoint:        %s (%lld parameters)\n", path, (long long)ag_params_numel(p));
    rc = evaluate(p, &c, data);
  }
  ag_params_free(p);
  return rc;
}
