/* mma_selftest.cu - kernels that exercise the tensor-core wrappers of
 * kernels/cuda/ag_cuda_mma.h (mma.sync m16n8k16, ldmatrix, cp.async, exp2).
 * Built by nvcc (ag_cuda_mma_selftest_*) and by the emulator
 * (ag_emu_mma_selftest_*); test_emu_mma.cpp compares the emulated results
 * with CPU references, test_mma_gpu.cpp the real ones with the emulated.
 * Shared memory is the launch's dynamic buffer (16-byte aligned on both)
 * except in the ldmatrix kernel, which uses a static __shared__ array. */
#include "kernels/cuda/ag_cuda.h"
#include "kernels/cuda/ag_cuda_mma.h"
#include "tests/cuda_emu/mma_selftest.h"

/* ---- one mma from shared-memory operands ------------------------------------ */

/* Two adjacent 16-bit elements, the first in the low half. */
static __device__ uint32_t pair(uint16_t lo, uint16_t hi) {
  return (uint32_t)lo | (uint32_t)hi << 16;
}

static __device__ void copy_to_shared(uint16_t *dst, const uint16_t *src, int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) dst[i] = src[i];
}

/* The fragments read element by element per the layouts in ag_cuda_mma.h;
 * `swap` exchanges rows g and g + 8 of A, a deliberately wrong mapping. */
static __device__ void fragments_by_hand(const uint16_t *sa, const uint16_t *sb, bool swap,
                                         uint32_t (&fa)[4], uint32_t (&fb)[2]) {
  const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
  const int r0 = swap ? g + 8 : g, r1 = swap ? g : g + 8;
  fa[0] = pair(sa[r0 * 16 + 2 * t], sa[r0 * 16 + 2 * t + 1]);
  fa[1] = pair(sa[r1 * 16 + 2 * t], sa[r1 * 16 + 2 * t + 1]);
  fa[2] = pair(sa[r0 * 16 + 2 * t + 8], sa[r0 * 16 + 2 * t + 9]);
  fa[3] = pair(sa[r1 * 16 + 2 * t + 8], sa[r1 * 16 + 2 * t + 9]);
  fb[0] = pair(sb[(2 * t) * 8 + g], sb[(2 * t + 1) * 8 + g]);
  fb[1] = pair(sb[(2 * t + 8) * 8 + g], sb[(2 * t + 9) * 8 + g]);
}

template <class T>
static __global__ void mma_kernel(const uint16_t *a, const uint16_t *b, const float *c, float *d,
                                  int how) {
  AG_DYNAMIC_SMEM(uint16_t, smem);
  uint16_t *sa = smem, *sb = smem + 16 * 16;
  copy_to_shared(sa, a, 16 * 16);
  copy_to_shared(sb, b, 16 * 8);
  __syncthreads();
  const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
  uint32_t fa[4], fb[2];
  if (how == AG_MMA_LDMATRIX) {
    ag_ldmatrix_x4(fa, sa + (lane % 16) * 16 + 8 * (lane / 16));
    ag_ldmatrix_x2_trans(fb, sb + (lane % 16) * 8);
  } else {
    fragments_by_hand(sa, sb, how == AG_MMA_ROWS_SWAPPED, fa, fb);
  }
  const int lo = g * 8 + 2 * t, hi = (g + 8) * 8 + 2 * t;
  float acc[4] = {c[lo], c[lo + 1], c[hi], c[hi + 1]};
  ag_mma_16816<T>(acc, fa, fb);
  d[lo] = acc[0];
  d[lo + 1] = acc[1];
  d[hi] = acc[2];
  d[hi + 1] = acc[3];
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_mma)(const uint16_t *a, const uint16_t *b,
                                                   const float *c, float *d, int bf16, int how,
                                                   void *stream) {
  const size_t smem = (16 * 16 + 16 * 8) * sizeof(uint16_t);
  if (bf16)
    AG_LAUNCH(mma_kernel<__nv_bfloat16>, 1, 32, smem, stream, a, b, c, d, how);
  else
    AG_LAUNCH(mma_kernel<__half>, 1, 32, smem, stream, a, b, c, d, how);
  return AG_LAUNCH_STATUS("mma_selftest_mma");
}

/* ---- every ldmatrix form --------------------------------------------------- */

template <int N>
static __device__ void store_registers(uint32_t *out, const uint32_t (&r)[N]) {
  for (int m = 0; m < 4; m++) out[4 * threadIdx.x + m] = m < N ? r[m] : 0u;
}

static __global__ void ldmatrix_kernel(const uint16_t *src, const int *perm, uint32_t *out,
                                       int count, int trans) {
  /* Static shared memory here, dynamic in the other kernels: ldmatrix takes
   * either. */
  __shared__ __align__(16) uint16_t rows[32 * 8];
  copy_to_shared(rows, src, 32 * 8);
  __syncthreads();
  const int lane = threadIdx.x;
  const void *row = lane < 8 * count ? rows + 8 * perm[lane] : nullptr;
  if (count == 1) {
    uint32_t r[1];
    if (trans)
      ag_ldmatrix_x1_trans(r, row);
    else
      ag_ldmatrix_x1(r, row);
    store_registers(out, r);
  } else if (count == 2) {
    uint32_t r[2];
    if (trans)
      ag_ldmatrix_x2_trans(r, row);
    else
      ag_ldmatrix_x2(r, row);
    store_registers(out, r);
  } else {
    uint32_t r[4];
    if (trans)
      ag_ldmatrix_x4_trans(r, row);
    else
      ag_ldmatrix_x4(r, row);
    store_registers(out, r);
  }
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_ldmatrix)(const uint16_t *src, const int *perm,
                                                        uint32_t *out, int count, int trans,
                                                        void *stream) {
  AG_LAUNCH(ldmatrix_kernel, 1, 32, 0, stream, src, perm, out, count, trans);
  return AG_LAUNCH_STATUS("mma_selftest_ldmatrix");
}

/* ---- a 64 x 64 x 64 tile product ---------------------------------------------- */

#define TILE64 64
#define TILE64_THREADS 128

/* Starts copying a 64 x 64 16-bit tile to shared memory, 16 bytes a copy. */
static __device__ void tile_to_shared_async(uint16_t *dst, const uint16_t *src) {
  for (int c = threadIdx.x; c < TILE64 * TILE64 / 8; c += TILE64_THREADS)
    ag_cp_async_16(dst + 8 * c, src + 8 * c, true);
  ag_cp_async_commit();
}

template <class T>
static __global__ void tile64_kernel(const uint16_t *a, const uint16_t *b, float *d) {
  AG_DYNAMIC_SMEM(uint16_t, smem);
  uint16_t *sa = smem, *sb = smem + TILE64 * TILE64;
  tile_to_shared_async(sa, a);
  tile_to_shared_async(sb, b);
  ag_cp_async_wait<0>();
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int row0 = 16 * warp;
  float acc[TILE64 / 8][4] = {};
  for (int k0 = 0; k0 < TILE64; k0 += 16) {
    uint32_t fa[4];
    ag_ldmatrix_x4(fa, sa + (row0 + lane % 16) * TILE64 + k0 + 8 * (lane / 16));
    for (int n0 = 0; n0 < TILE64; n0 += 16) {
      /* Two n-tiles of B at once: matrices (k0-7, n0), (k8-15, n0), (k0-7, n0+8), (k8-15, n0+8). */
      uint32_t fb[4];
      ag_ldmatrix_x4_trans(fb, sb + (k0 + lane % 16) * TILE64 + n0 + 8 * (lane / 16));
      const uint32_t b0[2] = {fb[0], fb[1]}, b1[2] = {fb[2], fb[3]};
      ag_mma_16816<T>(acc[n0 / 8], fa, b0);
      ag_mma_16816<T>(acc[n0 / 8 + 1], fa, b1);
    }
  }
  for (int j = 0; j < TILE64 / 8; j++) {
    float *lo = d + (row0 + g) * TILE64 + 8 * j + 2 * t, *hi = lo + 8 * TILE64;
    lo[0] = acc[j][0];
    lo[1] = acc[j][1];
    hi[0] = acc[j][2];
    hi[1] = acc[j][3];
  }
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_tile64)(const uint16_t *a, const uint16_t *b,
                                                      float *d, int bf16, void *stream) {
  const size_t smem = 2 * TILE64 * TILE64 * sizeof(uint16_t);
  if (bf16)
    AG_LAUNCH(tile64_kernel<__nv_bfloat16>, 1, TILE64_THREADS, smem, stream, a, b, d);
  else
    AG_LAUNCH(tile64_kernel<__half>, 1, TILE64_THREADS, smem, stream, a, b, d);
  return AG_LAUNCH_STATUS("mma_selftest_tile64");
}

/* ---- cp.async groups ------------------------------------------------------------ */

static __device__ void copy4(float *dst, const float *src) {
  for (int i = 0; i < 4; i++) dst[i] = src[i];
}

/* Two groups: X then Y; wait<1> must land X only. */
static __device__ void cp_async_two_groups(const float *src, float *out, float *x, float *y,
                                           bool peek) {
  const int tid = threadIdx.x;
  /* Zeros that the copy must replace: with the peek, what the emulator shows
   * of a copy in flight, not what was there before. */
  for (int i = 0; i < 4; i++) y[4 * tid + i] = 0.0f;
  ag_cp_async_16(y + 4 * tid, src + 128 + 4 * tid, true);
  ag_cp_async_commit();
  ag_cp_async_wait<1>();
  copy4(out + 4 * tid, x + 4 * tid);
  if (peek) copy4(out + 128 + 4 * tid, y + 4 * tid);
  ag_cp_async_wait<0>();
  if (!peek) copy4(out + 128 + 4 * tid, y + 4 * tid);
}

static __global__ void cp_async_kernel(const float *src, float *out, int mode) {
  /* Named apart: nvcc's dynamic shared arrays of one name share one type. */
  AG_DYNAMIC_SMEM(float, smem_f);
  float *x = smem_f, *y = smem_f + 128;
  const int tid = threadIdx.x;
  ag_cp_async_16(x + 4 * tid, src + 4 * tid, mode != AG_CP_ZERO_FILL || tid % 2 == 0);
  ag_cp_async_commit();
  if (mode == AG_CP_TWO_GROUPS || mode == AG_CP_PEEK) {
    cp_async_two_groups(src, out, x, y, mode == AG_CP_PEEK);
    return;
  }
  if (mode != AG_CP_NO_WAIT) ag_cp_async_wait<0>();
  __syncthreads();
  copy4(out + 4 * tid, x + 4 * ((tid + 1) % 32));
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_cp_async)(const float *src, float *out, int mode,
                                                        void *stream) {
  AG_LAUNCH(cp_async_kernel, 1, 32, 256 * sizeof(float), stream, src, out, mode);
  return AG_LAUNCH_STATUS("mma_selftest_cp_async");
}

/* ---- misuse the emulator must report ------------------------------------------- */

static __global__ void misuse_kernel(int misuse, uint16_t *buf) {
  AG_DYNAMIC_SMEM(uint16_t, smem);
  const int lane = threadIdx.x % 32;
  uint32_t fa[4] = {}, fb[2] = {}, r[4] = {};
  float acc[4] = {};
  switch (misuse) {
    case AG_MISUSE_DIVERGENT_MMA:
      if (lane < 16) ag_mma_16816<__half>(acc, fa, fb);
      break;
    case AG_MISUSE_SPLIT_MMA:
      if (lane < 16)
        ag_mma_16816<__half>(acc, fa, fb);
      else
        ag_mma_16816<__half>(acc, fa, fb);
      break;
    case AG_MISUSE_LDMATRIX_UNALIGNED:
      ag_ldmatrix_x4(r, smem + 8 * lane + 4);
      break;
    case AG_MISUSE_LDMATRIX_GLOBAL:
      ag_ldmatrix_x4(r, buf + 8 * lane);
      break;
    case AG_MISUSE_CP_ASYNC_GLOBAL:
      ag_cp_async_16(buf + 8 * lane, buf + 256 + 8 * lane, true);
      ag_cp_async_commit();
      ag_cp_async_wait<0>();
      break;
    case AG_MISUSE_PARTIAL_WARP:
      ag_mma_16816<__half>(acc, fa, fb);
      break;
  }
  buf[lane] = (uint16_t)(acc[0] + (float)r[0]);
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_misuse)(int misuse, uint16_t *buf, void *stream) {
  const int threads = misuse == AG_MISUSE_PARTIAL_WARP ? 16 : 32;
  AG_LAUNCH(misuse_kernel, 1, threads, 32 * 8 * sizeof(uint16_t) + 16, stream, misuse, buf);
  return AG_LAUNCH_STATUS("mma_selftest_misuse");
}

/* ---- exp2 ------------------------------------------------------------------------- */

static __global__ void exp2_kernel(const float *x, float *y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = ag_exp2(x[i]);
}

extern "C" ag_status AG_CUDA_SYM(mma_selftest_exp2)(const float *x, float *y, int n, void *stream) {
  AG_LAUNCH(exp2_kernel, ag_cuda_blocks(n, 128), 128, 0, stream, x, y, n);
  return AG_LAUNCH_STATUS("mma_selftest_exp2");
}
