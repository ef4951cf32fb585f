/* Unary elementwise ops and their backward passes (gx = g * fn'(x)): the
 * flat maps of ag_cuda_vec.h (16-byte vectors where the pointers allow),
 * instantiated per function with the math shared with the CPU
 * (kernels/common/ag_k_elementwise.h). */
#include "ag_cuda.h"
#include "ag_cuda_dtype.h"
#include "ag_cuda_vec.h"
#include "kernels/common/ag_kernels.h"

template <int FN> struct ag_unary_op {
  float p;
  __device__ float operator()(float x) const { return ag_unary_eval(FN, x, p); }
};

/* The backward as a binary map of (x, g): gx = g * fn'(x). */
template <int FN> struct ag_unary_grad_op {
  float p;
  __device__ float operator()(float x, float g) const { return g * ag_unary_grad(FN, x, p); }
};

template <typename F>
static ag_status launch_unary(F f, ag_dtype dt, const void *x, void *y, int64_t n, void *stream) {
  return ag_dispatch_float(dt, "unary", [&](auto tag) {
    using T = decltype(tag);
    ag_vec_map1(f, (const T *)x, (T *)y, n, stream);
  });
}

template <typename F>
static ag_status launch_unary_grad(F df, ag_dtype dt, const void *x, const void *g, void *gx,
                                   int64_t n, void *stream) {
  return ag_dispatch_float(dt, "unary_backward", [&](auto tag) {
    using T = decltype(tag);
    ag_vec_map2(df, (const T *)x, (const T *)g, (T *)gx, n, stream);
  });
}

static ag_status unknown_fn(const char *kernel, int fn) {
  return ag_set_error(AG_ERR_INVALID, "cuda kernel %s: unknown function %d", kernel, fn);
}

extern "C" ag_status AG_CUDA_SYM(unary)(ag_dtype dt, int fn, float p, const void *x, void *y,
                                        int64_t n, void *stream) {
  switch (fn) {
#define AG_UNARY_CASE_(name, op)                                                                   \
  case AG_UNARY_##name:                                                                            \
    return launch_unary(ag_unary_op<AG_UNARY_##name>{p}, dt, x, y, n, stream);
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
    default:
      return unknown_fn("unary", fn);
  }
}

extern "C" ag_status AG_CUDA_SYM(unary_backward)(ag_dtype dt, int fn, float p, const void *x,
                                                 const void *g, void *gx, int64_t n, void *stream) {
  switch (fn) {
#define AG_UNARY_CASE_(name, op)                                                                   \
  case AG_UNARY_##name:                                                                            \
    return launch_unary_grad(ag_unary_grad_op<AG_UNARY_##name>{p}, dt, x, g, gx, n, stream);
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
    default:
      return unknown_fn("unary_backward", fn);
  }
}
