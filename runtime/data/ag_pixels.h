/* ag_pixels.h - u8 pixels to and from normalised f32, the conversions every
 * image dataset and image writer shares. */
#ifndef AG_DATA_PIXELS_H
#define AG_DATA_PIXELS_H

#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How u8 pixels map to f32 (named apart from the norm op family). */
typedef enum ag_pixel_norm {
  AG_PIXEL_UNIT = 0, /* [0, 1]: x / 255 */
  AG_PIXEL_SIGNED,   /* [-1, 1]: x / 127.5 - 1 (diffusion, GAN) */
  AG_PIXEL_MEAN_STD  /* (x / 255 - mean) / std (classifier) */
} ag_pixel_norm;

/* The (scale, shift) pair with f32 = u8 * scale + shift for a mode; mean and
 * std are read for AG_PIXEL_MEAN_STD only (std > 0). */
ag_status ag_pixel_norm_coeffs(ag_pixel_norm mode, float mean, float std, float *scale,
                               float *shift);

/* dst[i] = src[i] * scale + shift. */
void ag_u8_to_f32(const uint8_t *src, float *dst, size_t n, float scale, float shift);
/* dst[i] = clamp(round(src[i] * scale + shift), 0, 255); NaN becomes 0. */
void ag_f32_to_u8(const float *src, uint8_t *dst, size_t n, float scale, float shift);

#ifdef __cplusplus
}
#endif

#endif
