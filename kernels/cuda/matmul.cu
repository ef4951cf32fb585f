/* matmul on CUDA: the GEMM of ag_k_matmul.h through cuBLASLt, with the bias
 * and activation fused as cuBLASLt epilogues, plus the two small backward
 * kernels (activation derivative, bias gradient).
 *
 * Row-major to column-major: a row-major [r, c] matrix is a column-major
 * [c, r] one with the same leading dimension, so y = op(a) @ op(b) is
 * computed as y^T = op(b)^T @ op(a)^T, i.e. cuBLASLt's A is our b and its B
 * is our a, and D (= y^T) is n x m with leading dimension n. The bias is then
 * one value per row of D, which is what cuBLASLt's bias epilogues add.
 *
 * The handle and the workspaces live in the backend's ag_kernel_ctx and are
 * created on first use; like the rest of a backend, they are not meant to be
 * shared by threads issuing work concurrently. Each stream gets a workspace
 * of its own, since GEMMs on two streams may run at once (a scheduler's
 * parallel branches) and must not share one. */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_workspace.h"
#include "kernels/common/ag_kernels.h"

#ifdef AG_CUDA_EMU
#include "kernels/emu/ag_emu_cublaslt.h"
#else
#include <cublasLt.h>
#endif

#include <cstdlib>

/* cuBLASLt's recommended workspace for Hopper; ample for Ampere. */
#define AG_MATMUL_WORKSPACE_BYTES ((size_t)32 << 20)

static ag_status lt_error(cublasStatus_t st, const char *call, const ag_gemm *g) {
  return ag_set_error(AG_ERR_DEVICE, "cuda kernel matmul [m=%lld n=%lld k=%lld batch=%lld]: %s: %s",
                      (long long)g->m, (long long)g->n, (long long)g->k, (long long)g->batch, call,
                      cublasLtGetStatusString(st));
}

#define AG_LT_TRY(call, g)                                                                        \
  do {                                                                                            \
    cublasStatus_t ag_lt_st_ = (call);                                                            \
    if (ag_lt_st_ != CUBLAS_STATUS_SUCCESS) return lt_error(ag_lt_st_, #call, (g));               \
  } while (0)

static ag_status ensure_handle(ag_kernel_ctx *ctx, const ag_gemm *g) {
  if (ctx->blas) return AG_OK;
  ag_stream_workspaces *w = (ag_stream_workspaces *)std::calloc(1, sizeof *w);
  if (!w) return ag_set_error(AG_ERR_OOM, "cuda kernel matmul: out of host memory");
  cublasLtHandle_t h = NULL;
  cublasStatus_t st = cublasLtCreate(&h);
  if (st != CUBLAS_STATUS_SUCCESS) {
    std::free(w);
    return lt_error(st, "cublasLtCreate", g);
  }
  ctx->blas = h;
  ctx->blas_workspace = w;
  return AG_OK;
}

static cudaDataType_t lt_type(ag_dtype dt) {
  return dt == AG_BF16 ? CUDA_R_16BF : dt == AG_F16 ? CUDA_R_16F : CUDA_R_32F;
}

static cublasLtEpilogue_t lt_epilogue(int epilogue, bool bias) {
  switch (epilogue) {
  case AG_MATMUL_EPI_RELU: return bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  case AG_MATMUL_EPI_GELU: return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  default: return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  }
}

/* Largest power of two (up to 256) dividing the address: what the heuristic
 * may assume about the pointer. */
static uint32_t alignment_of(const void *p) {
  uint32_t a = 256;
  while (a > 1 && ((uintptr_t)p % a) != 0) a /= 2;
  return a;
}

/* The descriptors of one cublasLtMatmul call, destroyed with it. */
struct LtPlan {
  cublasLtMatmulDesc_t op = NULL;
  cublasLtMatrixLayout_t a = NULL, b = NULL, d = NULL;
  cublasLtMatmulPreference_t pref = NULL;
  LtPlan() = default;
  LtPlan(const LtPlan &) = delete;
  LtPlan &operator=(const LtPlan &) = delete;
  ~LtPlan() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

/* A column-major rows x cols layout with leading dimension `rows`, repeated
 * `batch` times `stride` elements apart. */
static cublasStatus_t make_layout(cublasLtMatrixLayout_t *l, cudaDataType_t t, int64_t rows,
                                  int64_t cols, int64_t batch, int64_t stride) {
  cublasStatus_t st = cublasLtMatrixLayoutCreate(l, t, (uint64_t)rows, (uint64_t)cols, rows);
  const int32_t count = (int32_t)batch;
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                          sizeof count);
  if (st == CUBLAS_STATUS_SUCCESS)
    st = cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                          sizeof stride);
  return st;
}

static ag_status describe(LtPlan *p, ag_dtype dt, const ag_gemm *g, const void *bias) {
  const cudaDataType_t t = lt_type(dt);
  const int32_t ta = g->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int32_t tb = g->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const uint32_t epi = lt_epilogue(g->epilogue, bias != NULL);
  AG_LT_TRY(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), g);
  AG_LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), g);
  AG_LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), g);
  AG_LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
            g);
  if (bias)
    AG_LT_TRY(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                             sizeof bias),
              g);
  /* cuBLASLt's A is our b: stored n x k column-major ([k, n] row-major), or
   * k x n when trans_b; its B is our a: k x m, or m x k when trans_a. */
  AG_LT_TRY(make_layout(&p->a, t, g->trans_b ? g->k : g->n, g->trans_b ? g->n : g->k, g->batch,
                        g->stride_b),
            g);
  AG_LT_TRY(make_layout(&p->b, t, g->trans_a ? g->m : g->k, g->trans_a ? g->k : g->m, g->batch,
                        g->stride_a),
            g);
  AG_LT_TRY(make_layout(&p->d, t, g->n, g->m, g->batch, g->stride_y), g);
  return AG_OK;
}

/* The heuristic's best algorithm for these operands and this workspace. */
static ag_status choose_algo(LtPlan *p, const ag_kernel_ctx *ctx, uint64_t ws, const ag_gemm *g,
                             const void *a, const void *b, const void *y,
                             cublasLtMatmulAlgo_t *algo) {
  const uint32_t al_a = alignment_of(b), al_b = alignment_of(a), al_d = alignment_of(y);
  AG_LT_TRY(cublasLtMatmulPreferenceCreate(&p->pref), g);
  AG_LT_TRY(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                 &ws, sizeof ws),
            g);
  AG_LT_TRY(cublasLtMatmulPreferenceSetAttribute(
                p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a),
            g);
  AG_LT_TRY(cublasLtMatmulPreferenceSetAttribute(
                p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b),
            g);
  AG_LT_TRY(cublasLtMatmulPreferenceSetAttribute(
                p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_d, sizeof al_d),
            g);
  AG_LT_TRY(cublasLtMatmulPreferenceSetAttribute(
                p->pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_d, sizeof al_d),
            g);
  cublasLtMatmulHeuristicResult_t result;
  int returned = 0;
  AG_LT_TRY(cublasLtMatmulAlgoGetHeuristic((cublasLtHandle_t)ctx->blas, p->op, p->a, p->b, p->d,
                                           p->d, p->pref, 1, &result, &returned),
            g);
  if (returned == 0)
    return lt_error(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLtMatmulAlgoGetHeuristic", g);
  *algo = result.algo;
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(matmul)(ag_kernel_ctx *ctx, ag_dtype dt, const ag_gemm *g,
                                         const void *a, const void *b, const void *bias, void *y,
                                         void *stream) {
  if (dt != AG_F32 && dt != AG_BF16 && dt != AG_F16)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel matmul: dtype %s is not supported",
                        ag_dtype_name(dt));
  if (g->batch > INT32_MAX)
    return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel matmul: batch %lld exceeds cuBLASLt's",
                        (long long)g->batch);
  if (g->batch == 0 || g->m == 0 || g->n == 0) return AG_OK;
  AG_TRY(ensure_handle(ctx, g));
  LtPlan plan;
  cublasLtMatmulAlgo_t algo;
  AG_TRY(describe(&plan, dt, g, bias));
  void *ws = NULL;
  const size_t ws_bytes = AG_MATMUL_WORKSPACE_BYTES;
  AG_TRY(ag_stream_workspace((ag_stream_workspaces *)ctx->blas_workspace, stream, ws_bytes,
                             "matmul", &ws));
  AG_TRY(choose_algo(&plan, ctx, ws_bytes, g, a, b, y, &algo));
  AG_LT_TRY(cublasLtMatmul((cublasLtHandle_t)ctx->blas, plan.op, &g->alpha, b, plan.a, a, plan.b,
                           &g->beta, y, plan.d, y, plan.d, &algo,
                           ws, ws_bytes, (cudaStream_t)stream),
            g);
  return AG_OK;
}

template <typename T>
static __global__ void act_backward_kernel(int epilogue, const T *z, const T *g, T *dz, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dz[i] = ag_from_f32<T>(ag_to_f32(g[i]) * ag_matmul_act_grad(epilogue, ag_to_f32(z[i])));
}

extern "C" ag_status AG_CUDA_SYM(matmul_act_backward)(ag_dtype dt, int epilogue, const void *z,
                                                      const void *g, void *dz, int64_t n,
                                                      void *stream) {
  return ag_dispatch_float(dt, "matmul_act_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(act_backward_kernel<T>, ag_ew_blocks(n), AG_EW_THREADS, 0, stream, epilogue,
              (const T *)z, (const T *)g, (T *)dz, n);
  });
}

/* Column sums: a block owns 32 columns; its warps (threadIdx.y) walk the rows
 * with each warp reading 32 consecutive columns of a row (coalesced), then
 * the per-warp partial sums are added in shared memory. */
#define AG_BIAS_COLS 32
#define AG_BIAS_WARPS 16

template <typename T>
static __global__ void bias_backward_kernel(const T *dz, T *dbias, int64_t rows, int64_t n) {
  __shared__ float partial[AG_BIAS_WARPS][AG_BIAS_COLS];
  const int64_t col = blockIdx.x * (int64_t)AG_BIAS_COLS + threadIdx.x;
  float s = 0.0f;
  if (col < n)
    for (int64_t r = threadIdx.y; r < rows; r += AG_BIAS_WARPS) s += ag_to_f32(dz[r * n + col]);
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < n) {
    float total = 0.0f;
    for (int w = 0; w < AG_BIAS_WARPS; w++) total += partial[w][threadIdx.x];
    dbias[col] = ag_from_f32<T>(total);
  }
}

extern "C" ag_status AG_CUDA_SYM(matmul_bias_backward)(ag_dtype dt, const void *dz, void *dbias,
                                                       int64_t rows, int64_t n, void *stream) {
  return ag_dispatch_float(dt, "matmul_bias_backward", [&](auto tag) {
    using T = decltype(tag);
    AG_LAUNCH(bias_backward_kernel<T>, ag_cuda_blocks(n, AG_BIAS_COLS),
              dim3(AG_BIAS_COLS, AG_BIAS_WARPS), 0, stream, (const T *)dz, (T *)dbias, rows, n);
  });
}

extern "C" const ag_matmul_kernels AG_CUDA_SYM(matmul_kernels) = {
    .matmul = AG_CUDA_SYM(matmul),
    .matmul_act_backward = AG_CUDA_SYM(matmul_act_backward),
    .matmul_bias_backward = AG_CUDA_SYM(matmul_bias_backward),
};
