/* DDPM checkpoints (see ag_ddpm.h): the config as JSON metadata, the weight
 * averages beside ag_dp's weights and optimizer state, and loading a file
 * back as a model to sample from. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm_internal.h"
#include "runtime/io/json.h"

/* ---- config as JSON ------------------------------------------------------- */

static void add_ints(cJSON *o, const char *key, const int64_t *v, int n) {
  cJSON *a = cJSON_AddArrayToObject(o, key);
  for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
}

char *ag_ddpm_config_json(const ag_ddpm_config *c) {
  const ag_unet_config *u = &c->unet;
  const ag_noise_schedule_config *s = &c->schedule;
  cJSON *j = cJSON_CreateObject(), *uj = cJSON_AddObjectToObject(j, "unet"),
        *sj = cJSON_AddObjectToObject(j, "schedule");
  if (!j || !uj || !sj) return cJSON_Delete(j), NULL;
  cJSON_AddNumberToObject(uj, "height", (double)u->height);
  cJSON_AddNumberToObject(uj, "width", (double)u->width);
  cJSON_AddNumberToObject(uj, "channels", (double)u->channels);
  cJSON_AddNumberToObject(uj, "base", (double)u->base);
  add_ints(uj, "mult", u->mult, (int)u->levels);
  add_ints(uj, "attn", u->attn, (int)u->levels);
  cJSON_AddNumberToObject(uj, "blocks", (double)u->blocks);
  cJSON_AddNumberToObject(uj, "head_dim", (double)u->head_dim);
  cJSON_AddNumberToObject(uj, "groups", (double)u->groups);
  cJSON_AddNumberToObject(uj, "classes", (double)u->classes);
  cJSON_AddNumberToObject(sj, "train_timesteps", (double)s->train_timesteps);
  cJSON_AddStringToObject(sj, "beta_schedule", ag_beta_schedule_name(s->beta_schedule));
  cJSON_AddNumberToObject(sj, "beta_start", s->beta_start);
  cJSON_AddNumberToObject(sj, "beta_end", s->beta_end);
  cJSON_AddStringToObject(sj, "prediction", ag_prediction_name(s->prediction));
  cJSON_AddNumberToObject(j, "label_dropout", c->label_dropout);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return text;
}

static ag_status parse_unet(const cJSON *u, const char *where, ag_unet_config *c) {
  const struct {
    const char *key;
    int64_t *v;
  } f[] = {{"height", &c->height}, {"width", &c->width},    {"channels", &c->channels},
           {"base", &c->base},     {"blocks", &c->blocks},  {"head_dim", &c->head_dim},
           {"groups", &c->groups}, {"classes", &c->classes}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    AG_TRY(ag_json_int(u, where, f[i].key, 0, AG_JSON_MAX_COUNT, f[i].v));
  int levels = 0, attn = 0;
  AG_TRY(
      ag_json_ints(u, where, "mult", 0, AG_JSON_MAX_COUNT, AG_UNET_MAX_LEVELS, c->mult, &levels));
  AG_TRY(ag_json_ints(u, where, "attn", 0, 1, AG_UNET_MAX_LEVELS, c->attn, &attn));
  if (levels < 1 || attn != levels)
    return ag_set_error(AG_ERR_IO, "%s: 'mult' and 'attn' must have the same 1..%d levels", where,
                        AG_UNET_MAX_LEVELS);
  c->levels = levels;
  return AG_OK;
}

/* String field `key` of o, or NULL with the error naming it. */
static const char *text_of(const cJSON *o, const char *where, const char *key) {
  const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
  if (cJSON_IsString(v)) return v->valuestring;
  ag_set_error(AG_ERR_IO, "%s: '%s' must be a string", where, key);
  return NULL;
}

static ag_status parse_schedule(const cJSON *s, const char *where, ag_noise_schedule_config *c) {
  AG_TRY(ag_json_int(s, where, "train_timesteps", 0, AG_JSON_MAX_COUNT, &c->train_timesteps));
  AG_TRY(ag_json_real(s, where, "beta_start", -DBL_MAX, DBL_MAX, &c->beta_start));
  AG_TRY(ag_json_real(s, where, "beta_end", -DBL_MAX, DBL_MAX, &c->beta_end));
  const char *beta = text_of(s, where, "beta_schedule");
  if (!beta) return AG_ERR_IO;
  const char *prediction = text_of(s, where, "prediction");
  if (!prediction) return AG_ERR_IO;
  if (ag_beta_schedule_parse(beta, &c->beta_schedule) != AG_OK ||
      ag_prediction_parse(prediction, &c->prediction) != AG_OK) {
    char why[256];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return ag_set_error(AG_ERR_IO, "%s: %s", where, why);
  }
  return AG_OK;
}

static ag_status parse_config(const char *path, const char *text, ag_ddpm_config *c) {
  char where[512], unet[600], schedule[600];
  snprintf(where, sizeof where, "%s: ddpm config", path);
  snprintf(unet, sizeof unet, "%s, unet", where);
  snprintf(schedule, sizeof schedule, "%s, schedule", where);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(text, where, &j));
  memset(c, 0, sizeof *c);
  double dropout = 0;
  ag_status st = parse_unet(cJSON_GetObjectItemCaseSensitive(j, "unet"), unet, &c->unet);
  if (st == AG_OK)
    st = parse_schedule(cJSON_GetObjectItemCaseSensitive(j, "schedule"), schedule, &c->schedule);
  if (st == AG_OK) st = ag_json_real(j, where, "label_dropout", -FLT_MAX, FLT_MAX, &dropout);
  cJSON_Delete(j);
  AG_TRY(st);
  c->label_dropout = (float)dropout;
  if (ag_ddpm_check(c) == AG_OK) return AG_OK;
  char why[256];
  snprintf(why, sizeof why, "%s", ag_last_error());
  return ag_set_error(AG_ERR_IO, "%s: %s", where, why);
}

ag_status ag_ddpm_read_config(const char *path, const ag_safetensors *st, ag_ddpm_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_DDPM_KIND, "diffusion (ddpm)"));
  return parse_config(path, ag_st_metadata(st, "aigc.config"), c);
}

/* ---- the training record -------------------------------------------------- */

ag_ddpm_train_record ag_ddpm_read_record(const ag_safetensors *st) {
  const char *secs = ag_st_metadata(st, "ddpm.train_seconds");
  const char *peak = ag_st_metadata(st, "ddpm.peak_bytes");
  const char *device = ag_st_metadata(st, "ddpm.device");
  const char *dataset = ag_st_metadata(st, "ddpm.dataset");
  return (ag_ddpm_train_record){.seconds = secs ? strtod(secs, NULL) : 0,
                                .peak_bytes = peak ? strtoll(peak, NULL, 10) : 0,
                                .device = device ? device : "",
                                .dataset = dataset ? dataset : ""};
}

const char *ag_ddpm_ema_name(char *buf, size_t len, const char *name) {
  snprintf(buf, len, AG_DDPM_EMA_PREFIX "%s", name);
  return buf;
}

/* ---- saving --------------------------------------------------------------- */

enum { n_meta = 6 };

typedef struct meta {
  const char *keys[n_meta], *values[n_meta];
  char *config;
  char seconds[32], peak[32];
} meta;

static ag_status meta_of(const ag_ddpm_config *c, const ag_ddpm_train_record *r, meta *m) {
  if (!(m->config = ag_ddpm_config_json(c)))
    return ag_set_error(AG_ERR_OOM, "ddpm: out of host memory");
  snprintf(m->seconds, sizeof m->seconds, "%.3f", r->seconds);
  snprintf(m->peak, sizeof m->peak, "%lld", (long long)r->peak_bytes);
  const char *k[n_meta] = {"aigc.model",      "aigc.config", "ddpm.train_seconds",
                           "ddpm.peak_bytes", "ddpm.device", "ddpm.dataset"};
  const char *v[n_meta] = {AG_DDPM_KIND, m->config, m->seconds, m->peak, r->device, r->dataset};
  memcpy(m->keys, k, sizeof k);
  memcpy(m->values, v, sizeof v);
  return AG_OK;
}

ag_status ag_ddpm_save(ag_dp *dp, const char *path, const ag_ddpm_config *c, ag_params *p,
                       ag_tensor *const *ema, const ag_ddpm_train_record *r) {
  meta m = {0};
  const int np = ag_params_count(p);
  const char **names = calloc((size_t)np, sizeof *names);
  char(*buf)[160] = calloc((size_t)np, sizeof *buf);
  ag_status s =
      names && buf ? meta_of(c, r, &m) : ag_set_error(AG_ERR_OOM, "ddpm: out of host memory");
  for (int i = 0; s == AG_OK && i < np; i++)
    names[i] = ag_ddpm_ema_name(buf[i], sizeof buf[i], ag_params_name(p, i));
  /* ag_dp writes the weights, the optimizer state (gathered under ZeRO-1)
   * and the averages in one file, renamed into place. */
  const ag_dp_extra averages = {np, names, (const ag_tensor *const *)ema};
  if (s == AG_OK) s = ag_dp_save_with(dp, path, m.keys, m.values, n_meta, &averages);
  free(m.config);
  free(names);
  free(buf);
  return s;
}

/* ---- loading a model to sample from --------------------------------------- */

static ag_status load_averages(const char *path, const ag_safetensors *st, ag_params *p) {
  char name[160];
  for (int i = 0; i < ag_params_count(p); i++) {
    ag_ddpm_ema_name(name, sizeof name, ag_params_name(p, i));
    if (ag_st_find(st, name) < 0)
      return ag_set_error(AG_ERR_INVALID, "%s has no averaged weights '%s'", path, name);
    AG_TRY(ag_st_load_into(st, name, ag_params_tensor(p, i)));
  }
  return AG_OK;
}

/* m's info from its training record (all zeros and "" for a model that was
 * never trained) and its optimizer updates. */
static void info_of(ag_ddpm *m, const ag_ddpm_train_record *r, int64_t steps) {
  ag_generator_info *i = &m->info;
  snprintf(i->kind, sizeof i->kind, "%s", AG_DDPM_KIND);
  i->height = m->c.unet.height;
  i->width = m->c.unet.width;
  i->classes = m->c.unet.classes;
  i->params = ag_params_numel(m->p);
  i->train_steps = steps;
  i->train_seconds = r->seconds;
  i->train_peak_bytes = r->peak_bytes;
  snprintf(i->device, sizeof i->device, "%s", r->device);
  snprintf(i->dataset, sizeof i->dataset, "%s", r->dataset);
}

static ag_status load_into(const char *path, const ag_safetensors *st, ag_backend *be, ag_ddpm *m) {
  AG_TRY(ag_ddpm_read_config(path, st, &m->c));
  if (!(m->p = ag_params_new(be, 0))) return ag_set_error(AG_ERR_OOM, "ddpm: out of memory");
  AG_TRY(ag_unet_init(m->p, &m->c.unet));
  AG_TRY(load_averages(path, st, m->p));
  const ag_ddpm_train_record r = ag_ddpm_read_record(st);
  const char *steps = ag_st_metadata(st, "optim.steps");
  info_of(m, &r, steps ? strtoll(steps, NULL, 10) : 0);
  return AG_OK;
}

ag_status ag_ddpm_load(const char *path, ag_backend *be, ag_ddpm **out) {
  *out = NULL;
  ag_safetensors *st = ag_st_open(path);
  if (!st) return AG_ERR_IO;
  ag_ddpm *m = calloc(1, sizeof *m);
  ag_status s = m ? load_into(path, st, be, m) : ag_set_error(AG_ERR_OOM, "ddpm: out of memory");
  ag_st_close(st);
  if (s != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_ddpm_free(m);
    return strstr(msg, path) ? s : ag_set_error(s, "%s: %s", path, msg);
  }
  *out = m;
  return AG_OK;
}

ag_status ag_ddpm_new(const ag_ddpm_config *c, ag_backend *be, uint64_t seed, ag_ddpm **out) {
  *out = NULL;
  AG_TRY(ag_ddpm_check(c));
  ag_ddpm *m = calloc(1, sizeof *m);
  if (!m) return ag_set_error(AG_ERR_OOM, "ddpm: out of memory");
  m->c = *c;
  m->p = ag_params_new(be, seed);
  ag_status s =
      m->p ? ag_unet_init(m->p, &m->c.unet) : ag_set_error(AG_ERR_OOM, "ddpm: out of memory");
  if (s != AG_OK) {
    ag_ddpm_free(m);
    return s;
  }
  const ag_ddpm_train_record untrained = {.device = "", .dataset = ""};
  info_of(m, &untrained, 0);
  *out = m;
  return AG_OK;
}

void ag_ddpm_free(ag_ddpm *m) {
  if (!m) return;
  ag_params_free(m->p);
  free(m);
}

void ag_ddpm_info(const ag_ddpm *m, ag_generator_info *out) { *out = m->info; }

const ag_ddpm_config *ag_ddpm_config_of(const ag_ddpm *m) { return &m->c; }
