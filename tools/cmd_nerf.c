/* The NeRF pipeline's commands, one section each with its options next to
 * its handler (aigc.c's table lists them):
 *   aigc make-scene NAME --out DIR   a procedural scene in the NeRF-synthetic
 *                                    layout (models/nerf/ag_nerf_make_scene.h) */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigc_cli.h"
#include "models/nerf/ag_nerf_make_scene.h"
#include "runtime/core/ag_info.h"

/* ---- make-scene --------------------------------------------------------------- */

const char ag_cmd_make_scene_options[] =
    "  NAME                       the scene to make (--list shows the catalogue)\n"
    "  --out DIR                  the scene directory (created; its parent must exist)\n"
    "  --res N                    image side in pixels (128)\n"
    "  --views TRAIN,VAL,TEST     views of each split (100,10,20)\n"
    "  --aa N                     N x N jittered rays per pixel (4)\n"
    "  --seed N                   seed of the cameras and the jitter (1)\n"
    "  --list                     the scenes, one a line; nothing is made\n";

typedef struct make_scene_args {
  const char *name, *out, *views;
  int list;
  ag_nerf_make_opts opts;
} make_scene_args;

/* "100,10,20": three counts, each 1..INT_MAX. */
static int parse_views(const char *text, int views[3]) {
  const char *p = text;
  for (int s = 0; s < 3; s++) {
    char *end = NULL;
    errno = 0;
    const long v = strtol(p, &end, 10);
    if (errno || end == p || v < 1 || v > INT_MAX || *end != (s < 2 ? ',' : '\0')) return 0;
    views[s] = (int)v;
    p = end + 1;
  }
  return 1;
}

static int parse_make_scene(const ag_cli *cli, int argc, char **argv, make_scene_args *m) {
  long long res = m->opts.res, aa = m->opts.aa, seed = (long long)m->opts.seed;
  ag_cli_args a = ag_cli_args_of(cli, argc, argv);
  while (ag_cli_next(&a)) {
    if (!m->name && argv[a.i][0] != '-') { /* the one positional word: taken here */
      m->name = argv[a.i];
      a.taken = 1;
    }
    ag_cli_text(&a, "--out", &m->out);
    ag_cli_text(&a, "--views", &m->views);
    ag_cli_int(&a, "--res", 4096, &res);
    ag_cli_int(&a, "--aa", 16, &aa);
    ag_cli_int(&a, "--seed", LLONG_MAX, &seed);
    ag_cli_flag(&a, "--list", &m->list);
  }
  if (a.rc || m->list) return a.rc;
  if (m->views && !parse_views(m->views, m->opts.views))
    return ag_cli_usage_error(cli, "--views '%s': three counts TRAIN,VAL,TEST expected", m->views);
  if (!m->name || ag_nerf_scene_kind_check(m->name) != AG_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", m->name ? ag_last_error() : "a scene NAME is needed");
    return ag_cli_usage_error(cli, "%s", why);
  }
  if (!m->out) return ag_cli_usage_error(cli, "--out DIR is needed");
  m->opts.res = (int)res;
  m->opts.aa = (int)aa;
  m->opts.seed = (uint64_t)seed;
  return AG_EXIT_OK;
}

static void print_catalogue(void) {
  int n = 0;
  const ag_nerf_scene_kind *k = ag_nerf_scene_kinds(&n);
  for (int i = 0; i < n; i++) printf("%-10s %s\n", k[i].name, k[i].description);
}

int ag_cmd_make_scene(const ag_cli *cli, int argc, char **argv) {
  make_scene_args m = {.opts = ag_nerf_make_default_opts()};
  const int rc = parse_make_scene(cli, argc, argv, &m);
  if (rc != AG_EXIT_OK) return rc;
  if (m.list) {
    print_catalogue();
    return AG_EXIT_OK;
  }
  const ag_nerf_make_opts *o = &m.opts;
  printf("scene:             %s, %d train / %d val / %d test views at %dx%d, %d rays per pixel\n",
         m.name, o->views[0], o->views[1], o->views[2], o->res, o->res, o->aa * o->aa);
  fflush(stdout);
  const double t0 = ag_now_seconds();
  if (ag_nerf_make_scene(m.name, m.out, o) != AG_OK) return AG_EXIT_RUNTIME;
  printf("made:              %s in %.1f s\n", m.out, ag_now_seconds() - t0);
  return AG_EXIT_OK;
}
