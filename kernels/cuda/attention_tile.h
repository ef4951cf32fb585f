/* attention_tile.h - the building blocks the 16-bit flash-attention kernels
 * (attention_fwd.cu, attention_bwd.cu) share: shared-memory tiles, cp.async
 * tile loaders with zero-filled tails, mma.sync fragment loaders (ldmatrix),
 * the accumulator-to-operand conversion, quad reductions and key masks; and
 * the launchers attention.cu calls for f16 / bf16.
 *
 * Fragment layouts are those of ag_cuda_mma.h (g = lane / 4, t = lane % 4):
 * an m16n8 f32 accumulator c[4] holds rows g (c[0], c[1]) and g + 8 (c[2],
 * c[3]) at columns 2t, 2t + 1, so one row is spread over the 4 lanes of a
 * quad and its reductions are two xor-shuffles.
 *
 * Head dims: a kernel is instantiated for a tile width W (ag_attn_width);
 * any head dim that is a multiple of 8 up to 256 runs on the next width,
 * with the columns past the head dim zero-filled in shared memory (zeros add
 * nothing to Q K^T, and the padded output columns are never stored).
 *
 * Both the nvcc and the emulator builds of these files are linked into one
 * program, so everything here but the AG_CUDA_SYM launchers has internal
 * linkage (anonymous namespace). */
#ifndef AG_ATTENTION_TILE_H
#define AG_ATTENTION_TILE_H

#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_mma.h"
#include "kernels/common/ag_kernels.h"

#include <stddef.h>
#include <stdint.h>

#include <initializer_list>
#include <type_traits>

/* The f16 / bf16 forward (attention_fwd.cu) and backward (attention_bwd.cu)
 * for head dims with ag_attn_width(dim) != 0; the caller has checked the
 * dims (attention.cu: batch * heads within the grid, 16-byte aligned data).
 * They return the launch status. */
ag_status AG_CUDA_SYM(attention_mma_forward)(ag_dtype dt, const ag_attn_dims &d, const void *q,
                                             const void *k, const void *v, const int32_t *kv_len,
                                             void *o, float *lse, void *stream);
ag_status AG_CUDA_SYM(attention_mma_backward)(ag_dtype dt, const ag_attn_dims &d, const void *q,
                                              const void *k, const void *v, const int32_t *kv_len,
                                              const void *o, const float *lse, const void *dout,
                                              const float *dlse, void *dq, void *dk, void *dv,
                                              void *stream);
/* The largest dynamic shared memory per block (bytes) the forward or the
 * backward launches for this dtype and head dim; 0 when it cannot run them. */
size_t AG_CUDA_SYM(attention_mma_forward_smem)(ag_dtype dt, int64_t dim);
size_t AG_CUDA_SYM(attention_mma_backward_smem)(ag_dtype dt, int64_t dim);

/* Full unrolling of the loops over register arrays (fragments and
 * accumulators), which must stay in registers; the host compiler of the
 * emulated build has no such pragma and needs none. */
#ifdef AG_CUDA_EMU
#define AG_UNROLL
#else
#define AG_UNROLL _Pragma("unroll")
#endif

namespace {

constexpr int kAttnWarps = 4;
constexpr int kAttnThreads = 32 * kAttnWarps;
constexpr int kAttnMaxDim = 256;
/* The most dynamic shared memory a block may opt in to on sm_80, the oldest
 * architecture the kernels are built for (sm_90 allows 227 KB): every
 * instantiation must fit it, which the kernels' traits assert. */
constexpr size_t kAttnSm80SmemLimit = 163 * 1024;

/* The instantiated tile width a head dim runs on; 0 when none (dim not a
 * positive multiple of 8, or above kAttnMaxDim). */
inline int ag_attn_width(int64_t dim) {
  if (dim <= 0 || dim % 8 != 0 || dim > kAttnMaxDim) return 0;
  for (int w : {32, 64, 96, 128, 160})
    if (dim <= w) return w;
  return 256;
}

/* Calls f(std::integral_constant<int, W>{}) for W = ag_attn_width(dim),
 * which the caller has checked is not 0. */
template <class F>
void ag_attn_dispatch_width(int64_t dim, F &&f) {
  switch (ag_attn_width(dim)) {
    case 32:
      f(std::integral_constant<int, 32>{});
      break;
    case 64:
      f(std::integral_constant<int, 64>{});
      break;
    case 96:
      f(std::integral_constant<int, 96>{});
      break;
    case 128:
      f(std::integral_constant<int, 128>{});
      break;
    case 160:
      f(std::integral_constant<int, 160>{});
      break;
    default:
      f(std::integral_constant<int, 256>{});
      break;
  }
}

/* Opts a kernel in to `bytes` of dynamic shared memory (needed above 48 KB
 * on a GPU; the emulator allows up to its device limit without it). */
template <class K>
ag_status ag_attn_allow_smem(K kernel, size_t bytes, const char *what) {
#ifdef AG_CUDA_EMU
  (void)kernel;
  (void)bytes;
  (void)what;
  return AG_OK;
#else
  const cudaError_t err =
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
  if (err == cudaSuccess) return AG_OK;
  return ag_set_error(AG_ERR_DEVICE, "cuda kernel %s: %zu bytes of shared memory refused: %s", what,
                      bytes, cudaGetErrorString(err));
#endif
}

/* A ROWS x W tile of 16-bit elements in shared memory. Rows are padded by 8
 * elements: a row is then an odd multiple of 16 bytes, so the 8 rows one
 * ldmatrix matrix reads start in the 8 different 16-byte groups of the 32
 * banks, and ldmatrix and the cp.async stores are free of bank conflicts. */
template <class T, int ROWS, int W>
struct AttnTile {
  static_assert(sizeof(T) == 2, "mma tiles hold 16-bit elements");
  static_assert(W % 16 == 0 && ROWS % 16 == 0, "tiles are whole 16 x 16 fragments");
  static constexpr int rows = ROWS;
  static constexpr int width = W;
  static constexpr int ld = W + 8;        /* elements per shared row */
  static constexpr int elems = ROWS * ld; /* elements of the tile */
  static constexpr size_t bytes = (size_t)elems * sizeof(T);
};

/* Starts copying rows [row0, row0 + ROWS) of g (an [n, dim] row-major matrix,
 * dim a multiple of 8 and at most W) into the tile s; rows at or past n and
 * columns at or past dim are zero-filled. Every thread of the block calls it
 * (NT threads); each then commits its own group (ag_cp_async_commit), and the
 * tile may be read after ag_cp_async_wait and a barrier. */
template <class Tile, int NT = kAttnThreads, class T>
__device__ __forceinline__ void ag_attn_load_tile(T *s, const T *g, int64_t row0, int64_t n,
                                                  int dim) {
  constexpr int chunks = Tile::width / 8; /* 16-byte chunks of a row */
  for (int idx = (int)threadIdx.x; idx < Tile::rows * chunks; idx += NT) {
    const int r = idx / chunks, c = idx % chunks * 8;
    const bool valid = row0 + r < n && c < dim;
    /* An invalid copy reads nothing; g itself stands in as its source. */
    const T *src = valid ? g + (row0 + r) * dim + c : g;
    ag_cp_async_16(s + r * Tile::ld + c, src, valid);
  }
}

/* A (16 x 16, row major) = X[r0 .. r0 + 16)[c0 .. c0 + 16) of a tile with
 * leading dim ld. */
template <class T>
__device__ __forceinline__ void ag_attn_load_a(uint32_t (&a)[4], const T *x, int ld, int r0,
                                               int c0) {
  const int lane = (int)threadIdx.x % 32, m = lane / 8;
  ag_ldmatrix_x4(a, x + (r0 + (m % 2) * 8 + lane % 8) * ld + c0 + (m / 2) * 8);
}

/* A (16 x 16) with A[i][k] = X[r0 + k][c0 + i]: the transpose of a tile
 * block, e.g. P^T from a stored P. */
template <class T>
__device__ __forceinline__ void ag_attn_load_a_trans(uint32_t (&a)[4], const T *x, int ld, int r0,
                                                     int c0) {
  const int lane = (int)threadIdx.x % 32, m = lane / 8;
  ag_ldmatrix_x4_trans(a, x + (r0 + (m / 2) * 8 + lane % 8) * ld + c0 + (m % 2) * 8);
}

/* B fragments of two adjacent n8 tiles (16 x 16, k x n) with
 * B[k][j] = X[n0 + j][k0 + k]: X's rows are the n index, as K's rows are
 * for S = Q K^T. b[0] covers columns n0 .. n0 + 8, b[1] n0 + 8 .. n0 + 16. */
template <class T>
__device__ __forceinline__ void ag_attn_load_b_rows(uint32_t (&b)[2][2], const T *x, int ld, int n0,
                                                    int k0) {
  const int lane = (int)threadIdx.x % 32, m = lane / 8;
  uint32_t r[4];
  ag_ldmatrix_x4(r, x + (n0 + (m / 2) * 8 + lane % 8) * ld + k0 + (m % 2) * 8);
  b[0][0] = r[0];
  b[0][1] = r[1];
  b[1][0] = r[2];
  b[1][1] = r[3];
}

/* B fragments of two adjacent n8 tiles with B[k][j] = X[k0 + k][n0 + j]:
 * X's rows are the k index, as V's rows are for O = P V (.trans ldmatrix).
 * b[0] covers columns n0 .. n0 + 8, b[1] n0 + 8 .. n0 + 16. */
template <class T>
__device__ __forceinline__ void ag_attn_load_b_cols(uint32_t (&b)[2][2], const T *x, int ld, int k0,
                                                    int n0) {
  const int lane = (int)threadIdx.x % 32, m = lane / 8;
  uint32_t r[4];
  ag_ldmatrix_x4_trans(r, x + (k0 + (m % 2) * 8 + lane % 8) * ld + n0 + (m / 2) * 8);
  b[0][0] = r[0];
  b[0][1] = r[1];
  b[1][0] = r[2];
  b[1][1] = r[3];
}

/* The A operand (16 x 16) made of two adjacent m16n8 accumulators, lo for
 * columns 0 .. 8 and hi for 8 .. 16, rounded to T: a C fragment's rows g,
 * g + 8 and columns 2t, 2t + 1 are exactly where an A fragment keeps them. */
template <class T>
__device__ __forceinline__ void ag_attn_acc_to_a(uint32_t (&a)[4], const float (&lo)[4],
                                                 const float (&hi)[4]) {
  a[0] = ag_mma_pack<T>(lo[0], lo[1]);
  a[1] = ag_mma_pack<T>(lo[2], lo[3]);
  a[2] = ag_mma_pack<T>(hi[0], hi[1]);
  a[3] = ag_mma_pack<T>(hi[2], hi[3]);
}

/* The max and the sum of a row over the 4 lanes of its quad; every lane of
 * the warp calls them together. */
__device__ __forceinline__ float ag_attn_quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float ag_attn_quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

/* One past the last key query i sees: its causal end clamped to the key
 * limit (ag_attn_key_limit); at most 0 when it sees none. */
__device__ __forceinline__ int64_t ag_attn_row_end(const ag_attn_dims &d, int64_t limit,
                                                   int64_t i) {
  const int64_t end = ag_attn_causal_end(&d, i);
  return end < limit ? end : limit;
}

/* Sets to -inf the entries of an m16n8 accumulator whose column is at or
 * past its row's end; col0 is the column of the tile's first entry,
 * end_lo / end_hi the ends of rows g and g + 8. */
__device__ __forceinline__ void ag_attn_mask_cols(float (&c)[4], int64_t col0, int64_t end_lo,
                                                  int64_t end_hi) {
  const int64_t col = col0 + 2 * ((int)threadIdx.x % 4);
  if (col >= end_lo) c[0] = -INFINITY;
  if (col + 1 >= end_lo) c[1] = -INFINITY;
  if (col >= end_hi) c[2] = -INFINITY;
  if (col + 1 >= end_hi) c[3] = -INFINITY;
}

} /* namespace */

#endif
