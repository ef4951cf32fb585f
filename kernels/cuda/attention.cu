/* Fused flash attention (FlashAttention-2 scheme) over [B, H, T, D] tensors:
 * the entry points, their checks and dispatch, and the f32 kernels. f16 and
 * bf16 run on mma.sync: the forward in attention_fwd.cu, the backward in
 * attention_bwd.cu (shared pieces in attention_tile.h).
 *
 * Forward: a block of 4 warps owns 64 query rows (16 per warp) and streams
 * 64-key tiles of K and V through shared memory. Each warp computes its
 * 16 x 64 score tile, runs the online softmax on it (row max, rescale of the
 * running sum and output, exponentials) and adds P V to its output
 * accumulators; only the log-sum-exp leaves the kernel besides O.
 *
 * Backward, in two passes that need no atomics and no scratch memory:
 *   - attn_bwd_kv: a block owns 64 keys and streams 64-query tiles of Q and
 *     dO; it recomputes P = exp(scale * K Q^T - lse) and accumulates
 *     dV = P^T dO and dK = scale * dS^T Q in registers;
 *   - attn_bwd_q: a block owns 64 queries and streams K and V tiles, and
 *     accumulates dQ = scale * dS K.
 * dS = P * (dP - delta) with dP = dO V^T and delta = rowsum(dO * O) - dlse,
 * which each pass computes for its query rows (D multiply-adds per row, small
 * next to the D * 64 of each tile product). The dQ pass recomputes S and dP,
 * trading about 40% more work (7 tile products instead of 5)
 * for determinism.
 *
 * Tile products go through FmaCore, exact f32 FMA tiles (tf32 would not
 * reach f32 accuracy). Its accumulator is used only elementwise through
 * x[]; anything per row (softmax statistics, rescaling factors) goes through
 * shared memory. Every accumulator read back by other lanes is stored and
 * then __syncwarp()ed: shuffles do not order shared memory.
 *
 * Requirements (checked by the launchers): head dim 32, 64 or 128 for f32
 * (any multiple of 8 up to 256 for f16 / bf16), and q, k, v, o, dO and the
 * gradients 16-byte aligned (rows are copied as 16-byte vectors). Tails of
 * Tq and Tk are zero-filled in shared memory and masked. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "attention_tile.h"
#include "kernels/common/ag_kernels.h"

#include <stdint.h>
#include <stdio.h>

#include <initializer_list>
#include <type_traits>

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 16 * kWarps; /* rows a block owns: queries (fwd, dQ) or keys (dK, dV) */
constexpr int kCols = 64;          /* rows of each streamed tile */
constexpr int kSld = kCols + 4;    /* leading dim of f32 score tiles (bank spread) */

/* Operand layouts in shared memory, as tags of the tile products. */
struct RowMajor {};
struct ColMajor {};

/* f32 tiles with FMA: lane l owns row l / 2, columns (l % 2) * 8 .. + 8. */
struct FmaCore {
  struct Acc {
    static constexpr int num_elements = 8;
    float x[8];
  };
  /* A stays in shared memory: the "fragment" is where it is. */
  template <class L> struct FragA {
    const float *p;
    unsigned ld;
  };
  static constexpr int pad = 4;
  template <class L>
  static __device__ __forceinline__ void load_a(FragA<L> &fa, const float *a, unsigned lda) {
    fa = FragA<L>{a, lda};
  }
  template <class LA, class LB>
  static __device__ __forceinline__ void mma(Acc &c, const FragA<LA> &fa, const float *b,
                                             unsigned ldb) {
    constexpr bool a_col = std::is_same<LA, ColMajor>::value;
    constexpr bool b_col = std::is_same<LB, ColMajor>::value;
    const int lane = (int)threadIdx.x % 32, r = lane / 2, c0 = lane % 2 * 8;
    for (int k = 0; k < 16; k++) {
      const float av = a_col ? fa.p[k * fa.ld + r] : fa.p[r * fa.ld + k];
      for (int e = 0; e < 8; e++) c.x[e] += av * (b_col ? b[(c0 + e) * ldb + k] : b[k * ldb + c0 + e]);
    }
  }
  static __device__ __forceinline__ void zero(Acc &c) {
    for (int e = 0; e < 8; e++) c.x[e] = 0.0f;
  }
  static __device__ __forceinline__ void load(Acc &c, const float *p, unsigned ld) {
    const int lane = (int)threadIdx.x % 32, r = lane / 2, c0 = lane % 2 * 8;
    for (int e = 0; e < 8; e++) c.x[e] = p[r * ld + c0 + e];
  }
  static __device__ __forceinline__ void store(float *p, const Acc &c, unsigned ld) {
    const int lane = (int)threadIdx.x % 32, r = lane / 2, c0 = lane % 2 * 8;
    for (int e = 0; e < 8; e++) p[r * ld + c0 + e] = c.x[e];
  }
};

/* Shared-memory geometry of one instantiation. */
template <class T, int D> struct Geometry {
  using Core = FmaCore;
  static constexpr int ld = D + Core::pad;         /* Q, K, V, dO tiles [64][ld] */
  static constexpr int pld = kCols + Core::pad;    /* P / dS tiles [16][pld] per warp */
  static constexpr int tile = kRows * ld;          /* elements of one 64-row tile */
  static constexpr int scores = kWarps * 16 * kSld; /* floats of the per-warp score tiles */
  static constexpr int probs = kWarps * 16 * pld;  /* elements of the per-warp P / dS tiles */
};

/* Rows [row0, row0 + 64) of a [n, D] matrix into shared memory (leading dim
 * ld), zeros past row n, as 16-byte vectors by the whole block. */
template <class T, int D>
__device__ __forceinline__ void load_rows(T *s, int ld, const T *g, int64_t row0, int64_t n) {
  constexpr int vec = 16 / (int)sizeof(T), chunks = D / vec;
  for (int idx = (int)threadIdx.x; idx < kRows * chunks; idx += kThreads) {
    const int r = idx / chunks, c = idx % chunks * vec;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row0 + r < n) val = *reinterpret_cast<const uint4 *>(g + (row0 + r) * D + c);
    *reinterpret_cast<uint4 *>(s + r * ld + c) = val;
  }
}

/* Writes the warp's 16 rows (starting at global row row0, only rows < n) of
 * its accumulators acc[D / 16] to g [n, D], times mul and, when row_mul is
 * given, times row_mul[row]. Goes through the warp's f32 scratch sw
 * (16 x kSld) 64 columns at a time. */
template <class Core, class T, int D>
__device__ void store_rows(T *g, int64_t row0, int64_t n, const typename Core::Acc *acc,
                           float mul, const float *row_mul, float *sw) {
  constexpr int width = D < kCols ? D : kCols;
  const int lane = (int)threadIdx.x % 32;
  for (int c0 = 0; c0 < D; c0 += width) {
    for (int f = 0; f < width / 16; f++) Core::store(sw + f * 16, acc[c0 / 16 + f], kSld);
    __syncwarp();
    for (int idx = lane; idx < 16 * width; idx += 32) {
      const int r = idx / width, c = idx % width;
      if (row0 + r >= n) continue;
      const float s = row_mul ? mul * row_mul[r] : mul;
      g[(row0 + r) * D + c0 + c] = ag_from_f32<T>(s * sw[r * kSld + c]);
    }
    __syncwarp();
  }
}

/* acc[n] (16 x 16 tiles of a 16 x N result) = A (16 x K) B (K x N), A and B
 * in shared memory with the given layouts; adds to acc. */
template <class Core, class LA, class LB, int K, int N, class T>
__device__ __forceinline__ void tile_product(typename Core::Acc *acc, const T *a, int lda,
                                             int a_step, const T *b, int ldb, int b_kstep,
                                             int b_nstep) {
  for (int kk = 0; kk < K / 16; kk++) {
    typename Core::template FragA<LA> fa;
    Core::load_a(fa, a + kk * a_step, (unsigned)lda);
    for (int n = 0; n < N / 16; n++)
      Core::template mma<LA, LB>(acc[n], fa, b + kk * b_kstep + n * b_nstep, (unsigned)ldb);
  }
}

/* S (16 x 64) = A_w (16 x D, rows of a [64][ld] tile) times B^T where B is a
 * [64][ld] tile: A row-major, B^T column-major. */
template <class Core, int D, class T>
__device__ __forceinline__ void rows_times_rows(typename Core::Acc *s, const T *a, const T *b,
                                                int ld) {
  for (int n = 0; n < kCols / 16; n++) Core::zero(s[n]);
  tile_product<Core, RowMajor, ColMajor, D, kCols>(s, a, ld, 16, b, ld, 16, 16 * ld);
}

/* acc (16 x D) += P_w (16 x 64, leading dim pld) times B (64 x D, a [64][ld] tile). */
template <class Core, int D, class T>
__device__ __forceinline__ void accumulate_pb(typename Core::Acc *acc, const T *p, int pld,
                                              const T *b, int ld) {
  tile_product<Core, RowMajor, RowMajor, kCols, D>(acc, p, pld, 16, b, ld, 16 * ld,
                                                                  16);
}

/* delta = rowsum(dO * O) - dlse for query row i, by the lane pair that owns
 * it (each lane sums half of D); every lane of the warp must call. */
template <class T, int D>
__device__ __forceinline__ float row_delta(const T *dout, const T *o, const float *dlse, int64_t i,
                                           int64_t tq, int half) {
  float s = 0.0f;
  if (i < tq)
    for (int c = half * D / 2; c < (half + 1) * D / 2; c++)
      s += ag_to_f32(dout[i * D + c]) * ag_to_f32(o[i * D + c]);
  s += __shfl_xor_sync(0xffffffffu, s, 1);
  return i < tq ? s - (dlse ? dlse[i] : 0.0f) : 0.0f;
}

/* The keys a block of query rows [q0, q0 + kRows) reads under the causal
 * and padding masks: `kv_end` bounds what any of its rows sees, `row_end`
 * what this thread's row i sees. */
struct QueryRows {
  int64_t kv_end, row_end;
};

__device__ __forceinline__ QueryRows query_rows(const ag_attn_dims &d, const int32_t *kv_len,
                                                int64_t bh, int64_t q0, int64_t i) {
  const int64_t limit = ag_attn_key_limit(&d, kv_len, bh / d.heads);
  const int64_t last = (q0 + kRows < d.tq ? q0 + kRows : d.tq) - 1;
  const int64_t causal_last = ag_attn_causal_end(&d, last), causal_row = ag_attn_causal_end(&d, i);
  return QueryRows{causal_last < limit ? causal_last : limit,
                   causal_row < limit ? causal_row : limit};
}

template <class T, int D>
static __global__ void __launch_bounds__(kThreads)
    attn_fwd(ag_attn_dims d, const T *q, const T *k, const T *v, const int32_t *kv_len, T *o,
             float *lse) {
  using G = Geometry<T, D>;
  using Core = typename G::Core;
  using Acc = typename Core::Acc;
  AG_DYNAMIC_SMEM(float4, smem);
  T *qs = reinterpret_cast<T *>(smem), *ks = qs + G::tile, *vs = ks + G::tile;
  float *scores = reinterpret_cast<float *>(vs + G::tile);
  T *probs = reinterpret_cast<T *>(scores + G::scores);
  float *stats = reinterpret_cast<float *>(probs + G::probs);

  const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
  const int r = lane / 2, half = lane % 2; /* the lane pair (2r, 2r+1) owns row r of the warp */
  const int64_t bh = blockIdx.y, q0 = (int64_t)blockIdx.x * kRows;
  const int64_t i = q0 + warp * 16 + r;
  const QueryRows rows = query_rows(d, kv_len, bh, q0, i);
  const int64_t kv_end = rows.kv_end, row_end = rows.row_end;
  q += bh * d.tq * D;
  k += bh * d.tk * D;
  v += bh * d.tk * D;
  float *sw = scores + warp * 16 * kSld, *row_scale = stats + warp * 16;
  T *pw = probs + warp * 16 * G::pld;

  load_rows<T, D>(qs, G::ld, q, q0, d.tq);
  Acc acc[D / 16];
  for (int n = 0; n < D / 16; n++) Core::zero(acc[n]);
  float m = -INFINITY, l = 0.0f; /* running max (scaled units) and sum of row i */
  for (int64_t kv0 = 0; kv0 < kv_end; kv0 += kCols) {
    __syncthreads(); /* the previous K / V tiles are no longer read */
    load_rows<T, D>(ks, G::ld, k, kv0, d.tk);
    load_rows<T, D>(vs, G::ld, v, kv0, d.tk);
    __syncthreads();
    Acc s[kCols / 16];
    rows_times_rows<Core, D>(s, qs + warp * 16 * G::ld, ks, G::ld);
    for (int n = 0; n < kCols / 16; n++) Core::store(sw + n * 16, s[n], kSld);
    __syncwarp();
    float *srow = sw + r * kSld + half * 32;
    float tmax = -INFINITY;
    for (int c = 0; c < 32; c++) {
      const float x = kv0 + half * 32 + c < row_end ? srow[c] * d.scale : -INFINITY;
      srow[c] = x;
      tmax = fmaxf(tmax, x);
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
    const float m_new = fmaxf(m, tmax);
    const float m_use = m_new == -INFINITY ? 0.0f : m_new; /* no visible key yet: all p = 0 */
    const float alpha = __expf(m - m_use);
    float sum = 0.0f;
    for (int c = 0; c < 32; c++) {
      const float p = __expf(srow[c] - m_use);
      pw[r * G::pld + half * 32 + c] = ag_from_f32<T>(p);
      sum += p;
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = m_new;
    /* The rescale factor of each row, broadcast over a 16 x 16 tile, so an
     * accumulator loaded from it scales acc elementwise whatever its lane
     * mapping. It overwrites scores the partner lane read and wrote above:
     * shuffles do not order memory, a __syncwarp() does. */
    __syncwarp();
    for (int c = 0; c < 8; c++) sw[r * kSld + half * 8 + c] = alpha;
    __syncwarp();
    Acc scale_tile;
    Core::load(scale_tile, sw, kSld);
    for (int n = 0; n < D / 16; n++)
      for (int e = 0; e < Acc::num_elements; e++) acc[n].x[e] *= scale_tile.x[e];
    accumulate_pb<Core, D>(acc, pw, G::pld, vs, G::ld);
    __syncwarp(); /* sw and pw are rewritten by the next tile */
  }
  if (half == 0) row_scale[r] = l > 0.0f ? 1.0f / l : 0.0f;
  if (half == 0 && i < d.tq) lse[bh * d.tq + i] = l > 0.0f ? m + __logf(l) : INFINITY;
  __syncwarp();
  store_rows<Core, T, D>(o + bh * d.tq * D, q0 + warp * 16, d.tq, acc, 1.0f, row_scale, sw);
}

/* dK and dV of 64 keys: streams 64-query tiles of Q and dO. */
template <class T, int D>
static __global__ void __launch_bounds__(kThreads)
    attn_bwd_kv(ag_attn_dims d, const T *q, const T *k, const T *v, const int32_t *kv_len,
                const T *o, const float *lse, const T *dout, const float *dlse, T *dk, T *dv) {
  using G = Geometry<T, D>;
  using Core = typename G::Core;
  using Acc = typename Core::Acc;
  AG_DYNAMIC_SMEM(float4, smem);
  T *ks = reinterpret_cast<T *>(smem), *vs = ks + G::tile, *qs = vs + G::tile, *dos = qs + G::tile;
  float *st_all = reinterpret_cast<float *>(dos + G::tile), *dpt_all = st_all + G::scores;
  T *pt_all = reinterpret_cast<T *>(dpt_all + G::scores), *dst_all = pt_all + G::probs;
  float *lse_s = reinterpret_cast<float *>(dst_all + G::probs), *delta_s = lse_s + kCols;

  const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
  const int r = lane / 2, half = lane % 2;
  const int64_t bh = blockIdx.y, k0 = (int64_t)blockIdx.x * kRows;
  const int64_t limit = ag_attn_key_limit(&d, kv_len, bh / d.heads);
  const int64_t j = k0 + warp * 16 + r; /* the key row of this lane pair */
  /* The first query that sees key k0 under the causal mask. */
  const int64_t first = d.causal && k0 - (d.tk - d.tq) > 0 ? k0 - (d.tk - d.tq) : 0;
  q += bh * d.tq * D;
  o += bh * d.tq * D;
  dout += bh * d.tq * D;
  lse += bh * d.tq;
  if (dlse) dlse += bh * d.tq;
  float *sw = st_all + warp * 16 * kSld, *dpw = dpt_all + warp * 16 * kSld;
  T *ptw = pt_all + warp * 16 * G::pld, *dstw = dst_all + warp * 16 * G::pld;

  load_rows<T, D>(ks, G::ld, k + bh * d.tk * D, k0, d.tk);
  load_rows<T, D>(vs, G::ld, v + bh * d.tk * D, k0, d.tk);
  Acc dka[D / 16], dva[D / 16];
  for (int n = 0; n < D / 16; n++) {
    Core::zero(dka[n]);
    Core::zero(dva[n]);
  }
  for (int64_t q0 = first / kCols * kCols; k0 < limit && q0 < d.tq; q0 += kCols) {
    __syncthreads(); /* the previous Q / dO tiles and statistics are no longer read */
    load_rows<T, D>(qs, G::ld, q, q0, d.tq);
    load_rows<T, D>(dos, G::ld, dout, q0, d.tq);
    {
      /* Block thread t: query row t / 2 of the tile, half t % 2 of D. */
      const int row = (int)threadIdx.x / 2;
      const float delta = row_delta<T, D>(dout, o, dlse, q0 + row, d.tq, (int)threadIdx.x % 2);
      if (threadIdx.x % 2 == 0) {
        delta_s[row] = delta;
        lse_s[row] = q0 + row < d.tq ? lse[q0 + row] : INFINITY; /* p = 0 past Tq */
      }
    }
    __syncthreads();
    Acc st[kCols / 16], dpt[kCols / 16];
    rows_times_rows<Core, D>(st, ks + warp * 16 * G::ld, qs, G::ld);
    rows_times_rows<Core, D>(dpt, vs + warp * 16 * G::ld, dos, G::ld);
    for (int n = 0; n < kCols / 16; n++) {
      Core::store(sw + n * 16, st[n], kSld);
      Core::store(dpw + n * 16, dpt[n], kSld);
    }
    __syncwarp();
    for (int c = half * 32; c < half * 32 + 32; c++) {
      const float p = ag_attn_visible(&d, limit, q0 + c, j)
                          ? __expf(sw[r * kSld + c] * d.scale - lse_s[c])
                          : 0.0f;
      ptw[r * G::pld + c] = ag_from_f32<T>(p);
      dstw[r * G::pld + c] = ag_from_f32<T>(p * (dpw[r * kSld + c] - delta_s[c]));
    }
    __syncwarp();
    accumulate_pb<Core, D>(dva, ptw, G::pld, dos, G::ld);
    accumulate_pb<Core, D>(dka, dstw, G::pld, qs, G::ld);
  }
  __syncwarp();
  if (dk) store_rows<Core, T, D>(dk + bh * d.tk * D, k0 + warp * 16, d.tk, dka, d.scale, nullptr, sw);
  if (dv) store_rows<Core, T, D>(dv + bh * d.tk * D, k0 + warp * 16, d.tk, dva, 1.0f, nullptr, sw);
}

/* dQ of 64 queries: streams 64-key tiles of K and V. */
template <class T, int D>
static __global__ void __launch_bounds__(kThreads)
    attn_bwd_q(ag_attn_dims d, const T *q, const T *k, const T *v, const int32_t *kv_len,
               const T *o, const float *lse, const T *dout, const float *dlse, T *dq) {
  using G = Geometry<T, D>;
  using Core = typename G::Core;
  using Acc = typename Core::Acc;
  AG_DYNAMIC_SMEM(float4, smem);
  T *qs = reinterpret_cast<T *>(smem), *dos = qs + G::tile, *ks = dos + G::tile, *vs = ks + G::tile;
  float *s_all = reinterpret_cast<float *>(vs + G::tile), *dp_all = s_all + G::scores;
  T *ds_all = reinterpret_cast<T *>(dp_all + G::scores);

  const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
  const int r = lane / 2, half = lane % 2;
  const int64_t bh = blockIdx.y, q0 = (int64_t)blockIdx.x * kRows;
  const int64_t i = q0 + warp * 16 + r;
  const QueryRows rows = query_rows(d, kv_len, bh, q0, i);
  const int64_t kv_end = rows.kv_end, row_end = rows.row_end;
  q += bh * d.tq * D;
  dout += bh * d.tq * D;
  o += bh * d.tq * D;
  k += bh * d.tk * D;
  v += bh * d.tk * D;
  float *sw = s_all + warp * 16 * kSld, *dpw = dp_all + warp * 16 * kSld;
  T *dsw = ds_all + warp * 16 * G::pld;

  load_rows<T, D>(qs, G::ld, q, q0, d.tq);
  load_rows<T, D>(dos, G::ld, dout, q0, d.tq);
  const float delta = row_delta<T, D>(dout, o, dlse ? dlse + bh * d.tq : nullptr, i, d.tq, half);
  const float lse_i = i < d.tq ? lse[bh * d.tq + i] : INFINITY;
  Acc dqa[D / 16];
  for (int n = 0; n < D / 16; n++) Core::zero(dqa[n]);
  for (int64_t kv0 = 0; kv0 < kv_end; kv0 += kCols) {
    __syncthreads(); /* the previous K / V tiles are no longer read */
    load_rows<T, D>(ks, G::ld, k, kv0, d.tk);
    load_rows<T, D>(vs, G::ld, v, kv0, d.tk);
    __syncthreads();
    Acc s[kCols / 16], dp[kCols / 16];
    rows_times_rows<Core, D>(s, qs + warp * 16 * G::ld, ks, G::ld);
    rows_times_rows<Core, D>(dp, dos + warp * 16 * G::ld, vs, G::ld);
    for (int n = 0; n < kCols / 16; n++) {
      Core::store(sw + n * 16, s[n], kSld);
      Core::store(dpw + n * 16, dp[n], kSld);
    }
    __syncwarp();
    for (int c = half * 32; c < half * 32 + 32; c++) {
      const float p =
          kv0 + c < row_end ? __expf(sw[r * kSld + c] * d.scale - lse_i) : 0.0f;
      dsw[r * G::pld + c] = ag_from_f32<T>(p * (dpw[r * kSld + c] - delta));
    }
    __syncwarp();
    accumulate_pb<Core, D>(dqa, dsw, G::pld, ks, G::ld);
  }
  __syncwarp();
  store_rows<Core, T, D>(dq + bh * d.tq * D, q0 + warp * 16, d.tq, dqa, d.scale, nullptr, sw);
}

/* Dynamic shared memory of each kernel, in bytes. */
template <class T, int D> constexpr size_t fwd_smem() {
  using G = Geometry<T, D>;
  return 3 * G::tile * sizeof(T) + G::scores * sizeof(float) + G::probs * sizeof(T) +
         kRows * sizeof(float);
}
template <class T, int D> constexpr size_t bwd_kv_smem() {
  using G = Geometry<T, D>;
  return 4 * G::tile * sizeof(T) + 2 * G::scores * sizeof(float) + 2 * G::probs * sizeof(T) +
         2 * kCols * sizeof(float);
}
template <class T, int D> constexpr size_t bwd_q_smem() {
  using G = Geometry<T, D>;
  return 4 * G::tile * sizeof(T) + 2 * G::scores * sizeof(float) + G::probs * sizeof(T);
}

/* Kernels using more than 48 KB of dynamic shared memory must opt in on a
 * GPU (ag_attn_allow_smem). */
template <class K> ag_status allow_smem(K kernel, size_t bytes) {
  return ag_attn_allow_smem(kernel, bytes, "attention");
}

/* The f32 forward (FMA core); f16 / bf16 run attention_fwd.cu's kernel. */
template <int D>
ag_status launch_fwd_f32(const ag_attn_dims &d, const void *q, const void *k, const void *v,
                         const int32_t *kv_len, void *o, float *lse, void *stream) {
  auto kernel = attn_fwd<float, D>;
  const size_t smem = fwd_smem<float, D>();
  AG_TRY(allow_smem(kernel, smem));
  const dim3 grid(ag_cuda_blocks(d.tq, kRows), (unsigned)(d.batch * d.heads));
  AG_LAUNCH(kernel, grid, kThreads, smem, stream, d, (const float *)q, (const float *)k,
            (const float *)v, kv_len, (float *)o, lse);
  return AG_LAUNCH_STATUS("attention_forward");
}

struct BwdArgs {
  const void *q, *k, *v, *o, *dout;
  const int32_t *kv_len;
  const float *lse, *dlse;
  void *dq, *dk, *dv;
};

/* The f32 backward (FMA core); f16 / bf16 run attention_bwd.cu's kernels. */
template <int D> ag_status launch_bwd_f32(const ag_attn_dims &d, const BwdArgs &a, void *stream) {
  const dim3 grid_q(ag_cuda_blocks(d.tq, kRows), (unsigned)(d.batch * d.heads));
  const dim3 grid_kv(ag_cuda_blocks(d.tk, kRows), (unsigned)(d.batch * d.heads));
  if (a.dk || a.dv) {
    auto kernel = attn_bwd_kv<float, D>;
    const size_t smem = bwd_kv_smem<float, D>();
    AG_TRY(allow_smem(kernel, smem));
    AG_LAUNCH(kernel, grid_kv, kThreads, smem, stream, d, (const float *)a.q, (const float *)a.k,
              (const float *)a.v, a.kv_len, (const float *)a.o, a.lse, (const float *)a.dout,
              a.dlse, (float *)a.dk, (float *)a.dv);
    AG_TRY(AG_LAUNCH_STATUS("attention_backward (dK, dV)"));
  }
  if (a.dq) {
    auto kernel = attn_bwd_q<float, D>;
    const size_t smem = bwd_q_smem<float, D>();
    AG_TRY(allow_smem(kernel, smem));
    AG_LAUNCH(kernel, grid_q, kThreads, smem, stream, d, (const float *)a.q, (const float *)a.k,
              (const float *)a.v, a.kv_len, (const float *)a.o, a.lse, (const float *)a.dout,
              a.dlse, (float *)a.dq);
    AG_TRY(AG_LAUNCH_STATUS("attention_backward (dQ)"));
  }
  return AG_OK;
}

bool misaligned(const void *p) { return p && (uintptr_t)p % 16 != 0; }

/* Whether the path for this dtype and direction runs the head dim: the
 * 16-bit kernels (attention_fwd.cu, attention_bwd.cu) multiples of 8 up to
 * kAttnMaxDim, the f32 ones 32, 64 or 128. */
bool runs_head_dim(ag_dtype dt, int64_t dim, int backward) {
  if (dt == AG_F32) return dim == 32 || dim == 64 || dim == 128;
  return backward ? AG_CUDA_SYM(attention_mma_backward_smem)(dt, dim) != 0
                  : ag_attn_width(dim) != 0;
}

/* The shapes the kernels cannot run, as a reason in buf; NULL when none.
 * Shared by the launchers and the plan-time attention_supports. */
const char *unsupported_dims(ag_dtype dt, const ag_attn_dims &d, int backward, char *buf,
                             size_t size) {
  if (!runs_head_dim(dt, d.dim, backward) && dt != AG_F32)
    snprintf(buf, size, "head dim %lld (multiples of 8 up to %d supported)", (long long)d.dim,
             kAttnMaxDim);
  else if (!runs_head_dim(dt, d.dim, backward))
    snprintf(buf, size, "head dim %lld (32, 64 or 128 supported) for the %s %s", (long long)d.dim,
             ag_dtype_name(dt), backward ? "backward" : "forward");
  else if (d.batch * d.heads > 65535)
    snprintf(buf, size, "batch * heads = %lld exceeds 65535 (the grid's y limit)",
             (long long)(d.batch * d.heads));
  else
    return nullptr;
  return buf;
}

/* What the kernels assume beyond the op's checks. */
ag_status check_args(const char *what, ag_dtype dt, const ag_attn_dims &d, int backward,
                     std::initializer_list<const void *> ptrs) {
  char reason[96];
  if (unsupported_dims(dt, d, backward, reason, sizeof reason))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: %s", what, reason);
  for (const void *p : ptrs)
    if (misaligned(p))
      return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: tensor data must be 16-byte aligned",
                          what);
  return AG_OK;
}

/* Calls f.template operator()<D>() for the head dim (checked by check_args). */
template <class F> void dispatch_dim(int64_t dim, F &&f) {
  switch (dim) {
  case 32: f(std::integral_constant<int, 32>{}); break;
  case 64: f(std::integral_constant<int, 64>{}); break;
  default: f(std::integral_constant<int, 128>{}); break;
  }
}

/* The most dynamic shared memory a block may opt in to on this device. */
long long smem_optin_limit() {
  int dev = 0, bytes = 0;
  if (cudaGetDevice(&dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev) != cudaSuccess)
    return -1; /* unknown: the launch will report it */
  return bytes;
}

template <int D> size_t bwd_smem_f32() {
  return bwd_kv_smem<float, D>() > bwd_q_smem<float, D>() ? bwd_kv_smem<float, D>()
                                                          : bwd_q_smem<float, D>();
}

/* The largest dynamic shared memory a block of the forward (or backward)
 * launches for these dims, which runs_head_dim admits. */
size_t smem_need(ag_dtype dt, int64_t dim, int backward) {
  if (dt != AG_F32)
    return backward ? AG_CUDA_SYM(attention_mma_backward_smem)(dt, dim)
                    : AG_CUDA_SYM(attention_mma_forward_smem)(dt, dim);
  size_t need = 0;
  dispatch_dim(dim, [&](auto w) {
    constexpr int D = decltype(w)::value;
    need = backward ? bwd_smem_f32<D>() : fwd_smem<float, D>();
  });
  return need;
}

/* With no queries nothing flows into the keys: their f32 gradients are 0. */
ag_status zero_key_grads(const ag_attn_dims &d, void *dk, void *dv, void *stream) {
  const size_t bytes = (size_t)(d.batch * d.heads * d.tk * d.dim) * sizeof(float);
  for (void *g : {dk, dv})
    if (g && cudaMemsetAsync(g, 0, bytes, (cudaStream_t)stream) != cudaSuccess)
      return AG_LAUNCH_STATUS("attention_backward");
  return AG_OK;
}

} /* namespace */

extern "C" ag_status AG_CUDA_SYM(attention_supports)(ag_dtype dt, ag_attn_dims d, int backward) {
  char reason[96];
  if (unsupported_dims(dt, d, backward, reason, sizeof reason))
    return ag_set_error(AG_ERR_UNSUPPORTED, "%s", reason);
  /* Not ag_dispatch_float: it reads (and clears) the launch error state. The
   * op's inference admits only float dtypes. */
  const size_t need = smem_need(dt, d.dim, backward);
  const long long limit = smem_optin_limit();
  if (limit >= 0 && (long long)need > limit)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "the %s %s at head dim %lld needs %zu bytes of shared memory per block, "
                        "the device allows %lld",
                        ag_dtype_name(dt), backward ? "backward" : "forward", (long long)d.dim,
                        need, limit);
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(attention_forward)(ag_dtype dt, ag_attn_dims d, const void *q,
                                                     const void *k, const void *v,
                                                     const int32_t *kv_len, void *o, float *lse,
                                                     void *stream) {
  AG_TRY(check_args("attention_forward", dt, d, 0, {q, k, v, o}));
  if (d.batch * d.heads * d.tq == 0) return AG_OK;
  if (dt != AG_F32)
    return AG_CUDA_SYM(attention_mma_forward)(dt, d, q, k, v, kv_len, o, lse, stream);
  ag_status st = AG_OK;
  dispatch_dim(d.dim, [&](auto dim) {
    st = launch_fwd_f32<decltype(dim)::value>(d, q, k, v, kv_len, o, lse, stream);
  });
  return st;
}

extern "C" ag_status AG_CUDA_SYM(attention_backward)(ag_dtype dt, ag_attn_dims d, const void *q,
                                                      const void *k, const void *v,
                                                      const int32_t *kv_len, const void *o,
                                                      const float *lse, const void *dout,
                                                      const float *dlse, void *dq, void *dk,
                                                      void *dv, void *stream) {
  AG_TRY(check_args("attention_backward", dt, d, 1, {q, k, v, o, dout, dq, dk, dv}));
  /* The 16-bit backward handles empty sequences (dK = dV = 0 when Tq = 0). */
  if (dt == AG_F16 || dt == AG_BF16)
    return AG_CUDA_SYM(attention_mma_backward)(dt, d, q, k, v, kv_len, o, lse, dout, dlse, dq, dk,
                                               dv, stream);
  if (dt != AG_F32)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel attention_backward: dtype %s",
                        ag_dtype_name(dt));
  if (d.tq == 0) return zero_key_grads(d, dk, dv, stream);
  if (d.batch * d.heads == 0) return AG_OK;
  const BwdArgs a = {q, k, v, o, dout, kv_len, lse, dlse, dq, dk, dv};
  ag_status st = AG_OK;
  dispatch_dim(d.dim, [&](auto dim) { st = launch_bwd_f32<decltype(dim)::value>(d, a, stream); });
  return st;
}

extern "C" const ag_attention_kernels AG_CUDA_SYM(attention_kernels) = {
    .attention_forward = AG_CUDA_SYM(attention_forward),
    .attention_backward = AG_CUDA_SYM(attention_backward),
    .attention_supports = AG_CUDA_SYM(attention_supports),
};
