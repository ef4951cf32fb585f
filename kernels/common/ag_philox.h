/* ag_philox.h - the Philox4x32-10 counter-based generator and the uniform and
 * normal transforms, shared by the CPU kernels (C11), the CUDA kernels (nvcc)
 * and the CUDA-on-CPU emulator (host C++), so that every backend produces the
 * same random bits.
 *
 * Stream definition. Value j (j = 0, 1, 2, ...) of the stream for a 64-bit
 * `seed` is word j % 4 of
 *     Philox4x32-10(counter = (lo32(j/4), hi32(j/4), 0, 0),
 *                   key     = (lo32(seed), hi32(seed)))
 * and element i of a fill with `offset` is value offset + i, so
 * fill(seed, off)[i] == fill(seed, 0)[off + i] for any offset.
 *
 *   uniform: u = (w >> 8) * 2^-24, exactly one of the 2^24 points of [0, 1);
 *            y = lo + d * u with d = hi - lo (rounded), evaluated as one fma,
 *            clamped below hi when rounding would reach it (f32 result is in
 *            [lo, hi) for lo < hi; bf16/f16 rounding may then reach hi).
 *   normal:  Box-Muller on word pairs of one Philox block: words (0, 1) give
 *            values 0 and 1, words (2, 3) give values 2 and 3. With
 *            u1 = ((w_a >> 8) + 1) * 2^-24 in (0, 1] (so the log is finite) and
 *            u2 = (w_b >> 8) * 2^-24 in [0, 1):
 *            r = sqrt(-2 ln u1), z_a = r cos(2 pi u2), z_b = r sin(2 pi u2),
 *            y = mean + std * z as one fma. |z| <= sqrt(48 ln 2) ~ 5.77.
 *
 * Bit-identity across backends. Only correctly rounded IEEE-754 binary32
 * operations are used: +, -, *, /, sqrt and fused multiply-add, each written
 * through the AG_PX_* macros below. On the device they are the explicit
 * round-to-nearest intrinsics (__fadd_rn, __fmul_rn, ... which nvcc never
 * contracts into FMAs and which keep their rounding under --use_fast_math,
 * whose flush-to-zero these transforms never meet: they produce no subnormal
 * intermediate); on the host they are
 * plain operators and fmaf, and the project builds host code with
 * -ffp-contract=off. As a second line of defence no product here feeds a
 * plain addition (every a*b+c is an explicit fma), so a host build that does
 * contract still gives the same bits (tests/rng checks golden bits).
 * The library logf/sinf/cosf are NOT used: GPU libm and glibc differ in the
 * last ulp. Instead ag_philox_log and ag_philox_sincos_turn below are built
 * from those exact operations, so their results are the same bits everywhere.
 *
 * Accuracy, measured by tests/rng/test_philox.cpp against double-precision
 * libm (the first two exhaustively, over every input the normal transform can
 * give them):
 *   ag_philox_log on u1 = k 2^-24, k = 1..2^24:  max relative error 1.52e-7
 *     (and <= 1.01e-7 * max(|ln x|, 1) over a sweep of all normal floats);
 *   ag_philox_sincos_turn, all 2^24 angles:      max relative error 1.16e-7
 *     for sin and cos (exactly 0 and +-1 at multiples of pi/2);
 *   Box-Muller z = r cos / r sin, 10^6 pairs:    |z - z_ref| <= 1.8e-7 r_ref
 * i.e. about 2 ulp; the tests require 2e-7, 1.5e-7 and 1e-6 respectively. */
#ifndef AG_PHILOX_H
#define AG_PHILOX_H

#include <math.h>
#include <stdint.h>

#include "ag_bits.h"
#include "ag_hd.h"

/* Correctly rounded binary32 operations, never fused or reassociated. */
#if defined(__CUDA_ARCH__)
#define AG_PX_ADD(a, b) __fadd_rn((a), (b))
#define AG_PX_SUB(a, b) __fsub_rn((a), (b))
#define AG_PX_MUL(a, b) __fmul_rn((a), (b))
#define AG_PX_DIV(a, b) __fdiv_rn((a), (b))
#define AG_PX_SQRT(a) __fsqrt_rn((a))
#define AG_PX_FMA(a, b, c) __fmaf_rn((a), (b), (c))
#else
#define AG_PX_ADD(a, b) ((a) + (b))
#define AG_PX_SUB(a, b) ((a) - (b))
#define AG_PX_MUL(a, b) ((a) * (b))
#define AG_PX_DIV(a, b) ((a) / (b))
#define AG_PX_SQRT(a) sqrtf((a))
#define AG_PX_FMA(a, b, c) fmaf((a), (b), (c))
#endif

/* ---------------------------------------------------------------------------
 * Philox4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3",
 * SC11): a 4-word counter is encrypted by 10 rounds of multiply-hi/lo and xor,
 * with a 2-word key bumped by Weyl constants between rounds. */

typedef struct ag_philox4 {
  uint32_t v[4];
} ag_philox4;

#define AG_PHILOX_M0 0xD2511F53u /* multipliers */
#define AG_PHILOX_M1 0xCD9E8D57u
#define AG_PHILOX_W0 0x9E3779B9u /* key increments: golden ratio, sqrt(3)-1 */
#define AG_PHILOX_W1 0xBB67AE85u

AG_HD ag_philox4 ag_philox_round(ag_philox4 x, uint32_t k0, uint32_t k1) {
  uint64_t p0 = (uint64_t)AG_PHILOX_M0 * x.v[0];
  uint64_t p1 = (uint64_t)AG_PHILOX_M1 * x.v[2];
  ag_philox4 y;
  y.v[0] = (uint32_t)(p1 >> 32) ^ x.v[1] ^ k0;
  y.v[1] = (uint32_t)p1;
  y.v[2] = (uint32_t)(p0 >> 32) ^ x.v[3] ^ k1;
  y.v[3] = (uint32_t)p0;
  return y;
}

/* The raw block cipher: 10 rounds, the first with the key as given. */
AG_HD ag_philox4 ag_philox4x32_10(ag_philox4 ctr, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; r++) {
    ctr = ag_philox_round(ctr, k0, k1);
    k0 += AG_PHILOX_W0;
    k1 += AG_PHILOX_W1;
  }
  return ctr;
}

/* Words 4*group .. 4*group+3 of the stream for `seed`. */
AG_HD ag_philox4 ag_philox_block(uint64_t seed, uint64_t group) {
  ag_philox4 ctr;
  ctr.v[0] = (uint32_t)group;
  ctr.v[1] = (uint32_t)(group >> 32);
  ctr.v[2] = 0;
  ctr.v[3] = 0;
  return ag_philox4x32_10(ctr, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* Number of Philox blocks that cover stream values [offset, offset + n):
 * blocks offset/4 .. (offset + n - 1)/4. Needs n >= 0. */
AG_HD int64_t ag_philox_groups(int64_t n, uint64_t offset) {
  if (n <= 0) return 0;
  return (int64_t)(((uint64_t)n + (offset & 3u) + 3u) >> 2);
}

/* ---------------------------------------------------------------------------
 * Bit helpers. */

/* The largest float strictly below finite `x`. */
AG_HD float ag_philox_float_below(float x) {
  uint32_t u = ag_f32_to_bits(x);
  if ((u & 0x7fffffffu) == 0) return ag_bits_to_f32(0x80000001u); /* -denorm_min */
  return ag_bits_to_f32((u & 0x80000000u) ? u + 1u : u - 1u);
}

/* 2^-24: word >> 8 has 24 bits, so (float)(w >> 8) * 2^-24 is exact. */
#define AG_PHILOX_2M24 5.9604644775390625e-08f

/* u in [0, 1) from a 32-bit word: one of 2^24 equally spaced points, exact. */
AG_HD float ag_philox_u01(uint32_t w) { return AG_PX_MUL((float)(w >> 8), AG_PHILOX_2M24); }

/* u in (0, 1] from a 32-bit word (for the log of Box-Muller), exact. */
AG_HD float ag_philox_u01_open0(uint32_t w) {
  return AG_PX_MUL((float)((w >> 8) + 1u), AG_PHILOX_2M24);
}

/* ---------------------------------------------------------------------------
 * Natural log of a positive normal float, from exact operations only.
 *
 * x = 2^e * m with m in [sqrt(1/2), sqrt(2)), found from the bits (exact).
 * f = m - 1 is exact (Sterbenz). ln(m) = 2 atanh(s) with s = f / (2 + f),
 * |s| <= 0.1716, so ln(m) = 2s + 2s R(s^2), R(z) = z/3 + z^2/5 + z^3/7 + z^4/9;
 * the first omitted term, 2s * s^10/11, is below 3e-9 relative. ln 2 is split
 * into hi + lo so e * ln 2 adds no rounding of its own beyond the last fma. */
AG_HD float ag_philox_log(float x) {
  const uint32_t sqrt_half_bits = 0x3f3504f3u; /* ~0.70710677f */
  uint32_t ix = ag_f32_to_bits(x) - sqrt_half_bits;
  int32_t e = (int32_t)(ix >> 23) - (int32_t)((ix & 0x80000000u) ? 512 : 0);
  float m = ag_bits_to_f32((ix & 0x007fffffu) + sqrt_half_bits);
  float f = AG_PX_SUB(m, 1.0f);
  float s = AG_PX_DIV(f, AG_PX_ADD(2.0f, f));
  float z = AG_PX_MUL(s, s);
  float p = AG_PX_FMA(z, 0x1.c71c72p-4f, 0x1.24924ap-3f); /* 1/9, 1/7 */
  p = AG_PX_FMA(z, p, 0x1.99999ap-3f);                    /* 1/5 */
  p = AG_PX_FMA(z, p, 0x1.555556p-2f);                    /* 1/3 */
  float s2 = AG_PX_MUL(2.0f, s);                          /* exact */
  float l1p = AG_PX_FMA(s2, AG_PX_MUL(z, p), s2);         /* ln(m) */
  float fe = (float)e;                                    /* exact, |e| < 2^8 */
  float lo = AG_PX_FMA(fe, -0x1.05c610p-29f, l1p);        /* ln2 - ln2_hi */
  return AG_PX_FMA(fe, 0x1.62e430p-1f, lo);               /* ln2_hi */
}

/* ---------------------------------------------------------------------------
 * sin and cos of 2*pi*k/2^24 for an integer k in [0, 2^24), i.e. an angle
 * given in 2^-24 turns, from exact operations only.
 *
 * Range reduction is done on the integer, so it is exact: k = q 2^22 + r with
 * the quadrant q = round(k / 2^22) and r in [-2^21, 2^21). The angle is then
 * q pi/2 + t with t = (pi/2) r 2^-22 in [-pi/4, pi/4); t is formed with one
 * rounding (pi/2 split hi + lo). sin t and cos t come from their Taylor series,
 * whose first omitted terms at |t| = pi/4 (t^11/11!, t^12/12!) are below 2e-9. */
AG_HD void ag_philox_sincos_turn(uint32_t k, float *s_out, float *c_out) {
  uint32_t q = (k + (1u << 21)) >> 22;                       /* 0..4 */
  int32_t r = (int32_t)k - (int32_t)(q << 22);               /* [-2^21, 2^21) */
  float x = AG_PX_MUL((float)r, 2.384185791015625e-07f);     /* r 2^-22, exact */
  float t = AG_PX_FMA(x, 0x1.921fb6p+0f, AG_PX_MUL(x, -0x1.777a5cp-25f));
  float z = AG_PX_MUL(t, t);
  float ps = AG_PX_FMA(z, 0x1.71de3ap-19f, -0x1.a01a02p-13f); /* 1/9!, -1/7! */
  ps = AG_PX_FMA(z, ps, 0x1.111112p-7f);                      /* 1/5! */
  ps = AG_PX_FMA(z, ps, -0x1.555556p-3f);                     /* -1/3! */
  float sn = AG_PX_FMA(AG_PX_MUL(t, z), ps, t);
  float pc = AG_PX_FMA(z, -0x1.27e4fcp-22f, 0x1.a01a02p-16f); /* -1/10!, 1/8! */
  pc = AG_PX_FMA(z, pc, -0x1.6c16c2p-10f);                    /* -1/6! */
  pc = AG_PX_FMA(z, pc, 0x1.555556p-5f);                      /* 1/4! */
  pc = AG_PX_FMA(z, pc, -0.5f);                               /* -1/2! */
  float cs = AG_PX_FMA(z, pc, 1.0f);
  /* Quadrant q turns (sin, cos) by q quarter turns: odd q swaps them, and
   * the signs follow bit 1 of q (sine) and of q + 1 (cosine). Selects, not
   * a switch: the same bits, no divergent branch on the GPU, and a loop the
   * CPU's vectoriser can take. */
  const float s = (q & 1u) ? cs : sn, c = (q & 1u) ? sn : cs;
  *s_out = (q & 2u) ? -s : s;
  *c_out = ((q + 1u) & 2u) ? -c : c;
}

/* ---------------------------------------------------------------------------
 * Transforms of one Philox block into 4 output values. */

/* lo + (hi - lo) * u for the 4 words of block `group`, in [lo, hi) if lo < hi. */
AG_HD void ag_philox_uniform4(uint64_t seed, uint64_t group, float lo, float hi,
                              float out[4]) {
  ag_philox4 b = ag_philox_block(seed, group);
  float d = AG_PX_SUB(hi, lo);
  for (int w = 0; w < 4; w++) {
    float y = AG_PX_FMA(d, ag_philox_u01(b.v[w]), lo);
    /* rounding (of d, or of the sum) can land on hi itself */
    if (lo < hi && y >= hi) y = ag_philox_float_below(hi);
    out[w] = y;
  }
}

/* Box-Muller: (r cos, r sin) from the word pair (wa, wb), scaled and shifted. */
AG_HD void ag_philox_box_muller(uint32_t wa, uint32_t wb, float mean, float std,
                                float *za, float *zb) {
  float ln_u1 = ag_philox_log(ag_philox_u01_open0(wa)); /* in [-24 ln 2, 0] */
  float r = AG_PX_SQRT(AG_PX_MUL(-2.0f, ln_u1));
  float sn, cs;
  ag_philox_sincos_turn(wb >> 8, &sn, &cs);
  *za = AG_PX_FMA(std, AG_PX_MUL(r, cs), mean);
  *zb = AG_PX_FMA(std, AG_PX_MUL(r, sn), mean);
}

/* mean + std * z for the 4 values of block `group`. */
AG_HD void ag_philox_normal4(uint64_t seed, uint64_t group, float mean, float std,
                             float out[4]) {
  ag_philox4 b = ag_philox_block(seed, group);
  ag_philox_box_muller(b.v[0], b.v[1], mean, std, &out[0], &out[1]);
  ag_philox_box_muller(b.v[2], b.v[3], mean, std, &out[2], &out[3]);
}

#endif
