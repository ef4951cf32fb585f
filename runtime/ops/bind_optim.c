/* Optim ops bound to kernels (runtime/ops/bind.h). The step
 * scalars are folded here, once per call, by ag_optim.h. */
#include "bind.h"

static const ag_optim_kernels *kernels(const ag_op_call *c) { return c->be->kernels->optim; }

static ag_adamw_coef adamw_coef_of(const ag_op_call *c) {
  return ag_adamw_coef_make(c->f[0], c->f[1], c->f[2], c->f[3], ag_optim_f32_from_bits(c->i[1]),
                            c->i[0]);
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
  ag_sgd_coef coef = {c->f[0], c->f[1], c->f[2], c->f[3], c->i[0] != 0, c->i[1] != 0};
  return kernels(c)->sgd(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2),
                         ag_out_data(c, 0), ag_out_data(c, 1), ag_tensor_numel(c->in[0]), coef,
                         c->stream);
}

static ag_status sq_norm_fwd(const ag_op_call *c) {
  return kernels(c)->sq_norm(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                             ag_out_data(c, 0), ag_tensor_numel(c->in[0]), c->stream);
}

static ag_status clip_scale_fwd(const ag_op_call *c) {
  return kernels(c)->clip_scale(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), c->f[0],
                                ag_out_data(c, 0), ag_tensor_numel(c->in[0]), c->stream);
}

const ag_op_binding ag_bind_adamw = {.forward = adamw_fwd};
const ag_op_binding ag_bind_adamw_master = {.forward = adamw_master_fwd};
const ag_op_binding ag_bind_sgd = {.forward = sgd_fwd};
const ag_op_binding ag_bind_sq_norm = {.forward = sq_norm_fwd};
const ag_op_binding ag_bind_clip_scale = {.forward = clip_scale_fwd};
