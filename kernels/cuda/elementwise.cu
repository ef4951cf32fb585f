/* Elementwise arithmetic on contiguous tensors of equal size. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

struct ag_add_fn {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct ag_mul_fn {
  __device__ float operator()(float a, float b) const { return a * b; }
};

template <typename T, typename Op>
static __global__ void map_binary_kernel(Op op, const T *a, const T *b, T *y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = ag_from_f32<T>(op(ag_to_f32(a[i]), ag_to_f32(b[i])));
}

template <typename T>
static __global__ void scale_kernel(const T *a, float s, T *y, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    y[i] = ag_from_f32<T>(s * ag_to_f32(a[i]));
}

template <typename Op>
static ag_status launch_binary(const char *name, Op op, ag_dtype dt, const void *a, const void *b,
                               void *y, int64_t n, void *stream) {
  return ag_dispatch_float(dt, name, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(map_binary_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, op,
              (const T *)a, (const T *)b, (T *)y, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(add)(ag_dtype dt, const void *a, const void *b, void *y,
                                      int64_t n, void *stream) {
  return launch_binary("add", ag_add_fn{}, dt, a, b, y, n, stream);
}

extern "C" ag_status AG_CUDA_SYM(mul)(ag_dtype dt, const void *a, const void *b, void *y,
                                      int64_t n, void *stream) {
  return launch_binary("mul", ag_mul_fn{}, dt, a, b, y, n, stream);
}

extern "C" ag_status AG_CUDA_SYM(scale)(ag_dtype dt, const void *a, float s, void *y, int64_t n,
                                        void *stream) {
  return ag_dispatch_float(dt, "scale", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(scale_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (const T *)a, s,
              (T *)y, n);
  });
}
