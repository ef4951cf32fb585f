/* What every aigc command uses: usage errors, the device, option words. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aigc_cli.h"
#include "runtime/dist/ag_comm.h"

int ag_cli_usage_error(const ag_cli *cli, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (cli->name[0])
    ag_set_error(AG_ERR_INVALID, "%s: %s (see aigc %s --help)", cli->name, msg, cli->name);
  else
    ag_set_error(AG_ERR_INVALID, "%s (see aigc --help)", msg);
  return AG_EXIT_USAGE;
}

/* Under mpirun or srun each rank takes its own GPU: auto and cuda mean
 * cuda:(local rank % devices). Any other spec is kept. */
static const char *device_for_rank(const char *spec, char *buf, size_t len) {
  const ag_comm_env env = ag_comm_env_read();
  if (spec && spec[0] == '\0') spec = NULL;
  if (!spec) spec = getenv("AG_DEVICE");
  const int wants_gpu = !spec || !spec[0] || !strcmp(spec, "auto") || !strcmp(spec, "cuda");
  int count = 0;
  if (env.world < 2 || !wants_gpu || ag_cuda_probe(&count) != AG_OK || count < 1) return spec;
  snprintf(buf, len, "cuda:%d", env.local_rank % count);
  return buf;
}

int ag_cli_open_device(const ag_cli *cli, ag_backend **be, char *note, size_t note_len) {
  char spec[32];
  const ag_status st =
      ag_backend_select(device_for_rank(cli->device, spec, sizeof spec), be, note, note_len);
  if (st == AG_OK) return AG_EXIT_OK;
  if (st != AG_ERR_INVALID) return AG_EXIT_RUNTIME;
  /* The device is a global option: point at aigc --help, not the command's. */
  char msg[512];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  return ag_cli_usage_error(&(ag_cli){.name = ""}, "%s", msg);
}

void ag_cli_print_device(FILE *f, const ag_backend *be, const char *note) {
  fprintf(f, "device:            %s%s%s%s\n", be->name, note[0] ? " (" : "", note,
          note[0] ? ")" : "");
}

int ag_cli_use_device(const ag_cli *cli, ag_backend **be) {
  char note[512];
  const int rc = ag_cli_open_device(cli, be, note, sizeof note);
  if (rc == AG_EXIT_OK && ag_comm_env_read().rank == 0) ag_cli_print_device(stdout, *be, note);
  return rc;
}

int ag_cli_check_writable_dir(const char *path) {
  char *copy = strdup(path);
  struct stat sb;
  const int ok = copy && stat(dirname(copy), &sb) == 0 && S_ISDIR(sb.st_mode);
  free(copy);
  if (ok) return AG_EXIT_OK;
  ag_set_error(AG_ERR_IO, "%s: the directory to save into does not exist", path);
  return AG_EXIT_RUNTIME;
}

const char *ag_cli_dataset_dir(const char *data) {
  return strcmp(data, "fashion-mnist") == 0 ? AG_FASHION_MNIST_DIR : data;
}

int ag_cli_compute_dtype(const ag_cli *cli, const char *name, const ag_backend *be, ag_dtype *dt) {
  if (!name || strcmp(name, "auto") == 0)
    *dt = be->kind == AG_DEVICE_CUDA ? AG_BF16 : AG_F32;
  else if (strcmp(name, "f32") == 0)
    *dt = AG_F32;
  else if (strcmp(name, "bf16") == 0)
    *dt = AG_BF16;
  else
    return ag_cli_usage_error(cli, "--dtype '%s': auto, f32 or bf16 expected", name);
  return AG_EXIT_OK;
}

ag_cli_args ag_cli_args_of(const ag_cli *cli, int argc, char **argv) {
  return (ag_cli_args){.cli = cli, .argc = argc, .argv = argv, .i = -1, .taken = 1};
}

int ag_cli_next(ag_cli_args *a) {
  if (!a->rc && !a->taken && a->i < a->argc) {
    const char *word = a->argv[a->i];
    a->rc = ag_cli_usage_error(a->cli, "%s '%s'",
                               word[0] == '-' ? "unknown option" : "unexpected argument", word);
  }
  a->taken = 0;
  a->i++;
  return !a->rc && a->i < a->argc;
}

/* Whether the current word is option `name`; if so it is taken, and *value
 * is its value (NULL, with a usage error recorded, when there is none). */
static int take_option(ag_cli_args *a, const char *name, int has_value, const char **value) {
  if (a->taken || a->rc) return 0;
  const char *word = a->argv[a->i];
  const size_t n = strlen(name);
  if (strncmp(word, name, n) != 0 || (word[n] != '\0' && (word[n] != '=' || !has_value))) return 0;
  a->taken = 1;
  *value = NULL;
  if (!has_value) return 1;
  if (word[n] == '=')
    *value = word + n + 1;
  else if (a->i + 1 < a->argc && strncmp(a->argv[a->i + 1], "--", 2) != 0)
    *value = a->argv[++a->i];
  else
    a->rc = ag_cli_usage_error(a->cli, "%s needs a value", name);
  return 1;
}

void ag_cli_text(ag_cli_args *a, const char *name, const char **out) {
  const char *value;
  if (take_option(a, name, 1, &value) && value) *out = value;
}

void ag_cli_int(ag_cli_args *a, const char *name, long long max, long long *out) {
  const char *value;
  if (!take_option(a, name, 1, &value) || !value) return;
  char *end;
  errno = 0;
  const long long v = strtoll(value, &end, 10);
  if (!*value || *end || v < 1)
    a->rc = ag_cli_usage_error(a->cli, "%s '%s': a positive integer expected", name, value);
  else if (errno == ERANGE || v > max)
    a->rc = ag_cli_usage_error(a->cli, "%s '%s': at most %lld", name, value, max);
  else
    *out = v;
}

void ag_cli_float(ag_cli_args *a, const char *name, float *out) {
  const char *value;
  if (!take_option(a, name, 1, &value) || !value) return;
  char *end;
  const float v = strtof(value, &end);
  if (!*value || *end || !isfinite(v) || v <= 0)
    a->rc = ag_cli_usage_error(a->cli, "%s '%s': a positive number expected", name, value);
  else
    *out = v;
}

void ag_cli_flag(ag_cli_args *a, const char *name, int *out) {
  const char *value;
  if (take_option(a, name, 0, &value)) *out = 1;
}

int ag_cli_no_options(const ag_cli *cli, int argc, char **argv) {
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    /* nothing to take: the first word is reported */
  }
  return a.rc;
}
