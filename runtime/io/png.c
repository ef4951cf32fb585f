/* png.c - PNG reading and writing through libpng, and the sample grid.
 *
 * Reading is strict: libpng checks every chunk's CRC (ancillary chunks too:
 * a damaged file is refused, not half-trusted), the zlib stream and its
 * Adler-32, and that IEND is there; libpng's benign errors are errors. Only
 * IHDR, PLTE, tRNS, IDAT and IEND are interpreted (the ancillary chunks are
 * skipped, their CRCs still checked), as stb_image did: no gamma or colour
 * profile is applied. Bytes after IEND are ignored. Memory is bounded by
 * AG_PNG_MAX_SIDE and AG_PNG_MAX_BYTES, and an image too big for the file's
 * size is refused before anything is allocated. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/io/png.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/data/ag_pixels.h"
#include "runtime/io/out_file.h"
#include "runtime/ops/layout.h"

void ag_image_free(ag_image *img) {
  if (!img) return;
  free(img->pixels);
  memset(img, 0, sizeof(*img));
}

/* Encoded by libpng's simplified writer straight into the temporary file;
 * libpng checks its own allocations and the file's writes. */
ag_status ag_png_write(const char *path, const uint8_t *pixels, int w, int h, int c) {
  if (!path || !pixels || w <= 0 || h <= 0 || (c != 1 && c != 3 && c != 4))
    return ag_set_error(AG_ERR_INVALID, "png '%s': bad image %dx%d with %d channels",
                        path ? path : "(null)", w, h, c);
  ag_out_file o;
  AG_TRY(ag_out_open(&o, path, "png"));
  png_image img = {.version = PNG_IMAGE_VERSION,
                   .width = (png_uint_32)w,
                   .height = (png_uint_32)h,
                   .format = c == 1 ? PNG_FORMAT_GRAY : c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA};
  const int ok = png_image_write_to_stdio(&img, o.f, 0, pixels, (png_int_32)w * c, NULL);
  png_image_free(&img);
  return ag_out_commit(&o, ok);
}

/* One read: the file, libpng's last words, and the buffers, kept here
 * rather than in locals so that they survive libpng's longjmp. */
typedef struct png_src {
  const char *path;
  FILE *f;
  uint64_t file_bytes;
  int after_image; /* reading the chunks after the image data */
  char why[256];   /* libpng's error message */
  char warning[128];
  uint8_t *pixels;
  png_bytep *rows;
} png_src;

static void on_png_error(png_structp png, png_const_charp msg) {
  png_src *s = png_get_error_ptr(png);
  if (s->warning[0])
    snprintf(s->why, sizeof s->why, "%s (%s)", msg, s->warning);
  else
    snprintf(s->why, sizeof s->why, "%s", msg);
  png_longjmp(png, 1);
}

/* Warnings are kept, not printed: libpng warns before some errors (the
 * reason behind "Invalid IHDR data"), and the error line then carries it. */
static void on_png_warning(png_structp png, png_const_charp msg) {
  png_src *s = png_get_error_ptr(png);
  snprintf(s->warning, sizeof s->warning, "%s", msg);
}

/* libpng asks for exact byte counts; a short read is the file ending. */
static void on_png_read(png_structp png, png_bytep dst, size_t n) {
  png_src *s = png_get_io_ptr(png);
  if (fread(dst, 1, n, s->f) == n) return;
  if (ferror(s->f)) png_error(png, "read error");
  png_error(png, s->after_image ? "file ends before IEND (truncated or IEND missing)"
                                : "file ends inside the image (truncated)");
}

/* Deflate expands at most 1032 times (a 258-byte match coded in 2 bits), and
 * the image's raw rows hold at least w * h * bits-per-pixel / 8 bytes
 * (interlaced or not), so a file too small for that is truncated or forged:
 * refused before the image is allocated. */
static ag_status check_file_holds(const png_src *s, png_structp png, png_infop info) {
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  size_t bits, raw;
  int ok =
      ag_size_mul(w, (size_t)png_get_channels(png, info) * png_get_bit_depth(png, info), &bits) &&
      ag_size_mul(bits / 8, h, &raw);
  if (ok && raw / 1032 <= s->file_bytes) return AG_OK;
  return ag_set_error(
      AG_ERR_IO, "png '%s': %zux%zu image cannot fit in a %llu-byte file (truncated or corrupt)",
      s->path, w, h, (unsigned long long)s->file_bytes);
}

/* The decoded image (after expansion to 8 bits) and the converted output
 * must each stay under the cap. */
static ag_status check_decoded_size(const png_src *s, png_structp png, png_infop info, int out_c) {
  size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  size_t dec, out;
  int ok = ag_size_mul(png_get_rowbytes(png, info), h, &dec) && ag_size_mul(w, h, &out) &&
           ag_size_mul(out, (size_t)out_c, &out);
  if (ok && dec <= AG_PNG_MAX_BYTES && out <= AG_PNG_MAX_BYTES) return AG_OK;
  return ag_set_error(AG_ERR_IO, "png '%s': %zux%zu image exceeds the %llu-byte decoding cap",
                      s->path, w, h, (unsigned long long)AG_PNG_MAX_BYTES);
}

/* Limits and strictness, set before the first byte is read. */
static void configure(png_structp png, png_src *s) {
  png_set_read_fn(png, s, on_png_read);
  png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
  png_set_benign_errors(png, 0);
  /* Negative count: every chunk but IHDR, PLTE, tRNS, IDAT, IEND. */
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
  png_set_user_limits(png, AG_PNG_MAX_SIDE, AG_PNG_MAX_SIDE);
  png_set_chunk_malloc_max(png, AG_PNG_MAX_CHUNK);
}

/* Decodes into s->pixels with the file's channels (palette and tRNS
 * expanded, 16 bits cut to their high byte, low bit depths scaled to 8, as
 * stb_image did). libpng's errors longjmp back here; our own checks return. */
static ag_status decode(png_structp png, png_infop info, png_src *s, int want_c, ag_image *img) {
  if (setjmp(png_jmpbuf(png))) return ag_set_error(AG_ERR_IO, "png '%s': %s", s->path, s->why);
  configure(png, s);
  png_read_info(png, info);
  AG_TRY(check_file_holds(s, png, info));
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  img->w = (int)png_get_image_width(png, info);
  img->h = (int)png_get_image_height(png, info);
  img->c = png_get_channels(png, info);
  AG_TRY(check_decoded_size(s, png, info, want_c ? want_c : img->c));
  size_t row = png_get_rowbytes(png, info);
  s->pixels = malloc(row * (size_t)img->h);
  s->rows = malloc(sizeof(png_bytep) * (size_t)img->h);
  if (!s->pixels || !s->rows)
    return ag_set_error(AG_ERR_OOM, "png '%s': out of host memory", s->path);
  for (int y = 0; y < img->h; y++) s->rows[y] = s->pixels + row * (size_t)y;
  png_read_image(png, s->rows);
  s->after_image = 1;
  png_read_end(png, NULL);
  return AG_OK;
}

/* stb_image's luma weights, kept so that converted images stay as before. */
static uint8_t luma(const uint8_t *p) {
  return (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
}

/* One pixel from `sc` to `dc` channels (both 1..4), as stb_image converted:
 * gray is replicated, colour becomes luma, a missing alpha is opaque. */
static void convert_pixel(const uint8_t *src, int sc, uint8_t *dst, int dc) {
  int src_colour = sc >= 3, src_alpha = sc == 2 || sc == 4;
  uint8_t g = src_colour ? luma(src) : src[0];
  uint8_t a = src_alpha ? src[sc - 1] : 255;
  if (dc <= 2)
    dst[0] = g;
  else
    for (int k = 0; k < 3; k++) dst[k] = src_colour ? src[k] : g;
  if (dc == 2 || dc == 4) dst[dc - 1] = a;
}

/* A new buffer of n pixels converted from sc to dc channels. */
static uint8_t *convert_channels(const uint8_t *src, size_t n, int sc, int dc) {
  uint8_t *dst = malloc(n * (size_t)dc);
  if (!dst) return NULL;
  for (size_t i = 0; i < n; i++) convert_pixel(src + i * (size_t)sc, sc, dst + i * (size_t)dc, dc);
  return dst;
}

/* Opens `path` and records its size (check_file_holds needs it). */
static ag_status open_source(const char *path, png_src *s) {
  s->path = path;
  s->f = fopen(path, "rb");
  if (!s->f) return ag_set_error(AG_ERR_IO, "png '%s': cannot open (missing or unreadable)", path);
  struct stat st;
  s->file_bytes = fstat(fileno(s->f), &st) == 0 ? (uint64_t)st.st_size : 0;
  return AG_OK;
}

/* Decodes with libpng; on success s->pixels holds img->c channels. */
static ag_status read_with_libpng(png_src *s, int want_c, ag_image *img) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  ag_status st = info ? decode(png, info, s, want_c, img)
                      : ag_set_error(AG_ERR_OOM, "png '%s': cannot start libpng", s->path);
  png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
  free(s->rows);
  return st;
}

ag_status ag_png_read(const char *path, int want_c, ag_image *out) {
  memset(out, 0, sizeof(*out));
  if (want_c < 0 || want_c > 4)
    return ag_set_error(AG_ERR_INVALID, "png '%s': want_c %d not in 0..4", path, want_c);
  png_src *s = calloc(1, sizeof *s);
  if (!s) return ag_set_error(AG_ERR_OOM, "png '%s': out of host memory", path);
  ag_image img = {0};
  ag_status st = open_source(path, s);
  if (st == AG_OK) st = read_with_libpng(s, want_c, &img);
  if (s->f) fclose(s->f);
  img.pixels = s->pixels;
  if (st == AG_OK && want_c && want_c != img.c) {
    img.pixels = convert_channels(s->pixels, (size_t)img.w * (size_t)img.h, img.c, want_c);
    img.c = want_c;
    free(s->pixels);
    if (!img.pixels) st = ag_set_error(AG_ERR_OOM, "png '%s': out of host memory", path);
  }
  free(s);
  if (st == AG_OK)
    *out = img;
  else
    free(img.pixels);
  return st;
}

ag_grid_opts ag_grid_default_opts(void) {
  ag_grid_opts o = {0, 2, 0, 1};
  return o;
}

/* Copies image i (planar f32) into its tile of the interleaved grid. */
static void place_tile(const float *img, int64_t c, int64_t h, int64_t w, float scale, float shift,
                       uint8_t *dst, int64_t stride) {
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
    return ag_set_error(
        AG_ERR_INVALID,
        "image grid: need n>0 images of 1 or 3 channels, got [%lld,%lld,%lld,%lld] pad %d",
        (long long)n, (long long)c, (long long)h, (long long)w, o.pad);
  int64_t cols = o.cols ? o.cols : (int64_t)ceil(sqrt((double)n));
  if (cols > n) cols = n;
  int64_t rows = (n + cols - 1) / cols;
  int64_t gw = cols * (w + o.pad) + o.pad, gh = rows * (h + o.pad) + o.pad;
  if (gw > 65535 || gh > 65535)
    return ag_set_error(AG_ERR_INVALID, "image grid: %lldx%lld pixels is too large", (long long)gw,
                        (long long)gh);
  out->pixels = malloc((size_t)(gw * gh * c));
  if (!out->pixels) return ag_set_error(AG_ERR_OOM, "image grid: out of host memory");
  out->w = (int)gw, out->h = (int)gh, out->c = (int)c;
  memset(out->pixels, o.pad_value, (size_t)(gw * gh * c));
  /* [-1,1] -> 127.5*(x+1); [0,1] -> 255*x. */
  float scale = o.signed_range ? 127.5f : 255.0f, shift = o.signed_range ? 127.5f : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    int64_t x0 = o.pad + (i % cols) * (w + o.pad), y0 = o.pad + (i / cols) * (h + o.pad);
    place_tile(data + i * c * h * w, c, h, w, scale, shift, out->pixels + (y0 * gw + x0) * c,
               gw * c);
  }
  return AG_OK;
}

/* A host copy of a (possibly strided, possibly device) f32 tensor. */
static ag_status tensor_to_host(const ag_tensor *t, float **out) {
  ag_tensor *cpu = ag_tensor_to(t, ag_backend_cpu()); /* also makes it contiguous */
  if (!cpu) return AG_ERR_OOM;                        /* ag_tensor_to set the message */
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
