/* ag_emu_cublaslt.h - the emulator's CPU stand-in for the cuBLASLt calls the
 * matmul launcher makes (kernels/cuda/matmul.cu), so that launcher's library
 * calls run, and are checked, without a GPU.
 *
 * Included instead of <cublasLt.h> when AG_CUDA_EMU is defined. It includes
 * the real header for the types and enums; each cublasLtXxx used is then a
 * macro naming ag_emu_cublasLtXxx (tests/cuda_emu/standin_cublaslt.cpp), the
 * way ag_emu.h renames the runtime API: test binaries also link the real
 * libcublasLt, so nothing here defines a symbol that it defines.
 *
 * Semantics are cuBLASLt's, column-major:
 *   D[p] = act(alpha * op(A[p]) @ op(B[p]) + beta * C[p] + bias)
 * with the layouts' rows, cols, leading dimensions, batch counts and strided
 * batch offsets (0 repeats one matrix), TRANSA / TRANSB, the DEFAULT, BIAS,
 * RELU, RELU_BIAS, GELU and GELU_BIAS epilogues (bias: one value per row of
 * D, of D's type, the same for every p), host alpha / beta, and
 * CUDA_R_32F / CUDA_R_16BF / CUDA_R_16F matrices (all four of one type) with
 * compute type CUBLAS_COMPUTE_32F and scale type CUDA_R_32F. Products are
 * accumulated in f32 and rounded once on store. Anything else is refused
 * with CUBLAS_STATUS_NOT_SUPPORTED (or INVALID_VALUE for inconsistent
 * shapes), so a launcher relying on more fails here first. Heuristics return
 * one algorithm needing no workspace. */
#ifndef AG_EMU_CUBLASLT_H
#define AG_EMU_CUBLASLT_H

#include <cublasLt.h>

#define cublasLtCreate ag_emu_cublasLtCreate
#define cublasLtDestroy ag_emu_cublasLtDestroy
#define cublasLtGetStatusString ag_emu_cublasLtGetStatusString
#define cublasLtMatmulDescCreate ag_emu_cublasLtMatmulDescCreate
#define cublasLtMatmulDescDestroy ag_emu_cublasLtMatmulDescDestroy
#define cublasLtMatmulDescSetAttribute ag_emu_cublasLtMatmulDescSetAttribute
#define cublasLtMatrixLayoutCreate ag_emu_cublasLtMatrixLayoutCreate
#define cublasLtMatrixLayoutDestroy ag_emu_cublasLtMatrixLayoutDestroy
#define cublasLtMatrixLayoutSetAttribute ag_emu_cublasLtMatrixLayoutSetAttribute
#define cublasLtMatmulPreferenceCreate ag_emu_cublasLtMatmulPreferenceCreate
#define cublasLtMatmulPreferenceDestroy ag_emu_cublasLtMatmulPreferenceDestroy
#define cublasLtMatmulPreferenceSetAttribute ag_emu_cublasLtMatmulPreferenceSetAttribute
#define cublasLtMatmulAlgoGetHeuristic ag_emu_cublasLtMatmulAlgoGetHeuristic
#define cublasLtMatmul ag_emu_cublasLtMatmul

extern "C" {
cublasStatus_t ag_emu_cublasLtCreate(cublasLtHandle_t *handle);
cublasStatus_t ag_emu_cublasLtDestroy(cublasLtHandle_t handle);
const char *ag_emu_cublasLtGetStatusString(cublasStatus_t status);
cublasStatus_t ag_emu_cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc,
                                               cublasComputeType_t compute_type,
                                               cudaDataType_t scale_type);
cublasStatus_t ag_emu_cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc);
cublasStatus_t ag_emu_cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                                     cublasLtMatmulDescAttributes_t attr,
                                                     const void *buf, size_t size);
cublasStatus_t ag_emu_cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, cudaDataType type,
                                                 uint64_t rows, uint64_t cols, int64_t ld);
cublasStatus_t ag_emu_cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout);
cublasStatus_t ag_emu_cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                       cublasLtMatrixLayoutAttribute_t attr,
                                                       const void *buf, size_t size);
cublasStatus_t ag_emu_cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref);
cublasStatus_t ag_emu_cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref);
cublasStatus_t ag_emu_cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                           cublasLtMatmulPreferenceAttributes_t attr,
                                                           const void *buf, size_t size);
cublasStatus_t ag_emu_cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t results[],
    int *returned);
cublasStatus_t ag_emu_cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                     const void *alpha, const void *a, cublasLtMatrixLayout_t a_desc,
                                     const void *b, cublasLtMatrixLayout_t b_desc,
                                     const void *beta, const void *c,
                                     cublasLtMatrixLayout_t c_desc, void *d,
                                     cublasLtMatrixLayout_t d_desc, const cublasLtMatmulAlgo_t *algo,
                                     void *workspace, size_t workspace_bytes, cudaStream_t stream);
}

#endif
