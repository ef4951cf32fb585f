/* Reductions over one axis. x is viewed as [outer, n, inner] with the reduced
 * axis in the middle and y as [outer, inner]:
 *   reduce_axis:          y[o, i] = reduce_a x[o, a, i], accumulated in f32;
 *                         the mean divides the f32 sum by n once.
 *   reduce_axis_backward: gx from g (shaped like y); sum: gx = g, mean: g / n,
 *                         max: g at the first a with x == y (NaN counts as the
 *                         maximum), zero elsewhere.
 * Float dtypes only; n >= 1. */
#include "ag_hd.h"

typedef enum ag_reduce_kind { AG_REDUCE_SUM, AG_REDUCE_MEAN, AG_REDUCE_MAX } ag_reduce_kind;

/* Whether v replaces the running maximum m: strictly larger, or the first
 * NaN (which then sticks, as in PyTorch). Keeping the earlier element on ties
 * is what makes the maximum "the first maximal element". */
AG_HD int ag_reduce_max_takes(float v, float m) { return v > m || (v != v && m == m); }

/* Whether x is the maximum y that the forward produced. */
AG_HD int ag_reduce_is_max(float x, float y) { return x == y || (x != x && y != y); }

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_reduce_axis_kernel(ag_dtype dt, ag_reduce_kind kind, const void *x, void *y,
                                        int64_t outer, int64_t n, int64_t inner, void *stream);
typedef ag_status ag_reduce_axis_backward_kernel(ag_dtype dt, ag_reduce_kind kind, const void *x,
                                                 const void *y, const void *g, void *gx,
                                                 int64_t outer, int64_t n, int64_t inner,
                                                 void *stream);

/* The reduce family's kernels on one backend (runtime/ops/bind_reduce.c calls
 * through it). */
typedef struct ag_reduce_kernels {
  ag_reduce_axis_kernel *reduce_axis;
  ag_reduce_axis_backward_kernel *reduce_axis_backward;
} ag_reduce_kernels;

ag_reduce_axis_kernel ag_cpu_reduce_axis, ag_cuda_reduce_axis, ag_emu_reduce_axis;
ag_reduce_axis_backward_kernel ag_cpu_reduce_axis_backward, ag_cuda_reduce_axis_backward,
    ag_emu_reduce_axis_backward;
extern const ag_reduce_kernels ag_cpu_reduce_kernels, ag_cuda_reduce_kernels, ag_emu_reduce_kernels;
