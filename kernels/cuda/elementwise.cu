/* Broadcast binary arithmetic and its gradients, dtype casts, fills and
 * aranges. Binary math is shared with the CPU (kernels/common/
 * ag_k_elementwise.h); the runtime has already merged dims (ag_bcast4), so
 * equal shapes arrive as one flat dim and take a vectorised path. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_reduce.h"
#include "ag_cuda_vec.h"
#include "kernels/common/ag_kernels.h"

template <int FN> struct ag_binary_op {
  __device__ float operator()(float a, float b) const { return ag_binary_eval(FN, a, b); }
};

/* Broadcast: one thread per output element; the offsets into a and b come
 * from the element's coordinates. I is the index type: 32-bit division is
 * several times cheaper, and is used whenever the output fits. The scheduler
 * may run the op in place (y over a, runtime/ops/elementwise.list), so no
 * pointer is __restrict__. */
template <typename T, typename Op, typename I>
static __global__ void binary_bcast_kernel(Op op, const T *a, const T *b, T *y, ag_bcast4 bc, I n) {
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    I rem = i, oa = 0, ob = 0;
    for (int d = bc.ndim - 1; d >= 0; d--) {
      const I s = (I)bc.shape[d], c = rem % s;
      rem /= s;
      oa += c * (I)bc.sa[d];
      ob += c * (I)bc.sb[d];
    }
    y[i] = ag_from_f32<T>(op(ag_to_f32(a[oa]), ag_to_f32(b[ob])));
  }
}

template <typename T, typename Op>
static void launch_binary_t(Op op, const T *a, const T *b, T *y, const ag_bcast4 &bc,
                            void *stream) {
  const int64_t n = ag_bcast_count(&bc, (1u << bc.ndim) - 1);
  if (bc.ndim == 1 && bc.sa[0] == 1 && bc.sb[0] == 1) {
    ag_vec_map2(op, a, b, y, n, stream);
  } else if (n <= (int64_t)UINT32_MAX / 2) {
    AG_LAUNCH((binary_bcast_kernel<T, Op, uint32_t>), ag_ew_blocks(n), AG_EW_THREADS, 0, stream,
              op, a, b, y, bc, (uint32_t)n);
  } else {
    AG_LAUNCH((binary_bcast_kernel<T, Op, int64_t>), ag_ew_blocks(n), AG_EW_THREADS, 0, stream,
              op, a, b, y, bc, n);
  }
}

template <typename Op>
static ag_status launch_binary(Op op, ag_dtype dt, const void *a, const void *b, void *y,
                               const ag_bcast4 &bc, void *stream) {
  return ag_dispatch_float(dt, "binary", [&](auto tag) {
    using T = decltype(tag);
    launch_binary_t(op, (const T *)a, (const T *)b, (T *)y, bc, stream);
  });
}

static ag_status unknown_binary(const char *kernel, int fn) {
  return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: unknown function %d", kernel, fn);
}

extern "C" ag_status AG_CUDA_SYM(binary)(ag_dtype dt, int fn, const void *a, const void *b,
                                         void *y, ag_bcast4 bc, void *stream) {
  switch (fn) {
  case AG_BINARY_ADD: return launch_binary(ag_binary_op<AG_BINARY_ADD>{}, dt, a, b, y, bc, stream);
  case AG_BINARY_SUB: return launch_binary(ag_binary_op<AG_BINARY_SUB>{}, dt, a, b, y, bc, stream);
  case AG_BINARY_MUL: return launch_binary(ag_binary_op<AG_BINARY_MUL>{}, dt, a, b, y, bc, stream);
  case AG_BINARY_DIV: return launch_binary(ag_binary_op<AG_BINARY_DIV>{}, dt, a, b, y, bc, stream);
  default: return unknown_binary("binary", fn);
  }
}

/* The summed gradient term of one element of gx over the broadcast positions
 * lane, lane + step, ... of the reduced sub-grid. */
template <typename T>
__device__ __forceinline__ float grad_partial(int fn, int which, const T *a, const T *b,
                                              const T *g, const ag_bcast4 &bc, unsigned kept,
                                              unsigned reduced, int64_t j, int64_t r, int64_t lane,
                                              int64_t step) {
  int64_t y0, a0, b0, oy, oa, ob;
  ag_bcast_offsets(&bc, kept, j, &y0, &a0, &b0);
  float sum = 0.0f;
  for (int64_t t = lane; t < r; t += step) {
    ag_bcast_offsets(&bc, reduced, t, &oy, &oa, &ob);
    sum += ag_binary_grad(fn, which, ag_to_f32(a[a0 + oa]), ag_to_f32(b[b0 + ob]),
                          ag_to_f32(g[y0 + oy]));
  }
  return sum;
}

/* Few broadcast positions per gradient element (r < 32): one thread each. */
template <typename T>
static __global__ void binary_grad_thread_kernel(int fn, int which, const T *a, const T *b,
                                                 const T *g, T *gx, ag_bcast4 bc, unsigned kept,
                                                 unsigned reduced, int64_t m, int64_t r) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < m;
       j += (int64_t)gridDim.x * blockDim.x)
    gx[j] = ag_from_f32<T>(grad_partial(fn, which, a, b, g, bc, kept, reduced, j, r, 0, 1));
}

/* Many broadcast positions: one warp per gradient element, lanes striding
 * over the positions, then a shuffle sum. Every lane of a warp takes the same
 * trip count through the j loop, so the shuffle sees the full warp. */
template <typename T>
static __global__ void binary_grad_warp_kernel(int fn, int which, const T *a, const T *b,
                                               const T *g, T *gx, ag_bcast4 bc, unsigned kept,
                                               unsigned reduced, int64_t m, int64_t r) {
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  const int lane = threadIdx.x % 32;
  for (int64_t j = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32; j < m; j += warps) {
    float s = ag_warp_sum(grad_partial(fn, which, a, b, g, bc, kept, reduced, j, r, lane, 32));
    if (lane == 0) gx[j] = ag_from_f32<T>(s);
  }
}

extern "C" ag_status AG_CUDA_SYM(binary_backward)(ag_dtype dt, int fn, int which, const void *a,
                                                  const void *b, const void *g, void *gx,
                                                  ag_bcast4 bc, void *stream) {
  if (fn < AG_BINARY_ADD || fn > AG_BINARY_DIV) return unknown_binary("binary_backward", fn);
  const unsigned reduced = ag_bcast_reduced_mask(&bc, which);
  const unsigned kept = ((1u << bc.ndim) - 1) & ~reduced;
  const int64_t m = ag_bcast_count(&bc, kept), r = ag_bcast_count(&bc, reduced);
  return ag_dispatch_float(dt, "binary_backward", [&](auto tag) {
    using T = decltype(tag);
    if (r < 32)
      AG_LAUNCH(binary_grad_thread_kernel<T>, ag_ew_blocks(m), AG_EW_THREADS, 0, stream, fn, which,
                (const T *)a, (const T *)b, (const T *)g, (T *)gx, bc, kept, reduced, m, r);
    else
      AG_LAUNCH(binary_grad_warp_kernel<T>, ag_ew_blocks(m * 32), AG_EW_THREADS, 0, stream, fn,
                which, (const T *)a, (const T *)b, (const T *)g, (T *)gx, bc, kept, reduced, m, r);
  });
}

/* Element conversions for cast, fill and arange: floats through f32, i32
 * through the shared truncation rule. */
template <typename T> __device__ __forceinline__ T ag_ew_from_f32(float v) {
  return ag_from_f32<T>(v);
}
template <> __device__ __forceinline__ int32_t ag_ew_from_f32<int32_t>(float v) {
  return ag_ew_to_i32(v);
}
__device__ __forceinline__ float ag_ew_to_f32(int32_t v) { return (float)v; }
template <typename T> __device__ __forceinline__ float ag_ew_to_f32(T v) { return ag_to_f32(v); }

template <typename To, typename From> __device__ __forceinline__ To ag_ew_convert(From v) {
  return ag_ew_from_f32<To>(ag_ew_to_f32(v));
}
template <> __device__ __forceinline__ int32_t ag_ew_convert<int32_t, int32_t>(int32_t v) {
  return v;
}

/* Calls f(T{}) with T the storage type of a float or i32 dtype. */
template <typename F> static bool ag_ew_dispatch_any(ag_dtype dt, F &&f) {
  switch (dt) {
  case AG_I32: f(int32_t{}); return true;
  case AG_F32: f(float{}); return true;
  case AG_F16: f(__half{}); return true;
  case AG_BF16: f(__nv_bfloat16{}); return true;
  default: return false;
  }
}

template <typename To, typename From>
static __global__ void cast_kernel(const From *__restrict__ x, To *__restrict__ y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = ag_ew_convert<To>(x[i]);
}

extern "C" ag_status AG_CUDA_SYM(cast)(ag_dtype from, ag_dtype to, const void *x, void *y,
                                       int64_t n, void *stream) {
  bool to_ok = false;
  const bool from_ok = ag_ew_dispatch_any(from, [&](auto from_tag) {
    using Fr = decltype(from_tag);
    to_ok = ag_ew_dispatch_any(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      AG_LAUNCH((cast_kernel<To, Fr>), ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (const Fr *)x,
                (To *)y, n);
    });
  });
  if (!from_ok || !to_ok)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel cast: %s -> %s is not supported",
                        ag_dtype_name(from), ag_dtype_name(to));
  return AG_LAUNCH_STATUS("cast");
}

template <typename T> static __global__ void fill_kernel(T *__restrict__ y, float v, int64_t n) {
  const T t = ag_ew_from_f32<T>(v);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = t;
}

extern "C" ag_status AG_CUDA_SYM(fill)(ag_dtype dt, float v, void *y, int64_t n, void *stream) {
  const bool ok = ag_ew_dispatch_any(dt, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(fill_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (T *)y, v, n);
  });
  if (!ok)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel fill: dtype %s is not supported",
                        ag_dtype_name(dt));
  return AG_LAUNCH_STATUS("fill");
}

template <typename T>
__device__ __forceinline__ T ag_ew_arange(float start, float step, int64_t i) {
  return ag_from_f32<T>(ag_arange_f32(start, step, i));
}
template <>
__device__ __forceinline__ int32_t ag_ew_arange<int32_t>(float start, float step, int64_t i) {
  return ag_arange_i32(start, step, i);
}

template <typename T>
static __global__ void arange_kernel(T *__restrict__ y, float start, float step, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = ag_ew_arange<T>(start, step, i);
}

extern "C" ag_status AG_CUDA_SYM(arange)(ag_dtype dt, float start, float step, void *y, int64_t n,
                                         void *stream) {
  const bool ok = ag_ew_dispatch_any(dt, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(arange_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (T *)y, start, step, n);
  });
  if (!ok)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel arange: dtype %s is not supported",
                        ag_dtype_name(dt));
  return AG_LAUNCH_STATUS("arange");
}

extern "C" const ag_elementwise_kernels AG_CUDA_SYM(elementwise_kernels) = {
    .unary = AG_CUDA_SYM(unary),
    .unary_backward = AG_CUDA_SYM(unary_backward),
    .binary = AG_CUDA_SYM(binary),
    .binary_backward = AG_CUDA_SYM(binary_backward),
    .cast = AG_CUDA_SYM(cast),
    .fill = AG_CUDA_SYM(fill),
    .arange = AG_CUDA_SYM(arange),
};
