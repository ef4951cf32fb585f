/* mma_selftest_ref.h - inputs and CPU references for the tensor-core wrapper
 * self-tests (mma_selftest.cu). Inputs are m / 2^s with |m| <= 255 and
 * 0 <= s <= 8: exact in both f16 and bf16, so the references see exactly the
 * kernels' operands. */
#ifndef AG_EMU_MMA_SELFTEST_REF_H
#define AG_EMU_MMA_SELFTEST_REF_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tests/cuda_emu/mma_selftest.h"

namespace mma_ref {

inline uint32_t float_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

/* The f16 encoding of x, which must be zero or a normal f16 with at most 11
 * significant bits (true of every input here). */
inline uint16_t f16_bits(float x) {
  const uint32_t u = float_bits(x);
  const uint16_t sign = (uint16_t)(u >> 16 & 0x8000u);
  if ((u & 0x7fffffffu) == 0) return sign;
  const int exp = (int)(u >> 23 & 0xffu) - 127 + 15;
  return (uint16_t)(sign | exp << 10 | (u >> 13 & 0x3ffu));
}

inline float f16_value(uint16_t h) {
  const int exp = h >> 10 & 0x1f, man = h & 0x3ff;
  float mag = std::ldexp((float)(man | 0x400), exp - 25);
  if (exp == 0) mag = std::ldexp((float)man, -24);
  if (exp == 0x1f) mag = man ? NAN : INFINITY;
  return h & 0x8000u ? -mag : mag;
}

/* bf16 is the top half of f32; exact for every input here. */
inline uint16_t bf16_bits(float x) { return (uint16_t)(float_bits(x) >> 16); }

inline float bf16_value(uint16_t h) {
  const uint32_t u = (uint32_t)h << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

inline uint16_t bits(float x, bool bf16) { return bf16 ? bf16_bits(x) : f16_bits(x); }
inline float value(uint16_t h, bool bf16) { return bf16 ? bf16_value(h) : f16_value(h); }

/* n values m / 2^s, deterministic in `seed`. */
inline std::vector<float> random_values(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (float &x : v) {
    s = s * 1664525u + 1013904223u;
    const int m = (int)(s >> 8 & 0x1ffu) - 255;
    x = std::ldexp((float)m, -(int)(s >> 20 & 7u) - 1);
  }
  return v;
}

inline std::vector<uint16_t> to_bits(const std::vector<float> &v, bool bf16) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = bits(v[i], bf16);
  return out;
}

/* d (m x n) = a (m x k) * b (k x n) + c in double, and the f32 accumulation
 * error bound of each element: (k + 1) 2^-24 (|c| + sum |a b|). */
struct Product {
  std::vector<double> d, bound;
};
inline Product product(const std::vector<float> &a, const std::vector<float> &b,
                       const std::vector<float> &c, int m, int n, int k) {
  Product p{std::vector<double>((size_t)(m * n)), std::vector<double>((size_t)(m * n))};
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double sum = c.empty() ? 0.0 : c[(size_t)(i * n + j)], mag = std::fabs(sum);
      for (int q = 0; q < k; q++) {
        const double ab = (double)a[(size_t)(i * k + q)] * b[(size_t)(q * n + j)];
        sum += ab;
        mag += std::fabs(ab);
      }
      p.d[(size_t)(i * n + j)] = sum;
      p.bound[(size_t)(i * n + j)] = (k + 1) * std::ldexp(mag, -24);
    }
  return p;
}

/* How many elements of `got` are further from the product than `slack`
 * times its bound (tensor cores truncate rather than round their additions:
 * slack 2 for them). */
inline int mismatches(const std::vector<float> &got, const Product &want, double slack = 1.0) {
  int bad = 0;
  for (size_t i = 0; i < got.size(); i++)
    bad += !(std::fabs(got[i] - want.d[i]) <= slack * want.bound[i]);
  return bad;
}

/* What register m of lane l holds after ldmatrix of `count` matrices from row
 * addresses src + 8 perm[l] (the ISA's definition, unused registers 0). */
inline std::vector<uint32_t> ldmatrix(const std::vector<uint16_t> &src,
                                      const std::vector<int> &perm, int count, bool trans) {
  std::vector<uint32_t> out(32 * 4, 0u);
  for (int l = 0; l < 32; l++)
    for (int m = 0; m < count; m++) {
      uint32_t r = 0;
      for (int h = 0; h < 2; h++) {
        const int row = trans ? 2 * (l % 4) + h : l / 4, col = trans ? l / 4 : 2 * (l % 4) + h;
        r |= (uint32_t)src[(size_t)(8 * perm[(size_t)(8 * m + row)] + col)] << (16 * h);
      }
      out[(size_t)(4 * l + m)] = r;
    }
  return out;
}

} /* namespace mma_ref */

#endif
