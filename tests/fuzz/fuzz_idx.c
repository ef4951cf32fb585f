/* The IDX reader, plain and gzip: the input as a plain file, and gzipped
 * into a .gz file (so the fuzzed bytes also reach the reader through zlib's
 * inflate, where random bytes would rarely make a valid stream); each read,
 * its elements touched and converted to a tensor when the type maps. The
 * plain file also sees the corpus's raw .gz inputs: the reader detects gzip
 * by content. */
#include <zlib.h>

#include "fuzz_util.h"
#include "runtime/io/idx.h"

static int write_gzip(const char *path, const uint8_t *data, size_t size) {
  gzFile f = gzopen(path, "wb1");
  if (!f) return 0;
  const int ok = size == 0 || (size < (1u << 30) && gzwrite(f, data, (unsigned)size) == (int)size);
  return gzclose(f) == Z_OK && ok;
}

static void read_idx(const char *path) {
  ag_idx idx;
  if (ag_idx_read(path, &idx) != AG_OK) return;
  const size_t bytes = (size_t)idx.count * ag_idx_type_size(idx.type);
  unsigned sum = 0;
  for (size_t i = 0; i < bytes; i++) sum += ((const uint8_t *)idx.data)[i];
  (void)sum;
  ag_tensor *t = NULL;
  if (ag_idx_to_tensor(&idx, &t) == AG_OK) ag_tensor_free(t);
  ag_idx_free(&idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"in.idx", "in.idx.gz"};
  ag_fuzz_dir d;
  char plain[512], gz[512];
  if (!ag_fuzz_dir_open(&d)) return 0;
  if (ag_fuzz_write(ag_fuzz_file(&d, names[0], plain, sizeof plain), data, size)) read_idx(plain);
  if (write_gzip(ag_fuzz_file(&d, names[1], gz, sizeof gz), data, size)) read_idx(gz);
  ag_fuzz_dir_close(&d, names, 2);
  return 0;
}
