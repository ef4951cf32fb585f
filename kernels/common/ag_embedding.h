/* ag_embedding.h - the sinusoidal timestep embedding, shared by the CPU and
 * CUDA kernels so both evaluate the same formula. */
#ifndef AG_EMBEDDING_H
#define AG_EMBEDDING_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"

/* Column `col` of a dim-wide embedding of timestep t, in the order of
 * diffusers' get_timestep_embedding: [sin(t w_0..w_{h-1}), cos(t w_0..)]
 * with h = dim / 2, the halves swapped when `flip`, and a zero column last
 * when dim is odd. w_k = exp(-ln(max_period) * k / (h - shift)). */
AG_HD float ag_timestep_embedding_value(float t, int64_t col, int64_t dim, int flip,
                                        float max_period, float shift) {
  int64_t half = dim / 2;
  if (col >= 2 * half) return 0.0f;
  int64_t k = col < half ? col : col - half;
  int is_sin = (col < half) != (flip != 0);
  float w = expf(-logf(max_period) * (float)k / ((float)half - shift));
  return is_sin ? sinf(t * w) : cosf(t * w);
}

#endif
