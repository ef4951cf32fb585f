/* Normalisation kernels. Row norms (LayerNorm, RMSNorm, GroupNorm) give each
 * row to one warp when it is short and to one block when it is long; each
 * thread accumulates a strided slice in f32, warp shuffles (and a shared
 * array across warps) finish the sums, and a second pass over the row, which
 * is still in L1/L2, writes the result. A row whose pointers are all 16-byte
 * aligned moves in 16-byte vectors (8 f16/bf16 or 4 f32 values per access),
 * its last cols % V values one by one; any other row goes element by element.
 * BatchNorm and the GroupNorm affine gradients reduce per channel; the
 * LayerNorm / RMSNorm affine gradients are column sums split over row chunks
 * (per-chunk partials, then a fixed-order sum of them). Every reduction has a
 * fixed order (no float atomics), so results are deterministic run to run and
 * independent of the order blocks run in. */
#include <cstdint>

#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_reduce.h"
#include "ag_cuda_vec.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_norm.h"

#define NORM_THREADS 256
/* Rows up to this long get one warp each: 32 values or fewer per lane keeps
 * a warp busy, and the warp needs no barrier. */
#define NORM_WARP_COLS 1024
#define NORM_WARPS (NORM_THREADS / 32)
/* Tile of the column-sum kernel: 32 columns (one coalesced warp) by 8 rows. */
#define COL_TILE 32
#define COL_ROWS 8
/* The column sums split the rows into chunks until the grid reaches this many
 * blocks (132 SMs x 8 resident blocks of 256 threads), with no chunk shorter
 * than COL_CHUNK_MIN_ROWS rows (16 rows per thread). */
#define COL_TARGET_BLOCKS 1024
#define COL_CHUNK_MIN_ROWS (COL_ROWS * 16)

/* The lane layout of one row: a warp (WARP) or the whole block. */
template <bool WARP>
struct RowLane {
  int64_t row;
  int lane, width;
  __device__ RowLane() {
    if (WARP) {
      row = (int64_t)blockIdx.x * NORM_WARPS + threadIdx.x / 32;
      lane = threadIdx.x % 32;
      width = 32;
    } else {
      row = blockIdx.x;
      lane = threadIdx.x;
      width = blockDim.x;
    }
  }
};

/* Sum over the lanes of a row; in block mode every thread must call it. */
template <bool WARP>
__device__ __forceinline__ float row_sum(float v) {
  if (WARP) return ag_warp_sum(v);
  return ag_block_sum(v);
}

template <typename T>
__device__ __forceinline__ float load_or(const T *p, int64_t i, float absent) {
  return p ? ag_to_f32(p[i]) : absent;
}

/* Per-row channel mapping, hoisted: only GroupNorm with spatial > 1 pays a
 * division per element. */
struct ChannelMap {
  int64_t base, spatial;
  __device__ ChannelMap(int64_t r, int64_t cols, int64_t groups, int64_t spatial_)
      : base(ag_norm_channel(r, 0, cols, groups, spatial_)), spatial(spatial_) {}
  __device__ int64_t operator()(int64_t c) const { return base + (spatial == 1 ? c : c / spatial); }
  /* The row's affine parameters when every element has its own channel
   * (spatial == 1): contiguous, so they can move as vectors; else null. */
  template <typename T>
  __device__ const T *row_params(const T *p) const {
    return p && spatial == 1 ? p + base : nullptr;
  }
};

template <typename T>
using Vec = ag_vec<T>;

/* Whether every pointer allows Vec<T> access; a null one is never read. */
template <typename... P>
__device__ __forceinline__ bool all_aligned(const P *...p) {
  return (((uintptr_t)p % 16 == 0) && ...);
}

/* Vectors of a row that the vector loops take: cols / V when every pointer
 * the row touches is aligned, else none (the scalar loop takes it all). */
template <typename T, typename... P>
__device__ __forceinline__ int64_t row_vectors(int64_t cols, const P *...p) {
  return all_aligned(p...) ? cols / Vec<T>::count : 0;
}

template <typename T>
__device__ __forceinline__ Vec<T> load_vec(const T *p, int64_t j) {
  return reinterpret_cast<const Vec<T> *>(p)[j];
}

/* The affine factor of elements V j .. V j + V - 1 of a row: one vector load
 * from `row` (ChannelMap::row_params) when set, else one load per element
 * through the channel map; `absent` without a parameter. */
template <typename T>
__device__ __forceinline__ void affine_vec(const T *p, const T *row, int64_t j,
                                           const ChannelMap &chan, float absent,
                                           float out[Vec<T>::count]) {
  constexpr int V = Vec<T>::count;
  if (row) {
    Vec<T> q = load_vec(row, j);
    for (int k = 0; k < V; k++) out[k] = ag_to_f32(q.v[k]);
  } else {
    for (int k = 0; k < V; k++) out[k] = load_or(p, chan(j * V + k), absent);
  }
}

template <typename T, bool WARP>
static __global__ void norm_rows_kernel(const T *x, const T *w, const T *b, T *y, float *mean,
                                        float *rstd, int64_t rows, int64_t cols, int64_t groups,
                                        int64_t spatial, float eps) {
  constexpr int V = Vec<T>::count;
  RowLane<WARP> l;
  if (WARP && l.row >= rows) return; /* whole warps leave; warp mode has no barrier */
  const T *xr = x + l.row * cols;
  T *yr = y + l.row * cols;
  ChannelMap chan(l.row, cols, groups, spatial);
  const T *wr = chan.row_params(w), *br = chan.row_params(b);
  const int64_t nv = row_vectors<T>(cols, xr, yr, wr, br);
  const int centered = mean != nullptr;
  float shift = centered ? ag_to_f32(xr[0]) : 0.0f, s1 = 0.0f, s2 = 0.0f, mu, var;
  auto add = [&](float v) {
    float d = v - shift;
    s1 += d;
    s2 += d * d;
  };
  for (int64_t j = l.lane; j < nv; j += l.width) {
    Vec<T> p = load_vec(xr, j);
    for (int k = 0; k < V; k++) add(ag_to_f32(p.v[k]));
  }
  for (int64_t c = nv * V + l.lane; c < cols; c += l.width) add(ag_to_f32(xr[c]));
  if (centered) s1 = row_sum<WARP>(s1);
  s2 = row_sum<WARP>(s2);
  ag_norm_moments((float)cols, s1, s2, shift, centered, &mu, &var);
  float rs = ag_norm_rstd(var, eps);
  if (l.lane == 0) {
    if (mean) mean[l.row] = mu;
    rstd[l.row] = rs;
  }
  for (int64_t j = l.lane; j < nv; j += l.width) {
    Vec<T> p = load_vec(xr, j);
    float wv[V], bv[V];
    affine_vec(w, wr, j, chan, 1.0f, wv);
    affine_vec(b, br, j, chan, 0.0f, bv);
    for (int k = 0; k < V; k++)
      p.v[k] = ag_from_f32<T>((ag_to_f32(p.v[k]) - mu) * rs * wv[k] + bv[k]);
    reinterpret_cast<Vec<T> *>(yr)[j] = p;
  }
  for (int64_t c = nv * V + l.lane; c < cols; c += l.width) {
    int64_t ch = chan(c);
    float v = (ag_to_f32(xr[c]) - mu) * rs;
    yr[c] = ag_from_f32<T>(v * load_or(w, ch, 1.0f) + load_or(b, ch, 0.0f));
  }
}

template <typename T, bool WARP>
static __global__ void norm_rows_backward_kernel(const T *x, const T *w, const T *dy,
                                                 const float *mean, const float *rstd, T *dx,
                                                 int64_t rows, int64_t cols, int64_t groups,
                                                 int64_t spatial) {
  constexpr int V = Vec<T>::count;
  RowLane<WARP> l;
  if (WARP && l.row >= rows) return;
  const T *xr = x + l.row * cols, *gr = dy + l.row * cols;
  T *dxr = dx + l.row * cols;
  ChannelMap chan(l.row, cols, groups, spatial);
  const T *wr = chan.row_params(w);
  const int64_t nv = row_vectors<T>(cols, xr, gr, dxr, wr);
  float mu = mean ? mean[l.row] : 0.0f, rs = rstd[l.row], s_gw = 0.0f, s_gwx = 0.0f;
  auto add = [&](float g, float xv, float wv) {
    float gw = g * wv;
    s_gw += gw;
    s_gwx += gw * (xv - mu) * rs;
  };
  for (int64_t j = l.lane; j < nv; j += l.width) {
    Vec<T> xp = load_vec(xr, j), gp = load_vec(gr, j);
    float wv[V];
    affine_vec(w, wr, j, chan, 1.0f, wv);
    for (int k = 0; k < V; k++) add(ag_to_f32(gp.v[k]), ag_to_f32(xp.v[k]), wv[k]);
  }
  for (int64_t c = nv * V + l.lane; c < cols; c += l.width)
    add(ag_to_f32(gr[c]), ag_to_f32(xr[c]), load_or(w, chan(c), 1.0f));
  if (mean) s_gw = row_sum<WARP>(s_gw);
  s_gwx = row_sum<WARP>(s_gwx);
  float mean_gw = mean ? s_gw / (float)cols : 0.0f, mean_gwx = s_gwx / (float)cols;
  auto grad = [&](float g, float xv, float wv) {
    return ag_from_f32<T>(ag_norm_dx(g * wv, (xv - mu) * rs, rs, mean_gw, mean_gwx));
  };
  for (int64_t j = l.lane; j < nv; j += l.width) {
    Vec<T> xp = load_vec(xr, j), gp = load_vec(gr, j);
    float wv[V];
    affine_vec(w, wr, j, chan, 1.0f, wv);
    for (int k = 0; k < V; k++) xp.v[k] = grad(ag_to_f32(gp.v[k]), ag_to_f32(xp.v[k]), wv[k]);
    reinterpret_cast<Vec<T> *>(dxr)[j] = xp;
  }
  for (int64_t c = nv * V + l.lane; c < cols; c += l.width)
    dxr[c] = grad(ag_to_f32(gr[c]), ag_to_f32(xr[c]), load_or(w, chan(c), 1.0f));
}

/* Affine gradients when spatial == 1 (LayerNorm, RMSNorm): a column sum over
 * rows. Block (t, k) owns columns 32 t .. 32 t + 31 of row chunk k, so a warp
 * reads 32 consecutive values of a row; its 8 row-lanes stride over the
 * chunk's rows and meet in shared memory. It writes dw[k * cols + c] and
 * db[k * cols + c]: the gradients themselves when there is one chunk (TO =
 * T, either may be null), else f32 partials (TO = float). */
template <typename T, typename TO>
static __global__ void affine_cols_backward_kernel(const T *x, const T *dy, const float *mean,
                                                   const float *rstd, TO *dw, TO *db, int64_t rows,
                                                   int64_t cols, int64_t groups, int64_t chunk) {
  __shared__ float part_w[COL_ROWS][COL_TILE + 1], part_b[COL_ROWS][COL_TILE + 1];
  int64_t c = (int64_t)blockIdx.x * COL_TILE + threadIdx.x, per_group = cols / groups;
  int64_t r0 = blockIdx.y * chunk, r1 = rows - r0 < chunk ? rows : r0 + chunk;
  float s_w = 0.0f, s_b = 0.0f;
  if (c < cols)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += COL_ROWS) {
      int64_t st = r * groups + c / per_group;
      float g = ag_to_f32(dy[r * cols + c]);
      s_w += g * (ag_to_f32(x[r * cols + c]) - (mean ? mean[st] : 0.0f)) * rstd[st];
      s_b += g;
    }
  part_w[threadIdx.y][threadIdx.x] = s_w;
  part_b[threadIdx.y][threadIdx.x] = s_b;
  __syncthreads();
  if (threadIdx.y != 0 || c >= cols) return;
  for (int k = 1; k < COL_ROWS; k++) {
    s_w += part_w[k][threadIdx.x];
    s_b += part_b[k][threadIdx.x];
  }
  int64_t at = blockIdx.y * cols + c;
  if (dw) dw[at] = ag_from_f32<TO>(s_w);
  if (db) db[at] = ag_from_f32<TO>(s_b);
}

/* Stage 2 of the split column sums: one thread per column adds its `chunks`
 * partials in chunk order; adjacent threads read adjacent columns. */
template <typename T>
static __global__ void affine_cols_finish_kernel(const float *part_w, const float *part_b, T *dw,
                                                 T *db, int64_t chunks, int64_t cols) {
  for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < cols;
       c += (int64_t)gridDim.x * blockDim.x) {
    float s_w = 0.0f, s_b = 0.0f;
    for (int64_t k = 0; k < chunks; k++) {
      s_w += part_w[k * cols + c];
      s_b += part_b[k * cols + c];
    }
    if (dw) dw[c] = ag_from_f32<T>(s_w);
    if (db) db[c] = ag_from_f32<T>(s_b);
  }
}

/* Affine gradients when spatial > 1 (GroupNorm over images): one block per
 * channel, threads striding over each sample's contiguous spatial run. */
template <typename T>
static __global__ void affine_channels_backward_kernel(const T *x, const T *dy, const float *mean,
                                                       const float *rstd, T *dw, T *db, int64_t n,
                                                       int64_t channels, int64_t spatial,
                                                       int64_t groups) {
  int64_t ch = blockIdx.x;
  float s_w = 0.0f, s_b = 0.0f;
  for (int64_t i = 0; i < n; i++) {
    int64_t st = i * groups + ch / (channels / groups), base = (i * channels + ch) * spatial;
    float mu = mean ? mean[st] : 0.0f, rs = rstd[st];
    for (int64_t s = threadIdx.x; s < spatial; s += blockDim.x) {
      float g = ag_to_f32(dy[base + s]);
      s_w += g * (ag_to_f32(x[base + s]) - mu) * rs;
      s_b += g;
    }
  }
  s_w = ag_block_sum(s_w);
  s_b = ag_block_sum(s_b);
  if (threadIdx.x != 0) return;
  if (dw) dw[ch] = ag_from_f32<T>(s_w);
  if (db) db[ch] = ag_from_f32<T>(s_b);
}

/* Flat index of the j-th of the n * spatial values of channel ch. */
__device__ __forceinline__ int64_t channel_elem(int64_t j, int64_t ch, int64_t channels,
                                                int64_t spatial) {
  int64_t i = j / spatial;
  return (i * channels + ch) * spatial + (j - i * spatial);
}

/* One block per channel: batch statistics (training), then the normalised
 * output. The branch on `training` is uniform over the block. */
template <typename T>
static __global__ void batchnorm_kernel(const T *x, const T *w, const T *b, const float *run_mean,
                                        const float *run_var, T *y, float *save_mean,
                                        float *save_invstd, float *new_mean, float *new_var,
                                        int64_t n, int64_t channels, int64_t spatial, int training,
                                        float eps, float momentum) {
  int64_t ch = blockIdx.x, m = n * spatial;
  float mu = run_mean[ch], var = run_var[ch], n_mean = mu, n_var = var;
  if (training) {
    float shift = ag_to_f32(x[channel_elem(0, ch, channels, spatial)]), s1 = 0.0f, s2 = 0.0f;
    for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
      float d = ag_to_f32(x[channel_elem(j, ch, channels, spatial)]) - shift;
      s1 += d;
      s2 += d * d;
    }
    s1 = ag_block_sum(s1);
    s2 = ag_block_sum(s2);
    ag_norm_moments((float)m, s1, s2, shift, 1, &mu, &var);
    n_mean = ag_norm_running(n_mean, mu, momentum);
    n_var = ag_norm_running(n_var, var * (float)m / (float)(m - 1), momentum);
  }
  float rs = ag_norm_rstd(var, eps), wc = ag_to_f32(w[ch]), bc = ag_to_f32(b[ch]);
  if (threadIdx.x == 0) {
    save_mean[ch] = mu;
    save_invstd[ch] = rs;
    new_mean[ch] = n_mean;
    new_var[ch] = n_var;
  }
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    int64_t k = channel_elem(j, ch, channels, spatial);
    y[k] = ag_from_f32<T>((ag_to_f32(x[k]) - mu) * rs * wc + bc);
  }
}

/* One block per channel: the two gradient sums, then dx in a second pass. */
template <typename T>
static __global__ void batchnorm_backward_kernel(const T *x, const T *w, const T *dy,
                                                 const float *save_mean, const float *save_invstd,
                                                 T *dx, T *dw, T *db, int64_t n, int64_t channels,
                                                 int64_t spatial, int training) {
  int64_t ch = blockIdx.x, m = n * spatial;
  float mu = save_mean[ch], rs = save_invstd[ch], wc = ag_to_f32(w[ch]), s_g = 0.0f, s_gx = 0.0f;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    int64_t k = channel_elem(j, ch, channels, spatial);
    float g = ag_to_f32(dy[k]);
    s_g += g;
    s_gx += g * (ag_to_f32(x[k]) - mu) * rs;
  }
  s_g = ag_block_sum(s_g);
  s_gx = ag_block_sum(s_gx);
  if (threadIdx.x == 0) {
    if (dw) dw[ch] = ag_from_f32<T>(s_gx);
    if (db) db[ch] = ag_from_f32<T>(s_g);
  }
  if (!dx) return;
  /* Eval mode normalises with constants: the gradient is a plain scale. */
  float mean_g = training ? wc * s_g / (float)m : 0.0f;
  float mean_gx = training ? wc * s_gx / (float)m : 0.0f;
  for (int64_t j = threadIdx.x; j < m; j += blockDim.x) {
    int64_t k = channel_elem(j, ch, channels, spatial);
    float xhat = (ag_to_f32(x[k]) - mu) * rs;
    dx[k] = ag_from_f32<T>(ag_norm_dx(ag_to_f32(dy[k]) * wc, xhat, rs, mean_g, mean_gx));
  }
}

static ag_status grid_limit(const char *what, int64_t blocks) {
  if (blocks <= 0x7fffffff) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "%s: %lld blocks exceed the grid limit", what,
                      (long long)blocks);
}

/* Threads for a block that strides over `n` values: whole warps, no more
 * than NORM_THREADS, none left with nothing to do (NC batchnorm has n = N). */
static unsigned strided_threads(int64_t n) {
  int64_t busy = n < NORM_THREADS ? n : NORM_THREADS;
  return busy > 32 ? (unsigned)((busy + 31) / 32 * 32) : 32u;
}

/* Short rows: NORM_WARPS rows per block; long rows: a block per row. */
static int64_t row_blocks(int64_t rows, int64_t cols) {
  return cols <= NORM_WARP_COLS ? (rows + NORM_WARPS - 1) / NORM_WARPS : rows;
}

/* Column sums of the LayerNorm / RMSNorm affine gradients over `rows` rows:
 * one pass when the column tiles alone fill the GPU (or the rows are few),
 * else row chunks with partials. The chunking depends on the shape alone. */
template <typename T>
static ag_status launch_affine_cols(const T *x, const T *dy, const float *mean, const float *rstd,
                                    T *dw, T *db, int64_t rows, int64_t cols, int64_t groups,
                                    void *stream) {
  const unsigned tiles = ag_cuda_blocks(cols, COL_TILE);
  int64_t chunks = (COL_TARGET_BLOCKS + tiles - 1) / tiles, most = rows / COL_CHUNK_MIN_ROWS;
  if (chunks > most) chunks = most;
  if (chunks <= 1) {
    AG_LAUNCH((affine_cols_backward_kernel<T, T>), tiles, dim3(COL_TILE, COL_ROWS), 0, stream, x,
              dy, mean, rstd, dw, db, rows, cols, groups, rows);
    return AG_LAUNCH_STATUS("norm_affine_backward");
  }
  const int64_t chunk = (rows + chunks - 1) / chunks;
  chunks = (rows + chunk - 1) / chunk;
  return ag_with_partials(
      (size_t)(2 * chunks * cols), stream, "norm_affine_backward", [&](float *part) {
        float *part_w = part, *part_b = part + chunks * cols;
        AG_LAUNCH((affine_cols_backward_kernel<T, float>), dim3(tiles, (unsigned)chunks),
                  dim3(COL_TILE, COL_ROWS), 0, stream, x, dy, mean, rstd, part_w, part_b, rows,
                  cols, groups, chunk);
        AG_LAUNCH(affine_cols_finish_kernel<T>, ag_ew_blocks(cols), AG_EW_THREADS, 0, stream,
                  (const float *)part_w, (const float *)part_b, dw, db, chunks, cols);
        return AG_LAUNCH_STATUS("norm_affine_backward");
      });
}

extern "C" ag_status AG_CUDA_SYM(norm_rows)(ag_dtype dt, const void *x, const void *w,
                                            const void *b, void *y, float *mean, float *rstd,
                                            int64_t rows, int64_t cols, int64_t groups,
                                            int64_t spatial, float eps, void *stream) {
  int64_t blocks = row_blocks(rows, cols);
  AG_TRY(grid_limit("norm_rows", blocks));
  if (rows == 0) return AG_OK;
  return ag_dispatch_float(dt, "norm_rows", [&](auto tag) {
    using T = decltype(tag);
    if (cols <= NORM_WARP_COLS)
      AG_LAUNCH((norm_rows_kernel<T, true>), (unsigned)blocks, NORM_THREADS, 0, stream,
                (const T *)x, (const T *)w, (const T *)b, (T *)y, mean, rstd, rows, cols, groups,
                spatial, eps);
    else
      AG_LAUNCH((norm_rows_kernel<T, false>), (unsigned)blocks, NORM_THREADS, 0, stream,
                (const T *)x, (const T *)w, (const T *)b, (T *)y, mean, rstd, rows, cols, groups,
                spatial, eps);
  });
}

extern "C" ag_status AG_CUDA_SYM(norm_rows_backward)(ag_dtype dt, const void *x, const void *w,
                                                     const void *dy, const float *mean,
                                                     const float *rstd, void *dx, int64_t rows,
                                                     int64_t cols, int64_t groups, int64_t spatial,
                                                     void *stream) {
  int64_t blocks = row_blocks(rows, cols);
  AG_TRY(grid_limit("norm_rows_backward", blocks));
  if (rows == 0) return AG_OK;
  return ag_dispatch_float(dt, "norm_rows_backward", [&](auto tag) {
    using T = decltype(tag);
    if (cols <= NORM_WARP_COLS)
      AG_LAUNCH((norm_rows_backward_kernel<T, true>), (unsigned)blocks, NORM_THREADS, 0, stream,
                (const T *)x, (const T *)w, (const T *)dy, mean, rstd, (T *)dx, rows, cols, groups,
                spatial);
    else
      AG_LAUNCH((norm_rows_backward_kernel<T, false>), (unsigned)blocks, NORM_THREADS, 0, stream,
                (const T *)x, (const T *)w, (const T *)dy, mean, rstd, (T *)dx, rows, cols, groups,
                spatial);
  });
}

extern "C" ag_status AG_CUDA_SYM(norm_affine_backward)(ag_dtype dt, const void *x, const void *dy,
                                                       const float *mean, const float *rstd,
                                                       void *dw, void *db, int64_t n,
                                                       int64_t channels, int64_t spatial,
                                                       int64_t groups, void *stream) {
  if (channels == 0 || (!dw && !db)) return AG_OK;
  AG_TRY(grid_limit("norm_affine_backward", channels));
  ag_status st = AG_OK;
  ag_status launched = ag_dispatch_float(dt, "norm_affine_backward", [&](auto tag) {
    using T = decltype(tag);
    if (spatial == 1)
      st = launch_affine_cols<T>((const T *)x, (const T *)dy, mean, rstd, (T *)dw, (T *)db, n,
                                 channels, groups, stream);
    else
      AG_LAUNCH(affine_channels_backward_kernel<T>, (unsigned)channels, strided_threads(spatial), 0,
                stream, (const T *)x, (const T *)dy, mean, rstd, (T *)dw, (T *)db, n, channels,
                spatial, groups);
  });
  return st != AG_OK ? st : launched;
}

extern "C" ag_status AG_CUDA_SYM(batchnorm)(ag_dtype dt, const void *x, const void *w,
                                            const void *b, const float *run_mean,
                                            const float *run_var, void *y, float *save_mean,
                                            float *save_invstd, float *new_mean, float *new_var,
                                            int64_t n, int64_t channels, int64_t spatial,
                                            int training, float eps, float momentum, void *stream) {
  if (channels == 0) return AG_OK;
  AG_TRY(grid_limit("batchnorm", channels));
  return ag_dispatch_float(dt, "batchnorm", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(batchnorm_kernel<T>, (unsigned)channels, strided_threads(n * spatial), 0, stream,
              (const T *)x, (const T *)w, (const T *)b, run_mean, run_var, (T *)y, save_mean,
              save_invstd, new_mean, new_var, n, channels, spatial, training, eps, momentum);
  });
}

extern "C" ag_status AG_CUDA_SYM(batchnorm_backward)(ag_dtype dt, const void *x, const void *w,
                                                     const void *dy, const float *save_mean,
                                                     const float *save_invstd, void *dx, void *dw,
                                                     void *db, int64_t n, int64_t channels,
                                                     int64_t spatial, int training, void *stream) {
  if (channels == 0 || (!dx && !dw && !db)) return AG_OK;
  AG_TRY(grid_limit("batchnorm_backward", channels));
  return ag_dispatch_float(dt, "batchnorm_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(batchnorm_backward_kernel<T>, (unsigned)channels, strided_threads(n * spatial), 0,
              stream, (const T *)x, (const T *)w, (const T *)dy, save_mean, save_invstd, (T *)dx,
              (T *)dw, (T *)db, n, channels, spatial, training);
  });
}

extern "C" const ag_norm_kernels AG_CUDA_SYM(norm_kernels) = {
    .norm_rows = AG_CUDA_SYM(norm_rows),
    .norm_rows_backward = AG_CUDA_SYM(norm_rows_backward),
    .norm_affine_backward = AG_CUDA_SYM(norm_affine_backward),
    .batchnorm = AG_CUDA_SYM(batchnorm),
    .batchnorm_backward = AG_CUDA_SYM(batchnorm_backward),
};
