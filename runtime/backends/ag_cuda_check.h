/* ag_cuda_check.h - turn failed CUDA library calls into an ag_status whose
 * message names the call, the library's own error text, file and line:
 *   AG_CUDA_CHECK(cudaMalloc(&p, n));   // returns AG_ERR_DEVICE on failure
 * Each macro returns from the enclosing function, which must return
 * ag_status. Only for files built with the CUDA toolkit. */
#ifndef AG_CUDA_CHECK_H
#define AG_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <nccl.h>

#include "base/ag_base.h"

#define AG_CHECK_FAILED_(lib, call, code, text)                                                \
  ag_set_error(AG_ERR_DEVICE, "%s call %s failed: %s (code %d) at %s:%d", lib, call, text,      \
               (int)(code), __FILE__, __LINE__)

#define AG_CUDA_CHECK(call)                                                                    \
  do {                                                                                         \
    cudaError_t e_ = (call);                                                                   \
    if (e_ != cudaSuccess) return AG_CHECK_FAILED_("cudart", #call, e_, cudaGetErrorString(e_)); \
  } while (0)

#define AG_CUBLAS_CHECK(call)                                                                  \
  do {                                                                                         \
    cublasStatus_t e_ = (call);                                                                \
    if (e_ != CUBLAS_STATUS_SUCCESS)                                                           \
      return AG_CHECK_FAILED_("cuBLAS", #call, e_, cublasGetStatusString(e_));                 \
  } while (0)

#define AG_CUDNN_CHECK(call)                                                                   \
  do {                                                                                         \
    cudnnStatus_t e_ = (call);                                                                 \
    if (e_ != CUDNN_STATUS_SUCCESS)                                                            \
      return AG_CHECK_FAILED_("cuDNN", #call, e_, cudnnGetErrorString(e_));                    \
  } while (0)

#define AG_NCCL_CHECK(call)                                                                    \
  do {                                                                                         \
    ncclResult_t e_ = (call);                                                                  \
    if (e_ != ncclSuccess) return AG_CHECK_FAILED_("NCCL", #call, e_, ncclGetErrorString(e_));  \
  } while (0)

#endif
