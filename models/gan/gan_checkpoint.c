/* GAN checkpoints (layout in gan_internal.h): written in one atomic
 * safetensors write, read back set by set. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gan_internal.h"
#include "runtime/io/json.h"

/* Every field of the config, by JSON key. */
typedef struct int_field {
  const char *key;
  size_t offset;
} int_field;

#define INT_FIELD(member)                                                                          \
  { #member, offsetof(ag_gan_config, member) }
static const int_field int_fields[] = {
    INT_FIELD(height),     INT_FIELD(width),   INT_FIELD(zdim),     INT_FIELD(g_channels),
    INT_FIELD(d_channels), INT_FIELD(classes), INT_FIELD(embed_dim)};
enum { n_int_fields = sizeof int_fields / sizeof int_fields[0] };

static int64_t field_of(const ag_gan_config *c, int i) {
  return *(const int64_t *)((const char *)c + int_fields[i].offset);
}

static char *config_json(const ag_gan_config *c) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  for (int i = 0; i < n_int_fields; i++)
    cJSON_AddNumberToObject(j, int_fields[i].key, (double)field_of(c, i));
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return s;
}

static char *train_json(const ag_gan_meta *m) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  cJSON_AddStringToObject(j, "loss", ag_gan_loss_name(m->loss));
  cJSON_AddNumberToObject(j, "r1_gamma", m->r1_gamma);
  cJSON_AddNumberToObject(j, "ema_decay", m->ema_decay);
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return s;
}

int ag_gan_config_diff(const ag_gan_config *a, const ag_gan_config *b, char *buf, size_t len) {
  size_t used = 0;
  int n = 0;
  if (len) buf[0] = '\0';
  for (int i = 0; i < n_int_fields; i++) {
    if (field_of(a, i) == field_of(b, i)) continue;
    n++;
    if (used >= len) continue;
    const int k = snprintf(buf + used, len - used, "%s%s %lld vs %lld", used ? ", " : "",
                           int_fields[i].key, (long long)field_of(a, i), (long long)field_of(b, i));
    if (k > 0) used += (size_t)k;
  }
  return n;
}

/* ---- writing ------------------------------------------------------------ */

/* Names and tensors of a checkpoint being assembled. */
typedef struct entries {
  int n, cap;
  char (*names)[160];
  const ag_tensor **tensors;
} entries;

static ag_status entries_add(entries *e, const char *prefix, const char *name, const ag_tensor *t) {
  if (e->n == e->cap) {
    const int cap = e->cap ? 2 * e->cap : 64;
    void *names = realloc(e->names, sizeof *e->names * (size_t)cap);
    if (names) e->names = names;
    void *tensors = names ? realloc(e->tensors, sizeof *e->tensors * (size_t)cap) : NULL;
    if (!tensors) return ag_set_error(AG_ERR_OOM, "gan checkpoint: out of host memory");
    e->tensors = tensors;
    e->cap = cap;
  }
  snprintf(e->names[e->n], sizeof e->names[0], "%s%s", prefix, name);
  e->tensors[e->n++] = t;
  return AG_OK;
}

static ag_status add_set(entries *e, const char *prefix, const ag_params *p) {
  for (int i = 0; p && i < ag_params_count(p); i++)
    AG_TRY(entries_add(e, prefix, ag_params_name(p, i), ag_params_tensor(p, i)));
  return AG_OK;
}

/* Adam's two moments of every parameter, under ag_dp's names. */
static ag_status add_optim(entries *e, const ag_params *p, const ag_optimizer *o) {
  static const char *const prefixes[2] = {AG_ST_STATE_PREFIX "m/", AG_ST_STATE_PREFIX "v/"};
  for (int k = 0; o && k < 2; k++)
    for (int i = 0; i < ag_params_count(p); i++) {
      const ag_tensor *t = ag_optimizer_state(o, i, (ag_optim_state)k);
      if (!t)
        return ag_set_error(AG_ERR_INVALID, "gan checkpoint: no optimizer state of '%s'",
                            ag_params_name(p, i));
      AG_TRY(entries_add(e, prefixes[k], ag_params_name(p, i), t));
    }
  return AG_OK;
}

static ag_status write_file(const char *path, const entries *e, const ag_gan_config *c,
                            const ag_gan_meta *m) {
  char *config = config_json(c), *train = train_json(m);
  const char **names = malloc(sizeof *names * (size_t)(e->n + 1));
  ag_status st = config && train && names ? AG_OK
                                          : ag_set_error(AG_ERR_OOM,
                                                         "gan checkpoint: out of "
                                                         "host memory");
  char steps[32], seconds[32], peak[32];
  snprintf(steps, sizeof steps, "%" PRId64, m->steps);
  snprintf(seconds, sizeof seconds, "%.3f", m->seconds);
  snprintf(peak, sizeof peak, "%" PRId64, m->peak_bytes);
  const char *keys[] = {
      "aigc.model",         "aigc.config",           "aigc.train",  "optim.steps", "aigc.step",
      "aigc.train_seconds", "aigc.train_peak_bytes", "aigc.device", "aigc.dataset"};
  const char *values[] = {AG_GAN_KIND, config, train,     steps,     steps,
                          seconds,     peak,   m->device, m->dataset};
  for (int i = 0; st == AG_OK && i < e->n; i++) names[i] = e->names[i];
  if (st == AG_OK)
    st = ag_st_save(path, names, e->tensors, e->n, keys, values,
                    (int)(sizeof keys / sizeof keys[0]));
  free(config), free(train), free(names);
  return st;
}

ag_status ag_gan_save(const char *path, const ag_gan_config *c, const ag_gan_meta *m,
                      const ag_gan_state *s) {
  entries e = {0};
  ag_status st = add_set(&e, "", s->gen);
  if (st == AG_OK) st = add_set(&e, "", s->disc);
  if (st == AG_OK) st = add_set(&e, AG_GAN_EMA_PREFIX, s->ema);
  if (st == AG_OK) st = add_set(&e, AG_GAN_STATS_PREFIX, s->stats);
  if (st == AG_OK) st = add_optim(&e, s->gen, s->gen_opt);
  if (st == AG_OK && s->disc) st = add_optim(&e, s->disc, s->disc_opt);
  if (st == AG_OK) st = write_file(path, &e, c, m);
  free(e.names);
  free(e.tensors);
  return st;
}

/* ---- reading ------------------------------------------------------------ */

ag_status ag_gan_load_set(const ag_safetensors *st, const char *path, ag_params *p,
                          const char *prefix) {
  for (int i = 0; i < ag_params_count(p); i++) {
    char name[160];
    snprintf(name, sizeof name, "%s%s", prefix, ag_params_name(p, i));
    if (ag_st_load_into(st, name, ag_params_tensor(p, i)) != AG_OK) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", ag_last_error());
      return ag_set_error(AG_ERR_INVALID, "%s: %s", path, msg);
    }
  }
  return AG_OK;
}

ag_status ag_gan_load_optim(const ag_safetensors *st, const char *path, ag_params *p,
                            ag_optimizer *o, int64_t steps) {
  static const char *const prefixes[2] = {AG_ST_STATE_PREFIX "m/", AG_ST_STATE_PREFIX "v/"};
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < ag_params_count(p); i++) {
      char name[160];
      snprintf(name, sizeof name, "%s%s", prefixes[k], ag_params_name(p, i));
      if (ag_st_load_into(st, name, ag_optimizer_state(o, i, (ag_optim_state)k)) != AG_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ag_last_error());
        return ag_set_error(AG_ERR_INVALID, "%s: %s", path, msg);
      }
    }
  ag_optimizer_set_steps(o, steps);
  return AG_OK;
}

/* A number field of j, or NaN when it is missing. */
static double number(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static ag_status parse_config(const char *path, const char *text, ag_gan_config *c) {
  char where[512];
  snprintf(where, sizeof where, "%s: gan config", path);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(text, where, &j));
  ag_status st = AG_OK;
  for (int i = 0; st == AG_OK && i < n_int_fields; i++)
    st = ag_json_int(j, where, int_fields[i].key, 0, AG_JSON_MAX_COUNT,
                     (int64_t *)((char *)c + int_fields[i].offset));
  cJSON_Delete(j);
  AG_TRY(st);
  if (ag_gan_check(c) != AG_OK) {
    char why[256];
    snprintf(why, sizeof why, "%s", ag_last_error());
    return ag_set_error(AG_ERR_IO, "%s: %s", where, why);
  }
  return AG_OK;
}

ag_status ag_gan_read_config(const char *path, const ag_safetensors *st, ag_gan_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_GAN_KIND, "gan"));
  return parse_config(path, ag_st_metadata(st, "aigc.config"), c);
}

static void copy_text(char *dst, size_t len, const char *src) {
  snprintf(dst, len, "%s", src ? src : "");
}

ag_status ag_gan_read_meta(const ag_safetensors *st, const char *path, ag_gan_meta *m) {
  memset(m, 0, sizeof *m);
  const char *steps = ag_st_metadata(st, "optim.steps");
  char *end = NULL;
  m->steps = steps ? strtoll(steps, &end, 10) : -1;
  if (!steps || *end || m->steps < 0)
    return ag_set_error(AG_ERR_IO, "%s: no valid optim.steps metadata (%s)", path,
                        steps ? steps : "missing");
  const char *seconds = ag_st_metadata(st, "aigc.train_seconds");
  const char *peak = ag_st_metadata(st, "aigc.train_peak_bytes");
  m->seconds = seconds ? strtod(seconds, NULL) : 0;
  m->peak_bytes = peak ? strtoll(peak, NULL, 10) : 0;
  copy_text(m->device, sizeof m->device, ag_st_metadata(st, "aigc.device"));
  copy_text(m->dataset, sizeof m->dataset, ag_st_metadata(st, "aigc.dataset"));
  const char *train = ag_st_metadata(st, "aigc.train");
  cJSON *j = train ? cJSON_Parse(train) : NULL;
  const cJSON *loss = j ? cJSON_GetObjectItemCaseSensitive(j, "loss") : NULL;
  ag_status s = cJSON_IsString(loss) ? ag_gan_loss_parse(loss->valuestring, &m->loss)
                                     : ag_set_error(AG_ERR_IO, "no loss");
  m->r1_gamma = j ? (float)number(j, "r1_gamma") : NAN;
  m->ema_decay = j ? (float)number(j, "ema_decay") : NAN;
  cJSON_Delete(j);
  if (s != AG_OK || !(m->r1_gamma >= 0) || !(m->ema_decay >= 0))
    return ag_set_error(AG_ERR_IO, "%s: gan training options '%s' are invalid", path,
                        train ? train : "(missing)");
  return AG_OK;
}
