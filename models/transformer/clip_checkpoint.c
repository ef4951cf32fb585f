/* CLIP checkpoints: the config as JSON metadata beside the weights, and
 * loading a file back into a model (see ag_clip.h). */
#include <cjson/cJSON.h>
#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_clip.h"
#include "runtime/io/json.h"

#define AG_CLIP_KIND "clip"

/* Every integer field of the config, by JSON key. */
typedef struct int_field {
  const char *key;
  size_t offset;
} int_field;

#define INT_FIELD(key, member)                                                                     \
  { key, offsetof(ag_clip_config, member) }
static const int_field int_fields[] = {
    INT_FIELD("vision.height", vision.height),
    INT_FIELD("vision.width", vision.width),
    INT_FIELD("vision.channels", vision.channels),
    INT_FIELD("vision.patch", vision.patch),
    INT_FIELD("vision.dim", vision.dim),
    INT_FIELD("vision.layers", vision.layers),
    INT_FIELD("vision.heads", vision.heads),
    INT_FIELD("text.vocab", text.vocab),
    INT_FIELD("text.context", text.context),
    INT_FIELD("text.dim", text.dim),
    INT_FIELD("text.layers", text.layers),
    INT_FIELD("text.heads", text.heads),
    INT_FIELD("embed_dim", embed_dim),
};
enum { n_int_fields = sizeof int_fields / sizeof int_fields[0] };

static int64_t *int_at(ag_clip_config *c, int i) {
  return (int64_t *)((char *)c + int_fields[i].offset);
}

static char *config_json(const ag_clip_config *c) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  ag_clip_config copy = *c;
  for (int i = 0; i < n_int_fields; i++)
    cJSON_AddNumberToObject(j, int_fields[i].key, (double)*int_at(&copy, i));
  cJSON_AddNumberToObject(j, "norm_mean", c->norm_mean);
  cJSON_AddNumberToObject(j, "norm_std", c->norm_std);
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return s;
}

/* Appends "key x vs y" to buf, comma-separated. */
static void append_diff(char *buf, size_t len, size_t *used, const char *key, double x, double y) {
  if (*used >= len) return;
  const int n = snprintf(buf + *used, len - *used, "%s%s %g vs %g", *used ? ", " : "", key, x, y);
  if (n > 0) *used += (size_t)n;
}

int ag_clip_config_diff(const ag_clip_config *a, const ag_clip_config *b, char *buf, size_t len) {
  ag_clip_config x = *a, y = *b;
  size_t used = 0;
  int n = 0;
  if (len) buf[0] = '\0';
  for (int i = 0; i < n_int_fields; i++)
    if (*int_at(&x, i) != *int_at(&y, i))
      n++, append_diff(buf, len, &used, int_fields[i].key, (double)*int_at(&x, i),
                       (double)*int_at(&y, i));
  if (x.norm_mean != y.norm_mean)
    n++, append_diff(buf, len, &used, "norm_mean", x.norm_mean, y.norm_mean);
  if (x.norm_std != y.norm_std)
    n++, append_diff(buf, len, &used, "norm_std", x.norm_std, y.norm_std);
  return n;
}

ag_status ag_clip_meta(const ag_clip_config *c, const char *keys[AG_CLIP_META],
                       const char *values[AG_CLIP_META], char **config) {
  *config = config_json(c);
  if (!*config) return ag_set_error(AG_ERR_OOM, "clip: out of host memory");
  keys[0] = "aigc.model", values[0] = AG_CLIP_KIND;
  keys[1] = "aigc.config", values[1] = *config;
  return AG_OK;
}

static ag_status parse_config(const char *path, const char *text, ag_clip_config *c) {
  char where[512];
  snprintf(where, sizeof where, "%s: clip config", path);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(text, where, &j));
  memset(c, 0, sizeof *c);
  double mean = 0, std = 0;
  ag_status st = AG_OK;
  for (int i = 0; st == AG_OK && i < n_int_fields; i++)
    st = ag_json_int(j, where, int_fields[i].key, 1, AG_JSON_MAX_COUNT, int_at(c, i));
  if (st == AG_OK) st = ag_json_real(j, where, "norm_mean", -FLT_MAX, FLT_MAX, &mean);
  if (st == AG_OK) st = ag_json_real(j, where, "norm_std", -FLT_MAX, FLT_MAX, &std);
  cJSON_Delete(j);
  AG_TRY(st);
  c->norm_mean = (float)mean, c->norm_std = (float)std;
  if (ag_clip_check(c) != AG_OK) {
    char why[256];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return ag_set_error(AG_ERR_IO, "%s: %s", where, why);
  }
  return AG_OK;
}

ag_status ag_clip_read_config(const char *path, const ag_safetensors *st, ag_clip_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_CLIP_KIND, "clip"));
  return parse_config(path, ag_st_metadata(st, "aigc.config"), c);
}

ag_status ag_clip_load(const char *path, ag_backend *be, ag_params **out, ag_clip_config *c) {
  *out = NULL;
  ag_safetensors *st = ag_st_open(path);
  if (!st) return AG_ERR_IO;
  ag_status s = ag_clip_read_config(path, st, c);
  ag_params *p = s == AG_OK ? ag_params_new(be, 0) : NULL;
  if (s == AG_OK && !p) s = ag_set_error(AG_ERR_OOM, "clip: out of host memory");
  if (s == AG_OK) s = ag_clip_init(p, c);
  if (s == AG_OK) s = ag_params_load(p, st);
  ag_st_close(st);
  if (s != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_params_free(p);
    return strstr(msg, path) ? s : ag_set_error(s, "%s: %s", path, msg);
  }
  *out = p;
  return AG_OK;
}
