/* matmul kernels: one GEMM over a strided batch of row-major matrices,
 *   y[p] = act(alpha * op(a[p]) @ op(b[p]) + beta * y[p] + bias)   p < batch,
 * with op(a) [m,k] (a stored [k,m] when trans_a), op(b) [k,n] (b stored [n,k]
 * when trans_b), bias [n] or NULL, act the epilogue. Matrices are dense
 * (leading dimension = stored row length); a stride of 0 repeats one matrix
 * for every p (a weight shared by the batch). bf16/f16 accumulate in f32 and
 * round once on store. On CUDA this is cuBLASLt, whose handle and workspace
 * live in `ctx`; the CPU ignores `ctx`.
 *
 * The backward pass is built from the same GEMM plus two kernels:
 *   matmul_act_backward:  dz = g * act'(z) elementwise (dz may alias z);
 *   matmul_bias_backward: dbias[j] = sum over rows r of dz[r, j], dz [rows, n]. */
#include "ag_activation.h"
#include "ag_kernel_ctx.h"
#include "ag_epilogue.h"

typedef struct ag_gemm {
  int64_t m, n, k;
  int trans_a, trans_b;
  int64_t batch;
  int64_t stride_a, stride_b, stride_y; /* elements between consecutive products */
  float alpha, beta;
  int epilogue; /* ag_matmul_epilogue */
} ag_gemm;

AG_HD float ag_matmul_act(int epilogue, float z) {
  if (epilogue == AG_MATMUL_EPI_RELU) return z > 0.0f ? z : 0.0f;
  if (epilogue == AG_MATMUL_EPI_GELU) return ag_act_gelu(z);
  return z;
}

AG_HD float ag_matmul_act_grad(int epilogue, float z) {
  if (epilogue == AG_MATMUL_EPI_RELU) return z > 0.0f ? 1.0f : 0.0f;
  if (epilogue == AG_MATMUL_EPI_GELU) return ag_act_gelu_grad(z);
  return 1.0f;
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_matmul_kernel(ag_kernel_ctx *ctx, ag_dtype dt, const ag_gemm *g, const void *a,
                                   const void *b, const void *bias, void *y, void *stream);
typedef ag_status ag_matmul_act_backward_kernel(ag_dtype dt, int epilogue, const void *z,
                                                const void *g, void *dz, int64_t n, void *stream);
typedef ag_status ag_matmul_bias_backward_kernel(ag_dtype dt, const void *dz, void *dbias,
                                                 int64_t rows, int64_t n, void *stream);

/* The matmul family's kernels on one backend (runtime/ops/bind_matmul.c calls
 * through it). */
typedef struct ag_matmul_kernels {
  ag_matmul_kernel *matmul;
  ag_matmul_act_backward_kernel *matmul_act_backward;
  ag_matmul_bias_backward_kernel *matmul_bias_backward;
} ag_matmul_kernels;

ag_matmul_kernel ag_cpu_matmul, ag_cuda_matmul, ag_emu_matmul;
ag_matmul_act_backward_kernel ag_cpu_matmul_act_backward, ag_cuda_matmul_act_backward,
    ag_emu_matmul_act_backward;
ag_matmul_bias_backward_kernel ag_cpu_matmul_bias_backward, ag_cuda_matmul_bias_backward,
    ag_emu_matmul_bias_backward;
extern const ag_matmul_kernels ag_cpu_matmul_kernels, ag_cuda_matmul_kernels, ag_emu_matmul_kernels;
