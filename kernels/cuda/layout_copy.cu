/* Strided gather into a contiguous buffer (contiguous copy of a view). The
 * element is moved as an opaque word of its size, so every dtype works. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "kernels/common/ag_kernels.h"

template <typename W>
static __global__ void copy_strided_kernel(const W *src, ag_strided4 l, W *dst, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int d = 3; d >= 0; d--) {
      off += rem % l.shape[d] * l.stride[d];
      rem /= l.shape[d];
    }
    dst[i] = src[off];
  }
}

template <typename W>
static ag_status launch_copy(const void *src, ag_strided4 l, void *dst, int64_t n, void *stream) {
  AG_LAUNCH(copy_strided_kernel<W>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, (const W *)src, l,
            (W *)dst, n);
  return AG_LAUNCH_STATUS("copy_strided");
}

extern "C" ag_status AG_CUDA_SYM(copy_strided)(ag_dtype dt, const void *src, ag_strided4 l,
                                               void *dst, void *stream) {
  int64_t n = l.shape[0] * l.shape[1] * l.shape[2] * l.shape[3];
  if (n == 0) return AG_OK;
  switch (ag_dtype_size(dt)) {
  case 4: return launch_copy<uint32_t>(src, l, dst, n, stream);
  case 2: return launch_copy<uint16_t>(src, l, dst, n, stream);
  case 1: return launch_copy<uint8_t>(src, l, dst, n, stream);
  default: return ag_set_error(AG_ERR_INVALID, "copy_strided: invalid dtype");
  }
}
