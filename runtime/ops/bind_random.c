/* Random fills bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_random_kernels *kernels(const ag_op_call *c) { return c->be->kernels->random; }

static ag_status fill_uniform_fwd(const ag_op_call *c) {
  return kernels(c)->fill_uniform(ag_call_dtype(c), ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                                  c->u[0], c->u[1], c->f[0], c->f[1], c->stream);
}

static ag_status fill_normal_fwd(const ag_op_call *c) {
  return kernels(c)->fill_normal(ag_call_dtype(c), ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                                 c->u[0], c->u[1], c->f[0], c->f[1], c->stream);
}

const ag_op_binding ag_bind_fill_uniform = {.forward = fill_uniform_fwd};
const ag_op_binding ag_bind_fill_normal = {.forward = fill_normal_fwd};
