/* pixels.c - pixel normalisation (see ag_pixels.h). */
#include "ag_pixels.h"

#include <math.h>

ag_status ag_pixel_norm_coeffs(ag_pixel_norm mode, float mean, float std, float *scale,
                               float *shift) {
  switch (mode) {
  case AG_PIXEL_UNIT: *scale = 1.0f / 255.0f, *shift = 0.0f; return AG_OK;
  case AG_PIXEL_SIGNED: *scale = 2.0f / 255.0f, *shift = -1.0f; return AG_OK;
  case AG_PIXEL_MEAN_STD:
    if (!(std > 0.0f))
      return ag_set_error(AG_ERR_INVALID, "pixel normalisation: std %g must be > 0", std);
    *scale = 1.0f / (255.0f * std), *shift = -mean / std;
    return AG_OK;
  }
  return ag_set_error(AG_ERR_INVALID, "pixel normalisation: unknown mode %d", (int)mode);
}

void ag_u8_to_f32(const uint8_t *src, float *dst, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; i++) dst[i] = (float)src[i] * scale + shift;
}

void ag_f32_to_u8(const float *src, uint8_t *dst, size_t n, float scale, float shift) {
  for (size_t i = 0; i < n; i++) {
    float v = src[i] * scale + shift;
    /* Written so NaN fails both comparisons' "keep" branch and lands on 0. */
    v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f;
    dst[i] = (uint8_t)lrintf(v);
  }
}
