/* ag_emu_cudnn.h - CPU stand-in for the subset of cuDNN that
 * kernels/cuda/conv.cu calls, for the CUDA-on-CPU emulator.
 *
 * Like ag_emu.h for cudart, it renames each cudnnXxx to ag_emu_cudnnXxx with
 * cuDNN's exact signature (the real <cudnn.h> supplies the types), so test
 * binaries can link the real libcudnn too. Implemented in standin_cudnn.cpp:
 * direct convolutions on host memory, NCHW only, cross-correlation, f32 /
 * f16 / bf16 data with f32 accumulation, alpha / beta as cuDNN defines them.
 * Each algorithm query reports one algorithm whose workspace holds an f32
 * accumulator for the result, and the convolution calls fail with
 * CUDNN_STATUS_BAD_PARAM when given less, so a launcher that mismanages its
 * workspace fails here too. (Workspaces themselves come from
 * kernels/cuda/ag_cuda_workspace.h, host memory under the emulator.) */
#ifndef AG_EMU_CUDNN_H
#define AG_EMU_CUDNN_H

#include <cudnn.h>

#define cudnnGetErrorString ag_emu_cudnnGetErrorString
#define cudnnCreate ag_emu_cudnnCreate
#define cudnnDestroy ag_emu_cudnnDestroy
#define cudnnSetStream ag_emu_cudnnSetStream
#define cudnnCreateTensorDescriptor ag_emu_cudnnCreateTensorDescriptor
#define cudnnSetTensor4dDescriptor ag_emu_cudnnSetTensor4dDescriptor
#define cudnnDestroyTensorDescriptor ag_emu_cudnnDestroyTensorDescriptor
#define cudnnCreateFilterDescriptor ag_emu_cudnnCreateFilterDescriptor
#define cudnnSetFilter4dDescriptor ag_emu_cudnnSetFilter4dDescriptor
#define cudnnDestroyFilterDescriptor ag_emu_cudnnDestroyFilterDescriptor
#define cudnnCreateConvolutionDescriptor ag_emu_cudnnCreateConvolutionDescriptor
#define cudnnSetConvolution2dDescriptor ag_emu_cudnnSetConvolution2dDescriptor
#define cudnnSetConvolutionGroupCount ag_emu_cudnnSetConvolutionGroupCount
#define cudnnSetConvolutionMathType ag_emu_cudnnSetConvolutionMathType
#define cudnnDestroyConvolutionDescriptor ag_emu_cudnnDestroyConvolutionDescriptor
#define cudnnGetConvolutionForwardAlgorithm_v7 ag_emu_cudnnGetConvolutionForwardAlgorithm_v7
#define cudnnGetConvolutionBackwardDataAlgorithm_v7                                               \
  ag_emu_cudnnGetConvolutionBackwardDataAlgorithm_v7
#define cudnnGetConvolutionBackwardFilterAlgorithm_v7                                             \
  ag_emu_cudnnGetConvolutionBackwardFilterAlgorithm_v7
#define cudnnConvolutionForward ag_emu_cudnnConvolutionForward
#define cudnnConvolutionBackwardData ag_emu_cudnnConvolutionBackwardData
#define cudnnConvolutionBackwardFilter ag_emu_cudnnConvolutionBackwardFilter

extern "C" {
const char *ag_emu_cudnnGetErrorString(cudnnStatus_t status);
cudnnStatus_t ag_emu_cudnnCreate(cudnnHandle_t *handle);
cudnnStatus_t ag_emu_cudnnDestroy(cudnnHandle_t handle);
cudnnStatus_t ag_emu_cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream);
cudnnStatus_t ag_emu_cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *desc);
cudnnStatus_t ag_emu_cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc,
                                                cudnnTensorFormat_t format,
                                                cudnnDataType_t dataType, int n, int c, int h,
                                                int w);
cudnnStatus_t ag_emu_cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc);
cudnnStatus_t ag_emu_cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *desc);
cudnnStatus_t ag_emu_cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc,
                                                cudnnDataType_t dataType,
                                                cudnnTensorFormat_t format, int k, int c, int h,
                                                int w);
cudnnStatus_t ag_emu_cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc);
cudnnStatus_t ag_emu_cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *desc);
cudnnStatus_t ag_emu_cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h,
                                                     int pad_w, int u, int v, int dilation_h,
                                                     int dilation_w, cudnnConvolutionMode_t mode,
                                                     cudnnDataType_t computeType);
cudnnStatus_t ag_emu_cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t desc,
                                                   int groupCount);
cudnnStatus_t ag_emu_cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t desc,
                                                 cudnnMathType_t mathType);
cudnnStatus_t ag_emu_cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc);
cudnnStatus_t ag_emu_cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionFwdAlgoPerf_t *perfResults);
cudnnStatus_t ag_emu_cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdDataAlgoPerf_t *perfResults);
cudnnStatus_t ag_emu_cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdFilterAlgoPerf_t *perfResults);
cudnnStatus_t ag_emu_cudnnConvolutionForward(
    cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace,
    size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y);
cudnnStatus_t ag_emu_cudnnConvolutionBackwardData(
    cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
    const cudnnTensorDescriptor_t dxDesc, void *dx);
cudnnStatus_t ag_emu_cudnnConvolutionBackwardFilter(
    cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo,
    void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
    const cudnnFilterDescriptor_t dwDesc, void *dw);
}

#endif
