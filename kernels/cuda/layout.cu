/* Axis copies and index gathers over tensors viewed as [outer, n, inner].
 * Both move rows that are contiguous on either side, so they are copied as
 * the widest word (up to 16 bytes) that every row start and length allows:
 * vectorised loads whatever the dtype. The gather's gradient scatter-adds
 * with atomics in the storage dtype. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

/* The widest power-of-two word (<= 16 bytes) dividing every value OR-ed
 * into `bits`: addresses, offsets and lengths in bytes. */
static int64_t word_bytes(uint64_t bits) {
  for (int64_t w = 16; w > 1; w >>= 1)
    if (bits % (uint64_t)w == 0) return w;
  return 1;
}

/* dst[o * dst_stride + r] = src[o * src_stride + r] (or zero) for r < run,
 * everything in words. */
template <typename W>
static __global__ void copy_rows_kernel(const W *src, int64_t src_stride, W *dst,
                                        int64_t dst_stride, int64_t outer, int64_t run) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < outer * run;
       k += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = k / run, r = k % run;
    dst[o * dst_stride + r] = src ? src[o * src_stride + r] : W{};
  }
}

template <typename W>
static ag_status launch_copy_rows(const char *src, int64_t src_stride, char *dst,
                                  int64_t dst_stride, int64_t outer, int64_t run, void *stream) {
  int64_t w = (int64_t)sizeof(W);
  AG_LAUNCH(copy_rows_kernel<W>, ag_ew_blocks(outer * (run / w)), AG_EW_THREADS, 0, stream,
            (const W *)src, src_stride / w, (W *)dst, dst_stride / w, outer, run / w);
  return AG_LAUNCH_STATUS("copy_axis");
}

extern "C" ag_status AG_CUDA_SYM(copy_axis)(ag_dtype dt, const void *src, int64_t src_n,
                                            int64_t src_off, void *dst, int64_t dst_n,
                                            int64_t dst_off, int64_t outer, int64_t count,
                                            int64_t inner, void *stream) {
  int64_t es = (int64_t)ag_dtype_size(dt);
  if (es == 0) return ag_set_error(AG_ERR_INVALID, "copy_axis: invalid dtype");
  if (outer * count * inner == 0) return AG_OK;
  const char *s = src ? (const char *)src + src_off * inner * es : NULL;
  char *d = (char *)dst + dst_off * inner * es;
  int64_t run = count * inner * es, s_stride = src_n * inner * es, d_stride = dst_n * inner * es;
  switch (word_bytes((uint64_t)(uintptr_t)s | (uint64_t)(uintptr_t)d | (uint64_t)run |
                     (uint64_t)s_stride | (uint64_t)d_stride)) {
  case 16: return launch_copy_rows<uint4>(s, s_stride, d, d_stride, outer, run, stream);
  case 8: return launch_copy_rows<uint2>(s, s_stride, d, d_stride, outer, run, stream);
  case 4: return launch_copy_rows<uint32_t>(s, s_stride, d, d_stride, outer, run, stream);
  case 2: return launch_copy_rows<uint16_t>(s, s_stride, d, d_stride, outer, run, stream);
  default: return launch_copy_rows<uint8_t>(s, s_stride, d, d_stride, outer, run, stream);
  }
}

/* y row (o, j) = x row (o, idx[j]), rows of `row` words; an index outside
 * [0, n_x) gives a zero row rather than an out-of-bounds read. */
template <typename W>
static __global__ void gather_rows_kernel(const W *x, const int32_t *idx, W *y, int64_t outer,
                                          int64_t n_x, int64_t n_idx, int64_t row) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < outer * n_idx * row;
       k += (int64_t)gridDim.x * blockDim.x) {
    int64_t line = k / row, r = k % row, o = line / n_idx;
    int64_t id = idx[line % n_idx];
    y[k] = id >= 0 && id < n_x ? x[(o * n_x + id) * row + r] : W{};
  }
}

template <typename W>
static ag_status launch_gather(const void *x, const int32_t *idx, void *y, int64_t outer,
                               int64_t n_x, int64_t n_idx, int64_t row_bytes, void *stream) {
  int64_t row = row_bytes / (int64_t)sizeof(W);
  AG_LAUNCH(gather_rows_kernel<W>, ag_ew_blocks(outer * n_idx * row), AG_EW_THREADS, 0, stream,
            (const W *)x, idx, (W *)y, outer, n_x, n_idx, row);
  return AG_LAUNCH_STATUS("gather_axis");
}

extern "C" ag_status AG_CUDA_SYM(gather_axis)(ag_dtype dt, const void *x, const int32_t *idx,
                                              void *y, int64_t outer, int64_t n_x, int64_t n_idx,
                                              int64_t inner, void *stream) {
  int64_t es = (int64_t)ag_dtype_size(dt);
  if (es == 0) return ag_set_error(AG_ERR_INVALID, "gather_axis: invalid dtype");
  if (outer * n_idx * inner == 0) return AG_OK;
  int64_t row = inner * es;
  switch (word_bytes((uint64_t)(uintptr_t)x | (uint64_t)(uintptr_t)y | (uint64_t)row)) {
  case 16: return launch_gather<uint4>(x, idx, y, outer, n_x, n_idx, row, stream);
  case 8: return launch_gather<uint2>(x, idx, y, outer, n_x, n_idx, row, stream);
  case 4: return launch_gather<uint32_t>(x, idx, y, outer, n_x, n_idx, row, stream);
  case 2: return launch_gather<uint16_t>(x, idx, y, outer, n_x, n_idx, row, stream);
  default: return launch_gather<uint8_t>(x, idx, y, outer, n_x, n_idx, row, stream);
  }
}

template <typename T> static __global__ void zero_kernel(T *y, int64_t n) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n;
       k += (int64_t)gridDim.x * blockDim.x)
    y[k] = ag_from_f32<T>(0.0f);
}

/* One thread per gradient element; repeated indices meet in the atomics. */
template <typename T>
static __global__ void scatter_add_kernel(const T *g, const int32_t *idx, T *gx, int64_t outer,
                                          int64_t n_x, int64_t n_idx, int64_t inner) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < outer * n_idx * inner;
       k += (int64_t)gridDim.x * blockDim.x) {
    int64_t line = k / inner, o = line / n_idx;
    int64_t id = idx[line % n_idx];
    if (id >= 0 && id < n_x) atomicAdd(&gx[(o * n_x + id) * inner + k % inner], g[k]);
  }
}

extern "C" ag_status AG_CUDA_SYM(gather_axis_backward)(ag_dtype dt, const void *g,
                                                       const int32_t *idx, void *gx,
                                                       int64_t outer, int64_t n_x, int64_t n_idx,
                                                       int64_t inner, void *stream) {
  int64_t n = outer * n_x * inner, ng = outer * n_idx * inner;
  if (n == 0) return AG_OK;
  return ag_dispatch_float(dt, "gather_axis_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(zero_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (T *)gx, n);
    if (ng > 0)
      AG_LAUNCH(scatter_add_kernel<T>, ag_ew_blocks(ng), AG_EW_THREADS, 0, stream, (const T *)g,
                idx, (T *)gx, outer, n_x, n_idx, inner);
  });
}

extern "C" const ag_layout_kernels AG_CUDA_SYM(layout_kernels) = {
    .copy_strided = AG_CUDA_SYM(copy_strided),
    .copy_axis = AG_CUDA_SYM(copy_axis),
    .gather_axis = AG_CUDA_SYM(gather_axis),
    .gather_axis_backward = AG_CUDA_SYM(gather_axis_backward),
};
