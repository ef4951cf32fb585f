// The CUDA Philox kernels (kernels/cuda/random.cu) on a real GPU must reproduce
// the CPU fills bit for bit. Skipped, with the reason, where no device answers
// (tests/gpu_main.cpp).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <string>

#include "kernels/common/ag_kernels.h"
#include "philox_compare.h"

namespace pt = ag_philox_test;

namespace {

// Fills on the device, then copies the bytes back to `out`.
ag_status gpu_fill(const pt::Case &c, std::vector<uint8_t> &out) {
  void *d = nullptr;
  const size_t bytes = out.size();
  if (cudaMalloc(&d, bytes > 0 ? bytes : 1) != cudaSuccess)
    return ag_set_error(AG_ERR_OOM, "cudaMalloc of %zu bytes failed", bytes);
  ag_status st = c.kind == pt::kUniform
                     ? ag_cuda_fill_uniform(c.dt, d, c.n, c.seed, c.offset, c.a, c.b, nullptr)
                     : ag_cuda_fill_normal(c.dt, d, c.n, c.seed, c.offset, c.a, c.b, nullptr);
  if (st == AG_OK) {
    cudaError_t err = cudaDeviceSynchronize();
    if (err == cudaSuccess) err = cudaMemcpy(out.data(), d, bytes, cudaMemcpyDeviceToHost);
    if (err != cudaSuccess)
      st = ag_set_error(AG_ERR_DEVICE, "after fill: %s", cudaGetErrorString(err));
  }
  cudaFree(d);
  return st;
}

}  // namespace

TEST(PhiloxGpu, LargeFillsMatchCpu) { pt::check_large_fills(gpu_fill); }

TEST(PhiloxGpu, HeadAndTailMatchCpu) { pt::check_head_tail(gpu_fill); }

TEST(PhiloxGpu, UnsupportedDtype) { pt::check_unsupported(gpu_fill); }

// More than one grid's worth of blocks: exercises the grid-stride loop.
TEST(PhiloxGpu, HugeFillMatchesCpuAtEnds) {
  const int64_t n = (int64_t)65535 * 8 * 256 * 4 + 4099; // > capped grid x 4 values
  pt::expect_same_as_cpu(gpu_fill, {pt::kNormal, AG_F32, n, 9, 2, 0.0f, 1.0f});
}
