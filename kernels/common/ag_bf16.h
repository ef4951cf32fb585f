/* ag_bf16.h - bfloat16 and half storage as raw bits, converted the same way on
 * CPU and GPU (round to nearest even), so CPU kernels in C11 and CUDA kernels
 * produce identical bits for identical float results. */
#ifndef AG_BF16_H
#define AG_BF16_H

#include <stdint.h>

#include "ag_bits.h"
#include "ag_hd.h"

AG_HD float ag_bf16_to_f32(uint16_t h) { return ag_bits_to_f32((uint32_t)h << 16); }

/* Round to nearest even; NaN stays NaN (quiet bit forced). */
AG_HD uint16_t ag_f32_to_bf16(float f) {
  uint32_t u = ag_f32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* IEEE half <-> float, round to nearest even, with subnormals and inf/NaN. */
AG_HD float ag_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return ag_bits_to_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    /* subnormal: man * 2^-24, exact in float */
    float v = (float)man * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return ag_bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

AG_HD uint16_t ag_f32_to_f16(float f) {
  uint32_t u = ag_f32_to_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
  if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to inf */
  if (a < 0x38800000u) {
    /* result is subnormal (or zero): round a * 2^24 to an integer */
    float v = ag_bits_to_f32(a) * 16777216.0f;
    uint32_t q = (uint32_t)v;
    float rem = v - (float)q;
    if (rem > 0.5f || (rem == 0.5f && (q & 1u))) q++;
    return (uint16_t)(sign | q);
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u) - (112u << 23);
  return (uint16_t)(sign | (r >> 13));
}

#endif
