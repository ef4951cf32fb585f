/* Convolutions through cuDNN's convolution API: forward, backward data and
 * backward filter, algorithms from the _v7 heuristics, a workspace per stream
 * that grows on demand (convolutions on two streams may run at once, so they
 * never share one). The handle and workspaces are cached behind ctx->dnn,
 * created on first use. Math: f32 data with FMA math (no TF32, so results
 * stay close to the CPU reference); f16 / bf16 data with f32 compute on
 * tensor cores. The bias add and the bias gradient are hand-written kernels.
 * Under the emulator, tests/cuda_emu/ag_emu_cudnn.h supplies a CPU stand-in
 * for the cuDNN calls. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_reduce.h"
#include "ag_cuda_workspace.h"
#include "kernels/common/ag_kernels.h"

#ifdef AG_CUDA_EMU
#include "kernels/emu/ag_emu_cudnn.h"
#else
#include <cudnn.h>
#endif

#include <climits>
#include <cstdlib>

/* The nvcc and emulator builds of this file are linked into one test
 * program, where the types below differ (real cuDNN vs the stand-in): each
 * lives in an anonymous namespace so neither build's definition can replace
 * the other's. */
namespace {

/* What ctx->dnn points to. Lives as long as the backend. */
struct ag_conv_dnn {
  cudnnHandle_t handle;
  ag_stream_workspaces ws;
};

}  // namespace

#define AG_DNN_TRY(what, call)                                                                    \
  do {                                                                                            \
    cudnnStatus_t ag_dnn_st_ = (call);                                                            \
    if (ag_dnn_st_ != CUDNN_STATUS_SUCCESS)                                                       \
      return ag_set_error(AG_ERR_DEVICE, "cuda kernel %s: %s failed: %s", (what), #call,         \
                          cudnnGetErrorString(ag_dnn_st_));                                       \
  } while (0)

static ag_status dnn_of(const char *what, ag_kernel_ctx *ctx, void *stream, ag_conv_dnn **out) {
  ag_conv_dnn *d = (ag_conv_dnn *)ctx->dnn;
  if (!d) {
    d = (ag_conv_dnn *)std::calloc(1, sizeof *d);
    if (!d) return ag_set_error(AG_ERR_OOM, "cuda kernel %s: out of host memory", what);
    cudnnStatus_t st = cudnnCreate(&d->handle);
    if (st != CUDNN_STATUS_SUCCESS) {
      std::free(d);
      return ag_set_error(AG_ERR_DEVICE, "cuda kernel %s: cudnnCreate failed: %s", what,
                          cudnnGetErrorString(st));
    }
    ctx->dnn = d;
  }
  AG_DNN_TRY(what, cudnnSetStream(d->handle, (cudaStream_t)stream));
  *out = d;
  return AG_OK;
}

namespace {

/* The descriptors of one convolution, destroyed with it. */
struct ag_conv_descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  ag_conv_descs() = default;
  ag_conv_descs(const ag_conv_descs &) = delete;
  ag_conv_descs &operator=(const ag_conv_descs &) = delete;
  ~ag_conv_descs() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

/* A convolution call in progress: handle, descriptors, workspace. */
struct ag_conv_run {
  ag_conv_dnn *dnn = nullptr;
  ag_conv_descs d;
  void *ws = nullptr;
  size_t ws_bytes = 0;
};

}  // namespace

static bool fits_int(const ag_conv2d_geom &g) {
  return g.n * g.cin * g.h * g.w <= INT_MAX && g.n * g.cout * g.oh * g.ow <= INT_MAX &&
         g.cout * g.cin * g.kh * g.kw <= INT_MAX;
}

static ag_status make_descs(const char *what, ag_dtype dt, const ag_conv2d_geom &g,
                            ag_conv_descs *d) {
  cudnnDataType_t t;
  switch (dt) {
  case AG_F32: t = CUDNN_DATA_FLOAT; break;
  case AG_F16: t = CUDNN_DATA_HALF; break;
  case AG_BF16: t = CUDNN_DATA_BFLOAT16; break;
  default:
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: dtype %s is not supported", what,
                        ag_dtype_name(dt));
  }
  if (!fits_int(g))
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: tensors over 2^31 elements", what);
  AG_DNN_TRY(what, cudnnCreateTensorDescriptor(&d->x));
  AG_DNN_TRY(what, cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, t, (int)g.n, (int)g.cin,
                                              (int)g.h, (int)g.w));
  AG_DNN_TRY(what, cudnnCreateTensorDescriptor(&d->y));
  AG_DNN_TRY(what, cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, t, (int)g.n, (int)g.cout,
                                              (int)g.oh, (int)g.ow));
  AG_DNN_TRY(what, cudnnCreateFilterDescriptor(&d->w));
  AG_DNN_TRY(what, cudnnSetFilter4dDescriptor(d->w, t, CUDNN_TENSOR_NCHW, (int)g.cout,
                                              (int)(g.cin / g.groups), (int)g.kh, (int)g.kw));
  AG_DNN_TRY(what, cudnnCreateConvolutionDescriptor(&d->conv));
  AG_DNN_TRY(what, cudnnSetConvolution2dDescriptor(d->conv, (int)g.pad_h, (int)g.pad_w,
                                                   (int)g.stride_h, (int)g.stride_w,
                                                   (int)g.dil_h, (int)g.dil_w,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  AG_DNN_TRY(what, cudnnSetConvolutionGroupCount(d->conv, (int)g.groups));
  AG_DNN_TRY(what, cudnnSetConvolutionMathType(d->conv, dt == AG_F32 ? CUDNN_FMA_MATH
                                                                     : CUDNN_TENSOR_OP_MATH));
  return AG_OK;
}

/* The heuristics' best algorithm that is available, and its workspace. */
template <typename Perf, typename Algo>
static ag_status first_usable(const char *what, const Perf *perf, int n, Algo *algo,
                              size_t *bytes) {
  for (int i = 0; i < n; i++)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) {
      *algo = perf[i].algo;
      *bytes = perf[i].memory;
      return AG_OK;
    }
  return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: cuDNN has no algorithm for it", what);
}

static ag_status conv_begin(const char *what, ag_kernel_ctx *ctx, ag_dtype dt,
                            const ag_conv2d_geom &g, void *stream, ag_conv_run *r) {
  AG_TRY(dnn_of(what, ctx, stream, &r->dnn));
  return make_descs(what, dt, g, &r->d);
}

static const float ag_dnn_one = 1.0f, ag_dnn_zero = 0.0f;

/* y[n, c, :] += bias[c]: one block per (c, n) row of oh*ow values. */
template <typename T>
static __global__ void bias_add_kernel(T *y, const T *bias, int64_t p) {
  int64_t c = blockIdx.x, row = (int64_t)blockIdx.y * gridDim.x + c;
  float b = ag_to_f32(bias[c]);
  T *yr = y + row * p;
  for (int64_t i = threadIdx.x; i < p; i += blockDim.x)
    yr[i] = ag_from_f32<T>(ag_to_f32(yr[i]) + b);
}

/* gb[c] = sum of gy over n and the plane: one block per channel. */
template <typename T>
static __global__ void bias_grad_kernel(const T *gy, T *gb, int64_t n, int64_t c_count,
                                        int64_t p) {
  int64_t c = blockIdx.x;
  float v = 0.0f;
  for (int64_t b = 0; b < n; b++) {
    const T *row = gy + (b * c_count + c) * p;
    for (int64_t i = threadIdx.x; i < p; i += blockDim.x) v += ag_to_f32(row[i]);
  }
  v = ag_block_sum(v);
  if (threadIdx.x == 0) gb[c] = ag_from_f32<T>(v);
}

#define AG_CONV_BIAS_THREADS 256

extern "C" ag_status AG_CUDA_SYM(conv2d_forward)(ag_kernel_ctx *ctx, ag_dtype dt,
                                                 ag_conv2d_geom g, const void *x, const void *w,
                                                 const void *bias, void *y, void *stream) {
  const char *what = "conv2d_forward";
  ag_conv_run r;
  AG_TRY(conv_begin(what, ctx, dt, g, stream, &r));
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int n = 0;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  AG_DNN_TRY(what, cudnnGetConvolutionForwardAlgorithm_v7(r.dnn->handle, r.d.x, r.d.w, r.d.conv,
                                                          r.d.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                          &n, perf));
  AG_TRY(first_usable(what, perf, n, &algo, &r.ws_bytes));
  AG_TRY(ag_stream_workspace(&r.dnn->ws, stream, r.ws_bytes, what, &r.ws));
  AG_DNN_TRY(what, cudnnConvolutionForward(r.dnn->handle, &ag_dnn_one, r.d.x, x, r.d.w, w,
                                           r.d.conv, algo, r.ws, r.ws_bytes, &ag_dnn_zero, r.d.y,
                                           y));
  if (!bias) return AG_OK;
  return ag_dispatch_float(dt, "conv2d_bias_add", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(bias_add_kernel<T>, dim3((unsigned)g.cout, (unsigned)g.n), AG_CONV_BIAS_THREADS, 0,
              stream, (T *)y, (const T *)bias, g.oh * g.ow);
  });
}

extern "C" ag_status AG_CUDA_SYM(conv2d_backward_data)(ag_kernel_ctx *ctx, ag_dtype dt,
                                                       ag_conv2d_geom g, const void *gy,
                                                       const void *w, void *gx, void *stream) {
  const char *what = "conv2d_backward_data";
  ag_conv_run r;
  AG_TRY(conv_begin(what, ctx, dt, g, stream, &r));
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int n = 0;
  cudnnConvolutionBwdDataAlgo_t algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  AG_DNN_TRY(what, cudnnGetConvolutionBackwardDataAlgorithm_v7(
                       r.dnn->handle, r.d.w, r.d.y, r.d.conv, r.d.x,
                       CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
  AG_TRY(first_usable(what, perf, n, &algo, &r.ws_bytes));
  AG_TRY(ag_stream_workspace(&r.dnn->ws, stream, r.ws_bytes, what, &r.ws));
  AG_DNN_TRY(what, cudnnConvolutionBackwardData(r.dnn->handle, &ag_dnn_one, r.d.w, w, r.d.y, gy,
                                                r.d.conv, algo, r.ws, r.ws_bytes, &ag_dnn_zero,
                                                r.d.x, gx));
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(conv2d_backward_filter)(ag_kernel_ctx *ctx, ag_dtype dt,
                                                         ag_conv2d_geom g, const void *x,
                                                         const void *gy, void *gw, void *stream) {
  const char *what = "conv2d_backward_filter";
  ag_conv_run r;
  AG_TRY(conv_begin(what, ctx, dt, g, stream, &r));
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int n = 0;
  cudnnConvolutionBwdFilterAlgo_t algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
  AG_DNN_TRY(what, cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                       r.dnn->handle, r.d.x, r.d.y, r.d.conv, r.d.w,
                       CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
  AG_TRY(first_usable(what, perf, n, &algo, &r.ws_bytes));
  AG_TRY(ag_stream_workspace(&r.dnn->ws, stream, r.ws_bytes, what, &r.ws));
  AG_DNN_TRY(what, cudnnConvolutionBackwardFilter(r.dnn->handle, &ag_dnn_one, r.d.x, x, r.d.y,
                                                  gy, r.d.conv, algo, r.ws, r.ws_bytes,
                                                  &ag_dnn_zero, r.d.w, gw));
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(conv2d_backward_bias)(ag_kernel_ctx *ctx, ag_dtype dt,
                                                       ag_conv2d_geom g, const void *gy, void *gb,
                                                       void *stream) {
  (void)ctx;
  return ag_dispatch_float(dt, "conv2d_backward_bias", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(bias_grad_kernel<T>, (unsigned)g.cout, AG_CONV_BIAS_THREADS, 0, stream,
              (const T *)gy, (T *)gb, g.n, g.cout, g.oh * g.ow);
  });
}

extern "C" const ag_conv_kernels AG_CUDA_SYM(conv_kernels) = {
    .conv2d_forward = AG_CUDA_SYM(conv2d_forward),
    .conv2d_backward_data = AG_CUDA_SYM(conv2d_backward_data),
    .conv2d_backward_filter = AG_CUDA_SYM(conv2d_backward_filter),
    .conv2d_backward_bias = AG_CUDA_SYM(conv2d_backward_bias),
    .upsample_nearest2x = AG_CUDA_SYM(upsample_nearest2x),
    .upsample_nearest2x_backward = AG_CUDA_SYM(upsample_nearest2x_backward),
    .avgpool2d = AG_CUDA_SYM(avgpool2d),
    .avgpool2d_backward = AG_CUDA_SYM(avgpool2d_backward),
};
