// The library-call check macros report the call, the library's message,
// file and line. Built with CUDA only; needs no device, because the macros
// only format what the call returned.
#include <string>

#include <gtest/gtest.h>

#include "runtime/backends/ag_cuda_check.h"

static ag_status cudart_fails() {
  AG_CUDA_CHECK(cudaErrorInvalidValue);
  return AG_OK;
}
static ag_status cublas_fails() {
  AG_CUBLAS_CHECK(CUBLAS_STATUS_NOT_INITIALIZED);
  return AG_OK;
}
static ag_status cudnn_fails() {
  AG_CUDNN_CHECK(CUDNN_STATUS_BAD_PARAM);
  return AG_OK;
}
static ag_status nccl_fails() {
  AG_NCCL_CHECK(ncclInvalidArgument);
  return AG_OK;
}
static ag_status all_succeed() {
  AG_CUDA_CHECK(cudaSuccess);
  AG_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS);
  AG_CUDNN_CHECK(CUDNN_STATUS_SUCCESS);
  AG_NCCL_CHECK(ncclSuccess);
  return AG_OK;
}

static void expect_message(ag_status st, const char *lib, const char *call) {
  EXPECT_EQ(st, AG_ERR_DEVICE);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find(lib), std::string::npos) << msg;
  EXPECT_NE(msg.find(call), std::string::npos) << msg;
  EXPECT_NE(msg.find("test_cuda_check.cpp:"), std::string::npos) << msg;
}

TEST(CudaCheck, ReportsCallLibraryFileAndLine) {
  expect_message(cudart_fails(), "cudart", "cudaErrorInvalidValue failed: invalid argument");
  expect_message(cublas_fails(), "cuBLAS", "CUBLAS_STATUS_NOT_INITIALIZED");
  expect_message(cudnn_fails(), "cuDNN", "CUDNN_STATUS_BAD_PARAM");
  expect_message(nccl_fails(), "NCCL", "ncclInvalidArgument");
  EXPECT_EQ(all_succeed(), AG_OK);
}
