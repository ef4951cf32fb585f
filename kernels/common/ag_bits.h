/* ag_bits.h - a float's IEEE-754 bits and back, for code that works on the
 * representation (dtype conversion, Philox's exact log and float_below).
 * memcpy rather than a union or pointer cast: it is defined behaviour in C11
 * and C++ alike and compiles to a register move on host and device. */
#ifndef AG_BITS_H
#define AG_BITS_H

#include <stdint.h>
#include <string.h>

#include "ag_hd.h"

AG_HD float ag_bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

AG_HD uint32_t ag_f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

#endif
