/* Nearest 2x upsampling and average pooling on NCHW planes. One thread per
 * input pixel for the upsampling (it owns a 2x2 output block, written as two
 * aligned pair stores), one thread per output pixel for the pooling forward
 * and one per input pixel for its backward, which gathers the windows that
 * cover it (no atomics, same order as the CPU kernel). */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

/* Two adjacent elements moved as one aligned access. Output rows have even
 * length 2w and pairs start at even columns, so every pair is aligned. */
namespace {
template <typename T> struct alignas(2 * sizeof(T)) ag_pair {
  T a, b;
};
}  // namespace

template <typename T>
static __global__ void upsample2x_kernel(const T *x, T *y, int64_t w, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t row = i / w, ix = i % w; /* row = plane * h + iy */
    ag_pair<T> v = {x[i], x[i]};
    ag_pair<T> *top = (ag_pair<T> *)(y + 2 * row * 2 * w) + ix;
    top[0] = v;
    top[w] = v; /* the next output row: 2w elements = w pairs further */
  }
}

template <typename T>
static __global__ void upsample2x_backward_kernel(const T *gy, T *gx, int64_t w,
                                                  int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t row = i / w, ix = i % w;
    const ag_pair<T> *top = (const ag_pair<T> *)(gy + 2 * row * 2 * w) + ix;
    ag_pair<T> u = top[0], d = top[w];
    gx[i] = ag_from_f32<T>(ag_to_f32(u.a) + ag_to_f32(u.b) + ag_to_f32(d.a) + ag_to_f32(d.b));
  }
}

template <typename T>
static __global__ void avgpool2d_kernel(ag_pool2d_geom p, const T *x, T *y, int64_t n) {
  float inv = 1.0f / (float)(p.k * p.k);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t ox = i % p.ow, oy = i / p.ow % p.oh, plane = i / (p.ow * p.oh);
    int64_t y0, y1, x0, x1;
    ag_pool_window(oy, p.k, p.stride, p.pad, p.h, &y0, &y1);
    ag_pool_window(ox, p.k, p.stride, p.pad, p.w, &x0, &x1);
    const T *xp = x + plane * p.h * p.w;
    float sum = 0.0f;
    for (int64_t iy = y0; iy < y1; iy++)
      for (int64_t ix = x0; ix < x1; ix++) sum += ag_to_f32(xp[iy * p.w + ix]);
    y[i] = ag_from_f32<T>(sum * inv);
  }
}

template <typename T>
static __global__ void avgpool2d_backward_kernel(ag_pool2d_geom p, const T *gy, T *gx,
                                                 int64_t n) {
  float inv = 1.0f / (float)(p.k * p.k);
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t ix = i % p.w, iy = i / p.w % p.h, plane = i / (p.w * p.h);
    int64_t o0, o1, q0, q1;
    ag_pool_covering(iy, p.k, p.stride, p.pad, p.oh, &o0, &o1);
    ag_pool_covering(ix, p.k, p.stride, p.pad, p.ow, &q0, &q1);
    const T *gp = gy + plane * p.oh * p.ow;
    float sum = 0.0f;
    for (int64_t oy = o0; oy < o1; oy++)
      for (int64_t ox = q0; ox < q1; ox++) sum += ag_to_f32(gp[oy * p.ow + ox]);
    gx[i] = ag_from_f32<T>(sum * inv);
  }
}

extern "C" ag_status AG_CUDA_SYM(upsample_nearest2x)(ag_dtype dt, int64_t nc, int64_t h,
                                                     int64_t w, const void *x, void *y,
                                                     void *stream) {
  int64_t n = nc * h * w;
  return ag_dispatch_float(dt, "upsample_nearest2x", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(upsample2x_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (const T *)x,
              (T *)y, w, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(upsample_nearest2x_backward)(ag_dtype dt, int64_t nc, int64_t h,
                                                              int64_t w, const void *gy, void *gx,
                                                              void *stream) {
  int64_t n = nc * h * w;
  return ag_dispatch_float(dt, "upsample_nearest2x_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(upsample2x_backward_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream,
              (const T *)gy, (T *)gx, w, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(avgpool2d)(ag_dtype dt, ag_pool2d_geom p, const void *x, void *y,
                                            void *stream) {
  int64_t n = p.nc * p.oh * p.ow;
  return ag_dispatch_float(dt, "avgpool2d", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(avgpool2d_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, p, (const T *)x,
              (T *)y, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(avgpool2d_backward)(ag_dtype dt, ag_pool2d_geom p,
                                                     const void *gy, void *gx, void *stream) {
  int64_t n = p.nc * p.h * p.w;
  return ag_dispatch_float(dt, "avgpool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(avgpool2d_backward_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, p,
              (const T *)gy, (T *)gx, n);
  });
}
