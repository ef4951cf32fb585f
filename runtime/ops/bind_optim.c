/* Optim ops bound to kernels (runtime/ops/bind.h). The step
 * scalars are folded here, once per call, by ag_optim.h. */
#include "bind.h"

static const ag_optim_kernels *kernels(const ag_op_call *c) { return c->be->kernels->optim; }

static ag_adamw_coef adamw_coef_of(const ag_op_call *c) {
  const ag_adamw_args a = ag_adamw_args_decode(c);
  return ag_adamw_coef_make(a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.step);
}

static ag_status adamw_fwd(const ag_op_call *c) {
  return kernels(c)->adamw(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2),
                           ag_in_data(c, 3), ag_out_data(c, 0), ag_out_data(c, 1),
                           ag_out_data(c, 2), ag_tensor_numel(c->in[0]), adamw_coef_of(c),
                           c->stream);
}

static ag_status adamw_master_fwd(const ag_op_call *c) {
  return kernels(c)->adamw_master(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                  ag_in_data(c, 2), ag_in_data(c, 3), ag_out_data(c, 0),
                                  ag_out_data(c, 1), ag_out_data(c, 2), ag_out_data(c, 3),
                                  ag_tensor_numel(c->in[0]), adamw_coef_of(c), c->stream);
}

static ag_status sgd_fwd(const ag_op_call *c) {
  const ag_sgd_args a = ag_sgd_args_decode(c);
  ag_sgd_coef coef = {a.lr, a.momentum, a.weight_decay, a.dampening, a.nesterov, a.first_step};
  return kernels(c)->sgd(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2),
                         ag_out_data(c, 0), ag_out_data(c, 1), ag_tensor_numel(c->in[0]), coef,
                         c->stream);
}

static ag_status sq_norm_fwd(const ag_op_call *c) {
  return kernels(c)->sq_norm(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                             ag_out_data(c, 0), ag_tensor_numel(c->in[0]), c->stream);
}

static ag_status clip_scale_fwd(const ag_op_call *c) {
  return kernels(c)->clip_scale(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                ag_clip_args_decode(c).max_norm, ag_out_data(c, 0), ag_tensor_numel(c->in[0]), c->stream);
}

const ag_op_binding ag_bind_adamw = {.forward = adamw_fwd};
const ag_op_binding ag_bind_adamw_master = {.forward = adamw_master_fwd};
const ag_op_binding ag_bind_sgd = {.forward = sgd_fwd};
const ag_op_binding ag_bind_sq_norm = {.forward = sq_norm_fwd};
const ag_op_binding ag_bind_clip_scale = {.forward = clip_scale_fwd};
