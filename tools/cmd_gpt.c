/* aigc train gpt / aigc sample gpt: the byte-level GPT
 * (models/transformer/ag_gpt.h) trained on a text file, data-parallel when
 * started by mpirun, and sampled from its checkpoint with a KV cache. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aigc_cli.h"
#include "models/transformer/ag_gpt.h"
#include "models/transformer/ag_tokenizer.h"
#include "runtime/core/ag_info.h"

#define DEFAULT_CHECKPOINT "gpt.safetensors"
#define DEFAULT_MAX_NEW 200

/* The whole file at `path` in *text (malloc'ed); an empty file is an error. */
static int read_text(const char *path, char **text, size_t *n) {
  *text = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ag_set_error(AG_ERR_IO, "%s: cannot read the text (%s)", path,
                 f ? "not a regular file" : strerror(errno));
    if (f) fclose(f);
    return AG_EXIT_RUNTIME;
  }
  *text = malloc((size_t)sb.st_size + 1);
  *n = *text ? fread(*text, 1, (size_t)sb.st_size, f) : 0;
  const int bad = !*text || ferror(f) || *n != (size_t)sb.st_size;
  fclose(f);
  if (bad) ag_set_error(AG_ERR_IO, "%s: cannot read the text", path);
  if (!bad && *n == 0) ag_set_error(AG_ERR_INVALID, "%s: the text file is empty", path);
  return bad || *n == 0 ? AG_EXIT_RUNTIME : AG_EXIT_OK;
}

const char ag_cmd_train_gpt_options[] =
    "  --text FILE                the text to learn, as bytes (required)\n"
    "  --steps N                  updates of the whole schedule (600); a resumed run ends here\n"
    "  --batch N                  global batch: windows per update over all ranks (16)\n"
    "  --seq N                    window length, the model's context (128)\n"
    "  --layers N                 transformer blocks (4)\n"
    "  --width N                  channels (128)\n"
    "  --heads N                  attention heads (4)\n"
    "  --lr X                     peak AdamW learning rate, cosine to a tenth (0.003)\n"
    "  --seed N                   seed of the initial weights and the windows (1)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --resume FILE              continue that checkpoint's run (weights, optimizer, step);\n"
    "                             model options not given are taken from it\n"
    "  --zero 0|1                 ZeRO-1: shard the optimizer state over the ranks "
    "(0)\n" AG_CLI_DTYPE_HELP
    "  --quiet                    no progress line\n"
    "run under `mpirun -np N` to train data-parallel over N ranks.\n";

typedef struct train_args {
  const char *text, *out, *resume, *zero, *dtype;
  long long seq, layers, width, heads; /* 0: not given */
  ag_gpt_train_opts opts;
} train_args;

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long steps = t->opts.steps, batch = t->opts.batch, seed = (long long)t->opts.seed;
  int quiet = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--text", &t->text);
    ag_cli_text(&a, "--out", &t->out);
    ag_cli_text(&a, "--resume", &t->resume);
    ag_cli_text(&a, "--zero", &t->zero);
    ag_cli_text(&a, "--dtype", &t->dtype);
    ag_cli_int(&a, "--steps", INT_MAX, &steps);
    ag_cli_int(&a, "--batch", INT_MAX, &batch);
    ag_cli_int(&a, "--seq", INT_MAX, &t->seq);
    ag_cli_int(&a, "--layers", 1024, &t->layers);
    ag_cli_int(&a, "--width", INT_MAX, &t->width);
    ag_cli_int(&a, "--heads", INT_MAX, &t->heads);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  if (a.rc) return a.rc;
  if (!t->text) return ag_cli_usage_error(cli, "--text FILE is required");
  if (strcmp(t->zero, "0") != 0 && strcmp(t->zero, "1") != 0)
    return ag_cli_usage_error(cli, "--zero '%s': 0 or 1 expected", t->zero);
  t->opts.steps = steps;
  t->opts.batch = batch;
  t->opts.seed = (uint64_t)seed;
  t->opts.min_lr = t->opts.lr / 10;
  t->opts.zero = t->zero[0] == '1';
  t->opts.progress = !quiet;
  t->opts.out = t->out;
  t->opts.resume = t->resume;
  return AG_EXIT_OK;
}

/* The model options given, the rest from the resumed checkpoint or the
 * defaults; a given option that differs from the checkpoint is refused
 * by the training itself. */
static int model_config(const train_args *t, ag_gpt_config *c) {
  *c = ag_gpt_default_config();
  if (t->resume) {
    ag_safetensors *st = ag_st_open(t->resume);
    const ag_status s = st ? ag_gpt_read_config(st, t->resume, c) : AG_ERR_IO;
    ag_st_close(st);
    if (s != AG_OK) return AG_EXIT_RUNTIME;
  }
  if (t->seq) c->context = t->seq;
  if (t->layers) c->layers = t->layers;
  if (t->width) c->width = t->width;
  if (t->heads) c->heads = t->heads;
  return AG_EXIT_OK;
}

static void print_plan(const train_args *t, const ag_gpt_config *c, size_t bytes, int world) {
  const ag_gpt_train_opts *o = &t->opts;
  printf("text:              %s (%zu bytes)\n", t->text, bytes);
  printf("model:             gpt, %lld layers, %lld wide, %lld heads, context %lld, vocab %lld\n",
         (long long)c->layers, (long long)c->width, (long long)c->heads, (long long)c->context,
         (long long)c->vocab);
  printf(
      "training:          %lld updates of %lld windows on %d rank%s%s, %s compute, AdamW lr %g "
      "(warm-up %lld, cosine to %g)%s%s\n",
      (long long)o->steps, (long long)o->batch, world, world == 1 ? "" : "s",
      o->zero ? " (ZeRO-1)" : "", ag_dtype_name(o->dtype), o->lr, (long long)o->warmup, o->min_lr,
      t->resume ? ", resuming " : "", t->resume ? t->resume : "");
  fflush(stdout);
}

/* The first and last losses this run measured. */
static void print_result(const train_args *t, const double *losses, const ag_params *p,
                         double seconds) {
  int64_t first = 0, last = t->opts.steps - 1;
  while (first < last && isnan(losses[first])) first++;
  printf("trained:           %lld parameters in %.1f s\n", (long long)ag_params_numel(p), seconds);
  printf("loss:              %.4f at update %lld, %.4f at update %lld (nats per byte)\n",
         losses[first], (long long)first + 1, losses[last], (long long)last + 1);
  printf("saved:             %s\n", t->out);
}

static int train_on(ag_comm *comm, train_args *t, const ag_gpt_config *c, const char *text,
                    size_t n) {
  const int rank0 = ag_comm_rank(comm) == 0;
  double *losses = malloc(sizeof *losses * (size_t)t->opts.steps);
  if (!losses) {
    ag_set_error(AG_ERR_OOM, "train gpt: out of host memory");
    return AG_EXIT_RUNTIME;
  }
  for (int64_t i = 0; i < t->opts.steps; i++) losses[i] = NAN;
  t->opts.losses = losses;
  if (rank0) print_plan(t, c, n, ag_comm_world(comm));
  ag_params *p = NULL;
  const double t0 = ag_now_seconds();
  const int rc =
      ag_gpt_train(comm, c, &t->opts, text, n, &p) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK && rank0) print_result(t, losses, p, ag_now_seconds() - t0);
  ag_params_free(p);
  free(losses);
  return rc;
}

int ag_cmd_train_gpt(const ag_cli *cli, int argc, char **argv) {
  train_args t = {.out = DEFAULT_CHECKPOINT, .zero = "0", .opts = ag_gpt_default_train_opts()};
  ag_backend *be = NULL;
  ag_comm *comm = NULL;
  ag_gpt_config c;
  char *text = NULL;
  size_t n = 0;
  int rc = parse_train(cli, argc, argv, &t);
  if (rc == AG_EXIT_OK) rc = model_config(&t, &c);
  if (rc == AG_EXIT_OK) rc = read_text(t.text, &text, &n);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.out);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_compute_dtype(cli, t.dtype, be, &t.opts.dtype);
  if (rc == AG_EXIT_OK && ag_comm_open(be, &(ag_comm_opts){AG_COMM_AUTO, 0}, &comm) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) rc = train_on(comm, &t, &c, text, n);
  if (comm) ag_comm_close(comm);
  free(text);
  return rc;
}

const char ag_cmd_sample_gpt_options[] =
    "  --checkpoint FILE          the model to sample (" DEFAULT_CHECKPOINT
    ")\n"
    "  --prompt TEXT              the text to continue (required)\n"
    "  --temperature X            softmax temperature (0.8)\n"
    "  --top-k N                  draw among the N most likely bytes; 1 is greedy (all)\n"
    "  --n N                      samples, generated together (1)\n"
    "  --max-new N                bytes per sample (what the context leaves, at most 200)\n"
    "  --seed N                   seed of the draws (1)\n"
    "  --no-cache                 re-evaluate the whole sequence per byte instead of the\n"
    "                             KV cache: slower, the same output\n" AG_CLI_DTYPE_HELP;

typedef struct sample_args {
  const char *checkpoint, *prompt, *dtype;
  long long max_new; /* 0: not given */
  ag_gpt_sample_opts opts;
} sample_args;

static int parse_sample(const ag_cli *cli, int argc, char **argv, sample_args *s) {
  long long top_k = 0, n = s->opts.n, seed = (long long)s->opts.seed;
  int no_cache = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--checkpoint", &s->checkpoint);
    ag_cli_text(&a, "--prompt", &s->prompt);
    ag_cli_float(&a, "--temperature", &s->opts.temperature);
    ag_cli_int(&a, "--top-k", INT_MAX, &top_k);
    ag_cli_int(&a, "--n", 4096, &n);
    ag_cli_int(&a, "--max-new", INT_MAX, &s->max_new);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_flag(&a, "--no-cache", &no_cache);
    ag_cli_text(&a, "--dtype", &s->dtype);
  }
  if (a.rc) return a.rc;
  if (!s->prompt) return ag_cli_usage_error(cli, "--prompt TEXT is required");
  s->opts.top_k = top_k;
  s->opts.n = n;
  s->opts.seed = (uint64_t)seed;
  s->opts.use_cache = !no_cache;
  return AG_EXIT_OK;
}

/* Each sample as its prompt and the text generated; an id that is no
 * token (a checkpoint with a larger vocabulary) is an error. */
static int print_samples(const sample_args *s, const int32_t *ids) {
  const int64_t m = s->opts.max_new;
  char *text = malloc((size_t)m + 1);
  size_t written = 0;
  ag_status st = text ? AG_OK : ag_set_error(AG_ERR_OOM, "sample gpt: out of host memory");
  for (int64_t i = 0; st == AG_OK && i < s->opts.n; i++) {
    st = ag_tok_decode(ids + i * m, m, text, (size_t)m + 1, &written);
    if (st == AG_OK) printf("--- sample %lld ---\n%s%s\n", (long long)i + 1, s->prompt, text);
  }
  if (st == AG_OK) printf("---\n");
  free(text);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

static int generate(sample_args *s, ag_params *p, const ag_gpt_config *c) {
  const int64_t len = (int64_t)strlen(s->prompt), room = c->context - len;
  s->opts.max_new = s->max_new               ? s->max_new
                    : room < 1               ? 1
                    : room < DEFAULT_MAX_NEW ? room
                                             : DEFAULT_MAX_NEW;
  int32_t *prompt = malloc(sizeof *prompt * (size_t)(len ? len : 1));
  int32_t *out = malloc(sizeof *out * (size_t)(s->opts.n * s->opts.max_new));
  int rc = prompt && out ? AG_EXIT_OK : AG_EXIT_RUNTIME;
  if (rc != AG_EXIT_OK) ag_set_error(AG_ERR_OOM, "sample gpt: out of host memory");
  if (rc == AG_EXIT_OK) ag_tok_encode(s->prompt, (size_t)len, prompt);
  const double t0 = ag_now_seconds();
  if (rc == AG_EXIT_OK && ag_gpt_sample(p, c, prompt, len, &s->opts, out) != AG_OK)
    rc = AG_EXIT_RUNTIME;
  const double seconds = ag_now_seconds() - t0;
  if (rc == AG_EXIT_OK) rc = print_samples(s, out);
  if (rc == AG_EXIT_OK)
    printf("generated:         %lld x %lld bytes in %.2f s (%.0f bytes/s, %s)\n",
           (long long)s->opts.n, (long long)s->opts.max_new, seconds,
           (double)(s->opts.n * s->opts.max_new) / seconds,
           s->opts.use_cache ? "KV cache" : "full re-evaluation");
  free(out);
  free(prompt);
  return rc;
}

int ag_cmd_sample_gpt(const ag_cli *cli, int argc, char **argv) {
  sample_args s = {.checkpoint = DEFAULT_CHECKPOINT, .opts = ag_gpt_default_sample_opts()};
  ag_backend *be = NULL;
  ag_params *p = NULL;
  ag_gpt_config c;
  int64_t steps = 0;
  ag_dtype dt = AG_F32;
  int rc = parse_sample(cli, argc, argv, &s);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_compute_dtype(cli, s.dtype, be, &dt);
  if (rc == AG_EXIT_OK && (ag_gpt_load(s.checkpoint, be, &p, &c, &steps) != AG_OK ||
                           ag_params_set_compute_dtype(p, dt) != AG_OK))
    rc = AG_EXIT_RUNTIME;
  if (rc == AG_EXIT_OK) {
    printf("checkpoint:        %s (gpt, %lld layers, %lld wide, context %lld, %lld updates)\n",
           s.checkpoint, (long long)c.layers, (long long)c.width, (long long)c.context,
           (long long)steps);
    rc = generate(&s, p, &c);
  }
  ag_params_free(p);
  return rc;
}
