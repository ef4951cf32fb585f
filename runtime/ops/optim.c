/* Optim ops: typed arguments, shape inference and eager API. */
#include <string.h>

#include "ops_internal.h"

/* The call has four float slots and adamw needs five floats: its weight
 * decay travels in an integer slot as its exact f32 bit pattern. */
static int64_t f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return (int64_t)u;
}

static float f32_from_bits(int64_t bits) {
  uint32_t u = (uint32_t)bits;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

void ag_adamw_args_encode(ag_op_call *c, const ag_adamw_args *a) {
  c->f[0] = a->lr, c->f[1] = a->beta1, c->f[2] = a->beta2, c->f[3] = a->eps;
  c->i[0] = a->step;
  c->i[1] = f32_bits(a->weight_decay);
}
ag_adamw_args ag_adamw_args_decode(const ag_op_call *c) {
  return (ag_adamw_args){c->f[0], c->f[1], c->f[2], c->f[3], f32_from_bits(c->i[1]), c->i[0]};
}

void ag_sgd_args_encode(ag_op_call *c, const ag_sgd_args *a) {
  c->f[0] = a->lr, c->f[1] = a->momentum, c->f[2] = a->weight_decay, c->f[3] = a->dampening;
  c->i[0] = a->nesterov != 0;
  c->i[1] = a->first_step != 0;
}
ag_sgd_args ag_sgd_args_decode(const ag_op_call *c) {
  return (ag_sgd_args){c->f[0], c->f[1], c->f[2], c->f[3], c->i[0] != 0, c->i[1] != 0};
}

void ag_clip_args_encode(ag_op_call *c, const ag_clip_args *a) { c->f[0] = a->max_norm; }
ag_clip_args ag_clip_args_decode(const ag_op_call *c) { return (ag_clip_args){c->f[0]}; }

static ag_status require_all_same(const char *op, const ag_op_call *c, int n) {
  AG_TRY(ag_op_require_float(op, "input 0", c->in[0]));
  for (int k = 1; k < n; k++)
    AG_TRY(ag_op_require_same(op, "inputs differ", c->in[0], c->in[k]));
  return AG_OK;
}

/* An f32 tensor of one element (an accumulator or a total). */
static ag_status require_f32_scalar(const char *op, const char *role, const ag_tensor *t) {
  char d[64];
  if (t->dtype == AG_F32 && ag_tensor_numel(t) == 1) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "%s: %s is %s, expected f32[1]", op, role,
                      ag_tensor_describe(t, d, sizeof d));
}

static ag_status check_adamw_args(const char *op, const ag_op_call *c) {
  const ag_adamw_args a = ag_adamw_args_decode(c);
  float lr = a.lr, b1 = a.beta1, b2 = a.beta2, eps = a.eps, wd = a.weight_decay;
  if (a.step < 1)
    return ag_set_error(AG_ERR_INVALID, "%s: step %lld, expected >= 1", op, (long long)a.step);
  if (!(lr >= 0.0f) || !(eps >= 0.0f) || !(wd >= 0.0f))
    return ag_set_error(AG_ERR_INVALID, "%s: lr %g, eps %g, weight decay %g must be >= 0", op,
                        (double)lr, (double)eps, (double)wd);
  if (!(b1 >= 0.0f && b1 < 1.0f) || !(b2 >= 0.0f && b2 < 1.0f))
    return ag_set_error(AG_ERR_INVALID, "%s: betas (%g, %g) must lie in [0, 1)", op, (double)b1,
                        (double)b2);
  return AG_OK;
}

ag_status ag_infer_adamw(const ag_op_call *c, ag_shape *out) {
  AG_TRY(require_all_same("adamw", c, 4));
  AG_TRY(check_adamw_args("adamw", c));
  for (int k = 0; k < 3; k++) out[k] = ag_shape_of(c->in[0]);
  return AG_OK;
}

ag_status ag_infer_adamw_master(const ag_op_call *c, ag_shape *out) {
  const char *op = "adamw_master";
  AG_TRY(ag_op_require_float(op, "grad", c->in[0]));
  if (c->in[1]->dtype != AG_F32)
    return ag_op_error_shapes(op, "master weights must be f32", c->in[0], c->in[1]);
  AG_TRY(ag_op_require_same(op, "master, m and v differ", c->in[1], c->in[2]));
  AG_TRY(ag_op_require_same(op, "master, m and v differ", c->in[1], c->in[3]));
  if (!ag_tensor_same_shape(c->in[0], c->in[1]))
    return ag_op_error_shapes(op, "grad and master differ", c->in[0], c->in[1]);
  AG_TRY(check_adamw_args(op, c));
  out[0] = ag_shape_of(c->in[0]);
  for (int k = 1; k < 4; k++) out[k] = ag_shape_of(c->in[1]);
  return AG_OK;
}

ag_status ag_infer_sgd(const ag_op_call *c, ag_shape *out) {
  const ag_sgd_args a = ag_sgd_args_decode(c);
  float lr = a.lr, momentum = a.momentum, wd = a.weight_decay, dampening = a.dampening;
  AG_TRY(require_all_same("sgd", c, 3));
  if (!(lr >= 0.0f) || !(momentum >= 0.0f) || !(wd >= 0.0f))
    return ag_set_error(AG_ERR_INVALID, "sgd: lr %g, momentum %g, weight decay %g must be >= 0",
                        (double)lr, (double)momentum, (double)wd);
  if (a.nesterov && (momentum <= 0.0f || dampening != 0.0f))
    return ag_set_error(AG_ERR_INVALID,
                        "sgd: nesterov needs momentum > 0 and dampening 0 (got %g, %g)",
                        (double)momentum, (double)dampening);
  for (int k = 0; k < 2; k++) out[k] = ag_shape_of(c->in[0]);
  return AG_OK;
}

ag_status ag_infer_sq_norm(const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float("sq_norm", "input 0", c->in[0]));
  AG_TRY(require_f32_scalar("sq_norm", "accumulator", c->in[1]));
  out[0] = ag_shape_of(c->in[1]);
  return AG_OK;
}

ag_status ag_infer_clip_scale(const ag_op_call *c, ag_shape *out) {
  AG_TRY(ag_op_require_float("clip_scale", "input 0", c->in[0]));
  AG_TRY(require_f32_scalar("clip_scale", "sum of squares", c->in[1]));
  const float max_norm = ag_clip_args_decode(c).max_norm;
  if (!(max_norm > 0.0f))
    return ag_set_error(AG_ERR_INVALID, "clip_scale: max_norm %g, expected > 0", (double)max_norm);
  out[0] = ag_shape_of(c->in[0]);
  return AG_OK;
}

ag_status ag_eager_adamw(ag_tensor *param, ag_tensor *m, ag_tensor *v, const ag_tensor *grad,
                         const ag_adamw_args *hp) {
  ag_op_call c = {.in = {param, grad, m, v}, .out = {param, m, v}};
  ag_adamw_args_encode(&c, hp);
  return ag_op_eager(AG_OP_ADAMW, &c);
}

ag_status ag_eager_adamw_master(ag_tensor *param, ag_tensor *master, ag_tensor *m, ag_tensor *v,
                                const ag_tensor *grad, const ag_adamw_args *hp) {
  ag_op_call c = {.in = {grad, master, m, v}, .out = {param, master, m, v}};
  ag_adamw_args_encode(&c, hp);
  return ag_op_eager(AG_OP_ADAMW_MASTER, &c);
}

ag_status ag_eager_sgd(ag_tensor *param, ag_tensor *buf, const ag_tensor *grad,
                       const ag_sgd_args *hp) {
  ag_op_call c = {.in = {param, grad, buf}, .out = {param, buf}};
  ag_sgd_args_encode(&c, hp);
  return ag_op_eager(AG_OP_SGD, &c);
}

ag_status ag_eager_sq_norm_acc(ag_tensor *acc, const ag_tensor *x) {
  return ag_op_eager(AG_OP_SQ_NORM, &(ag_op_call){.in = {x, acc}, .out = {acc}});
}

ag_status ag_eager_clip_scale(ag_tensor *gx, const ag_tensor *g, const ag_tensor *sq_total,
                              float max_norm) {
  ag_op_call c = {.in = {g, sq_total}, .out = {gx}};
  ag_clip_args_encode(&c, &(ag_clip_args){max_norm});
  return ag_op_eager(AG_OP_CLIP_SCALE, &c);
}
