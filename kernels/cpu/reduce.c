/* Reductions over one axis of x viewed as [outer, n, inner]. Each (outer,
 * inner) line is independent. Sums are taken by pairwise halves in f32 down
 * to leaves whose partial sums are chains of at most 32 values, so rounding
 * error grows like log2(n) + 32 ulps rather than n:
 *   contiguous lines (inner == 1): a leaf of up to REDUCE_LANES^2 values is
 *     summed in REDUCE_LANES interleaved partial sums (vector lanes; the
 *     order is the same on every ISA), added pairwise;
 *   strided lines (inner > 1): up to REDUCE_COLS neighbouring lines are
 *     summed side by side, vectorised across them, each with the tree the
 *     scalar pairwise sum would use (halves, leaves of up to 32 in order).
 * Leaves are AG_CPU_SIMD functions (cpu_simd.h) with one copy of the loop
 * per dtype, so conversions happen in registers. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

/* Partial sums of a contiguous leaf: two AVX-512 vectors of f32. */
#define REDUCE_LANES 32
/* Values in a leaf of the strided sum, and lines summed side by side. */
#define REDUCE_LEAF 32
#define REDUCE_COLS 64

/* Sum of x[base, base + n), n <= REDUCE_LANES^2, in REDUCE_LANES partial
 * sums; dt is a constant wherever this is inlined. */
AG_CPU_INLINE float lanes_sum(ag_dtype dt, const void *x, int64_t base, int64_t n) {
  float s[REDUCE_LANES] = {0};
  int64_t a = 0;
  for (; a + REDUCE_LANES <= n; a += REDUCE_LANES)
    for (int l = 0; l < REDUCE_LANES; l++) s[l] += ag_cpu_load(dt, x, base + a + l);
  for (int l = 0; a + l < n; l++) s[l] += ag_cpu_load(dt, x, base + a + l);
  for (int half = REDUCE_LANES / 2; half > 0; half /= 2)
    for (int l = 0; l < half; l++) s[l] += s[l + half];
  return s[0];
}

AG_CPU_SIMD
static float contiguous_leaf(ag_dtype dt, const void *x, int64_t base, int64_t n) {
  switch (dt) {
  case AG_BF16: return lanes_sum(AG_BF16, x, base, n);
  case AG_F16: return lanes_sum(AG_F16, x, base, n);
  default: return lanes_sum(AG_F32, x, base, n);
  }
}

/* Sum of the contiguous x[base, base + n). */
static float contiguous_sum(ag_dtype dt, const void *x, int64_t base, int64_t n) {
  if (n <= REDUCE_LANES * REDUCE_LANES) return contiguous_leaf(dt, x, base, n);
  int64_t half = n / 2;
  return contiguous_sum(dt, x, base, half) + contiguous_sum(dt, x, base + half, n - half);
}

/* s[c] = sum over a < n of x[base + a * stride + c], c < width, in order
 * (n <= REDUCE_LEAF, width <= REDUCE_COLS); dt as in lanes_sum. */
AG_CPU_INLINE void columns_in_order(ag_dtype dt, const void *x, int64_t base, int64_t n,
                                 int64_t stride, int64_t width, float *s) {
  for (int64_t c = 0; c < width; c++) s[c] = 0.0f;
  for (int64_t a = 0; a < n; a++)
    for (int64_t c = 0; c < width; c++) s[c] += ag_cpu_load(dt, x, base + a * stride + c);
}

AG_CPU_SIMD
static void strided_leaf(ag_dtype dt, const void *x, int64_t base, int64_t n, int64_t stride,
                         int64_t width, float *s) {
  switch (dt) {
  case AG_BF16: columns_in_order(AG_BF16, x, base, n, stride, width, s); break;
  case AG_F16: columns_in_order(AG_F16, x, base, n, stride, width, s); break;
  default: columns_in_order(AG_F32, x, base, n, stride, width, s); break;
  }
}

/* s[c] = pairwise sum of the n values x[base + a * stride + c], c < width. */
static void strided_sums(ag_dtype dt, const void *x, int64_t base, int64_t n, int64_t stride,
                         int64_t width, float *s) {
  if (n <= REDUCE_LEAF) {
    strided_leaf(dt, x, base, n, stride, width, s);
    return;
  }
  int64_t half = n / 2;
  float right[REDUCE_COLS];
  strided_sums(dt, x, base, half, stride, width, s);
  strided_sums(dt, x, base + half * stride, n - half, stride, width, right);
  for (int64_t c = 0; c < width; c++) s[c] += right[c];
}

static float line_max(ag_dtype dt, const void *x, int64_t base, int64_t n, int64_t stride) {
  float m = ag_cpu_load(dt, x, base);
  for (int64_t a = 1; a < n; a++) {
    float v = ag_cpu_load(dt, x, base + a * stride);
    if (ag_reduce_max_takes(v, m)) m = v;
  }
  return m;
}

static void reduce_max(ag_dtype dt, const void *x, void *y, int64_t outer, int64_t n,
                       int64_t inner) {
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < outer * inner; line++) {
    int64_t o = line / inner, i = line % inner;
    ag_cpu_store(dt, y, line, line_max(dt, x, o * n * inner + i, n, inner));
  }
}

/* Sums (or means) of contiguous lines, a line per iteration. */
static void reduce_contiguous(ag_dtype dt, int mean, const void *x, void *y, int64_t lines,
                              int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < lines; line++) {
    float s = contiguous_sum(dt, x, line * n, n);
    ag_cpu_store(dt, y, line, mean ? s / (float)n : s);
  }
}

/* Sums (or means) of strided lines, REDUCE_COLS neighbouring lines of one
 * outer index per iteration. */
static void reduce_strided(ag_dtype dt, int mean, const void *x, void *y, int64_t outer, int64_t n,
                           int64_t inner) {
  const int64_t blocks = (inner + REDUCE_COLS - 1) / REDUCE_COLS;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < outer * blocks; t++) {
    const int64_t o = t / blocks, i0 = (t % blocks) * REDUCE_COLS;
    const int64_t width = inner - i0 < REDUCE_COLS ? inner - i0 : REDUCE_COLS;
    float s[REDUCE_COLS];
    strided_sums(dt, x, o * n * inner + i0, n, inner, width, s);
    for (int64_t c = 0; c < width; c++)
      ag_cpu_store(dt, y, o * inner + i0 + c, mean ? s[c] / (float)n : s[c]);
  }
}

ag_status ag_cpu_reduce_axis(ag_dtype dt, ag_reduce_kind kind, const void *x, void *y,
                             int64_t outer, int64_t n, int64_t inner, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("reduce_axis", dt);
  if (kind == AG_REDUCE_MAX)
    reduce_max(dt, x, y, outer, n, inner);
  else if (inner == 1)
    reduce_contiguous(dt, kind == AG_REDUCE_MEAN, x, y, outer, n);
  else
    reduce_strided(dt, kind == AG_REDUCE_MEAN, x, y, outer, n, inner);
  return AG_OK;
}

/* The first a on the line whose element equals the line's maximum y. */
static int64_t first_max(ag_dtype dt, const void *x, float y, int64_t base, int64_t n,
                         int64_t stride) {
  for (int64_t a = 0; a < n; a++)
    if (ag_reduce_is_max(ag_cpu_load(dt, x, base + a * stride), y)) return a;
  return n;
}

ag_status ag_cpu_reduce_axis_backward(ag_dtype dt, ag_reduce_kind kind, const void *x,
                                      const void *y, const void *g, void *gx, int64_t outer,
                                      int64_t n, int64_t inner, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("reduce_axis_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t line = 0; line < outer * inner; line++) {
    int64_t o = line / inner, i = line % inner, base = o * n * inner + i;
    float gv = ag_cpu_load(dt, g, line);
    int64_t hit = kind == AG_REDUCE_MAX ? first_max(dt, x, ag_cpu_load(dt, y, line), base, n, inner)
                                        : -1;
    for (int64_t a = 0; a < n; a++) {
      float v = kind == AG_REDUCE_MAX ? (a == hit ? gv : 0.0f)
                : kind == AG_REDUCE_MEAN ? gv / (float)n
                                         : gv;
      ag_cpu_store(dt, gx, base + a * inner, v);
    }
  }
  return AG_OK;
}

const ag_reduce_kernels ag_cpu_reduce_kernels = {
    .reduce_axis = ag_cpu_reduce_axis,
    .reduce_axis_backward = ag_cpu_reduce_axis_backward,
};
