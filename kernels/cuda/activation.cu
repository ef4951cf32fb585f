/* Activations and their backward passes (gx = g * act'(x)), evaluating the
 * same formulas as the CPU kernels (kernels/common/ag_activation.h). */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_activation.h"

struct ag_gelu_fn {
  __device__ float operator()(float x) const { return ag_act_gelu(x); }
};
struct ag_gelu_grad_fn {
  __device__ float operator()(float x) const { return ag_act_gelu_grad(x); }
};
struct ag_silu_fn {
  __device__ float operator()(float x) const { return ag_act_silu(x); }
};
struct ag_silu_grad_fn {
  __device__ float operator()(float x) const { return ag_act_silu_grad(x); }
};

template <typename T, typename F>
static __global__ void map_unary_kernel(F f, const T *x, T *y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = ag_from_f32<T>(f(ag_to_f32(x[i])));
}

template <typename T, typename F>
static __global__ void map_grad_kernel(F df, const T *x, const T *g, T *gx, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    gx[i] = ag_from_f32<T>(ag_to_f32(g[i]) * df(ag_to_f32(x[i])));
}

template <typename F>
static ag_status launch_unary(const char *name, F f, ag_dtype dt, const void *x, void *y,
                              int64_t n, void *stream) {
  return ag_dispatch_float(dt, name, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(map_unary_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, f, (const T *)x,
              (T *)y, n);
  });
}

template <typename F>
static ag_status launch_grad(const char *name, F df, ag_dtype dt, const void *x, const void *g,
                             void *gx, int64_t n, void *stream) {
  return ag_dispatch_float(dt, name, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(map_grad_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, df, (const T *)x,
              (const T *)g, (T *)gx, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(gelu)(ag_dtype dt, const void *x, void *y, int64_t n,
                                       void *stream) {
  return launch_unary("gelu", ag_gelu_fn{}, dt, x, y, n, stream);
}

extern "C" ag_status AG_CUDA_SYM(gelu_backward)(ag_dtype dt, const void *x, const void *g,
                                                void *gx, int64_t n, void *stream) {
  return launch_grad("gelu_backward", ag_gelu_grad_fn{}, dt, x, g, gx, n, stream);
}

extern "C" ag_status AG_CUDA_SYM(silu)(ag_dtype dt, const void *x, void *y, int64_t n,
                                       void *stream) {
  return launch_unary("silu", ag_silu_fn{}, dt, x, y, n, stream);
}

extern "C" ag_status AG_CUDA_SYM(silu_backward)(ag_dtype dt, const void *x, const void *g,
                                                void *gx, int64_t n, void *stream) {
  return launch_grad("silu_backward", ag_silu_grad_fn{}, dt, x, g, gx, n, stream);
}
