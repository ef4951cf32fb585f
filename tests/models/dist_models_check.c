/* dist_models_check: a few data-parallel training steps of the real models,
 * for tests/runtime/test_dp.sh (which runs it under `mpirun -np 1` and `-np
 * 2` and compares):
 *   dist_models_check --model gpt --text FILE | --model clip --data DIR
 *                     --device cpu|emu [--comm auto|single|mpi|nccl]
 *                     [--zero 0|1] [--steps N] [--save FILE] [--resume FILE]
 * Rank 0 prints "step <k> loss <global mean, %.9e>" per step and nothing
 * else on stdout. Small configurations, the schedule of a 20-step run
 * (--steps N stops it after N, as `until` does, so a run stopped at step 10
 * and resumed continues the 20-step run exactly) and the model's own
 * training function (ag_gpt_train, ag_clip_train) with its data sharding,
 * gradient averaging (ag_dp) and checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/transformer/ag_clip.h"
#include "models/transformer/ag_gpt.h"
#include "models/transformer/ag_tokenizer.h"
#include "runtime/backends/ag_backend_emu.h"

enum { TOTAL_STEPS = 20 };

typedef struct check_opts {
  const char *model, *text, *data, *device, *comm, *save, *resume;
  int zero, steps;
} check_opts;

static ag_status read_file(const char *path, char **text, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  const long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  *text = len > 0 ? malloc((size_t)len) : NULL;
  const int ok = *text && fread(*text, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  *n = ok ? (size_t)len : 0;
  return ok ? AG_OK : ag_set_error(AG_ERR_IO, "cannot read %s", path);
}

static void print_losses(ag_comm *c, const double *losses, int64_t from, int64_t to) {
  if (ag_comm_rank(c) != 0) return;
  for (int64_t k = from; k < to; k++) printf("step %lld loss %.9e\n", (long long)k, losses[k]);
}

static ag_status check_gpt(const check_opts *o, ag_comm *c) {
  const ag_gpt_config cfg = {.vocab = AG_TOK_VOCAB, .context = 32, .layers = 2, .width = 64,
                             .heads = 2};
  ag_gpt_train_opts to = ag_gpt_default_train_opts();
  double losses[TOTAL_STEPS] = {0};
  to.steps = TOTAL_STEPS, to.until = o->steps, to.batch = 8, to.warmup = 4;
  to.zero = o->zero, to.out = o->save, to.resume = o->resume, to.progress = 0;
  to.losses = losses;
  char *text = NULL;
  size_t n = 0;
  ag_params *p = NULL;
  ag_status st = read_file(o->text, &text, &n);
  if (st == AG_OK) st = ag_gpt_train(c, &cfg, &to, text, n, &p);
  if (st == AG_OK) print_losses(c, losses, o->resume ? TOTAL_STEPS / 2 : 0, o->steps);
  ag_params_free(p);
  free(text);
  return st;
}

static ag_status check_clip(const check_opts *o, ag_comm *c) {
  ag_clip_config cfg = ag_clip_default_config();
  /* Head dim 32: what the CUDA attention kernel (and so emu) takes. */
  cfg.vision.layers = 1, cfg.text.layers = 1;
  cfg.vision.heads = cfg.vision.dim / 32, cfg.text.heads = cfg.text.dim / 32;
  ag_clip_train_opts to = ag_clip_default_train_opts();
  double losses[TOTAL_STEPS] = {0};
  to.steps = TOTAL_STEPS, to.until = o->steps, to.batch = 16, to.warmup = 4;
  to.zero = o->zero, to.out = o->save, to.resume = o->resume, to.progress = 0;
  to.losses = losses;
  ag_mnist train = {0};
  ag_params *p = NULL;
  ag_clip_train_result r;
  ag_status st = ag_mnist_load(o->data, "train", &train);
  /* The first 2048 images: every step still sees new pairs. */
  if (st == AG_OK && train.n > 2048) train.n = 2048;
  if (st == AG_OK) st = ag_clip_train(c, &cfg, &to, &train, &p, &r);
  if (st == AG_OK) print_losses(c, losses, o->resume ? TOTAL_STEPS / 2 : 0, o->steps);
  ag_params_free(p);
  ag_mnist_free(&train);
  return st;
}

static int parse(int argc, char **argv, check_opts *o) {
  *o = (check_opts){.model = "gpt", .device = "cpu", .comm = "auto", .steps = TOTAL_STEPS};
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--model")) o->model = v;
    else if (!strcmp(k, "--text")) o->text = v;
    else if (!strcmp(k, "--data")) o->data = v;
    else if (!strcmp(k, "--device")) o->device = v;
    else if (!strcmp(k, "--comm")) o->comm = v;
    else if (!strcmp(k, "--zero")) o->zero = atoi(v);
    else if (!strcmp(k, "--steps")) o->steps = atoi(v);
    else if (!strcmp(k, "--save")) o->save = v;
    else if (!strcmp(k, "--resume")) o->resume = v;
    else return fprintf(stderr, "dist_models_check: unknown option %s\n", k), 0;
  }
  return argc % 2 == 1 && o->steps >= 1 && o->steps <= TOTAL_STEPS;
}

int main(int argc, char **argv) {
  check_opts o;
  if (!parse(argc, argv, &o)) return 2;
  ag_backend *be = strcmp(o.device, "emu") == 0 ? ag_backend_emu() : ag_backend_cpu();
  const int kind = ag_comm_kind_parse(o.comm);
  ag_comm *c = NULL;
  ag_status st = be && kind >= 0 ? AG_OK : ag_set_error(AG_ERR_INVALID, "bad --device or --comm");
  if (st == AG_OK) st = ag_comm_open(be, &(ag_comm_opts){.kind = (ag_comm_kind)kind}, &c);
  if (st == AG_OK) st = strcmp(o.model, "clip") == 0 ? check_clip(&o, c) : check_gpt(&o, c);
  if (st != AG_OK) {
    fprintf(stderr, "dist_models_check: error: %s\n", ag_last_error());
    return 1;
  }
  ag_comm_close(c);
  return 0;
}
