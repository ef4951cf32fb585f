// CPU stand-in for the cuDNN convolution calls of kernels/cuda/conv.cu (see
// ag_emu_cudnn.h): direct convolutions on host memory with cuDNN's argument
// checks, alpha / beta and workspace contract.
#include "ag_emu_cudnn.h"

#include <cstdlib>
#include <new>

#include "kernels/common/ag_bf16.h"

struct cudnnContext {
  cudaStream_t stream;
};
struct cudnnTensorStruct {
  cudnnDataType_t type;
  int n, c, h, w;
};
struct cudnnFilterStruct {
  cudnnDataType_t type;
  int k, c, h, w;
};
struct cudnnConvolutionStruct {
  int pad_h, pad_w, stride_h, stride_w, dil_h, dil_w, groups;
};

namespace {

bool is_supported(cudnnDataType_t t) {
  return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16;
}

float load(cudnnDataType_t t, const void *p, size_t i) {
  switch (t) {
  case CUDNN_DATA_HALF: return ag_f16_to_f32(static_cast<const uint16_t *>(p)[i]);
  case CUDNN_DATA_BFLOAT16: return ag_bf16_to_f32(static_cast<const uint16_t *>(p)[i]);
  default: return static_cast<const float *>(p)[i];
  }
}

void store(cudnnDataType_t t, void *p, size_t i, float v) {
  switch (t) {
  case CUDNN_DATA_HALF: static_cast<uint16_t *>(p)[i] = ag_f32_to_f16(v); break;
  case CUDNN_DATA_BFLOAT16: static_cast<uint16_t *>(p)[i] = ag_f32_to_bf16(v); break;
  default: static_cast<float *>(p)[i] = v; break;
  }
}

// One convolution's tensors, checked for consistency the way cuDNN checks them.
struct Problem {
  const cudnnTensorStruct *x, *y;
  const cudnnFilterStruct *w;
  const cudnnConvolutionStruct *conv;

  int out_len(int in, int k, int pad, int stride, int dil) const {
    return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
  }
  bool valid() const {
    if (!x || !y || !w || !conv) return false;
    int g = conv->groups;
    return x->type == y->type && x->type == w->type && is_supported(x->type) && x->n == y->n &&
           g >= 1 && x->c % g == 0 && w->k % g == 0 && w->c * g == x->c && w->k == y->c &&
           y->h == out_len(x->h, w->h, conv->pad_h, conv->stride_h, conv->dil_h) &&
           y->w == out_len(x->w, w->w, conv->pad_w, conv->stride_w, conv->dil_w);
  }
  size_t x_count() const { return (size_t)x->n * x->c * x->h * x->w; }
  size_t y_count() const { return (size_t)y->n * y->c * y->h * y->w; }
  size_t w_count() const { return (size_t)w->k * w->c * w->h * w->w; }

  // Calls f(x index, w index, y index) for every multiply of the convolution.
  template <typename F> void for_each_tap(F &&f) const {
    int cog = w->k / conv->groups;
    for (int n = 0; n < x->n; n++)
      for (int co = 0; co < w->k; co++)
        for (int oy = 0; oy < y->h; oy++)
          for (int ox = 0; ox < y->w; ox++) {
            size_t yi = (((size_t)n * y->c + co) * y->h + oy) * y->w + ox;
            for (int cl = 0; cl < w->c; cl++) {
              int ci = co / cog * w->c + cl;
              for (int ky = 0; ky < w->h; ky++) {
                int iy = oy * conv->stride_h - conv->pad_h + ky * conv->dil_h;
                if (iy < 0 || iy >= x->h) continue;
                for (int kx = 0; kx < w->w; kx++) {
                  int ix = ox * conv->stride_w - conv->pad_w + kx * conv->dil_w;
                  if (ix < 0 || ix >= x->w) continue;
                  size_t xi = (((size_t)n * x->c + ci) * x->h + iy) * x->w + ix;
                  size_t wi = (((size_t)co * w->c + cl) * w->h + ky) * w->w + kx;
                  f(xi, wi, yi);
                }
              }
            }
          }
  }
};

// The result is accumulated in the workspace, as f32, then blended into the
// destination: dst = alpha * acc + beta * dst (dst not read when beta is 0).
cudnnStatus_t finish(const float *acc, size_t count, const void *alpha, const void *beta,
                     cudnnDataType_t t, void *dst) {
  float a = *static_cast<const float *>(alpha), b = *static_cast<const float *>(beta);
  for (size_t i = 0; i < count; i++)
    store(t, dst, i, a * acc[i] + (b != 0.0f ? b * load(t, dst, i) : 0.0f));
  return CUDNN_STATUS_SUCCESS;
}

float *accumulator(void *ws, size_t ws_bytes, size_t count) {
  if (!ws || ws_bytes < count * sizeof(float)) return nullptr;
  float *acc = static_cast<float *>(ws);
  for (size_t i = 0; i < count; i++) acc[i] = 0.0f;
  return acc;
}

template <typename Perf, typename Algo>
cudnnStatus_t report_one(const Problem &p, size_t count, int requested, int *returned,
                         Perf *perf, Algo algo) {
  if (!p.valid() || requested < 1 || !returned || !perf) return CUDNN_STATUS_BAD_PARAM;
  *perf = Perf{};
  perf->algo = algo;
  perf->status = CUDNN_STATUS_SUCCESS;
  perf->memory = count * sizeof(float);
  perf->determinism = CUDNN_DETERMINISTIC;
  perf->mathType = CUDNN_DEFAULT_MATH;
  *returned = 1;
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

const char *ag_emu_cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
  case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
  case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM (emulated cuDNN)";
  case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED (emulated cuDNN)";
  case CUDNN_STATUS_ALLOC_FAILED: return "CUDNN_STATUS_ALLOC_FAILED (emulated cuDNN)";
  default: return "cuDNN error (emulated cuDNN)";
  }
}

cudnnStatus_t ag_emu_cudnnCreate(cudnnHandle_t *handle) {
  *handle = new (std::nothrow) cudnnContext{};
  return *handle ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}

cudnnStatus_t ag_emu_cudnnDestroy(cudnnHandle_t handle) {
  delete handle;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  handle->stream = stream;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *desc) {
  *desc = new (std::nothrow) cudnnTensorStruct{};
  return *desc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}

cudnnStatus_t ag_emu_cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc,
                                                cudnnTensorFormat_t format,
                                                cudnnDataType_t dataType, int n, int c, int h,
                                                int w) {
  if (!desc || n < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
  if (format != CUDNN_TENSOR_NCHW || !is_supported(dataType)) return CUDNN_STATUS_NOT_SUPPORTED;
  *desc = cudnnTensorStruct{dataType, n, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc) {
  delete desc;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *desc) {
  *desc = new (std::nothrow) cudnnFilterStruct{};
  return *desc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}

cudnnStatus_t ag_emu_cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc,
                                                cudnnDataType_t dataType,
                                                cudnnTensorFormat_t format, int k, int c, int h,
                                                int w) {
  if (!desc || k < 1 || c < 1 || h < 1 || w < 1) return CUDNN_STATUS_BAD_PARAM;
  if (format != CUDNN_TENSOR_NCHW || !is_supported(dataType)) return CUDNN_STATUS_NOT_SUPPORTED;
  *desc = cudnnFilterStruct{dataType, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc) {
  delete desc;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *desc) {
  *desc = new (std::nothrow) cudnnConvolutionStruct{0, 0, 1, 1, 1, 1, 1};
  return *desc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
}

cudnnStatus_t ag_emu_cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h,
                                                     int pad_w, int u, int v, int dilation_h,
                                                     int dilation_w, cudnnConvolutionMode_t mode,
                                                     cudnnDataType_t computeType) {
  if (!desc || pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dilation_h < 1 || dilation_w < 1)
    return CUDNN_STATUS_BAD_PARAM;
  if (mode != CUDNN_CROSS_CORRELATION || computeType != CUDNN_DATA_FLOAT)
    return CUDNN_STATUS_NOT_SUPPORTED;
  int groups = desc->groups;
  *desc = cudnnConvolutionStruct{pad_h, pad_w, u, v, dilation_h, dilation_w, groups};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t desc,
                                                   int groupCount) {
  if (!desc || groupCount < 1) return CUDNN_STATUS_BAD_PARAM;
  desc->groups = groupCount;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc,
                                                 cudnnMathType_t mathType) {
  (void)mathType; // the stand-in always computes in f32 FMA
  return desc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}

cudnnStatus_t ag_emu_cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc) {
  delete desc;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t ag_emu_cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionFwdAlgoPerf_t *perfResults) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  Problem p{srcDesc, destDesc, filterDesc, convDesc};
  return report_one(p, p.valid() ? p.y_count() : 0, requestedAlgoCount, returnedAlgoCount,
                    perfResults, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM);
}

cudnnStatus_t ag_emu_cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdDataAlgoPerf_t *perfResults) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  Problem p{gradDesc, diffDesc, filterDesc, convDesc};
  return report_one(p, p.valid() ? p.x_count() : 0, requestedAlgoCount, returnedAlgoCount,
                    perfResults, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1);
}

cudnnStatus_t ag_emu_cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdFilterAlgoPerf_t *perfResults) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM;
  Problem p{srcDesc, diffDesc, gradDesc, convDesc};
  return report_one(p, p.valid() ? p.w_count() : 0, requestedAlgoCount, returnedAlgoCount,
                    perfResults, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
}

cudnnStatus_t ag_emu_cudnnConvolutionForward(
    cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace,
    size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y) {
  Problem p{xDesc, yDesc, wDesc, convDesc};
  if (!handle || !p.valid() || algo != CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM)
    return CUDNN_STATUS_BAD_PARAM;
  float *acc = accumulator(workSpace, workSpaceSizeInBytes, p.y_count());
  if (!acc) return CUDNN_STATUS_BAD_PARAM;
  cudnnDataType_t t = p.x->type;
  p.for_each_tap([&](size_t xi, size_t wi, size_t yi) {
    acc[yi] += load(t, x, xi) * load(t, w, wi);
  });
  return finish(acc, p.y_count(), alpha, beta, t, y);
}

cudnnStatus_t ag_emu_cudnnConvolutionBackwardData(
    cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
    const cudnnTensorDescriptor_t dxDesc, void *dx) {
  Problem p{dxDesc, dyDesc, wDesc, convDesc};
  if (!handle || !p.valid() || algo != CUDNN_CONVOLUTION_BWD_DATA_ALGO_1)
    return CUDNN_STATUS_BAD_PARAM;
  float *acc = accumulator(workSpace, workSpaceSizeInBytes, p.x_count());
  if (!acc) return CUDNN_STATUS_BAD_PARAM;
  cudnnDataType_t t = p.x->type;
  p.for_each_tap([&](size_t xi, size_t wi, size_t yi) {
    acc[xi] += load(t, dy, yi) * load(t, w, wi);
  });
  return finish(acc, p.x_count(), alpha, beta, t, dx);
}

cudnnStatus_t ag_emu_cudnnConvolutionBackwardFilter(
    cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
    const cudnnFilterDescriptor_t dwDesc, void *dw) {
  Problem p{xDesc, dyDesc, dwDesc, convDesc};
  if (!handle || !p.valid() || algo != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1)
    return CUDNN_STATUS_BAD_PARAM;
  float *acc = accumulator(workSpace, workSpaceSizeInBytes, p.w_count());
  if (!acc) return CUDNN_STATUS_BAD_PARAM;
  cudnnDataType_t t = p.x->type;
  p.for_each_tap([&](size_t xi, size_t wi, size_t yi) {
    acc[wi] += load(t, x, xi) * load(t, dy, yi);
  });
  return finish(acc, p.w_count(), alpha, beta, t, dw);
}

}  // extern "C"
