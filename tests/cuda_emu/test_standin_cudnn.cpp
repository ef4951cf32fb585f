// The cuDNN stand-in (standin_cudnn.cpp) against cuDNN's contract: values of
// a known convolution, alpha / beta blending, the workspace it reports and
// requires, rejected descriptors, and backward data / filter as adjoints of
// the forward.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/emu/ag_emu_cudnn.h"

namespace {

struct Conv {
  cudnnHandle_t h = nullptr;
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  // x [n, c, hw, hw] (*) w [k, c, r, r], padding p, stride 1: y [n, k, o, o].
  Conv(int n, int c, int hw, int k, int r, int p, int o) {
    EXPECT_EQ(cudnnCreate(&h), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&x), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateTensorDescriptor(&y), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateFilterDescriptor(&w), CUDNN_STATUS_SUCCESS);
    EXPECT_EQ(cudnnCreateConvolutionDescriptor(&conv), CUDNN_STATUS_SUCCESS);
    cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, hw, hw);
    cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, o, o);
    cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, r, r);
    cudnnSetConvolution2dDescriptor(conv, p, p, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                    CUDNN_DATA_FLOAT);
  }
  ~Conv() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroy(h);
  }
  cudnnConvolutionFwdAlgoPerf_t forward_algo() {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(h, x, w, conv, y,
                                                     CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
              CUDNN_STATUS_SUCCESS);
    EXPECT_GE(n, 1);
    return perf[0];
  }
};

std::vector<float> random(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto &e : v) e = u(gen);
  return v;
}

double dot(const std::vector<float> &a, const std::vector<float> &b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
  return s;
}

TEST(StandinCudnn, ForwardBlendsWithAlphaAndBeta) {
  Conv c(1, 1, 2, 1, 1, 0, 2);
  cudnnConvolutionFwdAlgoPerf_t perf = c.forward_algo();
  ASSERT_EQ(perf.memory, 4 * sizeof(float));
  std::vector<float> x = {1, 2, 3, 4}, w = {2}, y = {1, 1, 1, 1}, ws(4);
  const float alpha = 0.5f, beta = 1.0f;
  ASSERT_EQ(cudnnConvolutionForward(c.h, &alpha, c.x, x.data(), c.w, w.data(), c.conv, perf.algo,
                                    ws.data(), perf.memory, &beta, c.y, y.data()),
            CUDNN_STATUS_SUCCESS);
  EXPECT_EQ(y, (std::vector<float>{2, 3, 4, 5}));
}

TEST(StandinCudnn, RejectsASmallWorkspaceAndInconsistentShapes) {
  Conv c(1, 1, 2, 1, 1, 0, 2);
  cudnnConvolutionFwdAlgoPerf_t perf = c.forward_algo();
  std::vector<float> x(4), w(1), y(4), ws(4);
  const float one = 1.0f, zero = 0.0f;
  EXPECT_EQ(cudnnConvolutionForward(c.h, &one, c.x, x.data(), c.w, w.data(), c.conv, perf.algo,
                                    ws.data(), perf.memory - 1, &zero, c.y, y.data()),
            CUDNN_STATUS_BAD_PARAM);
  Conv bad(1, 1, 2, 1, 1, 0, 3);  // y is 3x3, the convolution gives 2x2
  cudnnConvolutionFwdAlgoPerf_t perf_bad[1];
  int n = 0;
  EXPECT_EQ(cudnnGetConvolutionForwardAlgorithm_v7(bad.h, bad.x, bad.w, bad.conv, bad.y, 1, &n,
                                                   perf_bad),
            CUDNN_STATUS_BAD_PARAM);
}

// <conv(x, w), dy> = <x, backward_data(dy, w)> = <w, backward_filter(x, dy)>.
TEST(StandinCudnn, BackwardPassesAreAdjointsOfTheForward) {
  Conv c(2, 3, 5, 4, 3, 1, 5);
  std::vector<float> x = random(2 * 3 * 25, 1), w = random(4 * 3 * 9, 2);
  std::vector<float> dy = random(2 * 4 * 25, 3);
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size());
  std::vector<float> ws(x.size() + y.size() + w.size());
  const float one = 1.0f, zero = 0.0f;
  size_t bytes = ws.size() * sizeof(float);
  ASSERT_EQ(cudnnConvolutionForward(c.h, &one, c.x, x.data(), c.w, w.data(), c.conv,
                                    c.forward_algo().algo, ws.data(), bytes, &zero, c.y,
                                    y.data()),
            CUDNN_STATUS_SUCCESS);
  cudnnConvolutionBwdDataAlgoPerf_t pd[1];
  cudnnConvolutionBwdFilterAlgoPerf_t pf[1];
  int n = 0;
  ASSERT_EQ(cudnnGetConvolutionBackwardDataAlgorithm_v7(c.h, c.w, c.y, c.conv, c.x, 1, &n, pd),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c.h, c.x, c.y, c.conv, c.w, 1, &n, pf),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnConvolutionBackwardData(c.h, &one, c.w, w.data(), c.y, dy.data(), c.conv,
                                         pd[0].algo, ws.data(), bytes, &zero, c.x, dx.data()),
            CUDNN_STATUS_SUCCESS);
  ASSERT_EQ(cudnnConvolutionBackwardFilter(c.h, &one, c.x, x.data(), c.y, dy.data(), c.conv,
                                           pf[0].algo, ws.data(), bytes, &zero, c.w, dw.data()),
            CUDNN_STATUS_SUCCESS);
  double ref = dot(y, dy);
  EXPECT_NEAR(dot(x, dx), ref, 1e-4 * std::fabs(ref) + 1e-4);
  EXPECT_NEAR(dot(w, dw), ref, 1e-4 * std::fabs(ref) + 1e-4);
}

}  // namespace
