/* Diffusion sampler kernels: forward noising, the fused sampler step and
 * the guidance combine, with the math of kernels/common/ag_diffusion.h that
 * kernels/cpu/diffusion.c shares. Elementwise work is grid-stride over
 * batch * image_numel; a dynamically thresholded step runs one block per
 * image, which finds the image's quantile of |x0| by radix selection over
 * the float bits (for non-negative floats the bit order is the value order)
 * before it writes the image. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_diffusion.h"

#define AG_DIFF_SELECT_THREADS 256

/* The stream offset of element e of image b: (first + b) n + e. */
static __device__ __forceinline__ uint64_t noise_offset(uint64_t first, int64_t b, int64_t n,
                                                        int64_t e) {
  return (first + (uint64_t)b) * (uint64_t)n + (uint64_t)e;
}

template <typename T>
static __global__ void noise_kernel(const T *x0, const int32_t *t, const float *ac, int64_t steps,
                                    T *x_t, T *target, int64_t total, int64_t n, int prediction,
                                    uint64_t seed, uint64_t first) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t b = i / n;
    int64_t ti = t[b];
    ti = ti < 0 ? 0 : (ti >= steps ? steps - 1 : ti);
    const float ab = ac[ti], sa = sqrtf(ab), sb = sqrtf(1.0f - ab);
    const float eps = ag_diffusion_noise_at(seed, noise_offset(first, b, n, i - b * n));
    const float v = ag_to_f32(x0[i]);
    x_t[i] = ag_from_f32<T>(ag_diffusion_noised(v, eps, sa, sb));
    target[i] = ag_from_f32<T>(ag_diffusion_target(prediction, v, eps, sa, sb));
  }
}

/* What every step kernel reads. */
template <typename T> struct StepIo {
  const T *x, *m, *prev;
  T *x_next, *x0;
  int64_t batch, n;
  int guided;
};

template <typename T>
static __device__ __forceinline__ float model_value(const StepIo<T> &io, float g, int64_t b,
                                                    int64_t e) {
  const float c = ag_to_f32(io.m[b * io.n + e]);
  return io.guided ? ag_diffusion_cfg(c, ag_to_f32(io.m[(io.batch + b) * io.n + e]), g) : c;
}

/* Element e of image b, x0 given its final scale r. */
template <typename T>
static __device__ __forceinline__ void step_element(const StepIo<T> &io,
                                                    const ag_diffusion_step_args &a,
                                                    ag_diffusion_fcoefs k, float r, int64_t b,
                                                    int64_t e) {
  const int64_t i = b * io.n + e;
  const float xv = ag_to_f32(io.x[i]);
  const float mv = model_value(io, a.guidance, b, e);
  const float x0v = ag_diffusion_x0_final(a.x0_mode, ag_diffusion_x0_raw(k, xv, mv), r);
  const float pv = k.c1 != 0.0f ? ag_to_f32(io.prev[i]) : 0.0f;
  const float nv = k.cn != 0.0f ? ag_diffusion_noise_at(a.seed, noise_offset(a.first, b, io.n, e))
                                : 0.0f;
  io.x0[i] = ag_from_f32<T>(x0v);
  io.x_next[i] = ag_from_f32<T>(ag_diffusion_update(k, xv, mv, x0v, pv, nv));
}

template <typename T>
static __global__ void step_kernel(StepIo<T> io, ag_diffusion_step_args a,
                                   ag_diffusion_fcoefs k) {
  const int64_t total = io.batch * io.n, stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t b = i / io.n;
    step_element(io, a, k, a.clip_range, b, i - b * io.n);
  }
}

/* Bits of |x0| of element e of image b. */
template <typename T>
static __device__ __forceinline__ uint32_t abs_x0_bits(const StepIo<T> &io, float g,
                                                       ag_diffusion_fcoefs k, int64_t b,
                                                       int64_t e) {
  const float xv = ag_to_f32(io.x[b * io.n + e]);
  return __float_as_uint(fabsf(ag_diffusion_x0_raw(k, xv, model_value(io, g, b, e))));
}

/* The bits of the rank-th smallest |x0| of image b (rank 0-based), a byte at
 * a time from the top: each pass histograms the next byte of the values
 * that share the bytes found so far. Every thread returns it. */
template <typename T>
static __device__ uint32_t select_rank(const StepIo<T> &io, float g, ag_diffusion_fcoefs k,
                                       int64_t b, uint32_t rank) {
  __shared__ uint32_t hist[256];
  __shared__ uint32_t s_prefix, s_rank;
  uint32_t prefix = 0, mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int j = threadIdx.x; j < 256; j += blockDim.x) hist[j] = 0;
    __syncthreads();
    for (int64_t e = threadIdx.x; e < io.n; e += blockDim.x) {
      const uint32_t v = abs_x0_bits(io, g, k, b, e);
      if ((v & mask) == prefix) atomicAdd(&hist[(v >> shift) & 255u], 1u);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      uint32_t below = 0, bin = 0;
      while (bin < 255u && below + hist[bin] <= rank) below += hist[bin++];
      s_prefix = prefix | (bin << shift);
      s_rank = rank - below;
    }
    __syncthreads();
    prefix = s_prefix;
    rank = s_rank;
    mask |= 255u << shift;
    __syncthreads();
  }
  return prefix;
}

template <typename T>
static __global__ void step_threshold_kernel(StepIo<T> io, ag_diffusion_step_args a,
                                             ag_diffusion_fcoefs k) {
  __shared__ uint32_t s_le, s_min_above;
  const int64_t b = blockIdx.x;
  int64_t rank;
  double w;
  ag_diffusion_quantile_rank(a.threshold_ratio, io.n, &rank, &w);
  const uint32_t lo = select_rank(io, a.guidance, k, b, (uint32_t)rank);
  /* The next order statistic: lo again when it repeats, else the least
   * value above it. */
  if (threadIdx.x == 0) s_le = 0, s_min_above = 0xffffffffu;
  __syncthreads();
  uint32_t le = 0, above = 0xffffffffu;
  for (int64_t e = threadIdx.x; e < io.n; e += blockDim.x) {
    const uint32_t v = abs_x0_bits(io, a.guidance, k, b, e);
    if (v <= lo) le++;
    else if (v < above) above = v;
  }
  atomicAdd(&s_le, le);
  atomicMin(&s_min_above, above);
  __syncthreads();
  const float vlo = __uint_as_float(lo);
  const float vhi = rank + 1 >= io.n || (int64_t)s_le >= rank + 2 ? vlo : __uint_as_float(s_min_above);
  const float s = ag_diffusion_threshold_scale(vlo + (float)w * (vhi - vlo), a.sample_max);
  for (int64_t e = threadIdx.x; e < io.n; e += blockDim.x) step_element(io, a, k, s, b, e);
}

template <typename T>
static __global__ void cfg_kernel(const T *x, T *y, int64_t total, float g) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += stride)
    y[i] = ag_from_f32<T>(ag_diffusion_cfg(ag_to_f32(x[i]), ag_to_f32(x[total + i]), g));
}

static ag_status check_sizes(const char *name, int64_t batch, int64_t n) {
  if (batch < 0 || n < 0)
    return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: negative size %lld x %lld", name,
                        (long long)batch, (long long)n);
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(diffusion_noise)(ag_dtype dt, const void *x0, const int32_t *t,
                                                  const float *alphas_cumprod,
                                                  int64_t train_steps, void *x_t, void *target,
                                                  int64_t batch, int64_t image_numel,
                                                  ag_diffusion_prediction prediction,
                                                  uint64_t seed, uint64_t first, void *stream) {
  AG_TRY(check_sizes("diffusion_noise", batch, image_numel));
  const int64_t total = batch * image_numel;
  if (total == 0) return AG_OK;
  return ag_dispatch_float(dt, "diffusion_noise", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(noise_kernel<T>, ag_ew_blocks(total), AG_EW_THREADS, 0, stream, (const T *)x0, t,
              alphas_cumprod, train_steps, (T *)x_t, (T *)target, total, image_numel,
              (int)prediction, seed, first);
  });
}

extern "C" ag_status AG_CUDA_SYM(diffusion_step)(ag_dtype dt, const void *x,
                                                 const void *model_out, const void *x0_prev,
                                                 void *x_next, void *x0, int64_t batch,
                                                 int64_t image_numel, int guided,
                                                 const ag_diffusion_step_args *a, void *stream) {
  AG_TRY(check_sizes("diffusion_step", batch, image_numel));
  const int64_t total = batch * image_numel;
  if (total == 0) return AG_OK;
  if (a->x0_mode == AG_X0_THRESHOLD && (batch > 0x7fffffff || image_numel > 0xffffffffll))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel diffusion_step: %lld images of %lld values are too many to threshold",
                        (long long)batch, (long long)image_numel);
  const ag_diffusion_fcoefs k = ag_diffusion_fcoefs_of(a->k);
  const ag_diffusion_step_args args = *a;
  return ag_dispatch_float(dt, "diffusion_step", [&](auto tag) {
    using T = decltype(tag);
    const StepIo<T> io = {(const T *)x, (const T *)model_out, (const T *)x0_prev, (T *)x_next,
                          (T *)x0, batch, image_numel, guided};
    if (args.x0_mode == AG_X0_THRESHOLD)
      AG_LAUNCH(step_threshold_kernel<T>, (unsigned)batch, AG_DIFF_SELECT_THREADS, 0, stream, io,
                args, k);
    else
      AG_LAUNCH(step_kernel<T>, ag_ew_blocks(total), AG_EW_THREADS, 0, stream, io, args, k);
  });
}

extern "C" ag_status AG_CUDA_SYM(cfg_combine)(ag_dtype dt, const void *x, void *y, int64_t batch,
                                              int64_t image_numel, float guidance, void *stream) {
  AG_TRY(check_sizes("cfg_combine", batch, image_numel));
  const int64_t total = batch * image_numel;
  if (total == 0) return AG_OK;
  return ag_dispatch_float(dt, "cfg_combine", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(cfg_kernel<T>, ag_ew_blocks(total), AG_EW_THREADS, 0, stream, (const T *)x, (T *)y,
              total, guidance);
  });
}

extern "C" const ag_diffusion_kernels AG_CUDA_SYM(diffusion_kernels) = {
    .diffusion_noise = AG_CUDA_SYM(diffusion_noise),
    .diffusion_step = AG_CUDA_SYM(diffusion_step),
    .cfg_combine = AG_CUDA_SYM(cfg_combine),
};
