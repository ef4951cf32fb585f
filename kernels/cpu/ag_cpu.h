/* ag_cpu.h - the CPU kernels: the reference every other backend is compared
 * with, and the fallback when no GPU answers. Each takes raw pointers of the
 * given dtype and a stream argument it ignores, so that its signature matches
 * the CUDA launcher of the same name (see runtime/ops_bind.inc). Contiguous
 * inputs; bf16/f16 are computed in f32 and rounded once. */
#ifndef AG_CPU_H
#define AG_CPU_H

#include "kernels/common/ag_base.h"
#include "kernels/common/ag_strided.h"

#ifdef __cplusplus
extern "C" {
#endif

/* elementwise.c: y = a + b, y = a * b, y = s * a (same shapes) */
ag_status ag_cpu_add(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);
ag_status ag_cpu_mul(ag_dtype dt, const void *a, const void *b, void *y, int64_t n, void *stream);
ag_status ag_cpu_scale(ag_dtype dt, const void *a, float s, void *y, int64_t n, void *stream);

/* activation.c: y = act(x) and gx = g * act'(x), tanh-approximated GELU */
ag_status ag_cpu_gelu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);
ag_status ag_cpu_gelu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n, void *stream);
ag_status ag_cpu_silu(ag_dtype dt, const void *x, void *y, int64_t n, void *stream);
ag_status ag_cpu_silu_backward(ag_dtype dt, const void *x, const void *g, void *gx, int64_t n, void *stream);

/* reduce.c: y[r] = sum_c x[r, c] over `rows` rows of `cols`; the backward
 * broadcasts g[r] back over the row. Accumulates in f32. */
ag_status ag_cpu_sum_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols, void *stream);
ag_status ag_cpu_broadcast_rows(ag_dtype dt, const void *g, void *gx, int64_t rows, int64_t cols, void *stream);

/* copy.c: dst (contiguous) = src (any strides), elementwise in row-major order */
ag_status ag_cpu_copy_strided(ag_dtype dt, const void *src, ag_strided4 layout, void *dst, void *stream);

/* rng.c: Philox4x32-10 fills; element i is value (offset + i) of the stream
 * for `seed`, identical on every backend (see kernels/common/ag_philox.h). */
ag_status ag_cpu_fill_uniform(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,
                              float lo, float hi, void *stream);
ag_status ag_cpu_fill_normal(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,
                             float mean, float std, void *stream);

#ifdef __cplusplus
}
#endif

#endif
