/* The f16 / bf16 flash-attention forward (FlashAttention-2) on mma.sync
 * m16n8k16, ldmatrix and cp.async (building blocks in attention_tile.h).
 *
 * A block of 4 warps owns FwdTraits::rows query rows, each warp 16 or 32 of
 * them (m_tiles m16 tiles), and streams tiles of `keys` keys of K and V
 * through a two-stage shared-memory ring. Everything per row stays in
 * registers: the warp's Q fragments (loaded once), the score accumulators
 * S = Q K^T, the online softmax (scale * log2(e) folded into the scores so
 * probabilities are ag_exp2; row max and sum over the quad owning a row), P
 * (the score accumulators rounded in place into the A operand of P V) and
 * the output accumulators, rescaled by exp2(m_old - m_new) per tile.
 *
 * One barrier per key tile: iteration j waits for its own copies of tile j
 * (the only group in flight) and passes a __syncthreads(), after which every
 * thread's part of tile j is visible and every warp has finished tile j - 1;
 * only then is tile j + 1 issued, into the stage tile j - 1 used, and it
 * lands while tile j is computed.
 *
 * Masks: key tiles past the last key any row of the block sees (causal end,
 * kv_len) are not loaded; a warp skips the tiles none of its rows sees and
 * masks scores (-inf) only in tiles that cross one of its rows' ends. Rows
 * and columns past Tq, Tk and the head dim are zero-filled by the loads. A
 * row that sees no key gets o = 0 and lse = +inf, as the CPU kernel writes. */
#include "attention_tile.h"

#include <string.h>

namespace {

/* Per tile width W: 32 query rows per warp (128 per block) where the
 * accumulators fit in registers next to the Q fragments, else 16; 64-key
 * tiles, 32 past W = 128, where Q is also read from shared memory per tile
 * instead of being held in registers. Two m tiles per warp halve the K / V
 * fragment loads per mma; ptxas (CUDA 13, sm_80) gives 178 and 236
 * registers at W = 32, 64, but 255 and spills at W = 96, 128, which take 168
 * and 178 with one m tile; W = 160, 256 take 160 and 210. No spills.
 *
 * Shared memory: `stages` stages of (K tile, V tile). Held in registers, Q is
 * loaded through stage 1 (free until tile 1 is issued) and needs no space of
 * its own; else it has its own tile in front of the stages. */
template <class T, int W>
struct FwdTraits {
  static constexpr int m_tiles = W <= 64 ? 2 : 1;
  static constexpr int rows = 16 * m_tiles * kAttnWarps;
  static constexpr int keys = W <= 128 ? 64 : 32;
  static constexpr bool q_in_regs = W <= 128;
  static constexpr int stages = 2;
  using QTile = AttnTile<T, rows, W>;
  using KvTile = AttnTile<T, keys, W>;
  static constexpr int stage_elems = 2 * KvTile::elems;
  static_assert(QTile::elems <= stage_elems, "Q and the output rows fit in one stage");
  static constexpr int q_elems = q_in_regs ? 0 : QTile::elems;
  static constexpr size_t smem = (size_t)(q_elems + stages * stage_elems) * sizeof(T);
  static_assert(smem <= kAttnSm80SmemLimit, "a block fits sm_80's shared memory");
};

/* The per-thread state of the warp's query rows: for m tile mt, row half h
 * (rows g and g + 8), the running max (log2 units), this lane's part of the
 * running sum and the output accumulators of its columns. */
template <class P, int W>
struct FwdRows {
  float m[P::m_tiles][2], l[P::m_tiles][2];
  float acc[P::m_tiles][W / 8][4];
};

/* s += Q_w K^T for the warp's rows against one key tile; only the first dim
 * columns are nonzero, so k steps past it are skipped. */
template <class T, class P, int W>
__device__ __forceinline__ void tile_scores(float (&s)[P::m_tiles][P::keys / 8][4],
                                            const uint32_t (&qf)[P::m_tiles][W / 16][4],
                                            const T *qw, const T *ks, int dim) {
  AG_UNROLL
  for (int kk = 0; kk < W / 16; kk++) {
    if (kk * 16 >= dim) break;
    uint32_t a[P::m_tiles][4];
    AG_UNROLL
    for (int mt = 0; mt < P::m_tiles; mt++) {
      if constexpr (P::q_in_regs) {
        AG_UNROLL
        for (int e = 0; e < 4; e++) a[mt][e] = qf[mt][kk][e];
      } else {
        ag_attn_load_a(a[mt], qw, P::QTile::ld, mt * 16, kk * 16);
      }
    }
    AG_UNROLL
    for (int n = 0; n < P::keys / 16; n++) {
      uint32_t b[2][2];
      ag_attn_load_b_rows(b, ks, P::KvTile::ld, n * 16, kk * 16);
      AG_UNROLL
      for (int mt = 0; mt < P::m_tiles; mt++) {
        ag_mma_16816<T>(s[mt][2 * n], a[mt], b[0]);
        ag_mma_16816<T>(s[mt][2 * n + 1], a[mt], b[1]);
      }
    }
  }
}

/* Scales the scores to log2 units, masks the columns past each row's end
 * (when `mask`), and turns them into probabilities exp2(x - m_new) in place,
 * updating the running max and sum and rescaling the accumulators. */
template <class P, int W>
__device__ __forceinline__ void online_softmax(float (&s)[P::m_tiles][P::keys / 8][4],
                                               FwdRows<P, W> &rows, float scale_log2, bool mask,
                                               int64_t kv0, const int64_t (&end)[P::m_tiles][2]) {
  AG_UNROLL
  for (int mt = 0; mt < P::m_tiles; mt++) {
    AG_UNROLL
    for (int n = 0; n < P::keys / 8; n++) {
      AG_UNROLL
      for (int e = 0; e < 4; e++) s[mt][n][e] *= scale_log2;
      if (mask) ag_attn_mask_cols(s[mt][n], kv0 + 8 * n, end[mt][0], end[mt][1]);
    }
    AG_UNROLL
    for (int h = 0; h < 2; h++) {
      float mx = -INFINITY;
      AG_UNROLL
      for (int n = 0; n < P::keys / 8; n++)
        mx = fmaxf(mx, fmaxf(s[mt][n][2 * h], s[mt][n][2 * h + 1]));
      const float m_new = fmaxf(rows.m[mt][h], ag_attn_quad_max(mx));
      /* No visible key yet: every p is exp2(-inf) = 0 whatever m_use is. */
      const float m_use = m_new == -INFINITY ? 0.0f : m_new;
      const float alpha = ag_exp2(rows.m[mt][h] - m_use);
      float sum = 0.0f;
      AG_UNROLL
      for (int n = 0; n < P::keys / 8; n++) {
        s[mt][n][2 * h] = ag_exp2(s[mt][n][2 * h] - m_use);
        s[mt][n][2 * h + 1] = ag_exp2(s[mt][n][2 * h + 1] - m_use);
        sum += s[mt][n][2 * h] + s[mt][n][2 * h + 1];
      }
      /* alpha is the same on the 4 lanes of the quad, so each lane keeps
       * its own part of the sum and they are added once, at the end. */
      rows.l[mt][h] = rows.l[mt][h] * alpha + sum;
      rows.m[mt][h] = m_new;
      AG_UNROLL
      for (int n = 0; n < W / 8; n++) {
        rows.acc[mt][n][2 * h] *= alpha;
        rows.acc[mt][n][2 * h + 1] *= alpha;
      }
    }
  }
}

/* acc += P V for one key tile, P taken from the probability accumulators;
 * n tiles past the head dim stay zero and are skipped. */
template <class T, class P, int W>
__device__ __forceinline__ void accumulate_pv(FwdRows<P, W> &rows,
                                              const float (&s)[P::m_tiles][P::keys / 8][4],
                                              const T *vs, int dim) {
  AG_UNROLL
  for (int kk = 0; kk < P::keys / 16; kk++) {
    uint32_t a[P::m_tiles][4];
    AG_UNROLL
    for (int mt = 0; mt < P::m_tiles; mt++)
      ag_attn_acc_to_a<T>(a[mt], s[mt][2 * kk], s[mt][2 * kk + 1]);
    AG_UNROLL
    for (int n = 0; n < W / 16; n++) {
      if (n * 16 >= dim) break;
      uint32_t b[2][2];
      ag_attn_load_b_cols(b, vs, P::KvTile::ld, kk * 16, n * 16);
      AG_UNROLL
      for (int mt = 0; mt < P::m_tiles; mt++) {
        ag_mma_16816<T>(rows.acc[mt][2 * n], a[mt], b[0]);
        ag_mma_16816<T>(rows.acc[mt][2 * n + 1], a[mt], b[1]);
      }
    }
  }
}

/* Writes the warp's rows: lse (natural log) and o = acc / l, staged through
 * the warp's own rows of the Q tile (qw) so global stores are 16-byte
 * vectors. row0 is the warp's first query row. */
template <class T, class P, int W>
__device__ __forceinline__ void store_rows(FwdRows<P, W> &rows, T *qw, T *o, float *lse,
                                           int64_t row0, int64_t tq, int dim) {
  constexpr float kLn2 = 0.69314718056f;
  const int lane = (int)threadIdx.x % 32, g = lane / 4, t = lane % 4;
  __syncwarp(); /* the warp's last reads of qw (ldmatrix) come before these writes */
  AG_UNROLL
  for (int mt = 0; mt < P::m_tiles; mt++) {
    AG_UNROLL
    for (int h = 0; h < 2; h++) {
      const float l = ag_attn_quad_sum(rows.l[mt][h]);
      const int r = mt * 16 + h * 8 + g;
      if (t == 0 && row0 + r < tq)
        lse[row0 + r] = l > 0.0f ? (rows.m[mt][h] + log2f(l)) * kLn2 : INFINITY;
      const float inv = l > 0.0f ? 1.0f / l : 0.0f;
      AG_UNROLL
      for (int n = 0; n < W / 8; n++) {
        const uint32_t pair =
            ag_mma_pack<T>(rows.acc[mt][n][2 * h] * inv, rows.acc[mt][n][2 * h + 1] * inv);
        memcpy(static_cast<void *>(qw + r * P::QTile::ld + n * 8 + 2 * t), &pair, sizeof pair);
      }
    }
  }
  __syncwarp();
  constexpr int chunks = W / 8;
  for (int idx = lane; idx < 16 * P::m_tiles * chunks; idx += 32) {
    const int r = idx / chunks, c = idx % chunks * 8;
    if (row0 + r < tq && c < dim)
      *reinterpret_cast<uint4 *>(o + (row0 + r) * dim + c) =
          *reinterpret_cast<const uint4 *>(qw + r * P::QTile::ld + c);
  }
}

template <class T, int W>
static __global__ void __launch_bounds__(kAttnThreads)
    attn_fwd_mma(ag_attn_dims d, const T *q, const T *k, const T *v, const int32_t *kv_len, T *o,
                 float *lse) {
  using P = FwdTraits<T, W>;
  constexpr float kLog2e = 1.44269504089f;
  AG_DYNAMIC_SMEM(float4, smem);
  /* Stage st: its K tile at kv + st * stage_elems, its V tile right after. */
  T *kv = reinterpret_cast<T *>(smem) + P::q_elems;
  T *qs = P::q_in_regs ? kv + P::stage_elems : reinterpret_cast<T *>(smem);

  const int warp = (int)threadIdx.x / 32, g = (int)threadIdx.x % 32 / 4;
  const int dim = (int)d.dim;
  const int64_t bh = blockIdx.y, q0 = (int64_t)blockIdx.x * P::rows;
  q += bh * d.tq * dim;
  k += bh * d.tk * dim;
  v += bh * d.tk * dim;
  o += bh * d.tq * dim;
  lse += bh * d.tq;
  const int64_t limit = ag_attn_key_limit(&d, kv_len, bh / d.heads);
  const int64_t block_last = (q0 + P::rows < d.tq ? q0 + P::rows : d.tq) - 1;
  const int64_t kv_end = ag_attn_row_end(d, limit, block_last);
  const int n_tiles = kv_end > 0 ? (int)((kv_end + P::keys - 1) / P::keys) : 0;

  /* The warp's rows [w0, w0 + 16 m_tiles): tiles from warp_full on need the
   * mask (its first row's end), tiles from warp_end on are skipped (its last
   * row's end; 0 when all its rows are past Tq). */
  const int wr = warp * 16 * P::m_tiles;
  const int64_t w0 = q0 + wr;
  const int64_t w_last = (w0 + 16 * P::m_tiles < d.tq ? w0 + 16 * P::m_tiles : d.tq) - 1;
  const int64_t warp_full = ag_attn_row_end(d, limit, w0);
  const int64_t warp_end = w0 < d.tq ? ag_attn_row_end(d, limit, w_last) : 0;
  int64_t end[P::m_tiles][2];
  FwdRows<P, W> rows = {};
  AG_UNROLL
  for (int mt = 0; mt < P::m_tiles; mt++) {
    AG_UNROLL
    for (int h = 0; h < 2; h++) {
      end[mt][h] = ag_attn_row_end(d, limit, w0 + mt * 16 + h * 8 + g);
      rows.m[mt][h] = -INFINITY;
    }
  }
  uint32_t qf[P::m_tiles][W / 16][4];
  const T *qw = qs + wr * P::QTile::ld;

  if (n_tiles > 0) {
    ag_attn_load_tile<typename P::QTile>(qs, q, q0, d.tq, dim);
    ag_attn_load_tile<typename P::KvTile>(kv, k, 0, d.tk, dim);
    ag_attn_load_tile<typename P::KvTile>(kv + P::KvTile::elems, v, 0, d.tk, dim);
    ag_cp_async_commit();
    ag_cp_async_wait<0>();
    __syncthreads();
    if constexpr (P::q_in_regs) {
      AG_UNROLL
      for (int mt = 0; mt < P::m_tiles; mt++) {
        AG_UNROLL
        for (int kk = 0; kk < W / 16; kk++)
          ag_attn_load_a(qf[mt][kk], qw, P::QTile::ld, mt * 16, kk * 16);
      }
      __syncthreads(); /* Q's stage is free: tile 1 may overwrite it */
    }
  }
  const float scale_log2 = d.scale * kLog2e;
  for (int j = 0; j < n_tiles; j++) {
    if (j > 0) {
      ag_cp_async_wait<0>(); /* this thread's part of tile j */
      __syncthreads();       /* everyone's part; and tile j - 1 is no longer read */
    }
    if (j + 1 < n_tiles) {
      T *next = kv + (j + 1) % P::stages * P::stage_elems;
      const int64_t kv_next = (int64_t)(j + 1) * P::keys;
      ag_attn_load_tile<typename P::KvTile>(next, k, kv_next, d.tk, dim);
      ag_attn_load_tile<typename P::KvTile>(next + P::KvTile::elems, v, kv_next, d.tk, dim);
      ag_cp_async_commit();
    }
    const int64_t kv0 = (int64_t)j * P::keys;
    if (kv0 >= warp_end) continue; /* warp-uniform: no row of this warp sees the tile */
    const T *stage = kv + j % P::stages * P::stage_elems;
    float s[P::m_tiles][P::keys / 8][4] = {};
    tile_scores<T, P, W>(s, qf, qw, stage, dim);
    online_softmax<P, W>(s, rows, scale_log2, kv0 + P::keys > warp_full, kv0, end);
    accumulate_pv<T, P, W>(rows, s, stage + P::KvTile::elems, dim);
  }
  /* The output is staged in the warp's own rows of a region no other warp
   * touches any more: its Q rows, or with Q in registers the stage the
   * last tile did not use (its tile, two back or Q itself, was read before
   * the last barrier; nothing was issued into it since). */
  T *ostage = P::q_in_regs ? kv + n_tiles % P::stages * P::stage_elems : qs;
  store_rows<T, P, W>(rows, ostage + wr * P::QTile::ld, o, lse, w0, d.tq, dim);
}

template <class T, int W>
ag_status launch_fwd(const ag_attn_dims &d, const void *q, const void *k, const void *v,
                     const int32_t *kv_len, void *o, float *lse, void *stream) {
  using P = FwdTraits<T, W>;
  auto kernel = attn_fwd_mma<T, W>;
  AG_TRY(ag_attn_allow_smem(kernel, P::smem, "attention_forward"));
  const dim3 grid(ag_cuda_blocks(d.tq, P::rows), (unsigned)(d.batch * d.heads));
  AG_LAUNCH(kernel, grid, kAttnThreads, P::smem, stream, d, (const T *)q, (const T *)k,
            (const T *)v, kv_len, (T *)o, lse);
  return AG_LAUNCH_STATUS("attention_forward");
}

} /* namespace */

size_t AG_CUDA_SYM(attention_mma_forward_smem)(ag_dtype dt, int64_t dim) {
  if ((dt != AG_F16 && dt != AG_BF16) || ag_attn_width(dim) == 0) return 0;
  size_t bytes = 0;
  /* f16 and bf16 tiles have the same size. */
  ag_attn_dispatch_width(dim, [&](auto w) { bytes = FwdTraits<__half, decltype(w)::value>::smem; });
  return bytes;
}

ag_status AG_CUDA_SYM(attention_mma_forward)(ag_dtype dt, const ag_attn_dims &d, const void *q,
                                             const void *k, const void *v, const int32_t *kv_len,
                                             void *o, float *lse, void *stream) {
  if (ag_attn_width(d.dim) == 0)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel attention_forward: head dim %lld",
                        (long long)d.dim);
  ag_status st = AG_OK;
  ag_attn_dispatch_width(d.dim, [&](auto w) {
    constexpr int W = decltype(w)::value;
    st = dt == AG_F16    ? launch_fwd<__half, W>(d, q, k, v, kv_len, o, lse, stream)
         : dt == AG_BF16 ? launch_fwd<__nv_bfloat16, W>(d, q, k, v, kv_len, o, lse, stream)
                         : ag_set_error(AG_ERR_UNSUPPORTED,
                                        "cuda kernel attention_forward: dtype %s is not supported",
                                        ag_dtype_name(dt));
  });
  return st;
}
