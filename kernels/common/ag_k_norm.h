/* Normalisation kernels. Statistics (mean, rstd, invstd) and running
 * statistics are f32; x, y, weights, biases and their gradients share the
 * storage dtype `dt`, with f32 math.
 *
 * norm_rows: LayerNorm, RMSNorm and GroupNorm over `rows` rows of `cols`
 * contiguous values; the affine channel of an element is ag_norm_channel
 * (kernels/common/ag_norm.h). mean == NULL selects RMSNorm (no centering);
 * w / b may be NULL (no scale / no shift). Writes mean[r] and rstd[r].
 * norm_rows_backward writes dx from the saved statistics.
 * norm_affine_backward writes dw[ch] = sum dy * xhat and db[ch] = sum dy
 * (either may be NULL) for x laid out [n, channels, spatial] with statistics
 * [n, groups].
 *
 * batchnorm: x [n, channels, spatial], statistics per channel over n and
 * spatial. training != 0 uses batch statistics and writes the updated running
 * statistics (unbiased variance, as PyTorch); otherwise it uses the running
 * statistics and copies them through. Either way save_mean / save_invstd
 * hold what normalised x, which is what batchnorm_backward reads. */
/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_norm_rows_kernel(ag_dtype dt, const void *x, const void *w, const void *b,
                                      void *y, float *mean, float *rstd, int64_t rows, int64_t cols,
                                      int64_t groups, int64_t spatial, float eps, void *stream);
typedef ag_status ag_norm_rows_backward_kernel(ag_dtype dt, const void *x, const void *w,
                                               const void *dy, const float *mean, const float *rstd,
                                               void *dx, int64_t rows, int64_t cols, int64_t groups,
                                               int64_t spatial, void *stream);
typedef ag_status ag_norm_affine_backward_kernel(ag_dtype dt, const void *x, const void *dy,
                                                 const float *mean, const float *rstd, void *dw,
                                                 void *db, int64_t n, int64_t channels,
                                                 int64_t spatial, int64_t groups, void *stream);
typedef ag_status ag_batchnorm_kernel(ag_dtype dt, const void *x, const void *w, const void *b,
                                      const float *run_mean, const float *run_var, void *y,
                                      float *save_mean, float *save_invstd, float *new_mean,
                                      float *new_var, int64_t n, int64_t channels, int64_t spatial,
                                      int training, float eps, float momentum, void *stream);
typedef ag_status ag_batchnorm_backward_kernel(ag_dtype dt, const void *x, const void *w,
                                               const void *dy, const float *save_mean,
                                               const float *save_invstd, void *dx, void *dw,
                                               void *db, int64_t n, int64_t channels,
                                               int64_t spatial, int training, void *stream);

/* The norm family's kernels on one backend (runtime/ops/bind_norm.c calls
 * through it). */
typedef struct ag_norm_kernels {
  ag_norm_rows_kernel *norm_rows;
  ag_norm_rows_backward_kernel *norm_rows_backward;
  ag_norm_affine_backward_kernel *norm_affine_backward;
  ag_batchnorm_kernel *batchnorm;
  ag_batchnorm_backward_kernel *batchnorm_backward;
} ag_norm_kernels;

ag_norm_rows_kernel ag_cpu_norm_rows, ag_cuda_norm_rows, ag_emu_norm_rows;
ag_norm_rows_backward_kernel ag_cpu_norm_rows_backward, ag_cuda_norm_rows_backward,
    ag_emu_norm_rows_backward;
ag_norm_affine_backward_kernel ag_cpu_norm_affine_backward, ag_cuda_norm_affine_backward,
    ag_emu_norm_affine_backward;
ag_batchnorm_kernel ag_cpu_batchnorm, ag_cuda_batchnorm, ag_emu_batchnorm;
ag_batchnorm_backward_kernel ag_cpu_batchnorm_backward, ag_cuda_batchnorm_backward,
    ag_emu_batchnorm_backward;
extern const ag_norm_kernels ag_cpu_norm_kernels, ag_cuda_norm_kernels, ag_emu_norm_kernels;
