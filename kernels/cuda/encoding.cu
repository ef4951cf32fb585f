/* Hash-grid and spherical-harmonics encodings, with the per-point math of
 * kernels/common/ag_k_encoding.h that kernels/cpu/encoding.c shares.
 *
 * Hash grid: one thread per (point, level), thread t = point * L + level, so
 * a warp's F-feature stores fill consecutive memory. f16 tables with F = 2
 * read a corner's two features as one half2. The backward scatters with
 * atomics from the same threads: straight into an f32 gradient, else into
 * an f32 scratch copy rounded to the dtype once at the end; deterministic
 * calls add int64 fixed point (order-independent integer sums) in scratch
 * and convert after. SH: one thread per direction. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

/* Adds w * (corner row's features) into acc. */
template <typename T>
static __device__ __forceinline__ void add_row(float *acc, const T *row, int nf, float w) {
  for (int f = 0; f < nf; f++) acc[f] = AG_PX_ADD(acc[f], AG_PX_MUL(w, ag_to_f32(row[f])));
}
template <>
__device__ __forceinline__ void add_row<__half>(float *acc, const __half *row, int nf, float w) {
  if (nf != 2) {
    for (int f = 0; f < nf; f++) acc[f] = AG_PX_ADD(acc[f], AG_PX_MUL(w, __half2float(row[f])));
    return;
  }
  const float2 v = __half22float2(*reinterpret_cast<const __half2 *>(row));
  acc[0] = AG_PX_ADD(acc[0], AG_PX_MUL(w, v.x));
  acc[1] = AG_PX_ADD(acc[1], AG_PX_MUL(w, v.y));
}

template <typename T>
static __global__ void hash_grid_kernel(const float *pos, const T *table, T *y, int64_t n,
                                        ag_hash_grid_geom g) {
  const int64_t total = n * g.levels, stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t / g.levels;
    const int l = (int)(t - i * g.levels);
    const ag_hash_grid_voxel v = ag_hash_grid_locate(pos + 3 * i, g.res[l]);
    const T *level = table + (int64_t)l * g.table_size * g.features;
    float acc[AG_HASH_GRID_MAX_FEATURES] = {0};
    for (int k = 0; k < 8; k++)
      add_row(acc, level + (int64_t)ag_hash_grid_corner(&v, k, g.res[l], g.table_size) * g.features,
              g.features, ag_hash_grid_weight(&v, k));
    for (int f = 0; f < g.features; f++) y[t * g.features + f] = ag_from_f32<T>(acc[f]);
  }
}

/* The two accumulators of the backward scatter. */
struct AddFloat {
  float *acc;
  __device__ __forceinline__ void operator()(int64_t j, float v) const { atomicAdd(acc + j, v); }
};
struct AddFixed {
  unsigned long long *acc;
  /* Two's-complement sums wrap alike in unsigned arithmetic. */
  __device__ __forceinline__ void operator()(int64_t j, float v) const {
    atomicAdd(acc + j, (unsigned long long)ag_hash_grid_to_fixed(v));
  }
};

template <typename T, typename Add>
static __global__ void hash_grid_backward_kernel(const float *pos, const T *gy, Add add,
                                                 int64_t n, ag_hash_grid_geom g) {
  const int64_t total = n * g.levels, stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t / g.levels;
    const int l = (int)(t - i * g.levels);
    const ag_hash_grid_voxel v = ag_hash_grid_locate(pos + 3 * i, g.res[l]);
    const int64_t level = (int64_t)l * g.table_size;
    for (int k = 0; k < 8; k++) {
      const float w = ag_hash_grid_weight(&v, k);
      const int64_t row = level + ag_hash_grid_corner(&v, k, g.res[l], g.table_size);
      for (int f = 0; f < g.features; f++)
        add(row * g.features + f, AG_PX_MUL(w, ag_to_f32(gy[t * g.features + f])));
    }
  }
}

template <typename T>
static __global__ void from_float_kernel(const float *acc, T *out, int64_t numel) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < numel; j += stride)
    out[j] = ag_from_f32<T>(acc[j]);
}

template <typename T>
static __global__ void from_fixed_kernel(const unsigned long long *acc, T *out, int64_t numel) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < numel; j += stride)
    out[j] = ag_from_f32<T>(ag_hash_grid_from_fixed((long long)acc[j]));
}

template <typename T>
static __global__ void sh_encode_kernel(const T *dirs, T *y, int64_t n) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
    float out[16];
    ag_sh_encode_eval(ag_to_f32(dirs[3 * i]), ag_to_f32(dirs[3 * i + 1]),
                      ag_to_f32(dirs[3 * i + 2]), out);
    for (int j = 0; j < 16; j++) y[16 * i + j] = ag_from_f32<T>(out[j]);
  }
}

template <typename T>
static __global__ void sh_encode_backward_kernel(const T *dirs, const T *gy, T *gdirs,
                                                 int64_t n) {
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride) {
    float g[16], d[3];
    for (int j = 0; j < 16; j++) g[j] = ag_to_f32(gy[16 * i + j]);
    ag_sh_encode_grad(ag_to_f32(dirs[3 * i]), ag_to_f32(dirs[3 * i + 1]),
                      ag_to_f32(dirs[3 * i + 2]), g, d);
    for (int k = 0; k < 3; k++) gdirs[3 * i + k] = ag_from_f32<T>(d[k]);
  }
}

extern "C" ag_status AG_CUDA_SYM(hash_grid)(ag_dtype dt, const float *pos, const void *table,
                                            void *y, int64_t n, const ag_hash_grid_geom *g,
                                            void *stream) {
  const int64_t total = n * g->levels;
  if (total == 0) return AG_OK;
  const ag_hash_grid_geom geom = *g;
  return ag_dispatch_float(dt, "hash_grid", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(hash_grid_kernel<T>, ag_ew_blocks(total), AG_EW_THREADS, 0, stream, pos,
              (const T *)table, (T *)y, n, geom);
  });
}

/* Deterministic calls need the int64 sums; others a float copy unless the
 * gradient is f32 itself. */
extern "C" size_t AG_CUDA_SYM(hash_grid_scratch_bytes)(ag_dtype dt, int64_t numel,
                                                       int deterministic) {
  if (deterministic) return (size_t)numel * sizeof(unsigned long long);
  return dt == AG_F32 ? 0 : (size_t)numel * sizeof(float);
}

template <typename T, typename Add>
static void launch_scatter(const float *pos, const void *gy, Add add, int64_t n,
                           const ag_hash_grid_geom &g, void *stream) {
  using Kernel = void (*)(const float *, const T *, Add, int64_t, ag_hash_grid_geom);
  const Kernel kernel = hash_grid_backward_kernel<T, Add>;
  AG_LAUNCH(kernel, ag_ew_blocks(n * g.levels), AG_EW_THREADS, 0, stream, pos, (const T *)gy,
            add, n, g);
}

extern "C" ag_status AG_CUDA_SYM(hash_grid_backward)(ag_dtype dt, const float *pos,
                                                     const void *gy, void *gtable, void *scratch,
                                                     int64_t n, const ag_hash_grid_geom *g,
                                                     int deterministic, void *stream) {
  const int64_t numel = (int64_t)g->levels * g->table_size * g->features;
  const size_t acc_bytes = deterministic ? AG_CUDA_SYM(hash_grid_scratch_bytes)(dt, numel, 1)
                                         : (size_t)numel * sizeof(float);
  void *acc = deterministic || dt != AG_F32 ? scratch : gtable;
  if (cudaMemsetAsync(acc, 0, acc_bytes, (cudaStream_t)stream) != cudaSuccess)
    return AG_LAUNCH_STATUS("hash_grid_backward (zeroing)");
  const ag_hash_grid_geom geom = *g;
  return ag_dispatch_float(dt, "hash_grid_backward", [&](auto tag) {
    using T = decltype(tag);
    const unsigned blocks = ag_ew_blocks(numel);
    if (deterministic) {
      unsigned long long *q = (unsigned long long *)acc;
      if (n > 0) launch_scatter<T>(pos, gy, AddFixed{q}, n, geom, stream);
      AG_LAUNCH(from_fixed_kernel<T>, blocks, AG_EW_THREADS, 0, stream, q, (T *)gtable, numel);
      return;
    }
    if (n > 0) launch_scatter<T>(pos, gy, AddFloat{(float *)acc}, n, geom, stream);
    if (dt != AG_F32)
      AG_LAUNCH(from_float_kernel<T>, blocks, AG_EW_THREADS, 0, stream, (const float *)acc,
                (T *)gtable, numel);
  });
}

extern "C" ag_status AG_CUDA_SYM(sh_encode)(ag_dtype dt, const void *dirs, void *y, int64_t n,
                                            void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "sh_encode", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(sh_encode_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (const T *)dirs,
              (T *)y, n);
  });
}

extern "C" ag_status AG_CUDA_SYM(sh_encode_backward)(ag_dtype dt, const void *dirs,
                                                     const void *gy, void *gdirs, int64_t n,
                                                     void *stream) {
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "sh_encode_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(sh_encode_backward_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream,
              (const T *)dirs, (const T *)gy, (T *)gdirs, n);
  });
}

extern "C" const ag_encoding_kernels AG_CUDA_SYM(encoding_kernels) = {
    .hash_grid = AG_CUDA_SYM(hash_grid),
    .hash_grid_backward = AG_CUDA_SYM(hash_grid_backward),
    .hash_grid_scratch_bytes = AG_CUDA_SYM(hash_grid_scratch_bytes),
    .sh_encode = AG_CUDA_SYM(sh_encode),
    .sh_encode_backward = AG_CUDA_SYM(sh_encode_backward),
};
