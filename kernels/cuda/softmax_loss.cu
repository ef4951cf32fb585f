/* Mean elementwise losses (MSE, Huber) and their gradients, evaluating the
 * same per-element formulas as the CPU kernels (kernels/common/ag_softmax.h).
 * The forward mean is a grid-stride sum: each block reduces its share with
 * warp shuffles and adds it, already divided by n, to the zeroed output with
 * one atomic, so the last-bit rounding of the result may vary between runs
 * on a GPU (the kernel interface has no scratch buffer for a deterministic
 * second pass). */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "ag_cuda_reduce.h"

#define AG_LOSS_THREADS 256
/* Enough blocks to fill an H100 several times over; more only adds atomics. */
#define AG_LOSS_MAX_BLOCKS 1024

struct ag_mse_fn {
  __device__ float operator()(float d, float delta) const { return ag_mse(d, delta); }
};
struct ag_mse_grad_fn {
  __device__ float operator()(float d, float delta) const { return ag_mse_grad(d, delta); }
};
struct ag_huber_fn {
  __device__ float operator()(float d, float delta) const { return ag_huber(d, delta); }
};
struct ag_huber_grad_fn {
  __device__ float operator()(float d, float delta) const { return ag_huber_grad(d, delta); }
};

template <typename T, typename F>
static __global__ void mean_loss_kernel(F f, const T *a, const T *b, float *y, int64_t n,
                                        float delta) {
  float s = 0.0f;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    s += f(ag_to_f32(a[i]) - ag_to_f32(b[i]), delta);
  s = ag_block_sum(s);
  if (threadIdx.x == 0) atomicAdd(y, s / (float)n);
}

template <typename T, typename F>
static __global__ void mean_loss_backward_kernel(F df, const T *a, const T *b, const float *g,
                                                 T *da, T *db, int64_t n, float delta) {
  float k = g[0] / (float)n;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    float ga = k * df(ag_to_f32(a[i]) - ag_to_f32(b[i]), delta);
    if (da) da[i] = ag_from_f32<T>(ga);
    if (db) db[i] = ag_from_f32<T>(-ga);
  }
}

template <typename F>
static ag_status launch_mean_loss(const char *name, F f, ag_dtype dt, const void *a,
                                  const void *b, float *y, int64_t n, float delta, void *stream) {
  cudaError_t err = cudaMemsetAsync(y, 0, sizeof(float), (cudaStream_t)stream);
  if (err != cudaSuccess)
    return ag_set_error(AG_ERR_DEVICE, "%s: zeroing the output failed: %s", name,
                        cudaGetErrorString(err));
  if (n == 0) return AG_OK;
  unsigned blocks = ag_cuda_blocks(n, AG_LOSS_THREADS);
  if (blocks > AG_LOSS_MAX_BLOCKS) blocks = AG_LOSS_MAX_BLOCKS;
  return ag_dispatch_float(dt, name, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(mean_loss_kernel<T>, blocks, AG_LOSS_THREADS, 0, stream, f, (const T *)a,
              (const T *)b, y, n, delta);
  });
}

template <typename F>
static ag_status launch_mean_loss_backward(const char *name, F df, ag_dtype dt, const void *a,
                                           const void *b, const float *g, void *da, void *db,
                                           int64_t n, float delta, void *stream) {
  if (n == 0 || (!da && !db)) return AG_OK;
  return ag_dispatch_float(dt, name, [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(mean_loss_backward_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, df,
              (const T *)a, (const T *)b, g, (T *)da, (T *)db, n, delta);
  });
}

extern "C" ag_status AG_CUDA_SYM(mse_loss)(ag_dtype dt, const void *a, const void *b, float *y,
                                           int64_t n, void *stream) {
  return launch_mean_loss("mse_loss", ag_mse_fn{}, dt, a, b, y, n, 0.0f, stream);
}

extern "C" ag_status AG_CUDA_SYM(mse_loss_backward)(ag_dtype dt, const void *a, const void *b,
                                                    const float *g, void *da, void *db, int64_t n,
                                                    void *stream) {
  return launch_mean_loss_backward("mse_loss_backward", ag_mse_grad_fn{}, dt, a, b, g, da, db, n,
                                   0.0f, stream);
}

extern "C" ag_status AG_CUDA_SYM(huber_loss)(ag_dtype dt, const void *a, const void *b, float *y,
                                             int64_t n, float delta, void *stream) {
  return launch_mean_loss("huber_loss", ag_huber_fn{}, dt, a, b, y, n, delta, stream);
}

extern "C" ag_status AG_CUDA_SYM(huber_loss_backward)(ag_dtype dt, const void *a, const void *b,
                                                      const float *g, void *da, void *db,
                                                      int64_t n, float delta, void *stream) {
  return launch_mean_loss_backward("huber_loss_backward", ag_huber_grad_fn{}, dt, a, b, g, da, db,
                                   n, delta, stream);
}
