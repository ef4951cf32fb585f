/* Softmax, log-softmax and fused cross-entropy over rows. A row is handled
 * by one warp when it is short (several rows per block) and by one block
 * when it is long, the threads striding over the columns so that a warp's
 * loads are coalesced. Each thread folds its columns into an online
 * (max, sum) pair (kernels/common/ag_softmax.h) in one pass, the pairs are
 * merged with warp shuffles (and across warps through shared memory), and a
 * second pass writes the normalised row: two reads and one write per
 * element whatever the row length, with f32 math for every storage type. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "ag_cuda_reduce.h"
#include "ag_cuda_vec.h"

/* Rows up to this many columns go one per warp. */
#define AG_SM_WARP_COLS 1024
#define AG_SM_WARPS_PER_BLOCK 4

/* How rows are spread over a grid (ag_row_launch_for), and whether they
 * move in 16-byte packs (every row of every packed array 16-byte aligned). */
struct ag_row_launch {
  unsigned grid, block;
  bool per_warp, vec;
};

/* The threads that share one row: a warp, or the whole block. per_warp is
 * uniform over the block, so the block-wide reductions below are reached by
 * every thread or by none. */
struct ag_row_group {
  int64_t row;
  int lane, size;
  bool per_warp;
};

__device__ __forceinline__ ag_row_group ag_row_group_of(bool per_warp) {
  if (per_warp)
    return {(int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, (int)(threadIdx.x % 32), 32,
            true};
  return {(int64_t)blockIdx.x, (int)threadIdx.x, (int)blockDim.x, false};
}

__device__ __forceinline__ ag_online_max_sum ag_warp_merge(ag_online_max_sum a) {
  for (int off = 16; off > 0; off >>= 1) {
    ag_online_max_sum b;
    b.max = __shfl_xor_sync(0xffffffffu, a.max, off);
    b.sum = __shfl_xor_sync(0xffffffffu, a.sum, off);
    a = ag_online_merge(a, b);
  }
  return a;
}

/* The merged pair of the block, returned to every thread; the trailing
 * barrier lets the scratch arrays be reused at once. */
__device__ __forceinline__ ag_online_max_sum ag_block_merge(ag_online_max_sum a) {
  __shared__ float maxes[32], sums[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  a = ag_warp_merge(a);
  if (lane == 0) {
    maxes[warp] = a.max;
    sums[warp] = a.sum;
  }
  __syncthreads();
  a = lane < nwarps ? ag_online_max_sum{maxes[lane], sums[lane]} : ag_online_empty();
  a = ag_warp_merge(a);
  __syncthreads();
  return a;
}

__device__ __forceinline__ ag_online_max_sum ag_group_merge(const ag_row_group &g,
                                                            ag_online_max_sum a) {
  return g.per_warp ? ag_warp_merge(a) : ag_block_merge(a);
}

__device__ __forceinline__ float ag_group_sum(const ag_row_group &g, float v) {
  return g.per_warp ? ag_warp_sum(v) : ag_block_sum(v);
}

/* Calls f(c, x[c]) for the group's share of x[0 .. n): whole 16-byte packs
 * (ag_vec: 4 f32 or 8 bf16/f16, one load per thread) first when `vec`, i.e.
 * when the launcher found the rows 16-byte aligned, then the scalar tail. */
template <typename T, typename F>
__device__ __forceinline__ void ag_row_read(const ag_row_group &g, const T *x, int64_t n, bool vec,
                                            F f) {
  constexpr int V = 16 / sizeof(T);
  int64_t done = 0;
  if (vec) {
    const ag_vec<T> *xp = reinterpret_cast<const ag_vec<T> *>(x);
    for (int64_t i = g.lane; i < n / V; i += g.size) {
      ag_vec<T> p = xp[i];
      for (int k = 0; k < V; k++) f(i * V + k, ag_to_f32(p.v[k]));
    }
    done = n / V * V;
  }
  for (int64_t c = done + g.lane; c < n; c += g.size) f(c, ag_to_f32(x[c]));
}

/* y[c] = f(c, x[c]) for the group's share of [0, n), packed like ag_row_read. */
template <typename T, typename F>
__device__ __forceinline__ void ag_row_map(const ag_row_group &g, const T *x, T *y, int64_t n,
                                           bool vec, F f) {
  constexpr int V = 16 / sizeof(T);
  int64_t done = 0;
  if (vec) {
    const ag_vec<T> *xp = reinterpret_cast<const ag_vec<T> *>(x);
    ag_vec<T> *yp = reinterpret_cast<ag_vec<T> *>(y);
    for (int64_t i = g.lane; i < n / V; i += g.size) {
      ag_vec<T> p = xp[i], o;
      for (int k = 0; k < V; k++) o.v[k] = ag_from_f32<T>(f(i * V + k, ag_to_f32(p.v[k])));
      yp[i] = o;
    }
    done = n / V * V;
  }
  for (int64_t c = done + g.lane; c < n; c += g.size) y[c] = ag_from_f32<T>(f(c, ag_to_f32(x[c])));
}

/* Normaliser of scale * x[0 .. n) over the group. */
template <typename T>
__device__ __forceinline__ ag_online_max_sum ag_row_max_sum(const ag_row_group &g, const T *x,
                                                            int64_t n, float scale, bool vec) {
  ag_online_max_sum acc = ag_online_empty();
  ag_row_read(g, x, n, vec, [&](int64_t, float v) { acc = ag_online_push(acc, scale * v); });
  return ag_group_merge(g, acc);
}

template <typename T>
static __global__ void softmax_kernel(const T *x, T *y, int64_t rows, int64_t cols, float scale,
                                      int64_t causal_t, ag_row_launch l) {
  ag_row_group g = ag_row_group_of(l.per_warp);
  if (g.row >= rows) return;
  const T *xr = x + g.row * cols;
  T *yr = y + g.row * cols;
  int64_t kept = ag_softmax_kept_cols(g.row, cols, causal_t);
  ag_online_max_sum acc = ag_row_max_sum(g, xr, kept, scale, l.vec);
  float inv = 1.0f / acc.sum;
  ag_row_map(g, xr, yr, cols, l.vec, [&](int64_t c, float v) {
    return c < kept ? expf(scale * v - acc.max) * inv : 0.0f;
  });
}

template <typename T>
static __global__ void softmax_backward_kernel(const T *y, const T *dy, T *dx, int64_t rows,
                                               int64_t cols, float scale, bool per_warp) {
  ag_row_group g = ag_row_group_of(per_warp);
  if (g.row >= rows) return;
  const T *yr = y + g.row * cols, *dyr = dy + g.row * cols;
  T *dxr = dx + g.row * cols;
  float s = 0.0f;
  for (int64_t c = g.lane; c < cols; c += g.size) s += ag_to_f32(dyr[c]) * ag_to_f32(yr[c]);
  s = ag_group_sum(g, s);
  for (int64_t c = g.lane; c < cols; c += g.size) {
    float yc = ag_to_f32(yr[c]);
    dxr[c] = ag_from_f32<T>(scale * yc * (ag_to_f32(dyr[c]) - s));
  }
}

template <typename T>
static __global__ void log_softmax_kernel(const T *x, T *y, int64_t rows, int64_t cols,
                                          ag_row_launch l) {
  ag_row_group g = ag_row_group_of(l.per_warp);
  if (g.row >= rows) return;
  const T *xr = x + g.row * cols;
  T *yr = y + g.row * cols;
  float lse = ag_online_logsumexp(ag_row_max_sum(g, xr, cols, 1.0f, l.vec));
  ag_row_map(g, xr, yr, cols, l.vec, [&](int64_t, float v) { return v - lse; });
}

template <typename T>
static __global__ void log_softmax_backward_kernel(const T *y, const T *dy, T *dx, int64_t rows,
                                                   int64_t cols, bool per_warp) {
  ag_row_group g = ag_row_group_of(per_warp);
  if (g.row >= rows) return;
  const T *yr = y + g.row * cols, *dyr = dy + g.row * cols;
  T *dxr = dx + g.row * cols;
  float s = 0.0f;
  for (int64_t c = g.lane; c < cols; c += g.size) s += ag_to_f32(dyr[c]);
  s = ag_group_sum(g, s);
  for (int64_t c = g.lane; c < cols; c += g.size)
    dxr[c] = ag_from_f32<T>(ag_to_f32(dyr[c]) - expf(ag_to_f32(yr[c])) * s);
}

/* The cross-entropy call's parameters (see ag_k_softmax.h). */
struct ag_ce_params {
  int64_t classes, ignore_index;
  int has_ignore;
  float smoothing;
};

__device__ __forceinline__ bool ag_ce_ignored(const ag_ce_params &p, int64_t target) {
  return p.has_ignore && target == p.ignore_index;
}

template <typename T>
static __global__ void cross_entropy_kernel(const T *logits, const int32_t *targets,
                                            float *losses, float *lse, int64_t rows,
                                            ag_ce_params p, ag_row_launch l) {
  ag_row_group g = ag_row_group_of(l.per_warp);
  if (g.row >= rows) return;
  const T *xr = logits + g.row * p.classes;
  float z = ag_online_logsumexp(ag_row_max_sum(g, xr, p.classes, 1.0f, l.vec));
  /* The row sum is only needed for label smoothing; the branch is uniform. */
  float sum = 0.0f;
  if (p.smoothing != 0.0f) {
    ag_row_read(g, xr, p.classes, l.vec, [&](int64_t, float v) { sum += v; });
    sum = ag_group_sum(g, sum);
  }
  if (g.lane != 0) return;
  int64_t t = targets[g.row];
  lse[g.row] = z;
  if (ag_ce_ignored(p, t))
    losses[g.row] = 0.0f;
  else if (!ag_ce_target_valid(t, p.classes))
    losses[g.row] = NAN;
  else
    losses[g.row] = ag_ce_loss(z, ag_to_f32(xr[t]), sum, p.classes, p.smoothing);
}

/* Elementwise given the row's lse: recomputes p = exp(x - lse) instead of
 * reading a saved probability matrix. */
template <typename T>
static __global__ void cross_entropy_backward_kernel(const T *logits, const int32_t *targets,
                                                     const float *lse, const float *dloss,
                                                     const float *dlse, T *dlogits, int64_t rows,
                                                     ag_ce_params p, ag_row_launch l) {
  ag_row_group g = ag_row_group_of(l.per_warp);
  if (g.row >= rows) return;
  const T *xr = logits + g.row * p.classes;
  T *dxr = dlogits + g.row * p.classes;
  int64_t t = targets[g.row];
  float gl = ag_ce_ignored(p, t) ? 0.0f : ag_ce_target_valid(t, p.classes) ? dloss[g.row] : NAN;
  float gz = dlse ? dlse[g.row] : 0.0f, z = lse[g.row];
  ag_row_map(g, xr, dxr, p.classes, l.vec, [&](int64_t c, float v) {
    float pc = expf(v - z);
    return (pc - ag_ce_target_prob(c, t, p.classes, p.smoothing)) * gl + pc * gz;
  });
}

/* Short rows go one per warp, long rows one per block with about eight
 * columns per thread. Packing is decided per dtype by ag_rows_packable. */
static ag_row_launch ag_row_launch_for(int64_t rows, int64_t cols) {
  if (cols <= AG_SM_WARP_COLS)
    return {ag_cuda_blocks(rows, AG_SM_WARPS_PER_BLOCK), 32 * AG_SM_WARPS_PER_BLOCK, true, false};
  int64_t threads = (cols + 8 * 32 - 1) / (8 * 32) * 32;
  if (threads < 128) threads = 128;
  if (threads > 1024) threads = 1024;
  return {(unsigned)rows, (unsigned)threads, false, false};
}

static bool ag_rows_packable(int64_t cols, size_t elem, const void *a, const void *b) {
  return cols * (int64_t)elem % 16 == 0 && (uintptr_t)a % 16 == 0 && (uintptr_t)b % 16 == 0;
}

static ag_status ag_check_rows(const char *what, int64_t rows) {
  if (rows > 0x7fffffff)
    return ag_set_error(AG_ERR_INVALID, "%s: %lld rows exceed the grid limit", what,
                        (long long)rows);
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(softmax_rows)(ag_dtype dt, const void *x, void *y, int64_t rows,
                                               int64_t cols, float scale, int64_t causal_t,
                                               void *stream) {
  AG_TRY(ag_check_rows("softmax_rows", rows));
  if (rows * cols == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, cols);
  return ag_dispatch_float(dt, "softmax_rows", [&](auto tag) {
    using T = decltype(tag);
    l.vec = ag_rows_packable(cols, sizeof(T), x, y);
    AG_LAUNCH(softmax_kernel<T>, l.grid, l.block, 0, stream, (const T *)x, (T *)y, rows, cols,
              scale, causal_t, l);
  });
}

extern "C" ag_status AG_CUDA_SYM(softmax_rows_backward)(ag_dtype dt, const void *y,
                                                        const void *dy, void *dx, int64_t rows,
                                                        int64_t cols, float scale, void *stream) {
  AG_TRY(ag_check_rows("softmax_rows_backward", rows));
  if (rows * cols == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, cols);
  return ag_dispatch_float(dt, "softmax_rows_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(softmax_backward_kernel<T>, l.grid, l.block, 0, stream, (const T *)y,
              (const T *)dy, (T *)dx, rows, cols, scale, l.per_warp);
  });
}

extern "C" ag_status AG_CUDA_SYM(log_softmax_rows)(ag_dtype dt, const void *x, void *y,
                                                   int64_t rows, int64_t cols, void *stream) {
  AG_TRY(ag_check_rows("log_softmax_rows", rows));
  if (rows * cols == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, cols);
  return ag_dispatch_float(dt, "log_softmax_rows", [&](auto tag) {
    using T = decltype(tag);
    l.vec = ag_rows_packable(cols, sizeof(T), x, y);
    AG_LAUNCH(log_softmax_kernel<T>, l.grid, l.block, 0, stream, (const T *)x, (T *)y, rows,
              cols, l);
  });
}

extern "C" ag_status AG_CUDA_SYM(log_softmax_rows_backward)(ag_dtype dt, const void *y,
                                                            const void *dy, void *dx,
                                                            int64_t rows, int64_t cols,
                                                            void *stream) {
  AG_TRY(ag_check_rows("log_softmax_rows_backward", rows));
  if (rows * cols == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, cols);
  return ag_dispatch_float(dt, "log_softmax_rows_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(log_softmax_backward_kernel<T>, l.grid, l.block, 0, stream, (const T *)y,
              (const T *)dy, (T *)dx, rows, cols, l.per_warp);
  });
}

extern "C" ag_status AG_CUDA_SYM(cross_entropy)(ag_dtype dt, const void *logits,
                                                const int32_t *targets, float *losses, float *lse,
                                                int64_t rows, int64_t classes, int has_ignore,
                                                int64_t ignore_index, float smoothing,
                                                void *stream) {
  AG_TRY(ag_check_rows("cross_entropy", rows));
  if (rows * classes == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, classes);
  ag_ce_params p = {classes, ignore_index, has_ignore, smoothing};
  return ag_dispatch_float(dt, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    l.vec = ag_rows_packable(classes, sizeof(T), logits, logits);
    AG_LAUNCH(cross_entropy_kernel<T>, l.grid, l.block, 0, stream, (const T *)logits, targets,
              losses, lse, rows, p, l);
  });
}

extern "C" ag_status AG_CUDA_SYM(cross_entropy_backward)(
    ag_dtype dt, const void *logits, const int32_t *targets, const float *lse, const float *dloss,
    const float *dlse, void *dlogits, int64_t rows, int64_t classes, int has_ignore,
    int64_t ignore_index, float smoothing, void *stream) {
  AG_TRY(ag_check_rows("cross_entropy_backward", rows));
  if (rows * classes == 0) return AG_OK;
  ag_row_launch l = ag_row_launch_for(rows, classes);
  ag_ce_params p = {classes, ignore_index, has_ignore, smoothing};
  return ag_dispatch_float(dt, "cross_entropy_backward", [&](auto tag) {
    using T = decltype(tag);
    l.vec = ag_rows_packable(classes, sizeof(T), logits, dlogits);
    AG_LAUNCH(cross_entropy_backward_kernel<T>, l.grid, l.block, 0, stream, (const T *)logits,
              targets, lse, dloss, dlse, (T *)dlogits, rows, p, l);
  });
}

extern "C" const ag_softmax_kernels AG_CUDA_SYM(softmax_kernels) = {
    .softmax_rows = AG_CUDA_SYM(softmax_rows),
    .softmax_rows_backward = AG_CUDA_SYM(softmax_rows_backward),
    .log_softmax_rows = AG_CUDA_SYM(log_softmax_rows),
    .log_softmax_rows_backward = AG_CUDA_SYM(log_softmax_rows_backward),
    .cross_entropy = AG_CUDA_SYM(cross_entropy),
    .cross_entropy_backward = AG_CUDA_SYM(cross_entropy_backward),
    .mse_loss = AG_CUDA_SYM(mse_loss),
    .mse_loss_backward = AG_CUDA_SYM(mse_loss_backward),
    .huber_loss = AG_CUDA_SYM(huber_loss),
    .huber_loss_backward = AG_CUDA_SYM(huber_loss_backward),
};
