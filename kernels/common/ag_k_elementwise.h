/* Elementwise kernels. bf16/f16 are computed in f32 and rounded once on store;
 * integer dtypes are accepted only by cast, fill and arange.
 *
 *   unary:            y = fn(x; p) over n contiguous elements (ag_unary_fn);
 *   unary_backward:   gx = g * fn'(x; p);
 *   binary:           y = a fn b with numpy broadcasting described by `bc`;
 *   binary_backward:  the gradient of input `which` (0: a, 1: b), summed over
 *                     the dims that input was broadcast along;
 *   cast:             y = x converted from `from` to `to` (float -> i32
 *                     truncates toward zero, saturates, NaN -> 0);
 *   fill:             y = v;   arange: y[i] = start + i * step. */
#include "ag_activation.h"

/* Every unary function as X(ID, op name): the one list the kernel enum, the
 * kernels' dispatch, the ops' shape inference and their bindings expand, so
 * a new unary op is its formula below plus its entry here and in
 * runtime/ops/elementwise.list (docs/ADDING_AN_OP.md). */
#define AG_UNARY_FN_LIST(X)                                                                       \
  X(SCALE, scale) X(EXP, exp) X(LOG, log) X(SQRT, sqrt) X(RSQRT, rsqrt) X(RELU, relu)             \
  X(LEAKY_RELU, leaky_relu) X(GELU, gelu) X(SILU, silu) X(SIGMOID, sigmoid) X(TANH, tanh)         \
  X(SOFTPLUS, softplus) X(TRUNC_EXP, trunc_exp)

typedef enum ag_unary_fn {
#define AG_UNARY_ENUM_(name, op) AG_UNARY_##name,
  AG_UNARY_FN_LIST(AG_UNARY_ENUM_)
#undef AG_UNARY_ENUM_
      AG_UNARY_COUNT
} ag_unary_fn;

typedef enum ag_binary_fn {
  AG_BINARY_ADD,
  AG_BINARY_SUB,
  AG_BINARY_MUL,
  AG_BINARY_DIV
} ag_binary_fn;

/* A broadcast binary op over at most 4 dims. The runtime drops size-1 output
 * dims and merges dims that are contiguous in both inputs, so ndim is often 1
 * or 2. Invariants: shape[d] > 1 for d < ndim unless ndim == 1; the output is
 * contiguous; sa/sb are element strides of a and b, 0 exactly on the dims
 * that input is broadcast along. */
typedef struct ag_bcast4 {
  int ndim;
  int64_t shape[4];
  int64_t sa[4], sb[4];
} ag_bcast4;

/* p is the op's parameter: the factor of SCALE, the slope of LEAKY_RELU. */
AG_HD float ag_unary_eval(int fn, float x, float p) {
  switch (fn) {
    case AG_UNARY_SCALE:
      return p * x;
    case AG_UNARY_EXP:
      return expf(x);
    case AG_UNARY_LOG:
      return logf(x);
    case AG_UNARY_SQRT:
      return sqrtf(x);
    case AG_UNARY_RSQRT:
      return 1.0f / sqrtf(x);
    case AG_UNARY_RELU:
      return x > 0.0f ? x : 0.0f;
    case AG_UNARY_LEAKY_RELU:
      return x > 0.0f ? x : p * x;
    case AG_UNARY_GELU:
      return ag_act_gelu(x);
    case AG_UNARY_SILU:
      return ag_act_silu(x);
    case AG_UNARY_SIGMOID:
      return ag_act_sigmoid(x);
    case AG_UNARY_TANH:
      return tanhf(x);
    case AG_UNARY_SOFTPLUS:
      return ag_act_softplus(x);
    default:
      return expf(x); /* AG_UNARY_TRUNC_EXP */
  }
}

/* d fn(x; p) / dx. */
AG_HD float ag_unary_grad(int fn, float x, float p) {
  switch (fn) {
    case AG_UNARY_SCALE:
      return p;
    case AG_UNARY_EXP:
      return expf(x);
    case AG_UNARY_LOG:
      return 1.0f / x;
    case AG_UNARY_SQRT:
      return 0.5f / sqrtf(x);
    case AG_UNARY_RSQRT:
      return -0.5f / (x * sqrtf(x));
    case AG_UNARY_RELU:
      return x > 0.0f ? 1.0f : 0.0f;
    case AG_UNARY_LEAKY_RELU:
      return x > 0.0f ? 1.0f : p;
    case AG_UNARY_GELU:
      return ag_act_gelu_grad(x);
    case AG_UNARY_SILU:
      return ag_act_silu_grad(x);
    case AG_UNARY_SIGMOID: {
      float s = ag_act_sigmoid(x);
      return s * (1.0f - s);
    }
    case AG_UNARY_TANH: {
      float t = tanhf(x);
      return 1.0f - t * t;
    }
    case AG_UNARY_SOFTPLUS:
      return ag_act_softplus_grad(x);
    default:
      return ag_act_trunc_exp_grad(x); /* AG_UNARY_TRUNC_EXP */
  }
}

AG_HD float ag_binary_eval(int fn, float a, float b) {
  switch (fn) {
    case AG_BINARY_ADD:
      return a + b;
    case AG_BINARY_SUB:
      return a - b;
    case AG_BINARY_MUL:
      return a * b;
    default:
      return a / b; /* AG_BINARY_DIV */
  }
}

/* The gradient contribution g * d(a fn b)/d(input `which`) at one element. */
AG_HD float ag_binary_grad(int fn, int which, float a, float b, float g) {
  switch (fn) {
    case AG_BINARY_ADD:
      return g;
    case AG_BINARY_SUB:
      return which ? -g : g;
    case AG_BINARY_MUL:
      return g * (which ? a : b);
    default:
      return which ? -g * a / (b * b) : g / b; /* AG_BINARY_DIV */
  }
}

/* Offsets into y, a and b of element `idx` of the sub-grid spanned by the
 * dims whose bit is set in `mask` (the other dims at coordinate 0); the last
 * masked dim varies fastest. */
AG_HD void ag_bcast_offsets(const ag_bcast4 *bc, unsigned mask, int64_t idx, int64_t *oy,
                            int64_t *oa, int64_t *ob) {
  int64_t y = 0, a = 0, b = 0, ystride = 1;
  for (int d = bc->ndim - 1; d >= 0; d--) {
    if (mask & (1u << d)) {
      int64_t c = idx % bc->shape[d];
      idx /= bc->shape[d];
      y += c * ystride;
      a += c * bc->sa[d];
      b += c * bc->sb[d];
    }
    ystride *= bc->shape[d];
  }
  *oy = y;
  *oa = a;
  *ob = b;
}

/* The dims input `which` is broadcast along (those its gradient sums over). */
AG_HD unsigned ag_bcast_reduced_mask(const ag_bcast4 *bc, int which) {
  unsigned m = 0;
  for (int d = 0; d < bc->ndim; d++)
    if ((which ? bc->sb[d] : bc->sa[d]) == 0 && bc->shape[d] > 1) m |= 1u << d;
  return m;
}

/* Elements in the sub-grid of the dims in `mask`. */
AG_HD int64_t ag_bcast_count(const ag_bcast4 *bc, unsigned mask) {
  int64_t n = 1;
  for (int d = 0; d < bc->ndim; d++)
    if (mask & (1u << d)) n *= bc->shape[d];
  return n;
}

/* float -> i32 as PyTorch's .to(int32) on in-range values: truncation toward
 * zero; out-of-range values saturate and NaN gives 0 so that every backend
 * agrees (C leaves those undefined). */
AG_HD int32_t ag_ew_to_i32(double v) {
  if (!(v == v)) return 0;
  if (v >= 2147483647.0) return 2147483647;
  if (v <= -2147483648.0) return -2147483647 - 1;
  return (int32_t)v;
}

/* arange in f32 with one rounding (fused multiply-add), so CPU and GPU agree
 * bit for bit; i32 outputs are computed in double, exact for whole-number
 * start and step. */
AG_HD float ag_arange_f32(float start, float step, int64_t i) {
  return fmaf((float)i, step, start);
}
AG_HD int32_t ag_arange_i32(float start, float step, int64_t i) {
  return ag_ew_to_i32(fma((double)i, (double)step, (double)start));
}

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_unary_kernel(ag_dtype dt, int fn, float p, const void *x, void *y, int64_t n,
                                  void *stream);
typedef ag_status ag_unary_backward_kernel(ag_dtype dt, int fn, float p, const void *x,
                                           const void *g, void *gx, int64_t n, void *stream);
typedef ag_status ag_binary_kernel(ag_dtype dt, int fn, const void *a, const void *b, void *y,
                                   ag_bcast4 bc, void *stream);
typedef ag_status ag_binary_backward_kernel(ag_dtype dt, int fn, int which, const void *a,
                                            const void *b, const void *g, void *gx, ag_bcast4 bc,
                                            void *stream);
typedef ag_status ag_cast_kernel(ag_dtype from, ag_dtype to, const void *x, void *y, int64_t n,
                                 void *stream);
typedef ag_status ag_fill_kernel(ag_dtype dt, float v, void *y, int64_t n, void *stream);
typedef ag_status ag_arange_kernel(ag_dtype dt, float start, float step, void *y, int64_t n,
                                   void *stream);

/* The elementwise family's kernels on one backend (runtime/ops/bind_elementwise.c calls
 * through it). */
typedef struct ag_elementwise_kernels {
  ag_unary_kernel *unary;
  ag_unary_backward_kernel *unary_backward;
  ag_binary_kernel *binary;
  ag_binary_backward_kernel *binary_backward;
  ag_cast_kernel *cast;
  ag_fill_kernel *fill;
  ag_arange_kernel *arange;
} ag_elementwise_kernels;

ag_unary_kernel ag_cpu_unary, ag_cuda_unary, ag_emu_unary;
ag_unary_backward_kernel ag_cpu_unary_backward, ag_cuda_unary_backward, ag_emu_unary_backward;
ag_binary_kernel ag_cpu_binary, ag_cuda_binary, ag_emu_binary;
ag_binary_backward_kernel ag_cpu_binary_backward, ag_cuda_binary_backward, ag_emu_binary_backward;
ag_cast_kernel ag_cpu_cast, ag_cuda_cast, ag_emu_cast;
ag_fill_kernel ag_cpu_fill, ag_cuda_fill, ag_emu_fill;
ag_arange_kernel ag_cpu_arange, ag_cuda_arange, ag_emu_arange;
extern const ag_elementwise_kernels ag_cpu_elementwise_kernels, ag_cuda_elementwise_kernels,
    ag_emu_elementwise_kernels;
