// The emulator's CPU stand-in for cuBLASLt: see ag_emu_cublaslt.h for what it
// serves. Descriptors are plain structs behind cuBLASLt's opaque handle types;
// every call checks what the real library would reject, so a launcher that
// passes a wrong layout fails in the emulated tests.
#include "ag_emu_cublaslt.h"

#include <cstdint>
#include <cstring>
#include <new>

#include "kernels/common/ag_activation.h"
#include "kernels/common/ag_bf16.h"

namespace {

struct Layout {
  cudaDataType type;
  uint64_t rows, cols;
  int64_t ld;
  int32_t batch = 1;
  int64_t stride = 0;
  int32_t order = CUBLASLT_ORDER_COL;
};

struct Desc {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int32_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void *bias = nullptr;
  int64_t bias_stride = 0;
  int32_t bias_type = -1; /* -1: D's type */
  int32_t pointer_mode = CUBLASLT_POINTER_MODE_HOST;
};

struct Handle {
  int alive;
};

// Minimum pointer alignments are kept by the preference, copied into the
// algorithm the heuristic returns (as cuBLASLt picks kernels that rely on
// them), and checked against the pointers the matmul receives.
struct Preference {
  uint64_t max_workspace = 0;
  uint32_t align[4] = {256, 256, 256, 256}; /* A, B, C, D */
};

Layout *layout_of(cublasLtMatrixLayout_t l) { return reinterpret_cast<Layout *>(l); }
Desc *desc_of(cublasLtMatmulDesc_t d) { return reinterpret_cast<Desc *>(d); }

// Copies an attribute value of exactly the expected size.
template <typename T> cublasStatus_t set_value(T *dst, const void *buf, size_t size) {
  if (!buf || size != sizeof(T)) return CUBLAS_STATUS_INVALID_VALUE;
  std::memcpy(dst, buf, sizeof(T));
  return CUBLAS_STATUS_SUCCESS;
}

bool supported_type(cudaDataType t) {
  return t == CUDA_R_32F || t == CUDA_R_16BF || t == CUDA_R_16F;
}

float load(cudaDataType t, const void *p, int64_t i) {
  switch (t) {
  case CUDA_R_16BF: return ag_bf16_to_f32(static_cast<const uint16_t *>(p)[i]);
  case CUDA_R_16F: return ag_f16_to_f32(static_cast<const uint16_t *>(p)[i]);
  default: return static_cast<const float *>(p)[i];
  }
}

void store(cudaDataType t, void *p, int64_t i, float v) {
  switch (t) {
  case CUDA_R_16BF: static_cast<uint16_t *>(p)[i] = ag_f32_to_bf16(v); break;
  case CUDA_R_16F: static_cast<uint16_t *>(p)[i] = ag_f32_to_f16(v); break;
  default: static_cast<float *>(p)[i] = v; break;
  }
}

bool has_bias(uint32_t e) {
  return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS ||
         e == CUBLASLT_EPILOGUE_GELU_BIAS;
}

bool supported_epilogue(uint32_t e) {
  return e == CUBLASLT_EPILOGUE_DEFAULT || e == CUBLASLT_EPILOGUE_RELU ||
         e == CUBLASLT_EPILOGUE_GELU || has_bias(e);
}

float activate(uint32_t e, float z) {
  if (e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_RELU_BIAS) return z > 0.0f ? z : 0.0f;
  if (e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS) return ag_act_gelu(z);
  return z;
}

// A layout holds a rows x cols column-major matrix per batch entry.
bool layout_valid(const Layout &l) {
  return l.order == CUBLASLT_ORDER_COL && supported_type(l.type) && l.ld >= (int64_t)l.rows &&
         l.ld >= 1 && l.batch >= 1 && l.stride >= 0;
}

// The shapes of a product: op(A) m x k, op(B) k x n, C and D m x n.
struct Problem {
  uint64_t m, n, k;
};

cublasStatus_t check(const Desc &d, const Layout &a, const Layout &b, const Layout &c,
                     const Layout &dl, Problem *p) {
  if (d.compute != CUBLAS_COMPUTE_32F || d.scale != CUDA_R_32F ||
      d.pointer_mode != CUBLASLT_POINTER_MODE_HOST || !supported_epilogue(d.epilogue) ||
      (d.bias_type != -1 && d.bias_type != (int32_t)dl.type) || d.bias_stride != 0)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (!layout_valid(a) || !layout_valid(b) || !layout_valid(c) || !layout_valid(dl))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  if (a.type != dl.type || b.type != dl.type || c.type != dl.type)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  const bool ta = d.trans_a == CUBLAS_OP_T, tb = d.trans_b == CUBLAS_OP_T;
  if ((!ta && d.trans_a != CUBLAS_OP_N) || (!tb && d.trans_b != CUBLAS_OP_N))
    return CUBLAS_STATUS_NOT_SUPPORTED;
  p->m = dl.rows;
  p->n = dl.cols;
  p->k = ta ? a.rows : a.cols;
  if ((ta ? a.cols : a.rows) != p->m || (tb ? b.cols : b.rows) != p->k ||
      (tb ? b.rows : b.cols) != p->n || c.rows != p->m || c.cols != p->n)
    return CUBLAS_STATUS_INVALID_VALUE;
  if (a.batch != dl.batch || b.batch != dl.batch || c.batch != dl.batch)
    return CUBLAS_STATUS_INVALID_VALUE;
  return CUBLAS_STATUS_SUCCESS;
}

// Element (r, col) of batch entry q of a column-major matrix.
int64_t at(const Layout &l, int64_t q, int64_t r, int64_t col) {
  return q * l.stride + col * l.ld + r;
}

// An algorithm chosen for `align`-byte aligned pointers gets one.
bool aligned(const void *p, uint64_t align) {
  return align != 0 && reinterpret_cast<uintptr_t>(p) % align == 0;
}

}  // namespace

extern "C" {

cublasStatus_t ag_emu_cublasLtCreate(cublasLtHandle_t *handle) {
  if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
  Handle *h = new (std::nothrow) Handle{1};
  if (!h) return CUBLAS_STATUS_ALLOC_FAILED;
  *handle = reinterpret_cast<cublasLtHandle_t>(h);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtDestroy(cublasLtHandle_t handle) {
  delete reinterpret_cast<Handle *>(handle);
  return CUBLAS_STATUS_SUCCESS;
}

const char *ag_emu_cublasLtGetStatusString(cublasStatus_t status) {
  switch (status) {
  case CUBLAS_STATUS_SUCCESS: return "success (cuBLASLt stand-in)";
  case CUBLAS_STATUS_INVALID_VALUE: return "invalid value (cuBLASLt stand-in)";
  case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported (cuBLASLt stand-in)";
  case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed (cuBLASLt stand-in)";
  case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized (cuBLASLt stand-in)";
  default: return "error (cuBLASLt stand-in)";
  }
}

cublasStatus_t ag_emu_cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc,
                                               cublasComputeType_t compute_type,
                                               cudaDataType_t scale_type) {
  if (!desc) return CUBLAS_STATUS_INVALID_VALUE;
  Desc *d = new (std::nothrow) Desc{};
  if (!d) return CUBLAS_STATUS_ALLOC_FAILED;
  d->compute = compute_type;
  d->scale = scale_type;
  *desc = reinterpret_cast<cublasLtMatmulDesc_t>(d);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc_of(desc);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                                     cublasLtMatmulDescAttributes_t attr,
                                                     const void *buf, size_t size) {
  if (!desc) return CUBLAS_STATUS_NOT_INITIALIZED;
  Desc *d = desc_of(desc);
  switch (attr) {
  case CUBLASLT_MATMUL_DESC_TRANSA: return set_value(&d->trans_a, buf, size);
  case CUBLASLT_MATMUL_DESC_TRANSB: return set_value(&d->trans_b, buf, size);
  case CUBLASLT_MATMUL_DESC_EPILOGUE: return set_value(&d->epilogue, buf, size);
  case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set_value(&d->bias, buf, size);
  case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE: return set_value(&d->bias_stride, buf, size);
  case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return set_value(&d->bias_type, buf, size);
  case CUBLASLT_MATMUL_DESC_POINTER_MODE: return set_value(&d->pointer_mode, buf, size);
  default: return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

cublasStatus_t ag_emu_cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout, cudaDataType type,
                                                 uint64_t rows, uint64_t cols, int64_t ld) {
  if (!layout) return CUBLAS_STATUS_INVALID_VALUE;
  Layout *l = new (std::nothrow) Layout{type, rows, cols, ld};
  if (!l) return CUBLAS_STATUS_ALLOC_FAILED;
  *layout = reinterpret_cast<cublasLtMatrixLayout_t>(l);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout_of(layout);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                       cublasLtMatrixLayoutAttribute_t attr,
                                                       const void *buf, size_t size) {
  if (!layout) return CUBLAS_STATUS_NOT_INITIALIZED;
  Layout *l = layout_of(layout);
  switch (attr) {
  case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return set_value(&l->batch, buf, size);
  case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return set_value(&l->stride, buf, size);
  case CUBLASLT_MATRIX_LAYOUT_ORDER: return set_value(&l->order, buf, size);
  default: return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

cublasStatus_t ag_emu_cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) {
  if (!pref) return CUBLAS_STATUS_INVALID_VALUE;
  Preference *p = new (std::nothrow) Preference{};
  if (!p) return CUBLAS_STATUS_ALLOC_FAILED;
  *pref = reinterpret_cast<cublasLtMatmulPreference_t>(p);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete reinterpret_cast<Preference *>(pref);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                           cublasLtMatmulPreferenceAttributes_t attr,
                                                           const void *buf, size_t size) {
  if (!pref) return CUBLAS_STATUS_NOT_INITIALIZED;
  Preference *p = reinterpret_cast<Preference *>(pref);
  switch (attr) {
  case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set_value(&p->max_workspace, buf, size);
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set_value(&p->align[0], buf, size);
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set_value(&p->align[1], buf, size);
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set_value(&p->align[2], buf, size);
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set_value(&p->align[3], buf, size);
  default: return CUBLAS_STATUS_NOT_SUPPORTED;
  }
}

cublasStatus_t ag_emu_cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,
    cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
    cublasLtMatmulPreference_t pref, int requested, cublasLtMatmulHeuristicResult_t results[],
    int *returned) {
  if (!handle || !desc || !a || !b || !c || !d || !pref) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (requested < 1 || !results || !returned) return CUBLAS_STATUS_INVALID_VALUE;
  Problem p;
  *returned = 0;
  cublasStatus_t st = check(*desc_of(desc), *layout_of(a), *layout_of(b), *layout_of(c),
                            *layout_of(d), &p);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  std::memset(&results[0], 0, sizeof results[0]);
  const Preference *pr = reinterpret_cast<const Preference *>(pref);
  for (int i = 0; i < 4; i++) results[0].algo.data[i] = pr->align[i];
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t ag_emu_cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                     const void *alpha, const void *a, cublasLtMatrixLayout_t a_desc,
                                     const void *b, cublasLtMatrixLayout_t b_desc,
                                     const void *beta, const void *c,
                                     cublasLtMatrixLayout_t c_desc, void *d,
                                     cublasLtMatrixLayout_t d_desc, const cublasLtMatmulAlgo_t *algo,
                                     void *workspace, size_t workspace_bytes, cudaStream_t stream) {
  (void)stream;
  if (!handle || !desc || !a_desc || !b_desc || !c_desc || !d_desc)
    return CUBLAS_STATUS_NOT_INITIALIZED;
  if (!alpha || !beta || !a || !b || !d || (workspace_bytes && !workspace))
    return CUBLAS_STATUS_INVALID_VALUE;
  const Desc &op = *desc_of(desc);
  const Layout &la = *layout_of(a_desc), &lb = *layout_of(b_desc), &lc = *layout_of(c_desc),
               &ld = *layout_of(d_desc);
  Problem p;
  cublasStatus_t st = check(op, la, lb, lc, ld, &p);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  const float al = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);
  if ((be != 0.0f && !c) || (has_bias(op.epilogue) && !op.bias)) return CUBLAS_STATUS_INVALID_VALUE;
  if (!algo || !aligned(a, algo->data[0]) || !aligned(b, algo->data[1]) ||
      (c && !aligned(c, algo->data[2])) || !aligned(d, algo->data[3]))
    return CUBLAS_STATUS_INVALID_VALUE;
  const bool ta = op.trans_a == CUBLAS_OP_T, tb = op.trans_b == CUBLAS_OP_T;
  for (int64_t q = 0; q < ld.batch; q++)
    for (uint64_t j = 0; j < p.n; j++)
      for (uint64_t i = 0; i < p.m; i++) {
        float acc = 0.0f;
        for (uint64_t l = 0; l < p.k; l++) {
          const float x = load(la.type, a, ta ? at(la, q, l, i) : at(la, q, i, l));
          const float y = load(lb.type, b, tb ? at(lb, q, j, l) : at(lb, q, l, j));
          acc += x * y;
        }
        float z = al * acc;
        if (be != 0.0f) z += be * load(lc.type, c, at(lc, q, i, j));
        if (has_bias(op.epilogue)) z += load(ld.type, op.bias, (int64_t)i);
        store(ld.type, d, at(ld, q, i, j), activate(op.epilogue, z));
      }
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
