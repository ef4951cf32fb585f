/* Softmax and loss kernels. Rows are the last dim of contiguous data; math is
 * in f32, bf16/f16 values are rounded once on store.
 *   softmax_rows: y = softmax(scale * x) per row; causal_t > 0 masks each
 *     [causal_t, cols] matrix bottom-right aligned (ag_softmax_kept_cols),
 *     masked entries get 0. Backward: dx = scale * y * (dy - sum(dy * y)).
 *   log_softmax_rows: y = x - logsumexp(x); backward dx = dy - exp(y) sum(dy).
 *   cross_entropy: logits [rows, classes], i32 targets [rows]; writes f32
 *     per-row losses and logsumexp. Rows whose target equals ignore_index
 *     (never, when has_ignore is 0) get loss 0. Backward recomputes softmax
 *     from the logits and lse: dx = (p - q) * dloss + p * dlse, dlse may be
 *     NULL (zero); ignored rows keep only the p * dlse term.
 *   mse_loss / huber_loss: mean over n elements of (a-b)^2 / huber(a-b,
 *     delta) into f32 y[0]; backward writes da = g[0]/n * f'(a-b) and
 *     db = -da, either of them may be NULL. */
/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_softmax_rows_kernel(ag_dtype dt, const void *x, void *y, int64_t rows,
                                         int64_t cols, float scale, int64_t causal_t, void *stream);
typedef ag_status ag_softmax_rows_backward_kernel(ag_dtype dt, const void *y, const void *dy,
                                                  void *dx, int64_t rows, int64_t cols, float scale,
                                                  void *stream);
typedef ag_status ag_log_softmax_rows_kernel(ag_dtype dt, const void *x, void *y, int64_t rows,
                                             int64_t cols, void *stream);
typedef ag_status ag_log_softmax_rows_backward_kernel(ag_dtype dt, const void *y, const void *dy,
                                                      void *dx, int64_t rows, int64_t cols,
                                                      void *stream);
typedef ag_status ag_cross_entropy_kernel(ag_dtype dt, const void *logits, const int32_t *targets,
                                          float *losses, float *lse, int64_t rows, int64_t classes,
                                          int has_ignore, int64_t ignore_index, float smoothing,
                                          void *stream);
typedef ag_status ag_cross_entropy_backward_kernel(ag_dtype dt, const void *logits,
                                                   const int32_t *targets, const float *lse,
                                                   const float *dloss, const float *dlse,
                                                   void *dlogits, int64_t rows, int64_t classes,
                                                   int has_ignore, int64_t ignore_index,
                                                   float smoothing, void *stream);
typedef ag_status ag_mse_loss_kernel(ag_dtype dt, const void *a, const void *b, float *y, int64_t n,
                                     void *stream);
typedef ag_status ag_mse_loss_backward_kernel(ag_dtype dt, const void *a, const void *b,
                                              const float *g, void *da, void *db, int64_t n,
                                              void *stream);
typedef ag_status ag_huber_loss_kernel(ag_dtype dt, const void *a, const void *b, float *y,
                                       int64_t n, float delta, void *stream);
typedef ag_status ag_huber_loss_backward_kernel(ag_dtype dt, const void *a, const void *b,
                                                const float *g, void *da, void *db, int64_t n,
                                                float delta, void *stream);

/* The softmax family's kernels on one backend (runtime/ops/bind_softmax.c calls
 * through it). */
typedef struct ag_softmax_kernels {
  ag_softmax_rows_kernel *softmax_rows;
  ag_softmax_rows_backward_kernel *softmax_rows_backward;
  ag_log_softmax_rows_kernel *log_softmax_rows;
  ag_log_softmax_rows_backward_kernel *log_softmax_rows_backward;
  ag_cross_entropy_kernel *cross_entropy;
  ag_cross_entropy_backward_kernel *cross_entropy_backward;
  ag_mse_loss_kernel *mse_loss;
  ag_mse_loss_backward_kernel *mse_loss_backward;
  ag_huber_loss_kernel *huber_loss;
  ag_huber_loss_backward_kernel *huber_loss_backward;
} ag_softmax_kernels;

ag_softmax_rows_kernel ag_cpu_softmax_rows, ag_cuda_softmax_rows, ag_emu_softmax_rows;
ag_softmax_rows_backward_kernel ag_cpu_softmax_rows_backward, ag_cuda_softmax_rows_backward,
    ag_emu_softmax_rows_backward;
ag_log_softmax_rows_kernel ag_cpu_log_softmax_rows, ag_cuda_log_softmax_rows,
    ag_emu_log_softmax_rows;
ag_log_softmax_rows_backward_kernel ag_cpu_log_softmax_rows_backward,
    ag_cuda_log_softmax_rows_backward, ag_emu_log_softmax_rows_backward;
ag_cross_entropy_kernel ag_cpu_cross_entropy, ag_cuda_cross_entropy, ag_emu_cross_entropy;
ag_cross_entropy_backward_kernel ag_cpu_cross_entropy_backward, ag_cuda_cross_entropy_backward,
    ag_emu_cross_entropy_backward;
ag_mse_loss_kernel ag_cpu_mse_loss, ag_cuda_mse_loss, ag_emu_mse_loss;
ag_mse_loss_backward_kernel ag_cpu_mse_loss_backward, ag_cuda_mse_loss_backward,
    ag_emu_mse_loss_backward;
ag_huber_loss_kernel ag_cpu_huber_loss, ag_cuda_huber_loss, ag_emu_huber_loss;
ag_huber_loss_backward_kernel ag_cpu_huber_loss_backward, ag_cuda_huber_loss_backward,
    ag_emu_huber_loss_backward;
extern const ag_softmax_kernels ag_cpu_softmax_kernels, ag_cuda_softmax_kernels,
    ag_emu_softmax_kernels;
