/* The NeRF commands' words and job files, read without a device (see
 * nerf_args.h). */
#define _POSIX_C_SOURCE 200809L
#include "nerf_args.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/io/json.h"

int ag_nerf_parse_views(const char *text, int views[3]) {
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

/* "A:B" with 0 <= A < B. */
static int parse_range(const char *text, long long *a, long long *b) {
  char *end = NULL;
  errno = 0;
  *a = strtoll(text, &end, 10);
  if (errno || end == text || *end != ':' || *a < 0) return 0;
  const char *p = end + 1;
  *b = strtoll(p, &end, 10);
  return !errno && end != p && *end == '\0' && *b > *a;
}

int ag_render_resolve(ag_render_args *r, char *why, size_t len) {
  if (!r->out) return snprintf(why, len, "--out DIR is required"), 0;
  if (!r->cameras == !r->orbit)
    return snprintf(why, len, "one of --cameras FILE and --orbit N is required"), 0;
  if (r->orbit < 0 || r->orbit > 1000000)
    return snprintf(why, len, "--orbit %lld: 1..1000000 views expected", r->orbit), 0;
  if (r->aa < 0 || r->aa > 16)
    return snprintf(why, len, "--aa %lld: 1..16 rays a pixel side expected", r->aa), 0;
  if (r->res && (sscanf(r->res, "%dx%d", &r->w, &r->h) != 2 || r->w < 1 || r->h < 1 ||
                 r->w > 16384 || r->h > 16384))
    return snprintf(why, len, "--res '%s': WxH expected, e.g. 800x800", r->res), 0;
  if (r->frames && !parse_range(r->frames, &r->first, &r->last))
    return snprintf(why, len, "--frames '%s': A:B with 0 <= A < B expected", r->frames), 0;
  return 1;
}

/* path against dir unless absolute, into out; 0 when it does not fit. */
static int resolve_path(const char *dir, const char *path, char out[4096]) {
  const int n = path[0] == '/' || !dir[0] ? snprintf(out, 4096, "%s", path)
                                          : snprintf(out, 4096, "%s/%s", dir, path);
  return n >= 0 && n < 4096;
}

/* Every field is known and of its type. */
static ag_status check_fields(const cJSON *o, const char *where) {
  static const char *const known[] = {"checkpoint", "cameras", "orbit", "res",
                                      "frames",     "out",     "depth", "aa"};
  for (const cJSON *f = o->child; f; f = f->next) {
    int ok = 0;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++) ok |= !strcmp(f->string, known[k]);
    if (!ok) return ag_set_error(AG_ERR_INVALID, "%s: unknown field '%s'", where, f->string);
    const int number = !strcmp(f->string, "orbit") || !strcmp(f->string, "aa");
    const int flag = !strcmp(f->string, "depth");
    if (number ? !cJSON_IsNumber(f) : flag ? !cJSON_IsBool(f) : !cJSON_IsString(f))
      return ag_set_error(AG_ERR_INVALID, "%s: '%s' must be a %s", where, f->string,
                          number ? "number"
                          : flag ? "true or false"
                                 : "string");
  }
  return AG_OK;
}

/* Job fields from its object `o` (`where` names the file and the job). */
static ag_status read_job(const cJSON *o, const char *where, const char *dir, ag_render_args *r,
                          char paths[3][4096]) {
  if (!cJSON_IsObject(o)) return ag_set_error(AG_ERR_INVALID, "%s: not an object", where);
  AG_TRY(check_fields(o, where));
  const cJSON *ck = cJSON_GetObjectItemCaseSensitive(o, "checkpoint");
  const cJSON *cams = cJSON_GetObjectItemCaseSensitive(o, "cameras");
  const cJSON *out = cJSON_GetObjectItemCaseSensitive(o, "out");
  if (!ck || !out)
    return ag_set_error(AG_ERR_INVALID, "%s: 'checkpoint' and 'out' are required", where);
  if (!resolve_path(dir, ck->valuestring, paths[0]) ||
      !resolve_path(dir, out->valuestring, paths[2]) ||
      (cams && !resolve_path(dir, cams->valuestring, paths[1])))
    return ag_set_error(AG_ERR_INVALID, "%s: a path is longer than 4095 bytes", where);
  r->checkpoint = paths[0], r->out = paths[2];
  if (cams) r->cameras = paths[1];
  int found = 0;
  int64_t v = 0;
  AG_TRY(ag_json_int_opt(o, where, "orbit", 1, 1000000, &found, &v));
  if (found) r->orbit = v;
  AG_TRY(ag_json_int_opt(o, where, "aa", 1, 16, &found, &v));
  if (found) r->aa = v;
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "res");
  const cJSON *frames = cJSON_GetObjectItemCaseSensitive(o, "frames");
  if (res) r->res = res->valuestring;
  if (frames) r->frames = frames->valuestring;
  r->depth = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "depth"));
  char why[512];
  if (!ag_render_resolve(r, why, sizeof why))
    return ag_set_error(AG_ERR_INVALID, "%s: %s", where, why);
  return AG_OK;
}

void ag_render_jobs_free(ag_render_jobs *j) {
  cJSON_Delete(j->root);
  free(j->jobs), free(j->paths);
  memset(j, 0, sizeof *j);
}

ag_status ag_render_jobs_read(const char *path, int quiet, ag_render_jobs *j) {
  char dir[4096];
  AG_TRY(ag_json_read_object(path, &j->root));
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(j->root, "jobs");
  if (!cJSON_IsArray(list) || !(j->n = cJSON_GetArraySize(list)))
    return ag_set_error(AG_ERR_INVALID,
                        "%s: a JSON object with a non-empty \"jobs\" array expected", path);
  j->jobs = calloc((size_t)j->n, sizeof *j->jobs);
  j->paths = calloc((size_t)j->n, sizeof *j->paths);
  if (!j->jobs || !j->paths) return ag_set_error(AG_ERR_OOM, "render: out of host memory");
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  *(slash ? slash : dir) = '\0';
  int i = 0;
  for (const cJSON *o = list->child; o; o = o->next, i++) {
    char where[4200];
    snprintf(where, sizeof where, "%s: job %d", path, i);
    j->jobs[i].quiet = quiet;
    AG_TRY(read_job(o, where, dir, &j->jobs[i], j->paths[i]));
  }
  return AG_OK;
}
