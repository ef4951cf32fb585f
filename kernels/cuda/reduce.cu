/* Row reductions: one block per row, each thread accumulating a strided slice
 * of the row in f32, then a warp-shuffle block sum. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"
#include "ag_cuda_reduce.h"

#define AG_ROW_THREADS 256

template <typename T>
static __global__ void sum_rows_kernel(const T *x, T *y, int64_t cols) {
  const T *row = x + blockIdx.x * cols;
  float acc = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) acc += ag_to_f32(row[c]);
  acc = ag_block_sum(acc);
  if (threadIdx.x == 0) y[blockIdx.x] = ag_from_f32<T>(acc);
}

template <typename T>
static __global__ void broadcast_rows_kernel(const T *g, T *gx, int64_t rows, int64_t cols) {
  int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    gx[i] = g[i / cols];
}

extern "C" ag_status AG_CUDA_SYM(sum_rows)(ag_dtype dt, const void *x, void *y, int64_t rows,
                                           int64_t cols, void *stream) {
  if (rows > 0x7fffffff)
    return ag_set_error(AG_ERR_INVALID, "sum_rows: %lld rows exceed the grid limit",
                        (long long)rows);
  if (rows == 0) return AG_OK;
  return ag_dispatch_float(dt, "sum_rows", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(sum_rows_kernel<T>, (unsigned)rows, AG_ROW_THREADS, 0, stream, (const T *)x,
              (T *)y, cols);
  });
}

extern "C" ag_status AG_CUDA_SYM(broadcast_rows)(ag_dtype dt, const void *g, void *gx,
                                                 int64_t rows, int64_t cols, void *stream) {
  if (rows * cols == 0) return AG_OK;
  return ag_dispatch_float(dt, "broadcast_rows", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(broadcast_rows_kernel<T>, ag_ew_blocks(rows * cols), AG_EW_THREADS, 0, stream,
              (const T *)g, (T *)gx, rows, cols);
  });
}
