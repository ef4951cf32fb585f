/* cpu_vmath.h - f32 transcendentals for the CPU kernels' vector loops.
 *
 * libm's expf, logf and tanhf are calls, so a loop that uses them does not
 * vectorise. These are branch-free C (selects instead of branches, 2^n built
 * from exponent bits), AG_CPU_INLINE, so that GCC inlines them into an
 * AG_CPU_SIMD loop and turns them into AVX-512 / AVX2 code. They round
 * exactly as written: the project builds with -ffp-contract=off and without
 * -ffast-math, and the multiply-adds are explicit fmaf, one rounding each,
 * so the scalar build that the test sweeps and the vector code in the
 * kernels give the same bits. (The
 * baseline x86-64 clone, for processors without AVX2 and FMA, calls libm's
 * fmaf: exact, but those loops do not vectorise.)
 *
 * Each function states its error bound, which tests/runtime/
 * test_cpu_vmath.cpp checks against libm in double over the float range:
 *   relative error  |y - f(x)| / max(|f(x)|, floor);
 *   scaled error    |y - f(x)| / max(|f(x)| + |x f'(x)|, floor), for
 *                   functions that cross zero or whose tail is computed from
 *                   a rounded inner argument: y is then as accurate as f at
 *                   an x perturbed by that relative amount, which is all an
 *                   f32 evaluation of the inner argument can promise.
 * Below the floor the bound is absolute (bound * floor). It is FLT_MIN, or
 * 2^-90 for the functions built on ag_vexp / ag_vexp_neg, which flush
 * results below about FLT_MIN to zero (subnormal results would cost them a
 * quarter more instructions and matter to none of the kernels).
 *
 * Two rules keep the loops vectorisable. Ordered comparisons are the quiet
 * isless / isgreater: GCC sinks a computation into the branch that uses it,
 * and under the default -ftrapping-math it will not if-convert a branch
 * holding a comparison that may raise "invalid" on NaN, an int to float
 * conversion ("inexact") or a division ("divide by zero"): those must be
 * used on both sides of a select, or by its condition. And each condition
 * feeds one select: a condition tested twice invites jump threading, which
 * leaves control flow the vectoriser cannot handle.
 *
 * Polynomials are Cephes' (S. L. Moshier) for single precision, except
 * exp's, a minimax fit of the same form. */
#ifndef AG_CPU_VMATH_H
#define AG_CPU_VMATH_H

#include <math.h>
#include <stdint.h>

#include "kernels/common/ag_activation.h"
#include "kernels/common/ag_bits.h"
#include "cpu_simd.h"

/* Adding it to a float of magnitude below 2^22 rounds that to an integer,
 * which then sits in the low mantissa bits: float <-> int without a
 * conversion instruction (which GCC treats as trapping, see above). */
#define AG_VM_SHIFTER 12582912.0f /* 1.5 * 2^23 */

/* (float)n for |n| < 2^22. */
AG_CPU_INLINE float ag_vm_i2f(int32_t n) {
  return ag_bits_to_f32(ag_f32_to_bits(AG_VM_SHIFTER) + (uint32_t)n) - AG_VM_SHIFTER;
}

/* 2^n for n in [-126, 127], built from the exponent bits. */
AG_CPU_INLINE float ag_vm_pow2i(int32_t n) { return ag_bits_to_f32(((uint32_t)n + 127u) << 23); }

/* e^x = 2^n p with x = n ln2 + r, |r| <= ln2 / 2 (ln2 in two parts, the
 * remainder taken by fma), p = e^r = 1 + r (1 + r q(r)) with q a degree-4
 * minimax fit (3e-9 relative), by Horner's rule in fmas. Meaningless for
 * |x| > 2^22 ln2, where the callers replace the result. */
AG_CPU_INLINE float ag_vm_exp_parts(float x, int32_t *n) {
  float t = fmaf(x, 1.44269504088896341f, AG_VM_SHIFTER);
  *n = (int32_t)(ag_f32_to_bits(t) - ag_f32_to_bits(AG_VM_SHIFTER));
  float fn = t - AG_VM_SHIFTER;
  float r = fmaf(fn, -0.693145751953125f, x);
  r = fmaf(fn, -1.428606765330187e-6f, r);
  float q = 1.3814596459e-3f;
  q = fmaf(q, r, 8.3687175065e-3f);
  q = fmaf(q, r, 4.1668388993e-2f);
  q = fmaf(q, r, 1.6666521132e-1f);
  q = fmaf(q, r, 4.9999994040e-1f);
  q = fmaf(q, r, 1.0f);
  return fmaf(q, r, 1.0f);
}

/* e^x. Max relative error 9.5e-8, floor 2^-90: results below 2^-125
 * (x < -86.98) are flushed to +0, results above FLT_MAX (x > 88.7228)
 * are +inf; exp(-inf) = 0, exp(+inf) = +inf, NaN stays NaN.
 *
 * 2^n is applied as 2p 2^(n-1), so that n = 128 (x up to ln FLT_MAX) stays
 * finite. Out of range the result is replaced at the end: selects there,
 * rather than clamping x first, keep GCC from specialising the computation
 * for the clamped constants. */
AG_CPU_INLINE float ag_vexp(float x) {
  int32_t n;
  float p = ag_vm_exp_parts(x, &n);
  float y = (p + p) * ag_vm_pow2i(n - 1);
  y = isgreater(x, 88.8f) ? INFINITY : y;
  return isless(x, -86.98f) ? 0.0f : y;
}

/* e^x for x <= 0 (x - max in a softmax, -|x| in a sigmoid), three
 * instructions fewer than ag_vexp: no overflow to handle. Max relative error
 * 9.0e-8, floor 2^-90: results below FLT_MIN (x < -87.33) are flushed to
 * +0; exp(-inf) = 0, NaN stays NaN; defined for x <= 0 only. */
AG_CPU_INLINE float ag_vexp_neg(float x) {
  int32_t n;
  float p = ag_vm_exp_parts(x, &n);
  return isless(x, -87.33f) ? 0.0f : p * ag_vm_pow2i(n);
}

/* ln x. Max relative error 1.0e-7, floor FLT_MIN, over every positive
 * float, subnormals included (they are scaled by 2^23 first); log(+0) =
 * -inf, log(+inf) = +inf, log(x < 0) = NaN, NaN stays NaN.
 *
 * x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln(m) = f - f^2/2 + f^3 P(f)
 * for f = m - 1 (Cephes' degree-8 P), e ln2 added in two parts. The
 * exponent's adjustments for the scaling and for halving m are read from
 * the selected floats' exponent bits: GCC does not vectorise integers made
 * from comparisons here. */
AG_CPU_INLINE float ag_vlog(float x) {
  float scale = isless(x, 1.17549435e-38f) ? 8388608.0f : 1.0f;
  uint32_t u = ag_f32_to_bits(x * scale);
  float m = ag_bits_to_f32((u & 0x007fffffu) | 0x3f800000u); /* [1, 2) */
  float mr = isgreater(m, 1.41421356237309505f) ? 0.5f * m : m;
  int32_t e = (int32_t)((u >> 23) & 0xffu) - (int32_t)(ag_f32_to_bits(mr) >> 23) -
              (int32_t)(ag_f32_to_bits(scale) >> 23) + 127;
  float f = mr - 1.0f;
  float z = f * f;
  float p = 7.0376836292e-2f;
  p = fmaf(p, f, -1.1514610310e-1f);
  p = fmaf(p, f, 1.1676998740e-1f);
  p = fmaf(p, f, -1.2420140846e-1f);
  p = fmaf(p, f, 1.4249322787e-1f);
  p = fmaf(p, f, -1.6668057665e-1f);
  p = fmaf(p, f, 2.0000714765e-1f);
  p = fmaf(p, f, -2.4999993993e-1f);
  p = fmaf(p, f, 3.3333331174e-1f);
  float fe = ag_vm_i2f(e);
  float y = fmaf(fe, -2.12194440e-4f, p * f * z);
  y = fmaf(-0.5f, z, y);
  float r = fmaf(fe, 0.693359375f, f + y);
  /* +inf and NaN give themselves, x < 0 NaN (the square root's), 0 -inf;
   * one unsigned comparison tells x in (0, +inf) from them */
  float special = x == 0.0f ? -INFINITY : sqrtf(x) * INFINITY;
  return ag_f32_to_bits(x) - 1u < 0x7f7fffffu ? r : special;
}

/* ln(1 + x). Max relative error 1.6e-7, floor FLT_MIN, for x > -1;
 * log1p(-1) = -inf, log1p(x < -1) = NaN, log1p(+inf) = +inf, NaN stays NaN.
 *
 * ln(w) + (x - (w - 1)) / w with w = 1 + x rounded: the quotient is the
 * first-order correction for the rounding of w, and is x itself where w
 * rounds to 1. It is 0 above 2^24, and skipped from 1e30 on, so that +inf
 * does not meet inf - inf. */
AG_CPU_INLINE float ag_vlog1p(float x) {
  float w = 1.0f + x;
  float xs = isless(x, 1.0e30f) ? x : 0.0f;
  float ws = 1.0f + xs;
  return ag_vlog(w) + (xs - (ws - 1.0f)) / (ws == 0.0f ? 1.0f : ws);
}

/* tanh x. Max relative error 1.7e-7, floor FLT_MIN, everywhere;
 * tanh(+-inf) = +-1, NaN stays NaN.
 *
 * |x| < 0.625: x + x^3 P(x^2) (Cephes' degree-4 P); above, 1 - q with
 * q = 2 / (e^2|x| + 1) and the sign of x, which saturates to 1 where e^2|x|
 * overflows. The branch is chosen by q (q > 2 / (e^1.25 + 1) for
 * |x| < 0.625) so that the division is needed on both sides of the select
 * and stays outside it (see above). */
AG_CPU_INLINE float ag_vtanh(float x) {
  float a = fabsf(x);
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = fmaf(p, z, 2.06390887954e-2f);
  p = fmaf(p, z, -5.37397155531e-2f);
  p = fmaf(p, z, 1.33314422036e-1f);
  p = fmaf(p, z, -3.33332819422e-1f);
  float small = fmaf(p * z, x, x);
  float q = 2.0f / (ag_vexp(a + a) + 1.0f);
  return isgreater(q, 0.4454003f) ? small : copysignf(1.0f - q, x);
}

/* 1 / (1 + e^-x). Max relative error 2.3e-7, floor 2^-90, everywhere (for
 * x < 0 it is e^x / (1 + e^x): no cancellation); results below FLT_MIN
 * (x < -87.33) are flushed to +0, as ag_vexp_neg's; sigmoid(-inf) = 0,
 * sigmoid(+inf) = 1, NaN stays NaN. 1 - sigmoid(x) is ag_vsigmoid(-x), to
 * the same bound, where the subtraction would cancel. */
AG_CPU_INLINE float ag_vsigmoid(float x) {
  float e = ag_vexp_neg(-fabsf(x));
  float s = 1.0f / (1.0f + e);
  return isgreaterequal(x, 0.0f) ? s : e * s;
}

/* x sigmoid(z) in one division: x / (1 + e^-z), or x e^z / (1 + e^z) for
 * z < 0. */
AG_CPU_INLINE float ag_vm_times_sigmoid(float x, float z) {
  float e = ag_vexp_neg(-fabsf(z));
  return (isgreaterequal(z, 0.0f) ? x : x * e) / (1.0f + e);
}

/* GELU, tanh approximation (ag_act_gelu), as x sigmoid(2u) with
 * u = K (x + C x^3), K = sqrt(2/pi), C = 0.044715: 0.5 (1 + tanh u) =
 * sigmoid(2u) has no cancellation in the negative tail, and 2u is
 * evaluated as x (2K + 2KC x^2). Max scaled error 2.9e-7, floor 2^-90,
 * everywhere; gelu(+inf) = +inf, gelu(-inf) = NaN (-inf * 0, as
 * ag_act_gelu), NaN stays NaN. */
AG_CPU_INLINE float ag_vgelu(float x) {
  return ag_vm_times_sigmoid(x, x * fmaf(x * x, 2.0f * AG_GELU_K * AG_GELU_C, 2.0f * AG_GELU_K));
}

/* d gelu / dx (ag_act_gelu_grad) as s + x (2u)' s (1 - s) with
 * s = sigmoid(2u) and (2u)' = 2K + 6KC x^2 (0.5 (1 + tanh u) = s and
 * 1 - tanh^2 u = 4 s (1 - s)), 1 - s taken as sigmoid(-2u). Max scaled
 * error 6.0e-7, floor 2^-90, everywhere. x is clamped to [-20, 20], past
 * which the result rounds to 0 or 1 anyway, so that x^2 cannot overflow: 1
 * at +inf and 0 at -inf (where ag_act_gelu_grad gives NaN from inf * 0);
 * NaN stays NaN. */
AG_CPU_INLINE float ag_vgelu_grad(float x) {
  x = isless(x, -20.0f) ? -20.0f : x;
  x = isgreater(x, 20.0f) ? 20.0f : x;
  float x2 = x * x;
  float u2 = x * fmaf(x2, 2.0f * AG_GELU_K * AG_GELU_C, 2.0f * AG_GELU_K);
  float s = ag_vsigmoid(u2), s_neg = ag_vsigmoid(-u2);
  float du2 = fmaf(x2, 6.0f * AG_GELU_K * AG_GELU_C, 2.0f * AG_GELU_K);
  return fmaf(x * du2, s * s_neg, s);
}

/* SiLU, x sigmoid(x). Max relative error 2.6e-7, floor 2^-90, everywhere;
 * silu(+inf) = +inf, silu(-inf) = NaN (-inf * 0, as ag_act_silu), NaN
 * stays NaN. */
AG_CPU_INLINE float ag_vsilu(float x) { return ag_vm_times_sigmoid(x, x); }

/* d silu / dx = s (1 + x (1 - s)) with 1 - s = sigmoid(-x). Max scaled error
 * 4.4e-7, floor 2^-90, everywhere (it crosses zero at x = -1.278); NaN at
 * +-inf (inf * 0, as ag_act_silu_grad), NaN stays NaN. */
AG_CPU_INLINE float ag_vsilu_grad(float x) {
  float s = ag_vsigmoid(x);
  return s * (1.0f + x * ag_vsigmoid(-x));
}

/* ln(1 + e^x) (ag_act_softplus) as max(x, 0) + log1p(e^-|x|), which neither
 * overflows nor loses the tail. Max relative error 2.0e-7, floor 2^-90,
 * everywhere (below -87.33 it is 0, ag_vexp_neg's flush). Above
 * AG_SOFTPLUS_THRESHOLD (20) it rounds to x, as ag_act_softplus returns.
 * softplus(-inf) = 0, softplus(+inf) = +inf, NaN stays NaN. */
AG_CPU_INLINE float ag_vsoftplus(float x) {
  return (isgreater(x, 0.0f) ? x : 0.0f) + ag_vlog1p(ag_vexp_neg(-fabsf(x)));
}

#endif
