/* nerf_args.h - what the NeRF commands (cmd_nerf.c) read from their words
 * and job files before any device is opened: make-scene's view counts, a
 * render's fields checked, and render job files. Pure parsing, so the fuzz
 * harnesses (tests/fuzz) run it without the commands. */
#ifndef AG_NERF_ARGS_H
#define AG_NERF_ARGS_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "100,10,20": three counts, each 1..INT_MAX; 0 when malformed. */
int ag_nerf_parse_views(const char *text, int views[3]);

/* One render, from the options or from a job file. */
typedef struct ag_render_args {
  const char *checkpoint, *cameras, *res, *frames, *out;
  long long orbit, aa; /* aa 0: 1 */
  int depth, quiet;
  int w, h;
  long long first, last; /* the frame range [first, last); last 0: to the end */
} ag_render_args;

/* Checks a render's fields and reads its size (res) and range (frames); 0
 * and why (an option's words) when they do not make a render. */
int ag_render_resolve(ag_render_args *r, char *why, size_t len);

/* A job file's renders; their strings live in `root` and `paths`. */
typedef struct ag_render_jobs {
  ag_render_args *jobs;
  int n;
  cJSON *root;
  char (*paths)[3][4096]; /* checkpoint, cameras, out resolved against the file's directory */
} ag_render_jobs;

/* Reads and checks every job of the file {"jobs": [...]} before any is
 * rendered, so a typo in the last one does not surface hours into the
 * first. AG_ERR_INVALID naming the file, the job and the field. Free *j
 * with ag_render_jobs_free also on failure. */
ag_status ag_render_jobs_read(const char *path, int quiet, ag_render_jobs *j);
void ag_render_jobs_free(ag_render_jobs *j);

#ifdef __cplusplus
}
#endif

#endif
