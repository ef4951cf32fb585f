/* Broadcast binary arithmetic and its gradients, dtype casts, fills and
 * aranges. Binary math and broadcast indexing are shared with CUDA
 * (kernels/common/ag_k_elementwise.h). */
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

static ag_status check_binary(const char *name, ag_dtype dt, int fn) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (fn < AG_BINARY_ADD || fn > AG_BINARY_DIV)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: unknown function %d", name, fn);
  return AG_OK;
}

/* One row per output row (all dims but the last): the offsets of its first
 * element are computed once, then the innermost dim is a strided loop. */
ag_status ag_cpu_binary(ag_dtype dt, int fn, const void *a, const void *b, void *y, ag_bcast4 bc,
                        void *stream) {
  (void)stream;
  AG_TRY(check_binary("binary", dt, fn));
  const int last = bc.ndim - 1;
  const int64_t cols = bc.shape[last], sa = bc.sa[last], sb = bc.sb[last];
  const int64_t rows = ag_bcast_count(&bc, (1u << last) - 1);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t oy, oa, ob;
    ag_bcast_offsets(&bc, (1u << last) - 1, r, &oy, &oa, &ob);
    for (int64_t j = 0; j < cols; j++) {
      float va = ag_cpu_load(dt, a, oa + j * sa), vb = ag_cpu_load(dt, b, ob + j * sb);
      ag_cpu_store(dt, y, oy + j, ag_binary_eval(fn, va, vb));
    }
  }
  return AG_OK;
}

/* gx[j] = sum over the broadcast positions of the term for element j; gx is
 * the input's contiguous layout, i.e. the non-broadcast dims in order. */
ag_status ag_cpu_binary_backward(ag_dtype dt, int fn, int which, const void *a, const void *b,
                                 const void *g, void *gx, ag_bcast4 bc, void *stream) {
  (void)stream;
  AG_TRY(check_binary("binary_backward", dt, fn));
  const unsigned reduced = ag_bcast_reduced_mask(&bc, which);
  const unsigned kept = ((1u << bc.ndim) - 1) & ~reduced;
  const int64_t m = ag_bcast_count(&bc, kept), r = ag_bcast_count(&bc, reduced);
#pragma omp parallel for schedule(static)
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

ag_status ag_cpu_cast(ag_dtype from, ag_dtype to, const void *x, void *y, int64_t n,
                      void *stream) {
  (void)stream;
  if (!castable(from) || !castable(to))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cpu kernel cast: %s -> %s is not supported",
                        ag_dtype_name(from), ag_dtype_name(to));
  if (from == to) {
    memcpy(y, x, (size_t)n * ag_dtype_size(to));
    return AG_OK;
  }
  const int32_t *xi = x;
  int32_t *yi = y;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    if (to == AG_I32) yi[i] = ag_ew_to_i32(ag_cpu_load(from, x, i));
    else ag_cpu_store(to, y, i, from == AG_I32 ? (float)xi[i] : ag_cpu_load(from, x, i));
  }
  return AG_OK;
}

ag_status ag_cpu_fill(ag_dtype dt, float v, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!castable(dt)) return ag_cpu_float_only("fill", dt);
  const int32_t vi = ag_ew_to_i32(v);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    if (dt == AG_I32) ((int32_t *)y)[i] = vi;
    else ag_cpu_store(dt, y, i, v);
  }
  return AG_OK;
}

ag_status ag_cpu_arange(ag_dtype dt, float start, float step, void *y, int64_t n, void *stream) {
  (void)stream;
  if (!castable(dt)) return ag_cpu_float_only("arange", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    if (dt == AG_I32) ((int32_t *)y)[i] = ag_arange_i32(start, step, i);
    else ag_cpu_store(dt, y, i, ag_arange_f32(start, step, i));
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
