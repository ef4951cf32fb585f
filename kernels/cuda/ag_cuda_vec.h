/* ag_cuda_vec.h - vector access for memory-bound kernels: N consecutive
 * elements moved by one load or store, and the flat elementwise maps built on
 * it (unary ops, their backward, same-shape binary ops). The scheduler runs
 * these ops in place (y over x, gx over gy, y over a: the in-place column of
 * runtime/ops/elementwise.list), so the maps' pointers may alias and are not
 * __restrict__; each element is read before it is written, by one thread. */
#ifndef AG_CUDA_VEC_H
#define AG_CUDA_VEC_H

#include <cstdint>

#include "ag_cuda.h"
#include "ag_cuda_dtype.h"

/* N consecutive elements of T, aligned so that one load or store moves them
 * all. The default N fills 16 bytes, the widest access a thread can make. */
template <typename T, int N = (int)(16 / sizeof(T))> struct alignas(N * sizeof(T)) ag_vec {
  static constexpr int count = N;
  T v[N];
};

/* Whether p allows ag_vec<T, N> access. */
template <typename T, int N = (int)(16 / sizeof(T))> static bool ag_vec_aligned(const void *p) {
  return ((uintptr_t)p % sizeof(ag_vec<T, N>)) == 0;
}

/* y[i] = f(x[i]) in f32 over n elements: the first nv * V as 16-byte vectors
 * (nv = 0 when a pointer is unaligned), the tail element by element. */
template <typename T, typename F>
static __global__ void ag_vec_map1_kernel(F f, const T *x, T *y, int64_t n, int64_t nv) {
  constexpr int V = 16 / sizeof(T);
  const int64_t start = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = start; i < nv; i += stride) {
    ag_vec<T> p = ((const ag_vec<T> *)x)[i];
    for (int k = 0; k < V; k++) p.v[k] = ag_from_f32<T>(f(ag_to_f32(p.v[k])));
    ((ag_vec<T> *)y)[i] = p;
  }
  for (int64_t i = nv * V + start; i < n; i += stride) y[i] = ag_from_f32<T>(f(ag_to_f32(x[i])));
}

/* y[i] = f(a[i], b[i]), split into vectors and tail like ag_vec_map1_kernel. */
template <typename T, typename F>
static __global__ void ag_vec_map2_kernel(F f, const T *a, const T *b, T *y, int64_t n,
                                          int64_t nv) {
  constexpr int V = 16 / sizeof(T);
  const int64_t start = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = start; i < nv; i += stride) {
    ag_vec<T> pa = ((const ag_vec<T> *)a)[i], pb = ((const ag_vec<T> *)b)[i];
    for (int k = 0; k < V; k++)
      pa.v[k] = ag_from_f32<T>(f(ag_to_f32(pa.v[k]), ag_to_f32(pb.v[k])));
    ((ag_vec<T> *)y)[i] = pa;
  }
  for (int64_t i = nv * V + start; i < n; i += stride)
    y[i] = ag_from_f32<T>(f(ag_to_f32(a[i]), ag_to_f32(b[i])));
}

/* Launch the maps: vectors only where every pointer is 16-byte aligned, a
 * grid sized for the vectors plus the tail. The caller takes the launch
 * status (ag_dispatch_float does). */
template <typename T, typename F>
static void ag_vec_map1(F f, const T *x, T *y, int64_t n, void *stream) {
  const int64_t V = 16 / sizeof(T);
  const int64_t nv = ag_vec_aligned<T>(x) && ag_vec_aligned<T>(y) ? n / V : 0;
  AG_LAUNCH(ag_vec_map1_kernel<T>, ag_ew_blocks(nv + (n - nv * V)), AG_EW_THREADS, 0, stream, f,
            x, y, n, nv);
}

template <typename T, typename F>
static void ag_vec_map2(F f, const T *a, const T *b, T *y, int64_t n, void *stream) {
  const int64_t V = 16 / sizeof(T);
  const bool vec = ag_vec_aligned<T>(a) && ag_vec_aligned<T>(b) && ag_vec_aligned<T>(y);
  const int64_t nv = vec ? n / V : 0;
  AG_LAUNCH(ag_vec_map2_kernel<T>, ag_ew_blocks(nv + (n - nv * V)), AG_EW_THREADS, 0, stream, f,
            a, b, y, n, nv);
}

#endif
