/* The f16 / bf16 flash-attention backward (FlashAttention-2) on mma.sync
 * m16n8k16, ldmatrix and cp.async (building blocks in attention_tile.h),
 * f32 accumulators.
 *
 * Three kernels, in stream order:
 *   - attn_bwd_delta: delta_i = rowsum(dO_i * O_i) - dlse_i, once per query
 *     row, in f32. Its scratch is the dq output itself: row i's delta sits in
 *     the first 4 bytes of dq row i, which attn_bwd_kv reads and then only
 *     the warp of attn_bwd_q that owns row i, before it writes the row; so
 *     the backward needs no workspace. Without dq, attn_bwd_kv computes
 *     delta itself for each streamed tile (one dot product per query row).
 *   - attn_bwd_kv: a block owns 64 keys (16 per warp) and streams tiles of 64
 *     queries (BwdTraits) of Q and dO through a two-stage cp.async ring, one
 *     barrier per tile. Per warp, in registers: S^T = K Q^T, P^T = exp2(S^T scale log2(e)
 *     - lse log2(e)), dV += P^T dO, dP^T = V dO^T, dS^T = P^T (dP^T - delta),
 *     dK += dS^T Q. With the keys as the mma rows, P^T and dS^T are already
 *     accumulators that become A operands (ag_attn_acc_to_a), and dO and Q
 *     enter as B operands through ldmatrix .trans: nothing but the K, V, Q
 *     and dO tiles goes through shared memory.
 *   - attn_bwd_q: a block owns 64 queries and streams K and V tiles; it
 *     recomputes S = Q K^T and dP = dO V^T and accumulates dQ += dS K.
 * Determinism costs the recomputation: 7 tile products per (query tile, key
 * tile) where FA2 with float atomics on dQ does 5 (S and dP twice), 40% more
 * tensor-core work, and no memory (FA2's atomics need an f32 dQ buffer).
 *
 * One barrier per streamed tile (as in attention_fwd.cu): iteration j waits
 * for its own copies of tile j (the only group in flight) and passes a
 * __syncthreads(), after which tile j is visible to all and stage j - 1 is
 * no longer read; only then is tile j + 1 issued into that stage.
 *
 * Masks are the forward's (kernels/common/ag_k_attention.h): keys past
 * kv_len and, if causal, past the bottom-right-aligned diagonal get P = 0;
 * rows and columns past Tq, Tk and the head dim are zero-filled by the loads.
 * A query row that sees no key has lse = +inf, so exp2(s - inf) = 0: its dQ
 * is 0 and it adds nothing to dK, dV. Causal blocks skip tiles they cannot
 * see; k steps past the head dim are skipped.
 *
 * Every tile width of ag_attn_width runs (head dims that are multiples of 8
 * up to 256). Past W = 128 (BwdTraits) the streamed tiles have 32 rows so
 * that two stages fit sm_80's 163 KB, and the dK / dV accumulators of 16
 * keys (W f32 registers per thread) no longer fit next to the score tiles:
 * each block then owns a slice of W / 2 columns of dK and dV (grid z) and
 * recomputes S^T and dP^T for it, 1.5 times the dK / dV pass's tensor-core
 * work. */
#include "attention_tile.h"

#include <string.h>

namespace {

constexpr int kRows = 16 * kAttnWarps; /* rows a block owns: keys (dK, dV) or queries (dQ) */
constexpr int kStages = 2;             /* cp.async ring depth of the streamed tiles */
constexpr float kLog2e = 1.44269504089f;

/* Per tile width W: the rows of each streamed tile, and the column slices
 * of dK / dV, one per block, each `slice` wide. ptxas reports no spills for
 * any of them on sm_80 or sm_90. */
template <int W>
struct BwdTraits {
  static constexpr int cols = W <= 128 ? 64 : 32;
  static constexpr int slices = W <= 128 ? 1 : 2;
  static constexpr int slice = W / slices;
  static_assert(slice % 16 == 0, "a slice is whole n16 steps");
};

/* Everything the kernels read and write. delta is f32 per query row at
 * delta[row * delta_stride] (row = bh * Tq + i); NULL makes attn_bwd_kv
 * compute it. */
template <class T>
struct BwdParams {
  ag_attn_dims d;
  const T *q, *k, *v, *o, *dout;
  const int32_t *kv_len;
  const float *lse, *dlse;
  float *delta;
  int64_t delta_stride;
  T *dq, *dk, *dv;
};

/* ---- Tile products ----------------------------------------------------------
 * A 16 x N accumulator is N / 8 mma C fragments: acc[n][e] is row
 * g + 8 (e / 2), column 8 n + 2 t + e % 2 (g = lane / 4, t = lane % 4). */

template <int N>
__device__ __forceinline__ void zero_acc(float (&acc)[N][4]) {
  for (int n = 0; n < N; n++)
    for (int e = 0; e < 4; e++) acc[n][e] = 0.0f;
}

/* acc (16 x C) = rows [row0, row0 + 16) of the tile sa times the transpose
 * of the C rows of sb (both W wide, dim columns nonzero): S^T = K Q^T,
 * dP^T = V dO^T, S = Q K^T, dP = dO V^T. */
template <class T, int W, int C>
__device__ __forceinline__ void rows_times_rows(float (&acc)[C / 8][4], const T *sa, int row0,
                                                const T *sb, int dim) {
  constexpr int ld = AttnTile<T, C, W>::ld;
  zero_acc(acc);
  for (int kk = 0; kk < W / 16; kk++) {
    if (kk * 16 >= dim) break;
    uint32_t a[4];
    ag_attn_load_a(a, sa, ld, row0, kk * 16);
    for (int n = 0; n < C / 16; n++) {
      uint32_t b[2][2];
      ag_attn_load_b_rows(b, sb, ld, n * 16, kk * 16);
      ag_mma_16816<T>(acc[2 * n], a, b[0]);
      ag_mma_16816<T>(acc[2 * n + 1], a, b[1]);
    }
  }
}

/* acc (16 x S) += p (a 16 x C accumulator, rounded to T) times columns
 * [c0, c0 + S) of the C x W tile sb: dV += P^T dO, dK += dS^T Q,
 * dQ += dS K. */
template <class T, int W, int C, int S>
__device__ __forceinline__ void scores_times_tile(float (&acc)[S / 8][4],
                                                  const float (&p)[C / 8][4], const T *sb, int c0,
                                                  int dim) {
  constexpr int ld = AttnTile<T, C, W>::ld;
  for (int kk = 0; kk < C / 16; kk++) {
    uint32_t a[4];
    ag_attn_acc_to_a<T>(a, p[2 * kk], p[2 * kk + 1]);
    for (int n = 0; n < S / 16; n++) {
      if (c0 + n * 16 >= dim) break;
      uint32_t b[2][2];
      ag_attn_load_b_cols(b, sb, ld, kk * 16, c0 + n * 16);
      ag_mma_16816<T>(acc[2 * n], a, b[0]);
      ag_mma_16816<T>(acc[2 * n + 1], a, b[1]);
    }
  }
}

/* Stores rows row0 + g and row0 + g + 8 of a 16 x S accumulator, times mul,
 * into columns [c0, c0 + S) of out ([n, dim] row major): the rows below n,
 * the columns below dim. */
template <class T, int S>
__device__ __forceinline__ void store_acc(T *out, int64_t row0, int64_t n, int c0, int dim,
                                          const float (&acc)[S / 8][4], float mul) {
  const int lane = (int)threadIdx.x % 32, g = lane / 4, t = lane % 4;
  for (int h = 0; h < 2; h++) {
    const int64_t row = row0 + g + 8 * h;
    if (row >= n) continue;
    for (int c = 0; c < S / 8; c++) {
      const int col = c0 + c * 8 + 2 * t;
      if (col >= dim) break;
      const uint32_t pair = ag_mma_pack<T>(mul * acc[c][2 * h], mul * acc[c][2 * h + 1]);
      memcpy(static_cast<void *>(out + row * dim + col), &pair, sizeof pair);
    }
  }
}

/* ---- delta ------------------------------------------------------------------ */

/* rowsum(dO * O) - dlse of one query row (dim elements, 16-byte aligned). */
template <class T>
__device__ __forceinline__ float row_delta(const BwdParams<T> &p, int64_t row) {
  const int dim = (int)p.d.dim;
  const T *o = p.o + row * dim, *dout = p.dout + row * dim;
  float s = 0.0f;
  for (int c = 0; c < dim; c += 8) {
    T ov[8], gv[8];
    memcpy(static_cast<void *>(ov), o + c, sizeof ov);
    memcpy(static_cast<void *>(gv), dout + c, sizeof gv);
    for (int e = 0; e < 8; e++) s += ag_to_f32(ov[e]) * ag_to_f32(gv[e]);
  }
  return s - (p.dlse ? p.dlse[row] : 0.0f);
}

/* One thread per query row of all B * H heads. */
template <class T>
static __global__ void __launch_bounds__(kAttnThreads)
    attn_bwd_delta(BwdParams<T> p, int64_t rows) {
  const int64_t row = (int64_t)blockIdx.x * kAttnThreads + threadIdx.x;
  if (row < rows) p.delta[row * p.delta_stride] = row_delta(p, row);
}

/* ---- dK, dV ----------------------------------------------------------------- */

/* One ring stage of attn_bwd_kv: a query tile of Q and dO, and its rows'
 * lse log2(e) (+inf past Tq, so P = 0 there) and delta. Every member is a
 * multiple of 16 bytes, as cp.async destinations must be aligned. */
template <class T, int W>
struct KvStage {
  using Tile = AttnTile<T, BwdTraits<W>::cols, W>;
  T q[Tile::elems], dout[Tile::elems];
  float lse2[Tile::rows], delta[Tile::rows];
};

template <class T, int W>
struct KvSmem {
  using Tile = AttnTile<T, kRows, W>;
  T k[Tile::elems], v[Tile::elems];
  KvStage<T, W> stage[kStages];
};

/* Starts the copies of the query tile at q0 of head bh into st and commits
 * them; lse and delta are plain stores, visible after the next barrier. */
template <class T, int W>
__device__ void load_kv_stage(KvStage<T, W> &st, const BwdParams<T> &p, int64_t bh, int64_t q0) {
  using Tile = typename KvStage<T, W>::Tile;
  const int64_t tq = p.d.tq;
  const int dim = (int)p.d.dim;
  ag_attn_load_tile<Tile>(st.q, p.q + bh * tq * dim, q0, tq, dim);
  ag_attn_load_tile<Tile>(st.dout, p.dout + bh * tq * dim, q0, tq, dim);
  ag_cp_async_commit();
  constexpr int cols = Tile::rows;
  const int r = (int)threadIdx.x % cols;
  const int64_t i = q0 + r, row = bh * tq + i;
  if (threadIdx.x < cols)
    st.lse2[r] = i < tq ? p.lse[row] * kLog2e : INFINITY;
  else if (threadIdx.x < 2 * cols)
    st.delta[r] = i >= tq ? 0.0f : p.delta ? p.delta[row * p.delta_stride] : row_delta(p, row);
}

/* The first query that sees key j (causal); every query when not causal. */
__device__ __forceinline__ int64_t first_query(const ag_attn_dims &d, int64_t j) {
  return d.causal ? j - (d.tk - d.tq) : INT64_MIN;
}

/* P^T, in place in s (16 keys from key0, the tile's queries from q0): 0
 * for a key at or past the limit or a query before the key's causal
 * diagonal. */
template <class T, int W, int C = BwdTraits<W>::cols>
__device__ __forceinline__ void kv_probabilities(float (&s)[C / 8][4], const KvStage<T, W> &st,
                                                 const ag_attn_dims &d, int64_t limit, int64_t key0,
                                                 int64_t q0, float scale_log2) {
  const int lane = (int)threadIdx.x % 32, g = lane / 4, t = lane % 4;
  for (int h = 0; h < 2; h++) {
    const int64_t j = key0 + g + 8 * h, first = first_query(d, j);
    for (int n = 0; n < C / 8; n++)
      for (int e = 0; e < 2; e++) {
        const int c = n * 8 + 2 * t + e;
        float &x = s[n][2 * h + e];
        x = j < limit && q0 + c >= first ? ag_exp2(x * scale_log2 - st.lse2[c]) : 0.0f;
      }
  }
}

/* dS^T = P^T (dP^T - delta), in place in dp. */
template <class T, int W, int C = BwdTraits<W>::cols>
__device__ __forceinline__ void kv_score_grads(float (&dp)[C / 8][4], const float (&pt)[C / 8][4],
                                               const KvStage<T, W> &st) {
  const int t = (int)threadIdx.x % 4;
  for (int n = 0; n < C / 8; n++)
    for (int e = 0; e < 4; e++) dp[n][e] = pt[n][e] * (dp[n][e] - st.delta[n * 8 + 2 * t + e % 2]);
}

template <class T, int W>
static __global__ void __launch_bounds__(kAttnThreads) attn_bwd_kv(BwdParams<T> p) {
  using KvTile = typename KvSmem<T, W>::Tile;
  constexpr int C = BwdTraits<W>::cols, S = BwdTraits<W>::slice;
  AG_DYNAMIC_SMEM(float4, smem);
  KvSmem<T, W> &sm = *reinterpret_cast<KvSmem<T, W> *>(smem);
  const ag_attn_dims &d = p.d;
  const int warp = (int)threadIdx.x / 32, dim = (int)d.dim, c0 = (int)blockIdx.z * S;
  const int64_t bh = blockIdx.y, k0 = (int64_t)blockIdx.x * kRows, key0 = k0 + warp * 16;
  const int64_t limit = ag_attn_key_limit(&d, p.kv_len, bh / d.heads);
  /* Query tiles from the one holding the first query that sees key k0;
   * none when the block's keys are all past the limit. */
  const int64_t first = first_query(d, k0) > 0 ? first_query(d, k0) : 0;
  const int64_t q_begin = first / C * C, q_end = k0 < limit ? d.tq : q_begin;
  const float scale_log2 = d.scale * kLog2e;

  ag_attn_load_tile<KvTile>(sm.k, p.k + bh * d.tk * dim, k0, d.tk, dim);
  ag_attn_load_tile<KvTile>(sm.v, p.v + bh * d.tk * dim, k0, d.tk, dim);
  if (q_begin < q_end)
    load_kv_stage(sm.stage[0], p, bh, q_begin); /* commits K and V with it */
  else
    ag_cp_async_commit();
  float dk[S / 8][4], dv[S / 8][4]; /* columns [c0, c0 + S) */
  zero_acc(dk);
  zero_acc(dv);
  for (int64_t q0 = q_begin, j = 0; q0 < q_end; q0 += C, j++) {
    ag_cp_async_wait<0>(); /* this thread's part of tile j */
    __syncthreads();       /* everyone's part; and stage j - 1 is no longer read */
    if (q0 + C < q_end) load_kv_stage(sm.stage[(j + 1) % kStages], p, bh, q0 + C);
    const KvStage<T, W> &st = sm.stage[j % kStages];
    float s[C / 8][4], dp[C / 8][4];
    rows_times_rows<T, W, C>(s, sm.k, warp * 16, st.q, dim);
    kv_probabilities(s, st, d, limit, key0, q0, scale_log2);
    scores_times_tile<T, W, C, S>(dv, s, st.dout, c0, dim);
    rows_times_rows<T, W, C>(dp, sm.v, warp * 16, st.dout, dim);
    kv_score_grads(dp, s, st);
    scores_times_tile<T, W, C, S>(dk, dp, st.q, c0, dim);
  }
  ag_cp_async_wait<0>(); /* K and V of a block with no query tile */
  if (p.dk) store_acc<T, S>(p.dk + bh * d.tk * dim, key0, d.tk, c0, dim, dk, d.scale);
  if (p.dv) store_acc<T, S>(p.dv + bh * d.tk * dim, key0, d.tk, c0, dim, dv, 1.0f);
}

/* ---- dQ --------------------------------------------------------------------- */

template <class T, int W>
struct QStage {
  using Tile = AttnTile<T, BwdTraits<W>::cols, W>;
  T k[Tile::elems], v[Tile::elems];
};

template <class T, int W>
struct QSmem {
  using Tile = AttnTile<T, kRows, W>;
  T q[Tile::elems], dout[Tile::elems];
  QStage<T, W> stage[kStages];
};

/* Starts the copies of the key tile at kv0 of head bh into st and commits
 * them. */
template <class T, int W>
__device__ __forceinline__ void load_q_stage(QStage<T, W> &st, const BwdParams<T> &p, int64_t bh,
                                             int64_t kv0) {
  using Tile = typename QStage<T, W>::Tile;
  const int dim = (int)p.d.dim;
  ag_attn_load_tile<Tile>(st.k, p.k + bh * p.d.tk * dim, kv0, p.d.tk, dim);
  ag_attn_load_tile<Tile>(st.v, p.v + bh * p.d.tk * dim, kv0, p.d.tk, dim);
  ag_cp_async_commit();
}

/* What a lane needs of one of its two query rows (g, g + 8 of its warp). */
struct QueryRow {
  float lse2, delta;
  int64_t key_end; /* one past the last key the row sees */
};

template <class T>
__device__ __forceinline__ QueryRow query_row(const BwdParams<T> &p, int64_t bh, int64_t i,
                                              int64_t limit) {
  if (i >= p.d.tq) return QueryRow{INFINITY, 0.0f, 0};
  const int64_t row = bh * p.d.tq + i;
  return QueryRow{p.lse[row] * kLog2e, p.delta[row * p.delta_stride],
                  ag_attn_row_end(p.d, limit, i)};
}

/* dS = P (dP - delta) in place in dp, P recomputed from the scores s of the
 * key tile at kv0. */
template <int C>
__device__ __forceinline__ void q_score_grads(float (&dp)[C / 8][4], const float (&s)[C / 8][4],
                                              const QueryRow (&rows)[2], int64_t kv0,
                                              float scale_log2) {
  const int t = (int)threadIdx.x % 4;
  for (int n = 0; n < C / 8; n++)
    for (int e = 0; e < 4; e++) {
      const QueryRow &r = rows[e / 2];
      const int64_t j = kv0 + n * 8 + 2 * t + e % 2;
      const float pr = j < r.key_end ? ag_exp2(s[n][e] * scale_log2 - r.lse2) : 0.0f;
      dp[n][e] = pr * (dp[n][e] - r.delta);
    }
}

template <class T, int W>
static __global__ void __launch_bounds__(kAttnThreads) attn_bwd_q(BwdParams<T> p) {
  using QTile = typename QSmem<T, W>::Tile;
  constexpr int C = BwdTraits<W>::cols;
  AG_DYNAMIC_SMEM(float4, smem);
  QSmem<T, W> &sm = *reinterpret_cast<QSmem<T, W> *>(smem);
  const ag_attn_dims &d = p.d;
  const int warp = (int)threadIdx.x / 32, g = (int)threadIdx.x % 32 / 4, dim = (int)d.dim;
  const int64_t bh = blockIdx.y, q0 = (int64_t)blockIdx.x * kRows, i0 = q0 + warp * 16 + g;
  const int64_t limit = ag_attn_key_limit(&d, p.kv_len, bh / d.heads);
  const QueryRow rows[2] = {query_row(p, bh, i0, limit), query_row(p, bh, i0 + 8, limit)};
  const int64_t block_last = (q0 + kRows < d.tq ? q0 + kRows : d.tq) - 1;
  const int64_t kv_end = ag_attn_row_end(d, limit, block_last); /* what any row sees */
  const float scale_log2 = d.scale * kLog2e;

  ag_attn_load_tile<QTile>(sm.q, p.q + bh * d.tq * dim, q0, d.tq, dim);
  ag_attn_load_tile<QTile>(sm.dout, p.dout + bh * d.tq * dim, q0, d.tq, dim);
  if (kv_end > 0)
    load_q_stage(sm.stage[0], p, bh, 0); /* commits Q and dO with it */
  else
    ag_cp_async_commit();
  float dq[W / 8][4];
  zero_acc(dq);
  for (int64_t kv0 = 0, j = 0; kv0 < kv_end; kv0 += C, j++) {
    ag_cp_async_wait<0>(); /* this thread's part of tile j */
    __syncthreads();       /* everyone's part; and stage j - 1 is no longer read */
    if (kv0 + C < kv_end) load_q_stage(sm.stage[(j + 1) % kStages], p, bh, kv0 + C);
    const QStage<T, W> &st = sm.stage[j % kStages];
    float s[C / 8][4], dp[C / 8][4];
    rows_times_rows<T, W, C>(s, sm.q, warp * 16, st.k, dim);
    rows_times_rows<T, W, C>(dp, sm.dout, warp * 16, st.v, dim);
    q_score_grads<C>(dp, s, rows, kv0, scale_log2);
    scores_times_tile<T, W, C, W>(dq, dp, st.k, 0, dim);
  }
  ag_cp_async_wait<0>(); /* Q and dO of a block that sees no key */
  /* Every lane of the warp has read its rows' delta (in dq) before any lane
   * overwrites them. */
  __syncwarp();
  store_acc<T, W>(p.dq + bh * d.tq * dim, q0 + warp * 16, d.tq, 0, dim, dq, d.scale);
}

/* ---- Launch ----------------------------------------------------------------- */

template <class T, int W>
constexpr size_t bwd_smem() {
  static_assert(sizeof(KvSmem<T, W>) <= kAttnSm80SmemLimit &&
                    sizeof(QSmem<T, W>) <= kAttnSm80SmemLimit,
                "a block fits sm_80's shared memory");
  return sizeof(KvSmem<T, W>) > sizeof(QSmem<T, W>) ? sizeof(KvSmem<T, W>) : sizeof(QSmem<T, W>);
}

template <class T, int W>
ag_status launch_bwd(const BwdParams<T> &p, void *stream) {
  const ag_attn_dims &d = p.d;
  const unsigned heads = (unsigned)(d.batch * d.heads);
  if (p.dq && d.tq > 0) {
    const int64_t rows = d.batch * d.heads * d.tq;
    AG_LAUNCH(attn_bwd_delta<T>, ag_cuda_blocks(rows, kAttnThreads), kAttnThreads, 0, stream, p,
              rows);
    AG_TRY(AG_LAUNCH_STATUS("attention_backward (delta)"));
  }
  if ((p.dk || p.dv) && d.tk > 0) {
    auto kernel = attn_bwd_kv<T, W>;
    const size_t smem = sizeof(KvSmem<T, W>);
    AG_TRY(ag_attn_allow_smem(kernel, smem, "attention_backward (dk, dv)"));
    const dim3 grid(ag_cuda_blocks(d.tk, kRows), heads, BwdTraits<W>::slices);
    AG_LAUNCH(kernel, grid, kAttnThreads, smem, stream, p);
    AG_TRY(AG_LAUNCH_STATUS("attention_backward (dk, dv)"));
  }
  if (p.dq && d.tq > 0) {
    auto kernel = attn_bwd_q<T, W>;
    const size_t smem = sizeof(QSmem<T, W>);
    AG_TRY(ag_attn_allow_smem(kernel, smem, "attention_backward (dq)"));
    const dim3 grid(ag_cuda_blocks(d.tq, kRows), heads);
    AG_LAUNCH(kernel, grid, kAttnThreads, smem, stream, p);
    AG_TRY(AG_LAUNCH_STATUS("attention_backward (dq)"));
  }
  return AG_OK;
}

template <class T>
ag_status run_bwd(const ag_attn_dims &d, const void *q, const void *k, const void *v,
                  const int32_t *kv_len, const void *o, const float *lse, const void *dout,
                  const float *dlse, void *dq, void *dk, void *dv, void *stream) {
  /* delta lives in the first 4 bytes of each dq row (dim * sizeof(T) >= 16). */
  const BwdParams<T> p = {d,
                          (const T *)q,
                          (const T *)k,
                          (const T *)v,
                          (const T *)o,
                          (const T *)dout,
                          kv_len,
                          lse,
                          dlse,
                          (float *)dq,
                          d.dim * (int64_t)sizeof(T) / (int64_t)sizeof(float),
                          (T *)dq,
                          (T *)dk,
                          (T *)dv};
  ag_status st = AG_OK;
  ag_attn_dispatch_width(d.dim, [&](auto w) { st = launch_bwd<T, decltype(w)::value>(p, stream); });
  return st;
}

} /* namespace */

size_t AG_CUDA_SYM(attention_mma_backward_smem)(ag_dtype dt, int64_t dim) {
  if ((dt != AG_F16 && dt != AG_BF16) || ag_attn_width(dim) == 0) return 0;
  size_t bytes = 0;
  /* f16 and bf16 tiles have the same size. */
  ag_attn_dispatch_width(dim, [&](auto w) { bytes = bwd_smem<__half, decltype(w)::value>(); });
  return bytes;
}

ag_status AG_CUDA_SYM(attention_mma_backward)(ag_dtype dt, const ag_attn_dims &d, const void *q,
                                              const void *k, const void *v, const int32_t *kv_len,
                                              const void *o, const float *lse, const void *dout,
                                              const float *dlse, void *dq, void *dk, void *dv,
                                              void *stream) {
  if (AG_CUDA_SYM(attention_mma_backward_smem)(dt, d.dim) == 0)
    return ag_set_error(AG_ERR_UNSUPPORTED,
                        "cuda kernel attention_backward: %s head dim %lld (16-bit: a multiple of "
                        "8 up to %d)",
                        ag_dtype_name(dt), (long long)d.dim, kAttnMaxDim);
  if (d.batch * d.heads == 0) return AG_OK;
  return dt == AG_F16
             ? run_bwd<__half>(d, q, k, v, kv_len, o, lse, dout, dlse, dq, dk, dv, stream)
             : run_bwd<__nv_bfloat16>(d, q, k, v, kv_len, o, lse, dout, dlse, dq, dk, dv, stream);
}
