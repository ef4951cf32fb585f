/* The Fashion-MNIST classifier: its graph and its checkpoints. */
#include "ag_classifier.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_layers.h"
#include "runtime/io/json.h"

#define AG_CLASSIFIER_KIND "classifier"

ag_classifier_config ag_classifier_default_config(void) {
  return (ag_classifier_config){.height = 28,
                                .width = 28,
                                .c1 = 32,
                                .c2 = 64,
                                .hidden = 128,
                                .classes = 10,
                                .norm_mean = 0.2860f,
                                .norm_std = 0.3530f};
}

ag_tensor *ag_classifier_forward(ag_graph *g, ag_params *p, const ag_classifier_config *c,
                                 ag_tensor *x, ag_tensor **features) {
  ag_tensor *h = ag_avgpool2d(g, ag_relu(g, ag_nn_conv2d(g, p, "conv1", x, c->c1, 3, 1)), 2);
  h = ag_avgpool2d(g, ag_relu(g, ag_nn_conv2d(g, p, "conv2", h, c->c2, 3, 1)), 2);
  const int64_t flat[2] = {x ? x->shape[0] : 0, c->c2 * (c->height / 4) * (c->width / 4)};
  ag_tensor *f =
      ag_nn_linear(g, p, "fc1", ag_reshape(g, h, 2, flat), c->hidden, AG_MATMUL_EPI_RELU, 1);
  if (features) *features = f;
  return ag_nn_linear(g, p, "fc2", f, c->classes, AG_MATMUL_EPI_NONE, 1);
}

/* Parameters are created by building a throwaway one-image graph. */
ag_status ag_classifier_init(ag_params *p, const ag_classifier_config *c) {
  ag_graph *g = ag_graph_new(ag_params_backend(p));
  if (!g) return AG_ERR_OOM;
  const int64_t shape[4] = {1, 1, c->height, c->width};
  ag_classifier_forward(g, p, c, ag_graph_input(g, "x", AG_F32, 4, shape), NULL);
  ag_status st = ag_graph_status(g);
  if (st != AG_OK) ag_set_error(st, "classifier: %s", ag_graph_error(g));
  ag_graph_free(g);
  return st;
}

static char *config_json(const ag_classifier_config *c) {
  cJSON *j = cJSON_CreateObject();
  if (!j) return NULL;
  cJSON_AddNumberToObject(j, "height", (double)c->height);
  cJSON_AddNumberToObject(j, "width", (double)c->width);
  cJSON_AddNumberToObject(j, "c1", (double)c->c1);
  cJSON_AddNumberToObject(j, "c2", (double)c->c2);
  cJSON_AddNumberToObject(j, "hidden", (double)c->hidden);
  cJSON_AddNumberToObject(j, "classes", (double)c->classes);
  cJSON_AddNumberToObject(j, "norm_mean", c->norm_mean);
  cJSON_AddNumberToObject(j, "norm_std", c->norm_std);
  char *s = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  return s;
}

/* Every size field of the config, by JSON key. */
typedef struct size_field {
  const char *key;
  size_t offset;
} size_field;

static const size_field size_fields[] = {
    {"height", offsetof(ag_classifier_config, height)},
    {"width", offsetof(ag_classifier_config, width)},
    {"c1", offsetof(ag_classifier_config, c1)},
    {"c2", offsetof(ag_classifier_config, c2)},
    {"hidden", offsetof(ag_classifier_config, hidden)},
    {"classes", offsetof(ag_classifier_config, classes)},
};

static ag_status parse_config(const char *path, const char *text, ag_classifier_config *c) {
  char where[512];
  snprintf(where, sizeof where, "%s: classifier config", path);
  cJSON *j = NULL;
  AG_TRY(ag_json_parse_object(text, where, &j));
  double mean = 0, std = 0;
  ag_status st = AG_OK;
  for (size_t i = 0; st == AG_OK && i < sizeof size_fields / sizeof *size_fields; i++)
    st = ag_json_int(j, where, size_fields[i].key, 1, AG_JSON_MAX_COUNT,
                     (int64_t *)((char *)c + size_fields[i].offset));
  if (st == AG_OK) st = ag_json_real(j, where, "norm_mean", -FLT_MAX, FLT_MAX, &mean);
  if (st == AG_OK) st = ag_json_real(j, where, "norm_std", FLT_MIN, FLT_MAX, &std);
  cJSON_Delete(j);
  AG_TRY(st);
  c->norm_mean = (float)mean, c->norm_std = (float)std;
  if (c->height % 4 || c->width % 4)
    return ag_set_error(AG_ERR_IO, "%s: height and width must be multiples of 4 (got %lldx%lld)",
                        where, (long long)c->height, (long long)c->width);
  return AG_OK;
}

ag_status ag_classifier_read_config(const char *path, const ag_safetensors *st,
                                    ag_classifier_config *c) {
  AG_TRY(ag_params_check_kind(st, path, AG_CLASSIFIER_KIND, "classifier"));
  return parse_config(path, ag_st_metadata(st, "aigc.config"), c);
}

ag_status ag_classifier_save(const char *path, const ag_params *p, const ag_classifier_config *c,
                             const ag_classifier_meta *meta) {
  char *config = config_json(c);
  if (!config) return ag_set_error(AG_ERR_OOM, "classifier: out of host memory");
  char step[32], acc[32];
  snprintf(step, sizeof step, "%lld", (long long)meta->step);
  snprintf(acc, sizeof acc, "%.6f", meta->test_accuracy);
  const char *keys[] = {"aigc.model", "aigc.config", "aigc.step", "aigc.dataset",
                        "aigc.test_accuracy"};
  const char *values[] = {AG_CLASSIFIER_KIND, config, step, meta->dataset, acc};
  const int n_meta = meta->test_accuracy >= 0 ? 5 : 4;
  ag_status st = ag_params_save(p, path, keys, values, n_meta);
  free(config);
  return st;
}

static void read_meta(const ag_safetensors *st, ag_classifier_meta *meta) {
  const char *step = ag_st_metadata(st, "aigc.step"),
             *acc = ag_st_metadata(st, "aigc.test_accuracy");
  const char *dataset = ag_st_metadata(st, "aigc.dataset");
  meta->step = step ? strtoll(step, NULL, 10) : 0;
  meta->test_accuracy = acc ? strtod(acc, NULL) : -1.0;
  snprintf(meta->dataset, sizeof meta->dataset, "%s", dataset ? dataset : "");
}

static ag_status load_from(const char *path, const ag_safetensors *st, ag_backend *be,
                           ag_params **out, ag_classifier_config *c) {
  AG_TRY(ag_classifier_read_config(path, st, c));
  ag_params *p = ag_params_new(be, 0);
  if (!p) return AG_ERR_OOM;
  ag_status s = ag_classifier_init(p, c);
  if (s == AG_OK) s = ag_params_load(p, st);
  if (s != AG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", ag_last_error());
    ag_params_free(p);
    return ag_set_error(s, "%s: %s", path, msg);
  }
  *out = p;
  return AG_OK;
}

ag_status ag_classifier_load(const char *path, ag_backend *be, ag_params **p,
                             ag_classifier_config *c, ag_classifier_meta *meta) {
  *p = NULL;
  ag_safetensors *st = ag_st_open(path);
  if (!st) return AG_ERR_IO;
  ag_status s = load_from(path, st, be, p, c);
  if (s == AG_OK && meta) read_meta(st, meta);
  ag_st_close(st);
  return s;
}
