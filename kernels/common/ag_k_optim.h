/* Optimizer kernels (contiguous, n elements each). Every output may alias the
 * input it replaces elementwise (an in-place step): each element is read
 * before it is written, by the same thread. Coefficients come from
 * kernels/common/ag_optim.h.
 *   adamw:        p, g, m, v of dtype dt -> p', m', v' (math in f32, rounded
 *                 once on store);
 *   adamw_master: g of dtype dt and f32 master, m, v -> master', m', v' and
 *                 p' = master' rounded to dt;
 *   sgd:          p, g, buf of dtype dt -> p', buf';
 *   sq_norm:      out[0] = acc[0] + sum x^2 (f32; out may alias acc);
 *   clip_scale:   gx = g * ag_clip_coef(sq_total[0], max_norm). */
#include "ag_optim.h"

/* One signature per kernel, shared by the CPU kernels (ag_cpu_), the CUDA
 * launchers (ag_cuda_) and their emulated build (ag_emu_). */
typedef ag_status ag_adamw_kernel(ag_dtype dt, const void *p, const void *g, const void *m,
                                  const void *v, void *p_out, void *m_out, void *v_out, int64_t n,
                                  ag_adamw_coef coef, void *stream);
typedef ag_status ag_adamw_master_kernel(ag_dtype dt, const void *g, const float *master,
                                         const float *m, const float *v, void *p_out,
                                         float *master_out, float *m_out, float *v_out, int64_t n,
                                         ag_adamw_coef coef, void *stream);
typedef ag_status ag_sgd_kernel(ag_dtype dt, const void *p, const void *g, const void *buf,
                                void *p_out, void *buf_out, int64_t n, ag_sgd_coef coef,
                                void *stream);
typedef ag_status ag_sq_norm_kernel(ag_dtype dt, const void *x, const float *acc, float *out,
                                    int64_t n, void *stream);
typedef ag_status ag_clip_scale_kernel(ag_dtype dt, const void *g, const float *sq_total,
                                       float max_norm, void *gx, int64_t n, void *stream);

/* The optim family's kernels on one backend (runtime/ops/bind_optim.c calls
 * through it). */
typedef struct ag_optim_kernels {
  ag_adamw_kernel *adamw;
  ag_adamw_master_kernel *adamw_master;
  ag_sgd_kernel *sgd;
  ag_sq_norm_kernel *sq_norm;
  ag_clip_scale_kernel *clip_scale;
} ag_optim_kernels;

ag_adamw_kernel ag_cpu_adamw, ag_cuda_adamw, ag_emu_adamw;
ag_adamw_master_kernel ag_cpu_adamw_master, ag_cuda_adamw_master, ag_emu_adamw_master;
ag_sgd_kernel ag_cpu_sgd, ag_cuda_sgd, ag_emu_sgd;
ag_sq_norm_kernel ag_cpu_sq_norm, ag_cuda_sq_norm, ag_emu_sq_norm;
ag_clip_scale_kernel ag_cpu_clip_scale, ag_cuda_clip_scale, ag_emu_clip_scale;
extern const ag_optim_kernels ag_cpu_optim_kernels, ag_cuda_optim_kernels, ag_emu_optim_kernels;
