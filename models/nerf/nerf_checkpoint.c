/* NeRF checkpoints (see ag_nerf.h): the weights, the occupancy densities
 * (state beside the parameters: the renderer's bitfield is rebuilt from
 * them) and the config as JSON metadata. */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerf_internal.h"
#include "runtime/io/json.h"

#define OCCUPANCY_NAME AG_ST_STATE_PREFIX "occupancy/density"
#define RAYS_KEY "nerf.rays"

char *nerf_config_json(const ag_nerf_config *c) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  cJSON_AddNumberToObject(j, "bound", c->bound);
  cJSON_AddNumberToObject(j, "levels", (double)c->grid.levels);
  cJSON_AddNumberToObject(j, "features", (double)c->grid.features);
  cJSON_AddNumberToObject(j, "log2_table", (double)c->grid.log2_table);
  cJSON_AddNumberToObject(j, "base_res", c->grid.base_res);
  cJSON_AddNumberToObject(j, "per_level_scale", c->grid.per_level_scale);
  cJSON_AddNumberToObject(j, "hidden", (double)c->hidden);
  cJSON_AddNumberToObject(j, "geo_features", (double)c->geo_features);
  cJSON_AddNumberToObject(j, "occ_res", (double)c->occ_res);
  cJSON_AddNumberToObject(j, "diagonal_steps", (double)c->diagonal_steps);
  cJSON_AddNumberToObject(j, "max_ray_samples", (double)c->max_ray_samples);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return text;
}

static ag_status parse_config(const char *path, const char *text, ag_nerf_config *c) {
  char where[512];
  snprintf(where, sizeof where, "%s: nerf config", path);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(text, where, &j));
  static const char *const real_keys[3] = {"bound", "base_res", "per_level_scale"};
  static const char *const int_keys[8] = {"levels",         "features",       "log2_table",
                                          "hidden",         "geo_features",   "occ_res",
                                          "diagonal_steps", "max_ray_samples"};
  double r[3] = {0};
  int64_t n[8] = {0};
  ag_status st = AG_OK;
  for (int i = 0; st == AG_OK && i < 3; i++)
    st = ag_json_real(j, where, real_keys[i], -FLT_MAX, FLT_MAX, &r[i]);
  for (int i = 0; st == AG_OK && i < 8; i++)
    st = ag_json_int(j, where, int_keys[i], 0, AG_JSON_MAX_COUNT, &n[i]);
  cJSON_Delete(j);
  AG_TRY(st);
  *c = (ag_nerf_config){.bound = (float)r[0],
                        .grid = {.levels = n[0],
                                 .features = n[1],
                                 .log2_table = n[2],
                                 .base_res = (float)r[1],
                                 .per_level_scale = (float)r[2]},
                        .hidden = n[3],
                        .geo_features = n[4],
                        .occ_res = n[5],
                        .diagonal_steps = n[6],
                        .max_ray_samples = n[7]};
  if (ag_nerf_check_config(c) == AG_OK) return AG_OK;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  return ag_set_error(AG_ERR_IO, "%s: %s", where, msg);
}

ag_status ag_nerf_read_config(const char *path, const ag_safetensors *st, ag_nerf_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_NERF_KIND, "nerf"));
  return parse_config(path, ag_st_metadata(st, "aigc.config"), c);
}

ag_status ag_nerf_save(const ag_nerf_model *m, const char *path) {
  const int n = ag_params_count(m->p) + 1;
  const char **names = calloc((size_t)n, sizeof *names);
  const ag_tensor **tensors = calloc((size_t)n, sizeof *tensors);
  char *config = nerf_config_json(&m->c);
  ag_status st =
      names && tensors && config ? AG_OK : ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  for (int i = 0; st == AG_OK && i < n - 1; i++)
    names[i] = ag_params_name(m->p, i), tensors[i] = ag_params_tensor(m->p, i);
  if (st == AG_OK) {
    names[n - 1] = OCCUPANCY_NAME, tensors[n - 1] = m->occ.density;
    const char *keys[2] = {"aigc.model", "aigc.config"}, *values[2] = {AG_NERF_KIND, config};
    st = ag_st_save(path, names, tensors, n, keys, values, 2);
  }
  free(names), free(tensors), free(config);
  return st;
}

static ag_status load_from(const char *path, const ag_safetensors *st, ag_backend *be,
                           int64_t occ_batch, ag_nerf_model *m) {
  AG_TRY(ag_nerf_read_config(path, st, &m->c));
  if (!(m->p = ag_params_new(be, 0))) return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  AG_TRY(ag_nerf_init(m->p, &m->c));
  AG_TRY(ag_params_load(m->p, st));
  AG_TRY(ag_nerf_occupancy_new(m->p, &m->c, occ_batch, &m->occ));
  if (ag_st_find(st, OCCUPANCY_NAME) < 0)
    return ag_set_error(AG_ERR_INVALID, "%s has no occupancy grid '%s'", path, OCCUPANCY_NAME);
  AG_TRY(ag_st_load_into(st, OCCUPANCY_NAME, m->occ.density));
  return ag_eager_occ_bitfield(m->occ.density, m->occ.bitfield, 0.01f / ag_nerf_dt(&m->c));
}

/* On failure m is freed and the error names path once. */
ag_status nerf_load_model(const char *path, const ag_safetensors *st, ag_backend *be,
                          int64_t occ_batch, ag_nerf_model *m) {
  memset(m, 0, sizeof *m);
  const ag_status s = load_from(path, st, be, occ_batch, m);
  if (s == AG_OK) return AG_OK;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", ag_last_error());
  ag_nerf_model_free(m);
  if (strstr(msg, path)) return ag_set_error(s, "%s", msg);
  return ag_set_error(s, "%s: %s", path, msg);
}

ag_status ag_nerf_load(const char *path, ag_backend *be, ag_nerf_model *out) {
  memset(out, 0, sizeof *out);
  ag_safetensors *st = ag_st_open(path);
  if (!st) return AG_ERR_IO;
  const ag_status s = nerf_load_model(path, st, be, 4096, out);
  ag_st_close(st);
  return s;
}

ag_status nerf_save_training(ag_dp *dp, const ag_nerf_model *m, int64_t next_rays,
                             const char *path) {
  char *config = nerf_config_json(&m->c), rays[32];
  if (!config) return ag_set_error(AG_ERR_OOM, "nerf: out of host memory");
  snprintf(rays, sizeof rays, "%lld", (long long)next_rays);
  const char *keys[3] = {"aigc.model", "aigc.config", RAYS_KEY};
  const char *values[3] = {AG_NERF_KIND, config, rays};
  const char *names[1] = {OCCUPANCY_NAME};
  const ag_tensor *tensors[1] = {m->occ.density};
  const ag_dp_extra extra = {1, names, tensors};
  const ag_status st = ag_dp_save_with(dp, path, keys, values, 3, &extra);
  free(config);
  return st;
}

ag_status nerf_read_rays(const char *path, const ag_safetensors *st, int64_t *rays) {
  const char *text = ag_st_metadata(st, RAYS_KEY);
  char *end = NULL;
  const long long v = text ? strtoll(text, &end, 10) : 0;
  if (!text || *end || v < 1)
    return ag_set_error(AG_ERR_INVALID,
                        "%s has no training state ('%s' metadata): a model alone, not resumable",
                        path, RAYS_KEY);
  *rays = v;
  return AG_OK;
}
