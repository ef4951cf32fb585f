/* The CLI's option parser (tools/cli.c) and the NeRF commands' word parsers
 * (tools/nerf_args.c): the input split at NUL bytes into words, read
 * through a table with every kind of matcher (text, int, float, flag; each
 * as "--name value" or "--name=value"), then the values through the parsers
 * the commands give them to, and the words again through a command that
 * takes no options. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tools/aigc_cli.h"
#include "tools/nerf_args.h"

enum { MAX_WORDS = 64 };

/* What the option table reads. */
typedef struct fuzz_args {
  const char *dtype, *views, *data;
  long long count, seed;
  float lr;
  int quiet;
  ag_render_args render;
} fuzz_args;

static int parse(const ag_cli *cli, int argc, char **argv, fuzz_args *f) {
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    if (!f->data && argv[a.i][0] != '-') { /* one positional word, as make-scene's NAME */
      f->data = argv[a.i];
      a.taken = 1;
    }
    ag_cli_text(&a, "--dtype", &f->dtype);
    ag_cli_text(&a, "--views", &f->views);
    ag_cli_int(&a, "--count", 1000, &f->count);
    ag_cli_int(&a, "--seed", LLONG_MAX, &f->seed);
    ag_cli_float(&a, "--lr", &f->lr);
    ag_cli_flag(&a, "--quiet", &f->quiet);
    ag_cli_text(&a, "--cameras", &f->render.cameras);
    ag_cli_int(&a, "--orbit", 1000000, &f->render.orbit);
    ag_cli_int(&a, "--aa", 16, &f->render.aa);
    ag_cli_text(&a, "--res", &f->render.res);
    ag_cli_text(&a, "--frames", &f->render.frames);
    ag_cli_text(&a, "--out", &f->render.out);
    ag_cli_flag(&a, "--depth", &f->render.depth);
  }
  return a.rc;
}

static void use_values(const ag_cli *cli, fuzz_args *f) {
  int views[3];
  char why[256];
  ag_dtype dt;
  if (f->views) (void)ag_nerf_parse_views(f->views, views);
  (void)ag_render_resolve(&f->render, why, sizeof why);
  (void)ag_cli_compute_dtype(cli, f->dtype, ag_backend_cpu(), &dt);
  if (f->data) (void)strlen(ag_cli_dataset_dir(f->data));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1), *argv[MAX_WORDS];
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  int argc = 0;
  for (size_t i = 0; i <= size && argc < MAX_WORDS; i += strlen(text + i) + 1)
    argv[argc++] = text + i;
  const ag_cli cli = {.name = "fuzz"};
  fuzz_args f = {0};
  if (parse(&cli, argc, argv, &f) == AG_EXIT_OK) use_values(&cli, &f);
  (void)ag_cli_no_options(&cli, argc, argv);
  free(text);
  return 0;
}
