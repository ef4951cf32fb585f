/* aigc train classifier / aigc eval classifier: the Fashion-MNIST classifier
 * (models/ag_classifier.h) trained, saved, reloaded and evaluated. */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "models/ag_classifier.h"
#include "runtime/core/ag_info.h"

#define DEFAULT_CHECKPOINT "classifier.safetensors"

/* "fashion-mnist" is the Debian package's copy; anything else a directory. */
static int load_split(const char *data, const char *split, ag_mnist *ds) {
  return ag_mnist_load(ag_cli_dataset_dir(data), split, ds) == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

static int report_accuracy(ag_params *p, const ag_classifier_config *c, const ag_mnist *test,
                           int64_t batch, double *accuracy) {
  int64_t correct = 0;
  double t0 = ag_now_seconds();
  if (ag_classifier_evaluate(p, c, test, batch, &correct) != AG_OK) return AG_EXIT_RUNTIME;
  *accuracy = (double)correct / (double)test->n;
  printf("test accuracy:     %.2f%% (%lld/%lld) in %.1f s\n", 100.0 * *accuracy, (long long)correct,
         (long long)test->n, ag_now_seconds() - t0);
  return AG_EXIT_OK;
}

const char ag_cmd_train_classifier_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --epochs N                 passes over the training set (5)\n"
    "  --batch N                  images per step (128)\n"
    "  --lr X                     peak AdamW learning rate (0.002)\n"
    "  --seed N                   seed of the initial weights and the shuffling (1)\n"
    "  --out FILE                 the checkpoint to write (" DEFAULT_CHECKPOINT
    ")\n"
    "  --quiet                    no progress line or periodic log\n";

typedef struct train_args {
  const char *data, *out;
  ag_classifier_train_opts opts;
} train_args;

static int parse_train(const ag_cli *cli, int argc, char **argv, train_args *t) {
  long long epochs = t->opts.epochs, batch = t->opts.batch, seed = (long long)t->opts.seed;
  int quiet = 0;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &t->data);
    ag_cli_text(&a, "--out", &t->out);
    ag_cli_int(&a, "--epochs", INT_MAX, &epochs);
    ag_cli_int(&a, "--batch", LLONG_MAX, &batch);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_float(&a, "--lr", &t->opts.lr);
    ag_cli_flag(&a, "--quiet", &quiet);
  }
  t->opts.epochs = (int)epochs;
  t->opts.batch = batch;
  t->opts.seed = (uint64_t)seed;
  t->opts.progress = !quiet;
  return a.rc;
}

/* Trains on the train split, tests on t10k and saves the checkpoint. */
static int train_test_save(ag_backend *be, const train_args *t) {
  ag_mnist train = {0}, test = {0};
  if (load_split(t->data, "train", &train) || load_split(t->data, "t10k", &test)) {
    ag_mnist_free(&train);
    return AG_EXIT_RUNTIME;
  }
  const ag_classifier_config c = ag_classifier_default_config();
  printf("data:              %s (%lld train, %lld test images)\n", ag_cli_dataset_dir(t->data),
         (long long)train.n, (long long)test.n);
  printf("training:          %d epochs, batch %lld, AdamW lr %g (warm-up %lld, cosine)\n",
         t->opts.epochs, (long long)t->opts.batch, t->opts.lr, (long long)t->opts.warmup);
  fflush(stdout);
  ag_classifier_run r;
  const ag_status st =
      ag_classifier_train_and_save(be, &c, &t->opts, &train, &test, t->data, t->out, &r);
  if (st == AG_OK) {
    printf("trained:           %lld parameters in %.1f s\n", (long long)r.params, r.train_seconds);
    printf("test accuracy:     %.2f%% (%lld/%lld) in %.1f s\n", 100.0 * r.accuracy,
           (long long)r.correct, (long long)r.images, r.eval_seconds);
    printf("saved:             %s\n", t->out);
  }
  ag_mnist_free(&train);
  ag_mnist_free(&test);
  return st == AG_OK ? AG_EXIT_OK : AG_EXIT_RUNTIME;
}

int ag_cmd_train_classifier(const ag_cli *cli, int argc, char **argv) {
  train_args t = {"fashion-mnist", DEFAULT_CHECKPOINT, ag_classifier_default_train_opts()};
  ag_backend *be = NULL;
  int rc = parse_train(cli, argc, argv, &t);
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = ag_cli_check_writable_dir(t.out);
  if (rc == AG_EXIT_OK) rc = train_test_save(be, &t);
  return rc;
}

const char ag_cmd_eval_classifier_options[] =
    "  --data fashion-mnist|DIR   Debian's Fashion-MNIST (default) or a dir of its IDX files\n"
    "  --checkpoint FILE          the checkpoint to test (" DEFAULT_CHECKPOINT ")\n";

/* The accuracy recorded at training time must come out again, to the
 * image: evaluation depends only on the weights, the data and the batch. */
static int check_recorded(const char *path, const ag_classifier_meta *meta, double accuracy,
                          int64_t images) {
  const long long now = (long long)(accuracy * images + 0.5);
  const long long then = (long long)(meta->test_accuracy * images + 0.5);
  printf("recorded accuracy: %.2f%% (%s)\n", 100.0 * meta->test_accuracy,
         now == then ? "reproduced exactly" : "not reproduced");
  if (now == then) return AG_EXIT_OK;
  ag_set_error(AG_ERR_INVALID, "%s: %lld correct now, %lld when it was saved", path, now, then);
  return AG_EXIT_RUNTIME;
}

/* Reloads the checkpoint at `path`, tests it, and checks the record when it
 * was trained on the same data. */
static int load_and_test(ag_backend *be, const char *path, const char *data) {
  ag_params *p = NULL;
  ag_classifier_config c;
  ag_classifier_meta meta;
  if (ag_classifier_load(path, be, &p, &c, &meta) != AG_OK) return AG_EXIT_RUNTIME;
  ag_mnist test = {0};
  int rc = load_split(data, "t10k", &test);
  double accuracy = 0;
  if (rc == AG_EXIT_OK) {
    printf("checkpoint:        %s (step %lld, %lld parameters)\n", path, (long long)meta.step,
           (long long)ag_params_numel(p));
    rc = report_accuracy(p, &c, &test, ag_classifier_default_train_opts().eval_batch, &accuracy);
  }
  if (rc == AG_EXIT_OK && meta.test_accuracy >= 0 && strcmp(meta.dataset, data) == 0)
    rc = check_recorded(path, &meta, accuracy, test.n);
  ag_mnist_free(&test);
  ag_params_free(p);
  return rc;
}

int ag_cmd_eval_classifier(const ag_cli *cli, int argc, char **argv) {
  const char *data = "fashion-mnist", *path = DEFAULT_CHECKPOINT;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    ag_cli_text(&a, "--data", &data);
    ag_cli_text(&a, "--checkpoint", &path);
  }
  ag_backend *be = NULL;
  int rc = a.rc;
  if (rc == AG_EXIT_OK) rc = ag_cli_use_device(cli, &be);
  if (rc == AG_EXIT_OK) rc = load_and_test(be, path, data);
  return rc;
}
