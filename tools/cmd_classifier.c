/* aigc train classifier / aigc eval classifier: the Fashion-MNIST classifier
 * (models/ag_classifier.h) trained, saved, reloaded and evaluated. */
#define _POSIX_C_SOURCE 200809L
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aigc_cli.h"
#include "models/ag_classifier.h"
#include "runtime/core/ag_info.h"

#define DEFAULT_CHECKPOINT "classifier.safetensors"

/* "fashion-mnist" is the Debian package's copy; anything else a directory. */
static const char *dataset_dir(const char *data) {
  return strcmp(data, "fashion-mnist") == 0 ? AG_FASHION_MNIST_DIR : data;
}

static int load_split(const char *data, const char *split, ag_mnist *ds) {
  if (ag_mnist_load(dataset_dir(data), split, ds) != AG_OK) return ag_cli_fail();
  return 0;
}

/* Training takes minutes: find an unwritable destination before, not after. */
static int check_writable_dir(const char *path) {
  char *copy = strdup(path);
  struct stat sb;
  int ok = copy && stat(dirname(copy), &sb) == 0 && S_ISDIR(sb.st_mode);
  if (!ok) {
    ag_set_error(AG_ERR_IO, "%s: the directory to save into does not exist", path);
    free(copy);
    return ag_cli_fail();
  }
  free(copy);
  return 0;
}

static int report_accuracy(ag_params *p, const ag_classifier_config *c, const ag_mnist *test,
                           int64_t batch, double *accuracy) {
  int64_t correct = 0;
  double t0 = ag_now_seconds();
  if (ag_classifier_evaluate(p, c, test, batch, &correct) != AG_OK) return ag_cli_fail();
  *accuracy = (double)correct / (double)test->n;
  printf("test accuracy:     %.2f%% (%lld/%lld) in %.1f s\n", 100.0 * *accuracy, (long long)correct,
         (long long)test->n, ag_now_seconds() - t0);
  return 0;
}

typedef struct train_args {
  const char *data, *out;
  ag_classifier_train_opts opts;
} train_args;

static int parse_train(int argc, char **argv, train_args *a) {
  int bad = 0;
  long long v;
  for (int i = 0; i < argc && !bad; i++) {
    const char *s;
    if ((s = ag_cli_option(argc, argv, &i, "--data", &bad)))
      a->data = s;
    else if ((s = ag_cli_option(argc, argv, &i, "--out", &bad)))
      a->out = s;
    else if ((s = ag_cli_option(argc, argv, &i, "--epochs", &bad)))
      bad = ag_cli_int("--epochs", s, &v) || !(a->opts.epochs = (int)v);
    else if ((s = ag_cli_option(argc, argv, &i, "--batch", &bad)))
      bad = ag_cli_int("--batch", s, &v) || !(a->opts.batch = v);
    else if ((s = ag_cli_option(argc, argv, &i, "--seed", &bad)))
      bad = ag_cli_int("--seed", s, &v) || !(a->opts.seed = (uint64_t)v);
    else if ((s = ag_cli_option(argc, argv, &i, "--lr", &bad)))
      bad = ag_cli_float("--lr", s, &a->opts.lr);
    else if (strcmp(argv[i], "--quiet") == 0)
      a->opts.progress = 0;
    else if (!bad) {
      fprintf(stderr, "aigc: error: train classifier: unknown option '%s'\n", argv[i]);
      bad = 1;
    }
  }
  return bad;
}

int ag_cmd_train_classifier(ag_backend *be, int argc, char **argv) {
  train_args a = {"fashion-mnist", DEFAULT_CHECKPOINT, ag_classifier_default_train_opts()};
  if (parse_train(argc, argv, &a)) return 2;
  if (check_writable_dir(a.out)) return 1;
  ag_mnist train = {0}, test = {0};
  if (load_split(a.data, "train", &train) || load_split(a.data, "t10k", &test)) {
    ag_mnist_free(&train);
    return 1;
  }
  const ag_classifier_config c = ag_classifier_default_config();
  printf("data:              %s (%lld train, %lld test images)\n", dataset_dir(a.data),
         (long long)train.n, (long long)test.n);
  printf("training:          %d epochs, batch %lld, AdamW lr %g (warm-up %lld, cosine)\n",
         a.opts.epochs, (long long)a.opts.batch, a.opts.lr, (long long)a.opts.warmup);
  fflush(stdout);
  ag_params *p = NULL;
  double t0 = ag_now_seconds(), accuracy = 0;
  int rc = ag_classifier_train(be, &c, &a.opts, &train, &p) != AG_OK ? ag_cli_fail() : 0;
  if (!rc) {
    printf("trained:           %lld parameters in %.1f s\n", (long long)ag_params_numel(p),
           ag_now_seconds() - t0);
    rc = report_accuracy(p, &c, &test, a.opts.eval_batch, &accuracy);
  }
  if (!rc) {
    ag_classifier_meta meta = {.step = a.opts.epochs * (train.n / a.opts.batch),
                               .test_accuracy = accuracy};
    snprintf(meta.dataset, sizeof meta.dataset, "%s", a.data);
    rc = ag_classifier_save(a.out, p, &c, &meta) != AG_OK ? ag_cli_fail() : 0;
    if (!rc) printf("saved:             %s\n", a.out);
  }
  ag_params_free(p);
  ag_mnist_free(&train);
  ag_mnist_free(&test);
  return rc;
}

int ag_cmd_eval_classifier(ag_backend *be, int argc, char **argv) {
  const char *data = "fashion-mnist", *path = DEFAULT_CHECKPOINT;
  int bad = 0;
  for (int i = 0; i < argc && !bad; i++) {
    const char *s;
    if ((s = ag_cli_option(argc, argv, &i, "--data", &bad)))
      data = s;
    else if ((s = ag_cli_option(argc, argv, &i, "--checkpoint", &bad)))
      path = s;
    else if (!bad) {
      fprintf(stderr, "aigc: error: eval classifier: unknown option '%s'\n", argv[i]);
      bad = 1;
    }
  }
  if (bad) return 2;
  ag_params *p = NULL;
  ag_classifier_config c;
  ag_classifier_meta meta;
  if (ag_classifier_load(path, be, &p, &c, &meta) != AG_OK) return ag_cli_fail();
  ag_mnist test = {0};
  int rc = load_split(data, "t10k", &test);
  double accuracy = 0;
  if (!rc) {
    printf("checkpoint:        %s (step %lld, %lld parameters)\n", path, (long long)meta.step,
           (long long)ag_params_numel(p));
    rc = report_accuracy(p, &c, &test, ag_classifier_default_train_opts().eval_batch, &accuracy);
  }
  /* The accuracy recorded at training time must come out again, to the
   * image: evaluation depends only on the weights, the data and the batch. */
  if (!rc && meta.test_accuracy >= 0 && strcmp(meta.dataset, data) == 0) {
    const long long now = (long long)(accuracy * test.n + 0.5);
    const long long then = (long long)(meta.test_accuracy * test.n + 0.5);
    printf("recorded accuracy: %.2f%% (%s)\n", 100.0 * meta.test_accuracy,
           now == then ? "reproduced exactly" : "not reproduced");
    if (now != then) {
      ag_set_error(AG_ERR_INVALID, "%s: %lld correct now, %lld when it was saved", path, now, then);
      rc = ag_cli_fail();
    }
  }
  ag_mnist_free(&test);
  ag_params_free(p);
  return rc;
}
