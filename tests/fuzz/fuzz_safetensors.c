/* The safetensors reader: the input as a file, opened (which validates it
 * whole), then every tensor's bytes read and loaded into a tensor of its
 * dtype and shape, and every metadata entry read. */
#include <string.h>

#include "fuzz_util.h"
#include "runtime/io/safetensors.h"

/* Reads every byte, so a view past the file image is caught. */
static unsigned touch(const uint8_t *p, size_t n) {
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum += p[i];
  return sum;
}

static void load_all(const ag_safetensors *st) {
  for (int i = 0; i < ag_st_count(st); i++) {
    ag_st_tensor_info info;
    if (ag_st_info(st, i, &info) != AG_OK) continue;
    (void)touch(ag_st_data(st, i), info.bytes);
    ag_tensor *t = ag_tensor_new(ag_backend_cpu(), info.dtype, info.ndim, info.shape);
    if (t) (void)ag_st_load_into(st, info.name, t);
    ag_tensor_free(t);
  }
  for (int i = 0; i < ag_st_metadata_count(st); i++) {
    const char *key = ag_st_metadata_key(st, i), *value = ag_st_metadata(st, key);
    (void)touch((const uint8_t *)key, strlen(key));
    if (value) (void)touch((const uint8_t *)value, strlen(value));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"in.safetensors"};
  ag_fuzz_dir d;
  char path[512];
  if (!ag_fuzz_dir_open(&d)) return 0;
  ag_fuzz_file(&d, names[0], path, sizeof path);
  ag_safetensors *st = ag_fuzz_write(path, data, size) ? ag_st_open(path) : NULL;
  if (st) load_all(st);
  ag_st_close(st);
  ag_fuzz_dir_close(&d, names, 1);
  return 0;
}
