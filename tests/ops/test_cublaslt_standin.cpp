// The emulator's cuBLASLt stand-in (tests/cuda_emu/standin_cublaslt.cpp)
// against OpenBLAS: random shapes, transposes, leading dimensions larger than
// the matrices, strided and broadcast batches, alpha/beta, bias/relu/gelu
// epilogues, f32/bf16/f16. The matmul launcher is only as right as this
// stand-in, so a wrong layout in the launcher fails here, not on a GPU.
#include <gtest/gtest.h>

#include <oneapi/dnnl/dnnl.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/common/ag_activation.h"
#include "kernels/common/ag_bf16.h"
#include "kernels/emu/ag_emu_cublaslt.h"

namespace {

// Values as stored in memory of one cuBLASLt data type, and read back.
struct Buffer {
  cudaDataType type;
  std::vector<uint8_t> bytes;

  Buffer(cudaDataType t, size_t n) : type(t), bytes(n * (t == CUDA_R_32F ? 4 : 2)) {}
  void *data() { return bytes.data(); }
  void set(size_t i, float v) {
    if (type == CUDA_R_32F) std::memcpy(&bytes[i * 4], &v, 4);
    else {
      uint16_t h = type == CUDA_R_16BF ? ag_f32_to_bf16(v) : ag_f32_to_f16(v);
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  }
  float get(size_t i) const {
    if (type == CUDA_R_32F) {
      float v;
      std::memcpy(&v, &bytes[i * 4], 4);
      return v;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return type == CUDA_R_16BF ? ag_bf16_to_f32(h) : ag_f16_to_f32(h);
  }
  size_t size() const { return bytes.size() / (type == CUDA_R_32F ? 4 : 2); }
};

// A column-major rows x cols matrix per batch entry, ld >= rows, `stride`
// elements between entries (0: one shared matrix).
struct Mat {
  int64_t rows, cols, ld, stride;
  int64_t extent(int64_t batch) const {
    return (stride ? (batch - 1) * stride : 0) + (cols - 1) * ld + rows;
  }
};

struct Problem {
  int64_t m, n, k, batch;
  bool ta, tb;
  Mat a, b, c, d;
  float alpha, beta;
  cublasLtEpilogue_t epilogue;
  cudaDataType type;
};

bool uses_bias(cublasLtEpilogue_t e) {
  return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS ||
         e == CUBLASLT_EPILOGUE_GELU_BIAS;
}

float activate(cublasLtEpilogue_t e, float z) {
  if (e == CUBLASLT_EPILOGUE_RELU || e == CUBLASLT_EPILOGUE_RELU_BIAS) return z > 0 ? z : 0;
  if (e == CUBLASLT_EPILOGUE_GELU || e == CUBLASLT_EPILOGUE_GELU_BIAS) return ag_act_gelu(z);
  return z;
}

Mat random_mat(std::mt19937 &rng, int64_t rows, int64_t cols, int64_t batch, bool shared) {
  std::uniform_int_distribution<int64_t> pad(0, 3);
  Mat m{rows, cols, rows + pad(rng), 0};
  if (batch > 1 && !shared) m.stride = m.ld * cols + pad(rng);
  return m;
}

Problem random_problem(std::mt19937 &rng) {
  std::uniform_int_distribution<int64_t> dim(1, 21), nb(1, 3), pick(0, 5);
  const cublasLtEpilogue_t epis[] = {CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_BIAS,
                                     CUBLASLT_EPILOGUE_RELU,    CUBLASLT_EPILOGUE_RELU_BIAS,
                                     CUBLASLT_EPILOGUE_GELU,    CUBLASLT_EPILOGUE_GELU_BIAS};
  const cudaDataType types[] = {CUDA_R_32F, CUDA_R_16BF, CUDA_R_16F};
  Problem p;
  p.m = dim(rng), p.n = dim(rng), p.k = dim(rng), p.batch = nb(rng);
  p.ta = pick(rng) % 2, p.tb = pick(rng) % 2;
  p.a = random_mat(rng, p.ta ? p.k : p.m, p.ta ? p.m : p.k, p.batch, pick(rng) == 0);
  p.b = random_mat(rng, p.tb ? p.n : p.k, p.tb ? p.k : p.n, p.batch, pick(rng) == 0);
  p.c = random_mat(rng, p.m, p.n, p.batch, false);
  p.d = random_mat(rng, p.m, p.n, p.batch, false);
  p.alpha = pick(rng) < 3 ? 1.0f : 0.5f + 0.25f * (float)pick(rng);
  p.beta = pick(rng) < 3 ? 0.0f : 0.5f * (float)pick(rng);
  p.epilogue = epis[pick(rng)];
  p.type = types[pick(rng) % 3];
  return p;
}

struct LtObjects {
  cublasLtHandle_t h = nullptr;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t l[4] = {};
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtObjects() {
    cublasLtMatmulPreferenceDestroy(pref);
    for (auto x : l) cublasLtMatrixLayoutDestroy(x);
    cublasLtMatmulDescDestroy(op);
    cublasLtDestroy(h);
  }
};

void make_layout(cublasLtMatrixLayout_t *l, cudaDataType t, const Mat &m, int64_t batch) {
  ASSERT_EQ(cublasLtMatrixLayoutCreate(l, t, (uint64_t)m.rows, (uint64_t)m.cols, m.ld),
            CUBLAS_STATUS_SUCCESS);
  const int32_t count = (int32_t)batch;
  ASSERT_EQ(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                             sizeof count),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                             &m.stride, sizeof m.stride),
            CUBLAS_STATUS_SUCCESS);
}

// Descriptors for `p` with bias `bias`; the heuristic's algorithm in *algo.
void describe(LtObjects *o, const Problem &p, const void *bias, cublasLtMatmulAlgo_t *algo) {
  ASSERT_EQ(cublasLtCreate(&o->h), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescCreate(&o->op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
            CUBLAS_STATUS_SUCCESS);
  const int32_t ta = p.ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb = p.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const uint32_t epi = p.epilogue;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                           sizeof bias),
            CUBLAS_STATUS_SUCCESS);
  const Mat *mats[4] = {&p.a, &p.b, &p.c, &p.d};
  for (int i = 0; i < 4; i++) make_layout(&o->l[i], p.type, *mats[i], p.batch);
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&o->pref), CUBLAS_STATUS_SUCCESS);
  const uint32_t align = 2;  // every buffer here is at least 2-byte aligned
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    ASSERT_EQ(cublasLtMatmulPreferenceSetAttribute(o->pref, attr, &align, sizeof align),
              CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulHeuristicResult_t r;
  int returned = 0;
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(o->h, o->op, o->l[0], o->l[1], o->l[2], o->l[3],
                                           o->pref, 1, &r, &returned),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(returned, 1);
  *algo = r.algo;
}

// Random values where a matrix has elements, NaN in the padding: the
// padding must never be read into a result nor written.
Buffer random_buffer(std::mt19937 &rng, cudaDataType t, const Mat &m, int64_t batch) {
  std::uniform_real_distribution<float> val(-1.0f, 1.0f);
  Buffer b(t, (size_t)m.extent(batch));
  for (size_t i = 0; i < b.size(); i++) b.set(i, NAN);
  for (int64_t q = 0; q < batch; q++)
    for (int64_t c = 0; c < m.cols; c++)
      for (int64_t r = 0; r < m.rows; r++) b.set((size_t)(q * m.stride + c * m.ld + r), val(rng));
  return b;
}

// The matrices of `m` widened to f32 (padding as zeros, which BLAS never reads).
std::vector<float> widen(const Buffer &b) {
  std::vector<float> w(b.size());
  for (size_t i = 0; i < w.size(); i++) {
    w[i] = b.get(i);
    if (std::isnan(w[i])) w[i] = 0.0f;
  }
  return w;
}

double tolerance(cudaDataType t) {
  return t == CUDA_R_32F ? 1e-5 : t == CUDA_R_16F ? 2e-3 : 1e-2;
}

void check_problem(const Problem &p, std::mt19937 &rng) {
  Buffer a = random_buffer(rng, p.type, p.a, p.batch), b = random_buffer(rng, p.type, p.b, p.batch);
  Buffer c = random_buffer(rng, p.type, p.c, p.batch), d = random_buffer(rng, p.type, p.d, p.batch);
  Buffer bias = random_buffer(rng, p.type, Mat{p.m, 1, p.m, 0}, 1);
  Buffer d_before = d;
  LtObjects o;
  cublasLtMatmulAlgo_t algo;
  describe(&o, p, uses_bias(p.epilogue) ? bias.data() : nullptr, &algo);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(cublasLtMatmul(o.h, o.op, &p.alpha, a.data(), o.l[0], b.data(), o.l[1], &p.beta,
                           c.data(), o.l[2], d.data(), o.l[3], &algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  std::vector<float> wa = widen(a), wb = widen(b), wc = widen(c);
  for (int64_t q = 0; q < p.batch; q++) {
    std::vector<float> ref((size_t)(p.m * p.n));
    for (int64_t j = 0; j < p.n; j++)
      for (int64_t i = 0; i < p.m; i++) ref[(size_t)(j * p.m + i)] = wc[(size_t)(q * p.c.stride + j * p.c.ld + i)];
    // Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T:
    // oneDNN's row-major sgemm with the operands swapped.
    ASSERT_EQ(dnnl_sgemm(p.tb ? 'T' : 'N', p.ta ? 'T' : 'N', p.n, p.m, p.k, p.alpha,
                         wb.data() + q * p.b.stride, p.b.ld, wa.data() + q * p.a.stride, p.a.ld,
                         p.beta, ref.data(), p.m),
              dnnl_success);
    for (int64_t j = 0; j < p.n; j++)
      for (int64_t i = 0; i < p.m; i++) {
        float z = ref[(size_t)(j * p.m + i)] + (uses_bias(p.epilogue) ? bias.get((size_t)i) : 0.0f);
        float want = activate(p.epilogue, z);
        float got = d.get((size_t)(q * p.d.stride + j * p.d.ld + i));
        ASSERT_NEAR(got, want, tolerance(p.type) * (1.0 + std::fabs(want)))
            << "batch " << q << " row " << i << " col " << j;
      }
  }
  // Padding of D is left alone (NaN stays NaN).
  for (size_t i = 0; i < d.size(); i++) {
    if (!std::isnan(d_before.get(i))) continue;
    ASSERT_TRUE(std::isnan(d.get(i))) << "padding element " << i;
  }
}

TEST(CublasLtStandin, MatchesOpenBlasOnRandomProblems) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; trial++) {
    Problem p = random_problem(rng);
    SCOPED_TRACE("trial " + std::to_string(trial) + ": m=" + std::to_string(p.m) + " n=" +
                 std::to_string(p.n) + " k=" + std::to_string(p.k) + " batch=" +
                 std::to_string(p.batch) + " ta=" + std::to_string(p.ta) + " tb=" +
                 std::to_string(p.tb) + " epilogue=" + std::to_string((int)p.epilogue) +
                 " type=" + std::to_string((int)p.type));
    check_problem(p, rng);
    if (HasFatalFailure()) return;
  }
}

// What the real library refuses, the stand-in refuses too.
TEST(CublasLtStandin, RejectsInconsistentOrUnsupportedCalls) {
  cublasLtHandle_t h;
  ASSERT_EQ(cublasLtCreate(&h), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulDesc_t op, op16;
  ASSERT_EQ(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescCreate(&op16, CUBLAS_COMPUTE_16F, CUDA_R_16F), CUBLAS_STATUS_SUCCESS);
  cublasLtMatrixLayout_t a, b, bad_ld, d;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&a, CUDA_R_32F, 4, 3, 4), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&b, CUDA_R_32F, 5, 2, 5), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&bad_ld, CUDA_R_32F, 3, 2, 2), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&d, CUDA_R_32F, 4, 2, 4), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulPreference_t pref;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulHeuristicResult_t r;
  int n = 0;
  // op(A) is 4x3 but B has 5 rows.
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(h, op, a, b, d, d, pref, 1, &r, &n),
            CUBLAS_STATUS_INVALID_VALUE);
  // ld smaller than rows.
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(h, op, a, bad_ld, d, d, pref, 1, &r, &n),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(h, op16, a, b, d, d, pref, 1, &r, &n),
            CUBLAS_STATUS_NOT_SUPPORTED);
  const int32_t fill = 0;
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_FILL_MODE, &fill, sizeof fill),
            CUBLAS_STATUS_NOT_SUPPORTED);
  // An algorithm chosen for 16-byte aligned pointers refuses a misaligned one.
  cublasLtMatrixLayout_t b3;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&b3, CUDA_R_32F, 3, 2, 3), CUBLAS_STATUS_SUCCESS);
  const uint32_t align = 16;
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    ASSERT_EQ(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align),
              CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(h, op, a, b3, d, d, pref, 1, &r, &n),
            CUBLAS_STATUS_SUCCESS);
  alignas(16) float buf[64] = {};
  const float one = 1.0f, zero = 0.0f;
  EXPECT_EQ(cublasLtMatmul(h, op, &one, buf, a, buf, b3, &zero, buf + 32, d, buf + 32, d, &r.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmul(h, op, &one, buf + 1, a, buf, b3, &zero, buf + 32, d, buf + 32, d,
                           &r.algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  cublasLtMatmulPreferenceDestroy(pref);
  for (auto l : {a, b, bad_ld, d, b3}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(op);
  cublasLtMatmulDescDestroy(op16);
  cublasLtDestroy(h);
}

}  // namespace
