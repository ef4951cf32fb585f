/* The PNG reader: the input as a file, read keeping its channels and
 * converted to each of 1, 3 and 4, every pixel touched. */
#include "fuzz_util.h"
#include "runtime/io/png.h"

static void read_png(const char *path, int want_c) {
  ag_image img = {0};
  if (ag_png_read(path, want_c, &img) != AG_OK) return;
  const size_t n = (size_t)img.w * (size_t)img.h * (size_t)img.c;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum += img.pixels[i];
  (void)sum;
  ag_image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"in.png"};
  static const int channels[4] = {0, 1, 3, 4};
  ag_fuzz_dir d;
  char path[512];
  if (!ag_fuzz_dir_open(&d)) return 0;
  if (ag_fuzz_write(ag_fuzz_file(&d, names[0], path, sizeof path), data, size))
    for (int i = 0; i < 4; i++) read_png(path, channels[i]);
  ag_fuzz_dir_close(&d, names, 1);
  return 0;
}
