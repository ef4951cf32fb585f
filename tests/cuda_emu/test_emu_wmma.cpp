/* The emulated nvcuda::wmma API (ag_emu_wmma.h) against a CPU matmul: every
 * fragment kind and layout, fill, elementwise x[] access, and the
 * warp-collective checks. Kernels are written inline as a .cu file would. */
#include "kernels/cuda/ag_cuda.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using namespace nvcuda;

/* C (16 x 16, row-major, ld 16) = scale * (A B + C), with A stored row- or
 * column-major and B likewise, each with leading dimension `ld`. */
template <class T, class LA, class LB>
static __global__ void tile_mma(const T *a, const T *b, float *c, unsigned ld, float scale) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, T, LA> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 16, T, LB> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::load_matrix_sync(acc, c, 16, wmma::mem_row_major);
  wmma::load_matrix_sync(fa, a, ld);
  wmma::load_matrix_sync(fb, b, ld);
  wmma::mma_sync(acc, fa, fb, acc);
  for (int e = 0; e < acc.num_elements; e++) acc.x[e] *= scale;
  wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

/* Every lane of two warps stores a filled accumulator column-major. */
static __global__ void fill_store(float *out) {
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
  wmma::fill_fragment(acc, 1.5f + (float)(threadIdx.x / 32));
  wmma::store_matrix_sync(out + threadIdx.x / 32 * 256, acc, 16, wmma::mem_col_major);
}

/* A wmma call that only half of the warp reaches. */
static __global__ void divergent_load(const __half *a) {
  wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
  if (threadIdx.x < 16) wmma::load_matrix_sync(fa, a, 16);
}

template <class T> T to_t(float v);
template <> __half to_t<__half>(float v) { return __float2half_rn(v); }
template <> __nv_bfloat16 to_t<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
float to_f(__half v) { return __half2float(v); }
float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class T, class LA, class LB> void check_mma(unsigned ld) {
  constexpr bool a_col = std::is_same<LA, wmma::col_major>::value;
  constexpr bool b_col = std::is_same<LB, wmma::col_major>::value;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<T> a(16 * ld), b(16 * ld);
  std::vector<float> fa(256), fb(256), c(256), want(256);
  for (int r = 0; r < 16; r++)
    for (int k = 0; k < 16; k++) {
      const float va = dist(rng), vb = dist(rng);
      a[a_col ? k * ld + r : r * ld + k] = to_t<T>(va);
      b[b_col ? k * ld + r : r * ld + k] = to_t<T>(vb);  // b(r, k): row r of K x N
      fa[r * 16 + k] = to_f(a[a_col ? k * ld + r : r * ld + k]);
      fb[r * 16 + k] = to_f(b[b_col ? k * ld + r : r * ld + k]);
    }
  for (int e = 0; e < 256; e++) c[e] = dist(rng);
  for (int r = 0; r < 16; r++)
    for (int n = 0; n < 16; n++) {
      double s = c[r * 16 + n];
      for (int k = 0; k < 16; k++) s += (double)fa[r * 16 + k] * fb[k * 16 + n];
      want[r * 16 + n] = (float)(2.0 * s);
    }
  AG_LAUNCH((tile_mma<T, LA, LB>), 1, 32, 0, 0, a.data(), b.data(), c.data(), ld, 2.0f);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (int e = 0; e < 256; e++) EXPECT_NEAR(c[e], want[e], 1e-4f) << "element " << e;
}

TEST(EmuWmma, MmaMatchesCpuMatmulInEveryLayout) {
  check_mma<__half, wmma::row_major, wmma::row_major>(16);
  check_mma<__half, wmma::row_major, wmma::col_major>(24);
  check_mma<__half, wmma::col_major, wmma::row_major>(24);
  check_mma<__nv_bfloat16, wmma::col_major, wmma::col_major>(16);
  check_mma<__nv_bfloat16, wmma::row_major, wmma::col_major>(32);
}

TEST(EmuWmma, FragmentsHoldWholeTiles) {
  using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;
  using A = wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major>;
  EXPECT_EQ(Acc::num_elements, 256);
  EXPECT_EQ(A::num_elements, 256);
}

TEST(EmuWmma, FillAndColumnMajorStore) {
  std::vector<float> out(512, 0.0f);
  AG_LAUNCH(fill_store, 1, 64, 0, 0, out.data());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (int e = 0; e < 512; e++) EXPECT_EQ(out[e], e < 256 ? 1.5f : 2.5f) << e;
}

TEST(EmuWmma, DivergentCallIsALaunchError) {
  std::vector<__half> a(256, __float2half_rn(1.0f));
  AG_LAUNCH(divergent_load, 1, 32, 0, 0, a.data());
  const cudaError_t err = cudaGetLastError();
  EXPECT_EQ(err, cudaErrorLaunchFailure);
  EXPECT_NE(std::string(cudaGetErrorString(err)).find("wmma::load_matrix_sync"), std::string::npos)
      << cudaGetErrorString(err);
}

}  // namespace
