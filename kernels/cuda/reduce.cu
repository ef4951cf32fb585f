/* Reductions over one axis of x viewed as [outer, n, inner], accumulated in
 * f32. Two layouts:
 *   inner == 1 (the last, contiguous axis): each row is reduced by one warp
 *     (short rows, several rows per block) or one block (long rows), threads
 *     striding the row with 16-byte vector loads where the row is aligned,
 *     then warp shuffles;
 *   inner > 1: one thread per (outer, inner) pair walks the axis; adjacent
 *     threads take adjacent inner positions, so every step of the walk is a
 *     coalesced load across the warp. When there are too few pairs to fill
 *     the GPU and the axis is long, a block takes 32 adjacent pairs instead
 *     and its 8 warps split the walk (still coalesced along inner), meeting
 *     in shared memory.
 * When even that leaves the GPU mostly idle (a full reduction such as
 * ag_mean_all is one row), the axis is cut into chunks too: stage 1 gives
 * every (line, chunk) a block that writes one f32 partial to scratch, and
 * stage 2 combines each line's partials in chunk order. Chunk counts depend
 * on the shape alone and no float atomics are used, so results are the same
 * run to run and whatever order the blocks run in. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_vec.h"
#include "kernels/common/ag_kernels.h"
#include "ag_cuda_reduce.h"

#define AG_REDUCE_THREADS 256
#define AG_REDUCE_WARPS (AG_REDUCE_THREADS / 32)
/* Rows up to this long get one warp each; longer rows get a block. */
#define AG_REDUCE_WARP_ROW_MAX 1024
/* Inner reductions with at most this many (outer, inner) pairs and an axis at
 * least this long split the axis over a block's warps. */
#define AG_REDUCE_FEW_PAIRS 65536
#define AG_REDUCE_SPLIT_AXIS_MIN 32
/* Blocks that keep every SM of a large GPU busy (132 SMs x 8 resident blocks
 * of 256 threads): grids smaller than this split the axis into chunks. */
#define AG_REDUCE_TARGET_BLOCKS 1024
/* The shortest chunk of a row (32 values per thread) and of an inner axis
 * (32 steps per warp): less work than this per block costs more in stage 2
 * and launch than it saves. Row chunks are a multiple of every vector width,
 * so a chunk of an aligned row starts aligned. */
#define AG_REDUCE_ROW_CHUNK_MIN (AG_REDUCE_THREADS * 32)
#define AG_REDUCE_AXIS_CHUNK_MIN (AG_REDUCE_WARPS * 32)

struct ag_sum_op {
  static __device__ float identity() { return 0.0f; }
  static __device__ float combine(float a, float b) { return a + b; }
  static __device__ float warp(float v) { return ag_warp_sum(v); }
};

/* Combining keeps the earlier operand on ties; a NaN anywhere wins. */
struct ag_max_op {
  static __device__ float identity() { return -INFINITY; }
  static __device__ float combine(float a, float b) { return ag_reduce_max_takes(b, a) ? b : a; }
  static __device__ float warp(float v) {
    for (int off = 16; off > 0; off >>= 1) v = combine(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
  }
};

/* The block's combined value, valid in thread 0. blockDim.x is a multiple of
 * 32; every thread must call it. */
template <typename Op> static __device__ float block_reduce(float v) {
  __shared__ float partial[32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = Op::warp(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) v = Op::warp(lane < (int)(blockDim.x / 32) ? partial[lane] : Op::identity());
  return v;
}

/* This lane's share of x[0, n): elements lane, lane + width, ... counted in
 * 16-byte vectors when x is aligned, then the scalar tail. */
template <typename T, typename Op>
static __device__ float lane_reduce(const T *x, int64_t n, int64_t lane, int64_t width) {
  constexpr int V = 16 / sizeof(T);
  const int64_t nv = (uintptr_t)x % sizeof(ag_vec<T>) == 0 ? n / V : 0;
  float acc = Op::identity();
  for (int64_t j = lane; j < nv; j += width) {
    ag_vec<T> p = ((const ag_vec<T> *)x)[j];
    for (int k = 0; k < V; k++) acc = Op::combine(acc, ag_to_f32(p.v[k]));
  }
  for (int64_t a = nv * V + lane; a < n; a += width) acc = Op::combine(acc, ag_to_f32(x[a]));
  return acc;
}

/* One warp per row; a block holds AG_REDUCE_WARPS rows. `div` is n for the
 * mean, else 1 (the same division as the CPU kernel). TI is f32 when the rows
 * are stage-1 partials. */
template <typename TI, typename TO, typename Op>
static __global__ void reduce_rows_warp_kernel(const TI *x, TO *y, int64_t rows, int64_t n,
                                               float div) {
  int64_t row = (int64_t)blockIdx.x * AG_REDUCE_WARPS + threadIdx.x / 32;
  if (row >= rows) return;
  float acc = Op::warp(lane_reduce<TI, Op>(x + row * n, n, threadIdx.x % 32, 32));
  if (threadIdx.x % 32 == 0) y[row] = ag_from_f32<TO>(acc / div);
}

template <typename T, typename Op>
static __global__ void reduce_rows_block_kernel(const T *x, T *y, int64_t n, float div) {
  float acc = block_reduce<Op>(lane_reduce<T, Op>(x + blockIdx.x * n, n, threadIdx.x, blockDim.x));
  if (threadIdx.x == 0) y[blockIdx.x] = ag_from_f32<T>(acc / div);
}

/* Stage 1 of a split row: block (c, r) reduces x[r, c * chunk, (c + 1) *
 * chunk) to partials[r * gridDim.x + c]. */
template <typename T, typename Op>
static __global__ void reduce_row_chunks_kernel(const T *x, float *partials, int64_t n,
                                                int64_t chunk) {
  const int64_t first = blockIdx.x * chunk, len = n - first < chunk ? n - first : chunk;
  const T *xc = x + blockIdx.y * n + first;
  float acc = block_reduce<Op>(lane_reduce<T, Op>(xc, len, threadIdx.x, blockDim.x));
  if (threadIdx.x == 0) partials[blockIdx.y * (int64_t)gridDim.x + blockIdx.x] = acc;
}

template <typename TI, typename TO, typename Op>
static __global__ void reduce_inner_kernel(const TI *x, TO *y, int64_t outer, int64_t n,
                                           int64_t inner, float div) {
  for (int64_t line = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; line < outer * inner;
       line += (int64_t)gridDim.x * blockDim.x) {
    const TI *xl = x + line / inner * n * inner + line % inner;
    float acc = Op::identity();
    for (int64_t a = 0; a < n; a++) acc = Op::combine(acc, ag_to_f32(xl[a * inner]));
    y[line] = ag_from_f32<TO>(acc / div);
  }
}

/* Tiles of 32 adjacent inner positions of one outer index: lane = position,
 * warp = which eighth of the axis chunk (a = warp, warp + 8, ...). Chunk
 * blockIdx.y of `chunk` axis steps writes y[blockIdx.y * outer * inner + ..]:
 * the result itself when there is one chunk, else stage-1 partials. */
template <typename T, typename TO, typename Op>
static __global__ void reduce_tiles_kernel(const T *x, TO *y, int64_t outer, int64_t n,
                                           int64_t inner, int64_t chunk, float div) {
  __shared__ float partial[AG_REDUCE_WARPS][32];
  int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int64_t tiles_per_outer = (inner + 31) / 32, a0 = blockIdx.y * chunk;
  int64_t a1 = n - a0 < chunk ? n : a0 + chunk;
  TO *yc = y + blockIdx.y * outer * inner;
  for (int64_t tile = blockIdx.x; tile < outer * tiles_per_outer; tile += gridDim.x) {
    int64_t o = tile / tiles_per_outer, i = tile % tiles_per_outer * 32 + lane;
    float acc = Op::identity();
    if (i < inner)
      for (int64_t a = a0 + warp; a < a1; a += AG_REDUCE_WARPS)
        acc = Op::combine(acc, ag_to_f32(x[(o * n + a) * inner + i]));
    partial[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && i < inner) {
      for (int w = 1; w < AG_REDUCE_WARPS; w++) acc = Op::combine(acc, partial[w][lane]);
      yc[o * inner + i] = ag_from_f32<TO>(acc / div);
    }
    __syncthreads();
  }
}

/* How many chunks to cut an axis of n into when `blocks` blocks cover it
 * whole: enough to reach AG_REDUCE_TARGET_BLOCKS, none shorter than min_len.
 * 1 means no split. */
static int64_t axis_chunks(int64_t blocks, int64_t n, int64_t min_len) {
  int64_t want = (AG_REDUCE_TARGET_BLOCKS + blocks - 1) / blocks, most = n / min_len;
  return want < most ? want : most > 1 ? most : 1;
}

/* Chunk length for `chunks` chunks of n, rounded up to a multiple of `unit`. */
static int64_t chunk_len(int64_t n, int64_t chunks, int64_t unit) {
  int64_t len = (n + chunks - 1) / chunks;
  return (len + unit - 1) / unit * unit;
}

/* Rows split into chunks: stage 1 per (row, chunk), stage 2 a warp per row
 * over its partials. */
template <typename T, typename Op>
static ag_status launch_split_rows(const T *x, T *y, int64_t rows, int64_t n, int64_t chunks,
                                   float div, void *stream) {
  const int64_t chunk = chunk_len(n, chunks, 8);
  chunks = (n + chunk - 1) / chunk;
  return ag_with_partials((size_t)(rows * chunks), stream, "reduce_axis", [&](float *partials) {
    AG_LAUNCH((reduce_row_chunks_kernel<T, Op>), dim3((unsigned)chunks, (unsigned)rows),
              AG_REDUCE_THREADS, 0, stream, x, partials, n, chunk);
    AG_LAUNCH((reduce_rows_warp_kernel<float, T, Op>), ag_cuda_blocks(rows, AG_REDUCE_WARPS),
              AG_REDUCE_THREADS, 0, stream, (const float *)partials, y, rows, chunks, div);
    return AG_LAUNCH_STATUS("reduce_axis");
  });
}

/* The inner axis split into chunks: stage 1 writes partials laid out
 * [chunks, outer * inner], so stage 2 is an inner reduction over the chunks
 * with adjacent threads on adjacent lines. */
template <typename T, typename Op>
static ag_status launch_split_tiles(const T *x, T *y, int64_t outer, int64_t n, int64_t inner,
                                    int64_t tiles, int64_t chunks, float div, void *stream) {
  const int64_t chunk = chunk_len(n, chunks, AG_REDUCE_WARPS), lines = outer * inner;
  chunks = (n + chunk - 1) / chunk;
  return ag_with_partials((size_t)(lines * chunks), stream, "reduce_axis", [&](float *partials) {
    AG_LAUNCH((reduce_tiles_kernel<T, float, Op>), dim3((unsigned)tiles, (unsigned)chunks),
              AG_REDUCE_THREADS, 0, stream, x, partials, outer, n, inner, chunk, 1.0f);
    AG_LAUNCH((reduce_inner_kernel<float, T, Op>), ag_ew_blocks(lines), AG_EW_THREADS, 0, stream,
              (const float *)partials, y, (int64_t)1, chunks, lines, div);
    return AG_LAUNCH_STATUS("reduce_axis");
  });
}

template <typename T, typename Op>
static ag_status launch_reduce(const T *x, T *y, int64_t outer, int64_t n, int64_t inner, float div,
                               void *stream) {
  if (inner > 1 && outer * inner <= AG_REDUCE_FEW_PAIRS && n >= AG_REDUCE_SPLIT_AXIS_MIN) {
    const int64_t tiles = outer * ((inner + 31) / 32);
    const int64_t chunks = axis_chunks(tiles, n, AG_REDUCE_AXIS_CHUNK_MIN);
    if (chunks > 1)
      return launch_split_tiles<T, Op>(x, y, outer, n, inner, tiles, chunks, div, stream);
    AG_LAUNCH((reduce_tiles_kernel<T, T, Op>), (unsigned)tiles, AG_REDUCE_THREADS, 0, stream, x, y,
              outer, n, inner, n, div);
  } else if (inner > 1) {
    AG_LAUNCH((reduce_inner_kernel<T, T, Op>), ag_ew_blocks(outer * inner), AG_EW_THREADS, 0,
              stream, x, y, outer, n, inner, div);
  } else if (n <= AG_REDUCE_WARP_ROW_MAX) {
    AG_LAUNCH((reduce_rows_warp_kernel<T, T, Op>), ag_cuda_blocks(outer, AG_REDUCE_WARPS),
              AG_REDUCE_THREADS, 0, stream, x, y, outer, n, div);
  } else {
    const int64_t chunks = axis_chunks(outer, n, AG_REDUCE_ROW_CHUNK_MIN);
    if (chunks > 1) return launch_split_rows<T, Op>(x, y, outer, n, chunks, div, stream);
    AG_LAUNCH((reduce_rows_block_kernel<T, Op>), (unsigned)outer, AG_REDUCE_THREADS, 0, stream, x,
              y, n, div);
  }
  return AG_LAUNCH_STATUS("reduce_axis");
}

extern "C" ag_status AG_CUDA_SYM(reduce_axis)(ag_dtype dt, ag_reduce_kind kind, const void *x,
                                              void *y, int64_t outer, int64_t n, int64_t inner,
                                              void *stream) {
  if (outer * inner == 0) return AG_OK;
  if (inner == 1 && n > AG_REDUCE_WARP_ROW_MAX && outer > 0x7fffffff)
    return ag_set_error(AG_ERR_INVALID, "reduce_axis: %lld rows exceed the grid limit",
                        (long long)outer);
  float div = kind == AG_REDUCE_MEAN ? (float)n : 1.0f;
  ag_status st = AG_OK;
  ag_status launched = ag_dispatch_float(dt, "reduce_axis", [&](auto tag) {
    using T = decltype(tag);
    if (kind == AG_REDUCE_MAX)
      st = launch_reduce<T, ag_max_op>((const T *)x, (T *)y, outer, n, inner, div, stream);
    else
      st = launch_reduce<T, ag_sum_op>((const T *)x, (T *)y, outer, n, inner, div, stream);
  });
  return st != AG_OK ? st : launched;
}

/* Sum and mean: every element of a line gets the line's gradient over div. */
template <typename T>
static __global__ void broadcast_axis_kernel(const T *g, T *gx, int64_t total, int64_t n,
                                             int64_t inner, float div) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total;
       k += (int64_t)gridDim.x * blockDim.x)
    gx[k] = ag_from_f32<T>(ag_to_f32(g[k / (n * inner) * inner + k % inner]) / div);
}

/* Max over rows (inner == 1): one warp per row finds the first maximal
 * element 32 at a time with a ballot, then writes the row. */
template <typename T>
static __global__ void max_rows_backward_kernel(const T *x, const T *y, const T *g, T *gx,
                                                int64_t rows, int64_t n) {
  int64_t row = (int64_t)blockIdx.x * AG_REDUCE_WARPS + threadIdx.x / 32;
  if (row >= rows) return;
  int lane = threadIdx.x % 32;
  const T *xr = x + row * n;
  float m = ag_to_f32(y[row]);
  int64_t hit = n;
  for (int64_t base = 0; base < n && hit == n; base += 32) {
    int64_t a = base + lane;
    unsigned found = __ballot_sync(0xffffffffu, a < n && ag_reduce_is_max(ag_to_f32(xr[a]), m));
    if (found) hit = base + __ffs((int)found) - 1;
  }
  T gv = g[row], zero = ag_from_f32<T>(0.0f);
  for (int64_t a = lane; a < n; a += 32) gx[row * n + a] = a == hit ? gv : zero;
}

/* Max over an inner axis: one thread per (outer, inner) pair, coalesced
 * across inner like the forward. */
template <typename T>
static __global__ void max_inner_backward_kernel(const T *x, const T *y, const T *g, T *gx,
                                                 int64_t outer, int64_t n, int64_t inner) {
  for (int64_t line = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; line < outer * inner;
       line += (int64_t)gridDim.x * blockDim.x) {
    int64_t base = line / inner * n * inner + line % inner;
    float m = ag_to_f32(y[line]);
    T gv = g[line], zero = ag_from_f32<T>(0.0f);
    bool found = false;
    for (int64_t a = 0; a < n; a++) {
      bool hit = !found && ag_reduce_is_max(ag_to_f32(x[base + a * inner]), m);
      found = found || hit;
      gx[base + a * inner] = hit ? gv : zero;
    }
  }
}

extern "C" ag_status AG_CUDA_SYM(reduce_axis_backward)(ag_dtype dt, ag_reduce_kind kind,
                                                       const void *x, const void *y,
                                                       const void *g, void *gx, int64_t outer,
                                                       int64_t n, int64_t inner, void *stream) {
  if (outer * n * inner == 0) return AG_OK;
  float div = kind == AG_REDUCE_MEAN ? (float)n : 1.0f;
  return ag_dispatch_float(dt, "reduce_axis_backward", [&](auto tag) {
    using T = decltype(tag);
    if (kind != AG_REDUCE_MAX)
      AG_LAUNCH(broadcast_axis_kernel<T>, ag_ew_blocks(outer * n * inner), AG_EW_THREADS, 0,
                stream, (const T *)g, (T *)gx, outer * n * inner, n, inner, div);
    else if (inner == 1)
      AG_LAUNCH(max_rows_backward_kernel<T>, ag_cuda_blocks(outer, AG_REDUCE_WARPS),
                AG_REDUCE_THREADS, 0, stream, (const T *)x, (const T *)y, (const T *)g, (T *)gx,
                outer, n);
    else
      AG_LAUNCH(max_inner_backward_kernel<T>, ag_ew_blocks(outer * inner), AG_EW_THREADS, 0,
                stream, (const T *)x, (const T *)y, (const T *)g, (T *)gx, outer, n, inner);
  });
}

extern "C" const ag_reduce_kernels AG_CUDA_SYM(reduce_kernels) = {
    .reduce_axis = AG_CUDA_SYM(reduce_axis),
    .reduce_axis_backward = AG_CUDA_SYM(reduce_axis_backward),
};
