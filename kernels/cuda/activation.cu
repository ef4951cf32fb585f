/* Unary elementwise ops and their backward passes (gx = g * fn'(x)): one
 * kernel template per direction, instantiated per function with the math
 * shared with the CPU (kernels/common/ag_k_elementwise.h). Memory-bound, so
 * loads and stores are 16-byte vectors where the pointers allow. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

template <int FN> struct ag_unary_op {
  float p;
  __device__ float operator()(float x) const { return ag_unary_eval(FN, x, p); }
};

template <int FN> struct ag_unary_grad_op {
  float p;
  __device__ float operator()(float x) const { return ag_unary_grad(FN, x, p); }
};

/* 16 bytes of T: one vector load or store. */
template <typename T> struct alignas(16) ag_ew_pack {
  T v[16 / sizeof(T)];
};

template <typename T> static bool ag_ew_aligned(const void *p) {
  return ((uintptr_t)p % sizeof(ag_ew_pack<T>)) == 0;
}

/* The first nv * V elements go as packs (nv = 0 when unaligned), the tail
 * element by element. */
template <typename T, typename F>
static __global__ void unary_kernel(F f, const T *__restrict__ x, T *__restrict__ y, int64_t n,
                                    int64_t nv) {
  constexpr int V = 16 / sizeof(T);
  const int64_t start = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = start; i < nv; i += stride) {
    ag_ew_pack<T> p = ((const ag_ew_pack<T> *)x)[i];
    for (int k = 0; k < V; k++) p.v[k] = ag_from_f32<T>(f(ag_to_f32(p.v[k])));
    ((ag_ew_pack<T> *)y)[i] = p;
  }
  for (int64_t i = nv * V + start; i < n; i += stride) y[i] = ag_from_f32<T>(f(ag_to_f32(x[i])));
}

template <typename T, typename F>
static __global__ void unary_grad_kernel(F df, const T *__restrict__ x, const T *__restrict__ g,
                                         T *__restrict__ gx, int64_t n, int64_t nv) {
  constexpr int V = 16 / sizeof(T);
  const int64_t start = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = start; i < nv; i += stride) {
    ag_ew_pack<T> px = ((const ag_ew_pack<T> *)x)[i], pg = ((const ag_ew_pack<T> *)g)[i];
    for (int k = 0; k < V; k++)
      pg.v[k] = ag_from_f32<T>(ag_to_f32(pg.v[k]) * df(ag_to_f32(px.v[k])));
    ((ag_ew_pack<T> *)gx)[i] = pg;
  }
  for (int64_t i = nv * V + start; i < n; i += stride)
    gx[i] = ag_from_f32<T>(ag_to_f32(g[i]) * df(ag_to_f32(x[i])));
}

template <typename F>
static ag_status launch_unary(F f, ag_dtype dt, const void *x, void *y, int64_t n, void *stream) {
  return ag_dispatch_float(dt, "unary", [&](auto tag) {
    using T = decltype(tag);
    const int64_t V = 16 / sizeof(T);
    const int64_t nv = ag_ew_aligned<T>(x) && ag_ew_aligned<T>(y) ? n / V : 0;
    AG_LAUNCH(unary_kernel<T>, ag_ew_blocks(nv + (n - nv * V)), AG_EW_THREADS, 0, stream, f,
              (const T *)x, (T *)y, n, nv);
  });
}

template <typename F>
static ag_status launch_unary_grad(F df, ag_dtype dt, const void *x, const void *g, void *gx,
                                   int64_t n, void *stream) {
  return ag_dispatch_float(dt, "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t V = 16 / sizeof(T);
    const bool vec = ag_ew_aligned<T>(x) && ag_ew_aligned<T>(g) && ag_ew_aligned<T>(gx);
    const int64_t nv = vec ? n / V : 0;
    AG_LAUNCH(unary_grad_kernel<T>, ag_ew_blocks(nv + (n - nv * V)), AG_EW_THREADS, 0, stream,
              df, (const T *)x, (const T *)g, (T *)gx, n, nv);
  });
}

static ag_status unknown_fn(const char *kernel, int fn) {
  return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: unknown function %d", kernel, fn);
}

extern "C" ag_status AG_CUDA_SYM(unary)(ag_dtype dt, int fn, float p, const void *x, void *y,
                                        int64_t n, void *stream) {
  switch (fn) {
#define AG_UNARY_CASE_(name)                                                                      \
  case AG_UNARY_##name: return launch_unary(ag_unary_op<AG_UNARY_##name>{p}, dt, x, y, n, stream);
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
  default: return unknown_fn("unary", fn);
  }
}

extern "C" ag_status AG_CUDA_SYM(unary_backward)(ag_dtype dt, int fn, float p, const void *x,
                                                 const void *g, void *gx, int64_t n,
                                                 void *stream) {
  switch (fn) {
#define AG_UNARY_CASE_(name)                                                                      \
  case AG_UNARY_##name:                                                                           \
    return launch_unary_grad(ag_unary_grad_op<AG_UNARY_##name>{p}, dt, x, g, gx, n, stream);
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
  default: return unknown_fn("unary_backward", fn);
  }
}
