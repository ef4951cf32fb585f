/* JSON objects read whole and parsed, and their number fields (see json.h). */
#define _POSIX_C_SOURCE 200809L
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ag_status read_text(const char *path, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
  const long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  char *text = len >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)len + 1) : NULL;
  const int ok = text && fread(text, 1, (size_t)len, f) == (size_t)len;
  fclose(f);
  if (!ok) {
    free(text);
    return ag_set_error(AG_ERR_IO, "%s: cannot read (not a regular file, or out of memory)", path);
  }
  text[len] = '\0';
  *out = text;
  return AG_OK;
}

/* *root from text; `sep` joins `where` and the problem (": " after a path,
 * " " after a description). */
static ag_status parse_object(const char *text, const char *where, const char *sep, cJSON **root) {
  *root = cJSON_Parse(text);
  const char *err = cJSON_GetErrorPtr();
  const long near = *root || !err ? 0 : (long)(err - text);
  if (!*root)
    return ag_set_error(AG_ERR_IO, "%s%snot JSON (error near byte %ld)", where, sep, near);
  if (!cJSON_IsObject(*root)) {
    cJSON_Delete(*root);
    *root = NULL;
    return ag_set_error(AG_ERR_IO, "%s%snot a JSON object", where, sep);
  }
  return AG_OK;
}

ag_status ag_json_read_object(const char *path, cJSON **root) {
  char *text = NULL;
  *root = NULL;
  AG_TRY(read_text(path, &text));
  const ag_status st = parse_object(text, path, ": ", root);
  free(text);
  return st;
}

ag_status ag_json_parse_object(const char *text, const char *where, cJSON **root) {
  *root = NULL;
  if (!text) return ag_set_error(AG_ERR_IO, "%s is missing", where);
  return parse_object(text, where, " is ", root);
}

/* The number `key` of o: AG_OK with *found 0 when absent, else *v. */
static ag_status lookup(const cJSON *o, const char *where, const char *key, int *found, double *v) {
  const cJSON *item = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
  *found = item != NULL;
  if (!item) return AG_OK;
  if (!cJSON_IsNumber(item))
    return ag_set_error(AG_ERR_IO, "%s: '%s' must be a number", where, key);
  *v = item->valuedouble;
  return AG_OK;
}

/* Whether v is a whole number in [lo, hi] that int64_t holds. */
static int whole_in(double v, int64_t lo, int64_t hi) {
  return v >= -0x1p63 && v < 0x1p63 && v == floor(v) && (int64_t)v >= lo && (int64_t)v <= hi;
}

static ag_status int_error(const char *where, const char *key, int64_t lo, int64_t hi, double v) {
  return ag_set_error(AG_ERR_IO,
                      "%s: '%s' must be a whole number in %" PRId64 "..%" PRId64 " (got %g)", where,
                      key, lo, hi, v);
}

ag_status ag_json_int_opt(const cJSON *o, const char *where, const char *key, int64_t lo,
                          int64_t hi, int *found, int64_t *out) {
  double v = 0;
  AG_TRY(lookup(o, where, key, found, &v));
  if (!*found) return AG_OK;
  if (!whole_in(v, lo, hi)) return int_error(where, key, lo, hi, v);
  *out = (int64_t)v;
  return AG_OK;
}

ag_status ag_json_int(const cJSON *o, const char *where, const char *key, int64_t lo, int64_t hi,
                      int64_t *out) {
  int found = 0;
  AG_TRY(ag_json_int_opt(o, where, key, lo, hi, &found, out));
  return found ? AG_OK : ag_set_error(AG_ERR_IO, "%s: '%s' is missing", where, key);
}

ag_status ag_json_real(const cJSON *o, const char *where, const char *key, double lo, double hi,
                       double *out) {
  int found = 0;
  double v = 0;
  AG_TRY(lookup(o, where, key, &found, &v));
  if (!found) return ag_set_error(AG_ERR_IO, "%s: '%s' is missing", where, key);
  if (!(v >= lo && v <= hi))
    return ag_set_error(AG_ERR_IO, "%s: '%s' must be a number in [%g, %g] (got %g)", where, key, lo,
                        hi, v);
  *out = v;
  return AG_OK;
}

ag_status ag_json_ints(const cJSON *o, const char *where, const char *key, int64_t lo, int64_t hi,
                       int max, int64_t *out, int *n) {
  const cJSON *a = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL, *e;
  if (!a) return ag_set_error(AG_ERR_IO, "%s: '%s' is missing", where, key);
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > max)
    return ag_set_error(AG_ERR_IO, "%s: '%s' must be an array of at most %d numbers", where, key,
                        max);
  *n = 0;
  cJSON_ArrayForEach(e, a) {
    if (!cJSON_IsNumber(e) || !whole_in(e->valuedouble, lo, hi))
      return ag_set_error(AG_ERR_IO, "%s: '%s' must hold whole numbers in %" PRId64 "..%" PRId64,
                          where, key, lo, hi);
    out[(*n)++] = (int64_t)e->valuedouble;
  }
  return AG_OK;
}
