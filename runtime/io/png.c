/* png.c - stb_image / stb_image_write, compiled here and only here. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/io/png.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/data/ag_pixels.h"
#include "runtime/ops/layout.h"

/* stb is third-party code: its warnings are not ours to fix. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

void ag_image_free(ag_image *img) {
  if (!img) return;
  free(img->pixels);
  memset(img, 0, sizeof(*img));
}

/* Growable memory sink for stbi_write_png_to_func: encoding to memory first
 * lets us check every byte of the file write ourselves. */
typedef struct ag_membuf {
  unsigned char *p;
  size_t len, cap;
  int failed;
} ag_membuf;

static void membuf_put(void *ctx, void *data, int size) {
  ag_membuf *m = ctx;
  if (m->failed || size <= 0) return;
  if (m->len + (size_t)size > m->cap) {
    size_t cap = (m->cap ? m->cap * 2 : 4096) + (size_t)size;
    unsigned char *p = realloc(m->p, cap);
    if (!p) {
      m->failed = 1;
      return;
    }
    m->p = p, m->cap = cap;
  }
  memcpy(m->p + m->len, data, (size_t)size);
  m->len += (size_t)size;
}

/* Writes bytes to "<path>.tmp.<pid>" and renames over `path`. */
static ag_status write_atomic(const char *path, const void *bytes, size_t len) {
  char tmp[4096];
  int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (k < 0 || (size_t)k >= sizeof tmp)
    return ag_set_error(AG_ERR_INVALID, "png '%s': path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) return ag_set_error(AG_ERR_IO, "png '%s': cannot create temporary '%s'", path, tmp);
  int ok = fwrite(bytes, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return ag_set_error(AG_ERR_IO, "png '%s': write failed (disk full or unwritable directory?)",
                        path);
  }
  return AG_OK;
}

ag_status ag_png_write(const char *path, const uint8_t *pixels, int w, int h, int c) {
  if (!path || !pixels || w <= 0 || h <= 0 || (c != 1 && c != 3 && c != 4))
    return ag_set_error(AG_ERR_INVALID, "png '%s': bad image %dx%d with %d channels",
                        path ? path : "(null)", w, h, c);
  ag_membuf m = {0};
  int ok = stbi_write_png_to_func(membuf_put, &m, w, h, c, pixels, w * c);
  ag_status st = ok && !m.failed ? write_atomic(path, m.p, m.len)
                                 : ag_set_error(AG_ERR_OOM, "png '%s': encoding failed", path);
  free(m.p);
  return st;
}

ag_status ag_png_read(const char *path, int want_c, ag_image *out) {
  memset(out, 0, sizeof(*out));
  if (want_c < 0 || want_c > 4)
    return ag_set_error(AG_ERR_INVALID, "png '%s': want_c %d not in 0..4", path, want_c);
  FILE *f = fopen(path, "rb");
  if (!f) return ag_set_error(AG_ERR_IO, "png '%s': cannot open (missing or unreadable)", path);
  int w, h, c;
  /* stbi's failure reason is a global string; we copy it out at once. */
  unsigned char *p = stbi_load_from_file(f, &w, &h, &c, want_c);
  fclose(f);
  if (!p) return ag_set_error(AG_ERR_IO, "png '%s': cannot decode (%s)", path, stbi_failure_reason());
  out->w = w, out->h = h, out->c = want_c ? want_c : c;
  out->pixels = p; /* stb allocates with malloc (STBI_MALLOC default) */
  return AG_OK;
}

ag_grid_opts ag_grid_default_opts(void) {
  ag_grid_opts o = {0, 2, 0, 1};
  return o;
}

/* Copies image i (planar f32) into its tile of the interleaved grid. */
static void place_tile(const float *img, int64_t c, int64_t h, int64_t w, float scale,
                       float shift, uint8_t *dst, int64_t stride) {
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        uint8_t v;
        ag_f32_to_u8(&img[(ch * h + y) * w + x], &v, 1, scale, shift);
        dst[y * stride + x * c + ch] = v;
      }
}

ag_status ag_image_grid(const float *data, int64_t n, int64_t c, int64_t h, int64_t w,
                        const ag_grid_opts *opts, ag_image *out) {
  memset(out, 0, sizeof(*out));
  ag_grid_opts o = opts ? *opts : ag_grid_default_opts();
  if (!data || n <= 0 || (c != 1 && c != 3) || h <= 0 || w <= 0 || o.pad < 0 || o.cols < 0)
    return ag_set_error(AG_ERR_INVALID,
                        "image grid: need n>0 images of 1 or 3 channels, got [%lld,%lld,%lld,%lld] pad %d",
                        (long long)n, (long long)c, (long long)h, (long long)w, o.pad);
  int64_t cols = o.cols ? o.cols : (int64_t)ceil(sqrt((double)n));
  if (cols > n) cols = n;
  int64_t rows = (n + cols - 1) / cols;
  int64_t gw = cols * (w + o.pad) + o.pad, gh = rows * (h + o.pad) + o.pad;
  if (gw > 65535 || gh > 65535)
    return ag_set_error(AG_ERR_INVALID, "image grid: %lldx%lld pixels is too large",
                        (long long)gw, (long long)gh);
  out->pixels = malloc((size_t)(gw * gh * c));
  if (!out->pixels) return ag_set_error(AG_ERR_OOM, "image grid: out of host memory");
  out->w = (int)gw, out->h = (int)gh, out->c = (int)c;
  memset(out->pixels, o.pad_value, (size_t)(gw * gh * c));
  /* [-1,1] -> 127.5*(x+1); [0,1] -> 255*x. */
  float scale = o.signed_range ? 127.5f : 255.0f, shift = o.signed_range ? 127.5f : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    int64_t x0 = o.pad + (i % cols) * (w + o.pad), y0 = o.pad + (i / cols) * (h + o.pad);
    place_tile(data + i * c * h * w, c, h, w, scale, shift,
               out->pixels + (y0 * gw + x0) * c, gw * c);
  }
  return AG_OK;
}

/* A host copy of a (possibly strided, possibly device) f32 tensor. */
static ag_status tensor_to_host(const ag_tensor *t, float **out) {
  ag_tensor *cpu = ag_tensor_to(t, ag_backend_cpu()); /* also makes it contiguous */
  if (!cpu) return AG_ERR_OOM; /* ag_tensor_to set the message */
  size_t bytes = ag_tensor_nbytes(cpu);
  *out = malloc(bytes);
  ag_status st = *out ? ag_tensor_read(cpu, *out, bytes)
                      : ag_set_error(AG_ERR_OOM, "image grid: out of host memory");
  ag_tensor_free(cpu);
  if (st != AG_OK) free(*out), *out = NULL;
  return st;
}

ag_status ag_png_write_grid(const char *path, const ag_tensor *images, const ag_grid_opts *opts) {
  char desc[96];
  if (!images || images->dtype != AG_F32 || images->ndim != 4)
    return ag_set_error(AG_ERR_INVALID, "png grid '%s': need f32 [N,C,H,W], got %s", path,
                        images ? ag_tensor_describe(images, desc, sizeof desc) : "NULL");
  float *host = NULL;
  AG_TRY(tensor_to_host(images, &host));
  ag_image grid;
  const int64_t *s = images->shape;
  ag_status st = ag_image_grid(host, s[0], s[1], s[2], s[3], opts, &grid);
  free(host);
  if (st == AG_OK) st = ag_png_write(path, grid.pixels, grid.w, grid.h, grid.c);
  ag_image_free(&grid);
  return st;
}
