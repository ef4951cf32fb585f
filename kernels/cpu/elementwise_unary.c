/* Unary elementwise ops and their backward passes (gx = g * fn'(x)). The
 * formulas are those of kernels/common/ag_k_elementwise.h and
 * ag_activation.h with the transcendentals taken from cpu_vmath.h, whose
 * vectorisable approximations are within a few ulp of libm. Each loop is
 * compiled for one function and one dtype, so the function's switch folds
 * away, bf16 is widened and rounded in registers, and the loop vectorises;
 * OpenMP splits the elements into chunks of AG_CPU_CHUNK. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "cpu_vmath.h"

static ag_status check_unary(const char *name, ag_dtype dt, int fn) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (fn < 0 || fn >= AG_UNARY_COUNT)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: unknown function %d", name, fn);
  return AG_OK;
}

/* fn(x; p), as ag_unary_eval. */
AG_CPU_INLINE float unary_value(int fn, float x, float p) {
  switch (fn) {
    case AG_UNARY_SCALE:
      return p * x;
    case AG_UNARY_EXP:
      return ag_vexp(x);
    case AG_UNARY_LOG:
      return ag_vlog(x);
    case AG_UNARY_SQRT:
      return sqrtf(x);
    case AG_UNARY_RSQRT:
      return 1.0f / sqrtf(x);
    case AG_UNARY_RELU:
      return x > 0.0f ? x : 0.0f;
    case AG_UNARY_LEAKY_RELU:
      return x > 0.0f ? x : p * x;
    case AG_UNARY_GELU:
      return ag_vgelu(x);
    case AG_UNARY_SILU:
      return ag_vsilu(x);
    case AG_UNARY_SIGMOID:
      return ag_vsigmoid(x);
    case AG_UNARY_TANH:
      return ag_vtanh(x);
    case AG_UNARY_SOFTPLUS:
      return ag_vsoftplus(x);
    default:
      return ag_vexp(x); /* AG_UNARY_TRUNC_EXP */
  }
}

/* d fn(x; p) / dx, as ag_unary_grad; sigmoid's s (1 - s) takes 1 - s as
 * sigmoid(-x), which does not cancel for large x. */
AG_CPU_INLINE float unary_slope(int fn, float x, float p) {
  switch (fn) {
    case AG_UNARY_SCALE:
      return p;
    case AG_UNARY_EXP:
      return ag_vexp(x);
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
      return ag_vgelu_grad(x);
    case AG_UNARY_SILU:
      return ag_vsilu_grad(x);
    case AG_UNARY_SIGMOID:
      return ag_vsigmoid(x) * ag_vsigmoid(-x);
    case AG_UNARY_TANH: {
      float t = ag_vtanh(x);
      return 1.0f - t * t;
    }
    case AG_UNARY_SOFTPLUS:
      return ag_vsigmoid(x); /* 1 above the threshold, as it rounds */
    default: {
      /* AG_UNARY_TRUNC_EXP: exp of x clamped to +-AG_TRUNC_EXP_LIMIT */
      float c = x < -AG_TRUNC_EXP_LIMIT ? -AG_TRUNC_EXP_LIMIT : x;
      return ag_vexp(c > AG_TRUNC_EXP_LIMIT ? AG_TRUNC_EXP_LIMIT : c);
    }
  }
}

/* One chunk, with dt and fn constants at every call. */
AG_CPU_INLINE void unary_run(ag_dtype dt, int fn, float p, const void *x, void *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) ag_cpu_store(dt, y, i, unary_value(fn, ag_cpu_load(dt, x, i), p));
}

AG_CPU_INLINE void unary_grad_run(ag_dtype dt, int fn, float p, const void *x, const void *g,
                                  void *gx, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    ag_cpu_store(dt, gx, i, ag_cpu_load(dt, g, i) * unary_slope(fn, ag_cpu_load(dt, x, i), p));
}

AG_CPU_SIMD static void unary_chunk(ag_dtype dt, int fn, float p, const void *x, void *y,
                                    int64_t n) {
  switch (fn) {
#define AG_UNARY_CASE_(name, op)                                                                   \
  case AG_UNARY_##name:                                                                            \
    AG_CPU_BY_DTYPE(dt, unary_run, AG_UNARY_##name, p, x, y, n);                                   \
    break;
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
  }
}

AG_CPU_SIMD static void unary_grad_chunk(ag_dtype dt, int fn, float p, const void *x, const void *g,
                                         void *gx, int64_t n) {
  switch (fn) {
#define AG_UNARY_CASE_(name, op)                                                                   \
  case AG_UNARY_##name:                                                                            \
    AG_CPU_BY_DTYPE(dt, unary_grad_run, AG_UNARY_##name, p, x, g, gx, n);                          \
    break;
    AG_UNARY_FN_LIST(AG_UNARY_CASE_)
#undef AG_UNARY_CASE_
  }
}

ag_status ag_cpu_unary(ag_dtype dt, int fn, float p, const void *x, void *y, int64_t n,
                       void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary", dt, fn));
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK, es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i = k * AG_CPU_CHUNK, len = n - i < AG_CPU_CHUNK ? n - i : AG_CPU_CHUNK;
    unary_chunk(dt, fn, p, (const char *)x + i * es, (char *)y + i * es, len);
  }
  return AG_OK;
}

ag_status ag_cpu_unary_backward(ag_dtype dt, int fn, float p, const void *x, const void *g,
                                void *gx, int64_t n, void *stream) {
  (void)stream;
  AG_TRY(check_unary("unary_backward", dt, fn));
  const int64_t chunks = (n + AG_CPU_CHUNK - 1) / AG_CPU_CHUNK, es = (int64_t)ag_dtype_size(dt);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t k = 0; k < chunks; k++) {
    int64_t i = k * AG_CPU_CHUNK, len = n - i < AG_CPU_CHUNK ? n - i : AG_CPU_CHUNK;
    unary_grad_chunk(dt, fn, p, (const char *)x + i * es, (const char *)g + i * es,
                     (char *)gx + i * es, len);
  }
  return AG_OK;
}
