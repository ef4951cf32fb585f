/* Layout kernels. Axis kernels view a tensor as [outer, n, inner] around one
 * axis of length n. Copies move elements as opaque words, so they take any
 * dtype; the gradient of gather is float only.
 *   copy_strided: dst (contiguous) = src viewed through `layout`, row-major.
 *   copy_axis:    dst[o, dst_off + a, i] = src[o, src_off + a, i] for a in
 *                 [0, count), src being [outer, src_n, inner] and dst
 *                 [outer, dst_n, inner]; a NULL src writes zeros.
 *   gather_axis:  y[o, j, i] = x[o, idx[j], i], x [outer, n_x, inner], idx
 *                 i32 [n_idx]. The CPU kernel rejects an index outside
 *                 [0, n_x) with AG_ERR_INVALID; the CUDA kernel cannot report
 *                 one cheaply, so it writes zeros there instead of reading out
 *                 of bounds (and its backward drops them).
 *   gather_axis_backward: gx = 0, then gx[o, idx[j], i] += g[o, j, i];
 *                 deterministic on the CPU (f32 accumulation, one rounding),
 *                 atomic adds in the storage dtype on CUDA. */
/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_copy_strided_kernel(ag_dtype dt, const void *src, ag_strided4 layout,
                                         void *dst, void *stream);
typedef ag_status ag_copy_axis_kernel(ag_dtype dt, const void *src, int64_t src_n, int64_t src_off,
                                      void *dst, int64_t dst_n, int64_t dst_off, int64_t outer,
                                      int64_t count, int64_t inner, void *stream);
typedef ag_status ag_gather_axis_kernel(ag_dtype dt, const void *x, const int32_t *idx, void *y,
                                        int64_t outer, int64_t n_x, int64_t n_idx, int64_t inner,
                                        void *stream);
typedef ag_status ag_gather_axis_backward_kernel(ag_dtype dt, const void *g, const int32_t *idx,
                                                 void *gx, int64_t outer, int64_t n_x,
                                                 int64_t n_idx, int64_t inner, void *stream);

/* The layout family's kernels on one backend (runtime/ops/bind_layout.c calls
 * through it). */
typedef struct ag_layout_kernels {
  ag_copy_strided_kernel *copy_strided;
  ag_copy_axis_kernel *copy_axis;
  ag_gather_axis_kernel *gather_axis;
  ag_gather_axis_backward_kernel *gather_axis_backward;
} ag_layout_kernels;

ag_copy_strided_kernel ag_cpu_copy_strided, ag_cuda_copy_strided, ag_emu_copy_strided;
ag_copy_axis_kernel ag_cpu_copy_axis, ag_cuda_copy_axis, ag_emu_copy_axis;
ag_gather_axis_kernel ag_cpu_gather_axis, ag_cuda_gather_axis, ag_emu_gather_axis;
ag_gather_axis_backward_kernel ag_cpu_gather_axis_backward, ag_cuda_gather_axis_backward,
    ag_emu_gather_axis_backward;
extern const ag_layout_kernels ag_cpu_layout_kernels, ag_cuda_layout_kernels, ag_emu_layout_kernels;
