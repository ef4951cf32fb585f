/* DDPM checkpoints (see ag_ddpm.h): the config as JSON metadata, the weight
 * averages beside ag_dp's weights and optimizer state, and loading a file
 * back as a model to sample from. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddpm_internal.h"

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

/* A whole number in 0..1e9 (-1 when missing or not one). */
static int64_t int_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e9)) return -1;
  return v->valuedouble == floor(v->valuedouble) ? (int64_t)v->valuedouble : -1;
}

static double number_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Array `key` of o into v: its length, or -1 when it is not an array of at
 * most max whole numbers. */
static int ints_of(const cJSON *o, const char *key, int64_t *v, int max) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key), *e;
  int n = 0;
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > max) return -1;
  cJSON_ArrayForEach(e, a) {
    if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble)) return -1;
    v[n++] = (int64_t)e->valuedouble;
  }
  return n;
}

static int parse_unet(const cJSON *u, ag_unet_config *c) {
  c->height = int_of(u, "height");
  c->width = int_of(u, "width");
  c->channels = int_of(u, "channels");
  c->base = int_of(u, "base");
  c->blocks = int_of(u, "blocks");
  c->head_dim = int_of(u, "head_dim");
  c->groups = int_of(u, "groups");
  c->classes = int_of(u, "classes");
  const int levels = ints_of(u, "mult", c->mult, AG_UNET_MAX_LEVELS);
  c->levels = levels;
  return levels >= 1 && ints_of(u, "attn", c->attn, AG_UNET_MAX_LEVELS) == levels;
}

static int parse_schedule(const cJSON *s, ag_noise_schedule_config *c) {
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(s, "beta_schedule");
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "prediction");
  c->train_timesteps = int_of(s, "train_timesteps");
  c->beta_start = number_of(s, "beta_start");
  c->beta_end = number_of(s, "beta_end");
  return cJSON_IsString(b) && ag_beta_schedule_parse(b->valuestring, &c->beta_schedule) == AG_OK &&
         cJSON_IsString(p) && ag_prediction_parse(p->valuestring, &c->prediction) == AG_OK;
}

static ag_status parse_config(const char *path, const char *text, ag_ddpm_config *c) {
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  if (!j) return ag_set_error(AG_ERR_IO, "%s: missing or unreadable ddpm config", path);
  memset(c, 0, sizeof *c);
  const int ok = parse_unet(cJSON_GetObjectItemCaseSensitive(j, "unet"), &c->unet) &&
                 parse_schedule(cJSON_GetObjectItemCaseSensitive(j, "schedule"), &c->schedule);
  c->label_dropout = (float)number_of(j, "label_dropout");
  cJSON_Delete(j);
  char why[256] = "a field is missing or malformed";
  if (ok && ag_ddpm_check(c) == AG_OK) return AG_OK;
  if (ok) snprintf(why, sizeof why, "%s", ag_last_error());
  return ag_set_error(AG_ERR_IO, "%s: ddpm config '%s' is invalid (%s)", path, text, why);
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
