/* Optimizer steps and gradient-norm clipping: the CPU reference. Each element
 * is read before it is written, so outputs may alias their inputs. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"

ag_status ag_cpu_adamw(ag_dtype dt, const void *p, const void *g, const void *m, const void *v,
                       void *p_out, void *m_out, void *v_out, int64_t n, ag_adamw_coef coef,
                       void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("adamw", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    ag_adamw_state s = ag_adamw_update(coef, ag_cpu_load(dt, p, i), ag_cpu_load(dt, g, i),
                                       ag_cpu_load(dt, m, i), ag_cpu_load(dt, v, i));
    ag_cpu_store(dt, p_out, i, s.p);
    ag_cpu_store(dt, m_out, i, s.m);
    ag_cpu_store(dt, v_out, i, s.v);
  }
  return AG_OK;
}

ag_status ag_cpu_adamw_master(ag_dtype dt, const void *g, const float *master, const float *m,
                              const float *v, void *p_out, float *master_out, float *m_out,
                              float *v_out, int64_t n, ag_adamw_coef coef, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("adamw_master", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    ag_adamw_state s = ag_adamw_update(coef, master[i], ag_cpu_load(dt, g, i), m[i], v[i]);
    master_out[i] = s.p;
    m_out[i] = s.m;
    v_out[i] = s.v;
    ag_cpu_store(dt, p_out, i, s.p);
  }
  return AG_OK;
}

ag_status ag_cpu_sgd(ag_dtype dt, const void *p, const void *g, const void *buf, void *p_out,
                     void *buf_out, int64_t n, ag_sgd_coef coef, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sgd", dt);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    ag_sgd_state s = ag_sgd_update(coef, ag_cpu_load(dt, p, i), ag_cpu_load(dt, g, i),
                                   ag_cpu_load(dt, buf, i));
    ag_cpu_store(dt, p_out, i, s.p);
    ag_cpu_store(dt, buf_out, i, s.buf);
  }
  return AG_OK;
}

/* Accumulated in double so the reference does not depend on summation order. */
ag_status ag_cpu_sq_norm(ag_dtype dt, const void *x, const float *acc, float *out, int64_t n,
                         void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("sq_norm", dt);
  double sum = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
  for (int64_t i = 0; i < n; i++) {
    double e = ag_cpu_load(dt, x, i);
    sum += e * e;
  }
  out[0] = (float)((double)acc[0] + sum);
  return AG_OK;
}

ag_status ag_cpu_clip_scale(ag_dtype dt, const void *g, const float *sq_total, float max_norm,
                            void *gx, int64_t n, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("clip_scale", dt);
  float coef = ag_clip_coef(sq_total[0], max_norm);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) ag_cpu_store(dt, gx, i, coef * ag_cpu_load(dt, g, i));
  return AG_OK;
}

const ag_optim_kernels ag_cpu_optim_kernels = {
    .adamw = ag_cpu_adamw,
    .adamw_master = ag_cpu_adamw_master,
    .sgd = ag_cpu_sgd,
    .sq_norm = ag_cpu_sq_norm,
    .clip_scale = ag_cpu_clip_scale,
};
