/* Broadcast binary arithmetic and its gradients, dtype casts, fills and
 * aranges. Binary math and broadcast indexing are shared with CUDA
 * (kernels/common/ag_k_elementwise.h).
 *
 * Every hot loop is written once over ag_cpu_load / ag_cpu_store and
 * compiled per dtype (AG_CPU_BY_DTYPE) and per function, so that bf16 is
 * widened and rounded in registers and the loop vectorises. The binary
 * kernels walk runs along the last dim, where an operand is either
 * contiguous or broadcast (stride 1 or 0: equal shapes, a bias, a per-row
 * factor); those layouts get loops of their own, any other stride the
 * generic one. */
#include <omp.h>
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "cpu_vmath.h"

static ag_status check_binary(const char *name, ag_dtype dt, int fn) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (fn < AG_BINARY_ADD || fn > AG_BINARY_DIV)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: unknown function %d", name, fn);
  return AG_OK;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* y[j] = a[j sa] fn b[j sb] for j < n. */
AG_CPU_INLINE void binary_run(ag_dtype dt, int fn, const void *a, int64_t sa, const void *b,
                              int64_t sb, void *y, int64_t n) {
  for (int64_t j = 0; j < n; j++)
    ag_cpu_store(dt, y, j,
                 ag_binary_eval(fn, ag_cpu_load(dt, a, j * sa), ag_cpu_load(dt, b, j * sb)));
}

/* binary_run with the strides made constants where they are 0 or 1. */
AG_CPU_INLINE void binary_strides(ag_dtype dt, int fn, const void *a, int64_t sa, const void *b,
                                  int64_t sb, void *y, int64_t n) {
  if (sa == 1 && sb == 1)
    binary_run(dt, fn, a, 1, b, 1, y, n);
  else if (sa == 1 && sb == 0)
    binary_run(dt, fn, a, 1, b, 0, y, n);
  else if (sa == 0 && sb == 1)
    binary_run(dt, fn, a, 0, b, 1, y, n);
  else
    binary_run(dt, fn, a, sa, b, sb, y, n);
}

AG_CPU_SIMD static void binary_segment(ag_dtype dt, int fn, const void *a, int64_t sa,
                                       const void *b, int64_t sb, void *y, int64_t n) {
  switch (fn) {
    case AG_BINARY_ADD:
      AG_CPU_BY_DTYPE(dt, binary_strides, AG_BINARY_ADD, a, sa, b, sb, y, n);
      break;
    case AG_BINARY_SUB:
      AG_CPU_BY_DTYPE(dt, binary_strides, AG_BINARY_SUB, a, sa, b, sb, y, n);
      break;
    case AG_BINARY_MUL:
      AG_CPU_BY_DTYPE(dt, binary_strides, AG_BINARY_MUL, a, sa, b, sb, y, n);
      break;
    default:
      AG_CPU_BY_DTYPE(dt, binary_strides, AG_BINARY_DIV, a, sa, b, sb, y, n);
      break;
  }
}

/* Work items are pieces of at most AG_CPU_CHUNK outputs of one run (one
 * row of the output: all dims but the last fixed), so that a flat operand
 * splits into chunks and a bias add into rows. */
ag_status ag_cpu_binary(ag_dtype dt, int fn, const void *a, const void *b, void *y, ag_bcast4 bc,
                        void *stream) {
  (void)stream;
  AG_TRY(check_binary("binary", dt, fn));
  const int last = bc.ndim - 1;
  const unsigned rows_mask = (1u << last) - 1;
  const int64_t cols = bc.shape[last], sa = bc.sa[last], sb = bc.sb[last];
  const int64_t rows = ag_bcast_count(&bc, rows_mask),
                pieces = (cols + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK;
  const int64_t es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (rows * cols > AG_CPU_CHUNK)
  for (int64_t k = 0; k < rows * pieces; k++) {
    int64_t j = k % pieces * AG_CPU_CHUNK, oy, oa, ob;
    ag_bcast_offsets(&bc, rows_mask, k / pieces, &oy, &oa, &ob);
    binary_segment(dt, fn, (const char *)a + (oa + j * sa) * es, sa,
                   (const char *)b + (ob + j * sb) * es, sb, (char *)y + (oy + j) * es,
                   min64(AG_CPU_CHUNK, cols - j));
  }
  return AG_OK;
}

/* acc[j] += the gradient term of input `which` at element j of a run. For
 * ADD and SUB the term is +-g and a and b are never read. */
AG_CPU_INLINE void grad_run(ag_dtype dt, int fn, int which, const void *a, int64_t sa,
                            const void *b, int64_t sb, const void *g, float *acc, int64_t n) {
  for (int64_t j = 0; j < n; j++)
    acc[j] += ag_binary_grad(fn, which, ag_cpu_load(dt, a, j * sa), ag_cpu_load(dt, b, j * sb),
                             ag_cpu_load(dt, g, j));
}

AG_CPU_INLINE void grad_strides(ag_dtype dt, int fn, int which, const void *a, int64_t sa,
                                const void *b, int64_t sb, const void *g, float *acc, int64_t n) {
  if (sa == 1 && sb == 1)
    grad_run(dt, fn, which, a, 1, b, 1, g, acc, n);
  else if (sa == 1 && sb == 0)
    grad_run(dt, fn, which, a, 1, b, 0, g, acc, n);
  else if (sa == 0 && sb == 1)
    grad_run(dt, fn, which, a, 0, b, 1, g, acc, n);
  else
    grad_run(dt, fn, which, a, sa, b, sb, g, acc, n);
}

AG_CPU_SIMD static void grad_segment(ag_dtype dt, int fn, int which, const void *a, int64_t sa,
                                     const void *b, int64_t sb, const void *g, float *acc,
                                     int64_t n) {
  if (fn == AG_BINARY_ADD || (fn == AG_BINARY_SUB && !which))
    AG_CPU_BY_DTYPE(dt, grad_run, AG_BINARY_ADD, 0, a, 0, b, 0, g, acc, n);
  else if (fn == AG_BINARY_SUB)
    AG_CPU_BY_DTYPE(dt, grad_run, AG_BINARY_SUB, 1, a, 0, b, 0, g, acc, n);
  else if (fn == AG_BINARY_MUL && !which)
    AG_CPU_BY_DTYPE(dt, grad_strides, AG_BINARY_MUL, 0, a, sa, b, sb, g, acc, n);
  else if (fn == AG_BINARY_MUL)
    AG_CPU_BY_DTYPE(dt, grad_strides, AG_BINARY_MUL, 1, a, sa, b, sb, g, acc, n);
  else if (!which)
    AG_CPU_BY_DTYPE(dt, grad_strides, AG_BINARY_DIV, 0, a, sa, b, sb, g, acc, n);
  else
    AG_CPU_BY_DTYPE(dt, grad_strides, AG_BINARY_DIV, 1, a, sa, b, sb, g, acc, n);
}

AG_CPU_INLINE void store_run(ag_dtype dt, const float *v, void *y, int64_t n) {
  for (int64_t j = 0; j < n; j++) ag_cpu_store(dt, y, j, v[j]);
}

AG_CPU_SIMD static void store_f32(ag_dtype dt, const float *v, void *y, int64_t n) {
  AG_CPU_BY_DTYPE(dt, store_run, v, y, n);
}

/* Accumulators per work item of the gradient: 4 KB, in L1 with the rows
 * being summed into them. */
#define AG_GRAD_BLOCK 1024

/* Columns per work item: AG_GRAD_BLOCK, or fewer (a multiple of 16) where
 * there are so few kept rows that whole rows would leave threads idle. */
static int64_t grad_block_cols(int64_t cols, int64_t rows) {
  int64_t threads = omp_get_max_threads();
  int64_t per_row = rows >= threads ? 1 : (threads + rows - 1) / rows;
  int64_t w = ((cols + per_row - 1) / per_row + 15) / 16 * 16;
  return min64(w, AG_GRAD_BLOCK);
}

/* The gradient when input `which` keeps the last dim (a bias, or no
 * reduction at all): gx's rows are the kept dims but the last. Each work
 * item sums the terms of every reduced position, one after the other as a
 * sequential sum would, into f32 accumulators for a block of adjacent
 * columns, which are adjacent in a, b and g too: the sum vectorises across
 * columns, and its result does not depend on the blocks or threads. */
static void grad_keep_last(ag_dtype dt, int fn, int which, const void *a, const void *b,
                           const void *g, void *gx, const ag_bcast4 *bc, unsigned reduced) {
  const int last = bc->ndim - 1;
  const unsigned rows_mask = ((1u << bc->ndim) - 1) & ~reduced & ~(1u << last);
  const int64_t cols = bc->shape[last], sa = bc->sa[last], sb = bc->sb[last];
  const int64_t rows = ag_bcast_count(bc, rows_mask), terms = ag_bcast_count(bc, reduced);
  const int64_t width = grad_block_cols(cols, rows), blocks = (cols + width - 1) / width;
  const int64_t es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (rows * cols * terms > AG_CPU_CHUNK)
  for (int64_t k = 0; k < rows * blocks; k++) {
    int64_t r = k / blocks, c = k % blocks * width, n = min64(width, cols - c);
    int64_t y0, a0, b0, oy, oa, ob;
    float acc[AG_GRAD_BLOCK];
    memset(acc, 0, (size_t)n * sizeof *acc);
    ag_bcast_offsets(bc, rows_mask, r, &y0, &a0, &b0);
    for (int64_t t = 0; t < terms; t++) {
      ag_bcast_offsets(bc, reduced, t, &oy, &oa, &ob);
      grad_segment(dt, fn, which, (const char *)a + (a0 + oa + c * sa) * es, sa,
                   (const char *)b + (b0 + ob + c * sb) * es, sb,
                   (const char *)g + (y0 + oy + c) * es, acc, n);
    }
    store_f32(dt, acc, (char *)gx + (r * cols + c) * es, n);
  }
}

/* gx[j] = sum over the broadcast positions of the term for element j; gx is
 * the input's contiguous layout, i.e. the non-broadcast dims in order. */
ag_status ag_cpu_binary_backward(ag_dtype dt, int fn, int which, const void *a, const void *b,
                                 const void *g, void *gx, ag_bcast4 bc, void *stream) {
  (void)stream;
  AG_TRY(check_binary("binary_backward", dt, fn));
  const unsigned reduced = ag_bcast_reduced_mask(&bc, which);
  if (!(reduced & (1u << (bc.ndim - 1)))) {
    grad_keep_last(dt, fn, which, a, b, g, gx, &bc, reduced);
    return AG_OK;
  }
  /* The last dim is summed over (a per-row factor): one output per item. */
  const unsigned kept = ((1u << bc.ndim) - 1) & ~reduced;
  const int64_t m = ag_bcast_count(&bc, kept), r = ag_bcast_count(&bc, reduced);
#pragma omp parallel for schedule(static) if (m * r > AG_CPU_CHUNK)
  for (int64_t j = 0; j < m; j++) {
    int64_t y0, a0, b0, oy, oa, ob;
    ag_bcast_offsets(&bc, kept, j, &y0, &a0, &b0);
    float sum = 0.0f;
    for (int64_t t = 0; t < r; t++) {
      ag_bcast_offsets(&bc, reduced, t, &oy, &oa, &ob);
      sum += ag_binary_grad(fn, which, ag_cpu_load(dt, a, a0 + oa), ag_cpu_load(dt, b, b0 + ob),
                            ag_cpu_load(dt, g, y0 + oy));
    }
    ag_cpu_store(dt, gx, j, sum);
  }
  return AG_OK;
}

static int castable(ag_dtype dt) { return ag_cpu_is_float(dt) || dt == AG_I32; }

/* Element access for casts, which also take i32 (to float: exact below
 * 2^24, rounded above; from float: ag_ew_to_i32). */
AG_CPU_INLINE float cast_load(ag_dtype dt, const void *x, int64_t i) {
  return dt == AG_I32 ? (float)((const int32_t *)x)[i] : ag_cpu_load(dt, x, i);
}

AG_CPU_INLINE void cast_store(ag_dtype dt, void *y, int64_t i, float v) {
  if (dt == AG_I32)
    ((int32_t *)y)[i] = ag_ew_to_i32(v);
  else
    ag_cpu_store(dt, y, i, v);
}

AG_CPU_INLINE void cast_run(ag_dtype from, ag_dtype to, const void *x, void *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) cast_store(to, y, i, cast_load(from, x, i));
}

/* The casts of mixed-precision training get loops of their own. */
AG_CPU_SIMD static void cast_chunk(ag_dtype from, ag_dtype to, const void *x, void *y, int64_t n) {
  if (from == AG_F32 && to == AG_BF16)
    cast_run(AG_F32, AG_BF16, x, y, n);
  else if (from == AG_BF16 && to == AG_F32)
    cast_run(AG_BF16, AG_F32, x, y, n);
  else
    cast_run(from, to, x, y, n);
}

ag_status ag_cpu_cast(ag_dtype from, ag_dtype to, const void *x, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!castable(from) || !castable(to))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cpu kernel cast: %s -> %s is not supported",
                        ag_dtype_name(from), ag_dtype_name(to));
  if (from == to) {
    memcpy(y, x, (size_t)n * ag_dtype_size(to));
    return AG_OK;
  }
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK;
  const int64_t ex = (int64_t)ag_dtype_size(from), ey = (int64_t)ag_dtype_size(to);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i = k * AG_CPU_CHUNK;
    cast_chunk(from, to, (const char *)x + i * ex, (char *)y + i * ey, min64(AG_CPU_CHUNK, n - i));
  }
  return AG_OK;
}

AG_CPU_INLINE void fill_run(ag_dtype dt, float v, void *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (dt == AG_I32)
      ((int32_t *)y)[i] = ag_ew_to_i32(v);
    else
      ag_cpu_store(dt, y, i, v);
  }
}

AG_CPU_SIMD static void fill_chunk(ag_dtype dt, float v, void *y, int64_t n) {
  if (dt == AG_I32)
    fill_run(AG_I32, v, y, n);
  else
    AG_CPU_BY_DTYPE(dt, fill_run, v, y, n);
}

ag_status ag_cpu_fill(ag_dtype dt, float v, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!castable(dt)) return ag_cpu_float_only("fill", dt);
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK, es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i = k * AG_CPU_CHUNK;
    fill_chunk(dt, v, (char *)y + i * es, min64(AG_CPU_CHUNK, n - i));
  }
  return AG_OK;
}

/* y[i] = start + i * step, as ag_arange_f32 / ag_arange_i32 round it. */
AG_CPU_INLINE void arange_run(ag_dtype dt, float start, float step, void *y, int64_t i0,
                              int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (dt == AG_I32)
      ((int32_t *)y)[i] = ag_arange_i32(start, step, i0 + i);
    else
      ag_cpu_store(dt, y, i, ag_arange_f32(start, step, i0 + i));
  }
}

AG_CPU_SIMD static void arange_chunk(ag_dtype dt, float start, float step, void *y, int64_t i0,
                                     int64_t n) {
  if (dt == AG_I32)
    arange_run(AG_I32, start, step, y, i0, n);
  else
    AG_CPU_BY_DTYPE(dt, arange_run, start, step, y, i0, n);
}

ag_status ag_cpu_arange(ag_dtype dt, float start, float step, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!castable(dt)) return ag_cpu_float_only("arange", dt);
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK, es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i = k * AG_CPU_CHUNK;
    arange_chunk(dt, start, step, (char *)y + i * es, i, min64(AG_CPU_CHUNK, n - i));
  }
  return AG_OK;
}

const ag_elementwise_kernels ag_cpu_elementwise_kernels = {
    .unary = ag_cpu_unary,
    .unary_backward = ag_cpu_unary_backward,
    .binary = ag_cpu_binary,
    .binary_backward = ag_cpu_binary_backward,
    .cast = ag_cpu_cast,
    .fill = ag_cpu_fill,
    .arange = ag_cpu_arange,
};
