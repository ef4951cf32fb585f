/* The model config readers: the input (up to its first NUL) as the
 * aigc.config metadata of a checkpoint of each model kind, read back through
 * that model's read-config function. The checkpoint holds no tensors: the
 * config is checked before anything is built from it. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "models/ag_classifier.h"
#include "models/diffusion/ddpm_internal.h"
#include "models/gan/ag_gan.h"
#include "models/nerf/ag_nerf.h"
#include "models/transformer/ag_clip.h"
#include "models/transformer/ag_gpt.h"

/* A safetensors file of no tensors and the two metadata entries. */
static int write_checkpoint(const char *path, const char *kind, const char *config) {
  cJSON *j = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(j, "__metadata__");
  cJSON_AddStringToObject(meta, "aigc.model", kind);
  cJSON_AddStringToObject(meta, "aigc.config", config);
  char *header = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!header) return 0;
  const size_t n = strlen(header);
  uint8_t *file = malloc(8 + n);
  for (int i = 0; file && i < 8; i++) file[i] = (uint8_t)((uint64_t)n >> (8 * i));
  if (file) memcpy(file + 8, header, n);
  const int ok = file && ag_fuzz_write(path, file, 8 + n);
  free(file), free(header);
  return ok;
}

static void read_config(const char *path, const char *kind) {
  ag_safetensors *st = ag_st_open(path);
  if (!st) return;
  union {
    ag_classifier_config classifier;
    ag_gpt_config gpt;
    ag_clip_config clip;
    ag_ddpm_config ddpm;
    ag_gan_config gan;
    ag_nerf_config nerf;
  } c;
  if (!strcmp(kind, "classifier")) (void)ag_classifier_read_config(path, st, &c.classifier);
  if (!strcmp(kind, "gpt")) (void)ag_gpt_read_config(st, path, &c.gpt);
  if (!strcmp(kind, "clip")) (void)ag_clip_read_config(path, st, &c.clip);
  if (!strcmp(kind, "ddpm")) (void)ag_ddpm_read_config(path, st, &c.ddpm);
  if (!strcmp(kind, "gan")) (void)ag_gan_read_config(path, st, &c.gan);
  if (!strcmp(kind, "nerf")) (void)ag_nerf_read_config(path, st, &c.nerf);
  ag_st_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"in.safetensors"};
  static const char *const kinds[] = {"classifier", "gpt", "clip", "ddpm", "gan", "nerf"};
  ag_fuzz_dir d;
  char path[512];
  char *config = malloc(size + 1);
  if (!config || !ag_fuzz_dir_open(&d)) return free(config), 0;
  memcpy(config, data, size);
  config[size] = '\0';
  ag_fuzz_file(&d, names[0], path, sizeof path);
  for (int k = 0; k < 6; k++)
    if (write_checkpoint(path, kinds[k], config)) read_config(path, kinds[k]);
  ag_fuzz_dir_close(&d, names, 1);
  free(config);
  return 0;
}
