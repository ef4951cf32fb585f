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

#define AG_KERNELS_OPTIM(P)                                                                       \
  ag_status P##adamw(ag_dtype dt, const void *p, const void *g, const void *m, const void *v,     \
                     void *p_out, void *m_out, void *v_out, int64_t n, ag_adamw_coef coef,        \
                     void *stream);                                                               \
  ag_status P##adamw_master(ag_dtype dt, const void *g, const float *master, const float *m,      \
                            const float *v, void *p_out, float *master_out, float *m_out,         \
                            float *v_out, int64_t n, ag_adamw_coef coef, void *stream);           \
  ag_status P##sgd(ag_dtype dt, const void *p, const void *g, const void *buf, void *p_out,       \
                   void *buf_out, int64_t n, ag_sgd_coef coef, void *stream);                     \
  ag_status P##sq_norm(ag_dtype dt, const void *x, const float *acc, float *out, int64_t n,       \
                       void *stream);                                                             \
  ag_status P##clip_scale(ag_dtype dt, const void *g, const float *sq_total, float max_norm,      \
                          void *gx, int64_t n, void *stream);
AG_DECLARE_KERNELS(AG_KERNELS_OPTIM)
