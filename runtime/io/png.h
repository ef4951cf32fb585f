/* png.h - PNG in and out (libpng), and the sample grid
 * used to save diffusion/GAN outputs. Every write goes to a temporary name in
 * the same directory and is renamed into place, so a crash never leaves half
 * a file. */
#ifndef AG_IO_PNG_H
#define AG_IO_PNG_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An 8-bit host image, interleaved channels (1 gray, 3 RGB, 4 RGBA). */
typedef struct ag_image {
  int w, h, c;
  uint8_t *pixels; /* h * w * c bytes, row-major */
} ag_image;

void ag_image_free(ag_image *img);

/* Reading refuses images wider or taller than this, images whose decoded
 * pixels (or the converted output) take more than AG_PNG_MAX_BYTES, and
 * ancillary chunks larger than AG_PNG_MAX_CHUNK, so a corrupt or hostile
 * header cannot make the reader allocate gigabytes. */
#define AG_PNG_MAX_SIDE 16384
#define AG_PNG_MAX_BYTES ((size_t)1 << 28)
#define AG_PNG_MAX_CHUNK ((size_t)8 << 20)

/* Writes pixels (h*w*c bytes, c in {1,3,4}) as a PNG. */
ag_status ag_png_write(const char *path, const uint8_t *pixels, int w, int h, int c);
/* Reads a PNG keeping its channel count (`want_c` 0: 1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA; palette images give 3, or 4 with a tRNS chunk, and tRNS
 * adds alpha to gray and RGB too) or converting to want_c in 1..4 (gray is
 * replicated, colour becomes luma (77 R + 150 G + 29 B) / 256, a missing
 * alpha is 255). 16-bit samples keep their high byte. Any damage (a CRC
 * error in any chunk, a bad zlib stream, a missing IEND, a truncated file)
 * or an image over the caps above is AG_ERR_IO, with a message naming the
 * file and, for libpng's findings, libpng's words ("IDAT: CRC error"). */
ag_status ag_png_read(const char *path, int want_c, ag_image *out);

typedef struct ag_grid_opts {
  int cols;         /* images per row; 0: ceil(sqrt(N)) */
  int pad;          /* border in pixels around and between tiles */
  uint8_t pad_value; /* border colour (all channels) */
  int signed_range; /* 1: input in [-1,1]; 0: input in [0,1] */
} ag_grid_opts;

/* Defaults: square-ish, pad 2, black border, input in [-1, 1]. */
ag_grid_opts ag_grid_default_opts(void);

/* Tiles n images (host f32 [n, c, h, w], c in {1,3}, NCHW) into one image of
 * width cols*(w+pad)+pad and height rows*(h+pad)+pad, values clamped. */
ag_status ag_image_grid(const float *data, int64_t n, int64_t c, int64_t h, int64_t w,
                        const ag_grid_opts *opts, ag_image *out);
/* The same from a f32 tensor [N, C, H, W] on any backend, written as PNG. */
ag_status ag_png_write_grid(const char *path, const ag_tensor *images, const ag_grid_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
