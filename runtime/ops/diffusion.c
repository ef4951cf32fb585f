/* Diffusion sampler ops: typed arguments, shape inference, the graph builder
 * and the eager calls. Images are the rows of dim 0; the rest of the shape
 * is one image. */
#include <string.h>

#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

/* Doubles travel in the int64 slots bit for bit, so the kernels and the
 * references see exactly the host's coefficients. */
static int64_t double_bits(double v) {
  int64_t b;
  memcpy(&b, &v, sizeof b);
  return b;
}
static double bits_double(int64_t b) {
  double v;
  memcpy(&v, &b, sizeof v);
  return v;
}

void ag_diffusion_noise_args_encode(ag_op_call *c, const ag_diffusion_noise_args *a) {
  c->i[0] = a->prediction;
  c->u[0] = a->seed, c->u[1] = a->first;
}
ag_diffusion_noise_args ag_diffusion_noise_args_decode(const ag_op_call *c) {
  return (ag_diffusion_noise_args){(ag_diffusion_prediction)c->i[0], c->u[0], c->u[1]};
}

void ag_diffusion_step_args_encode(ag_op_call *c, const ag_diffusion_step_args *a) {
  const double k[7] = {a->k.px, a->k.pm, a->k.cx, a->k.cm, a->k.c0, a->k.c1, a->k.cn};
  for (int j = 0; j < 7; j++) c->i[j] = double_bits(k[j]);
  c->i[7] = a->x0_mode;
  c->f[0] = a->clip_range, c->f[1] = a->threshold_ratio, c->f[2] = a->sample_max;
  c->f[3] = a->guidance;
  c->u[0] = a->seed, c->u[1] = a->first;
}
ag_diffusion_step_args ag_diffusion_step_args_decode(const ag_op_call *c) {
  ag_diffusion_step_args a;
  a.k = (ag_diffusion_coefs){bits_double(c->i[0]), bits_double(c->i[1]), bits_double(c->i[2]),
                             bits_double(c->i[3]), bits_double(c->i[4]), bits_double(c->i[5]),
                             bits_double(c->i[6])};
  a.x0_mode = (ag_diffusion_x0_mode)c->i[7];
  a.clip_range = c->f[0], a.threshold_ratio = c->f[1], a.sample_max = c->f[2];
  a.guidance = c->f[3];
  a.seed = c->u[0], a.first = c->u[1];
  return a;
}

void ag_cfg_combine_args_encode(ag_op_call *c, const ag_cfg_combine_args *a) {
  c->f[0] = a->guidance;
}
ag_cfg_combine_args ag_cfg_combine_args_decode(const ag_op_call *c) {
  return (ag_cfg_combine_args){c->f[0]};
}

/* x must have a batch dim of at least one image. */
static ag_status require_batch(const char *op, const char *role, const ag_tensor *x) {
  AG_TRY(ag_op_require_float(op, role, x));
  char d[64];
  if (x->ndim < 1 || x->shape[0] < 1)
    return ag_set_error(AG_ERR_INVALID, "%s: %s %s needs a batch dim of at least 1", op, role,
                        ag_tensor_describe(x, d, sizeof d));
  return AG_OK;
}

/* `x` is `rows` images of `like`'s image shape and dtype. */
static ag_status require_images(const char *op, const char *what, const ag_tensor *x,
                                const ag_tensor *like, int64_t rows) {
  int same = x->dtype == like->dtype && x->ndim == like->ndim && x->shape[0] == rows;
  for (int d = 1; same && d < x->ndim; d++) same = x->shape[d] == like->shape[d];
  return same ? AG_OK : ag_op_error_shapes(op, what, x, like);
}

ag_status ag_infer_diffusion_noise(const ag_op_call *c, ag_shape *out) {
  const char *op = "diffusion_noise";
  const ag_tensor *x0 = c->in[0], *t = c->in[1], *ac = c->in[2];
  char d[64];
  AG_TRY(require_batch(op, "x0", x0));
  if (t->dtype != AG_I32 || t->ndim != 1 || t->shape[0] != x0->shape[0])
    return ag_op_error_shapes(op, "timesteps must be int32 [batch]", t, x0);
  if (ac->dtype != AG_F32 || ac->ndim != 1 || ac->shape[0] < 1)
    return ag_set_error(AG_ERR_INVALID, "%s: alphas_cumprod %s must be f32 [T], T >= 1", op,
                        ag_tensor_describe(ac, d, sizeof d));
  const ag_diffusion_noise_args a = ag_diffusion_noise_args_decode(c);
  if (a.prediction != AG_PRED_EPSILON && a.prediction != AG_PRED_V &&
      a.prediction != AG_PRED_SAMPLE)
    return ag_set_error(AG_ERR_INVALID, "%s: unknown prediction type %d", op, (int)a.prediction);
  out[0] = out[1] = ag_shape_of(x0);
  return AG_OK;
}

static ag_status check_step_args(const char *op, const ag_diffusion_step_args *a) {
  switch (a->x0_mode) {
  case AG_X0_RAW: return AG_OK;
  case AG_X0_CLIP:
    if (!(a->clip_range > 0.0f))
      return ag_set_error(AG_ERR_INVALID, "%s: clip_range %g must be > 0", op, a->clip_range);
    return AG_OK;
  case AG_X0_THRESHOLD:
    if (!(a->threshold_ratio >= 0.0f && a->threshold_ratio <= 1.0f))
      return ag_set_error(AG_ERR_INVALID, "%s: threshold_ratio %g must be in [0, 1]", op,
                          a->threshold_ratio);
    if (!(a->sample_max >= 1.0f))
      return ag_set_error(AG_ERR_INVALID, "%s: sample_max %g must be >= 1", op, a->sample_max);
    return AG_OK;
  }
  return ag_set_error(AG_ERR_INVALID, "%s: unknown x0 mode %d", op, (int)a->x0_mode);
}

ag_status ag_infer_diffusion_step(const ag_op_call *c, ag_shape *out) {
  const char *op = "diffusion_step";
  const ag_tensor *x = c->in[0], *m = c->in[1], *prev = c->in[2];
  AG_TRY(require_batch(op, "x", x));
  const int64_t b = x->shape[0];
  if (require_images(op, "model output", m, x, b) != AG_OK &&
      require_images(op, "model output", m, x, 2 * b) != AG_OK)
    return ag_op_error_shapes(op, "model output must have x's batch or twice it ([cond; uncond])",
                              m, x);
  AG_TRY(ag_op_require_same(op, "x0_prev must be like x", prev, x));
  const ag_diffusion_step_args a = ag_diffusion_step_args_decode(c);
  AG_TRY(check_step_args(op, &a));
  out[0] = out[1] = ag_shape_of(x);
  return AG_OK;
}

ag_status ag_infer_cfg_combine(const ag_op_call *c, ag_shape *out) {
  const char *op = "cfg_combine";
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(require_batch(op, "x", x));
  if (x->shape[0] % 2 != 0)
    return ag_set_error(AG_ERR_INVALID, "%s: x %s must hold [cond; uncond], an even batch", op,
                        ag_tensor_describe(x, d, sizeof d));
  out[0] = ag_shape_of(x);
  out[0].dims[0] = x->shape[0] / 2;
  return AG_OK;
}

ag_status ag_eager_diffusion_noise(const ag_tensor *x0, const ag_tensor *t,
                                   const ag_tensor *alphas_cumprod, ag_tensor *x_t,
                                   ag_tensor *target, const ag_diffusion_noise_args *a) {
  ag_op_call c = {.in = {x0, t, alphas_cumprod}, .out = {x_t, target}};
  ag_diffusion_noise_args_encode(&c, a);
  return ag_op_eager(AG_OP_DIFFUSION_NOISE, &c);
}

ag_status ag_eager_diffusion_step(const ag_tensor *x, const ag_tensor *model_out,
                                  const ag_tensor *x0_prev, ag_tensor *x_next, ag_tensor *x0,
                                  const ag_diffusion_step_args *a) {
  ag_op_call c = {.in = {x, model_out, x0_prev}, .out = {x_next, x0}};
  ag_diffusion_step_args_encode(&c, a);
  return ag_op_eager(AG_OP_DIFFUSION_STEP, &c);
}

ag_status ag_eager_cfg_combine(const ag_tensor *x, ag_tensor *y, float guidance) {
  ag_op_call c = {.in = {x}, .out = {y}};
  ag_cfg_combine_args_encode(&c, &(ag_cfg_combine_args){guidance});
  return ag_op_eager(AG_OP_CFG_COMBINE, &c);
}

ag_tensor *ag_cfg_combine(ag_graph *g, ag_tensor *x, float guidance) {
  ag_op_call c = {.in = {x}};
  ag_cfg_combine_args_encode(&c, &(ag_cfg_combine_args){guidance});
  return ag_graph_op(g, AG_OP_CFG_COMBINE, &c, NULL);
}
