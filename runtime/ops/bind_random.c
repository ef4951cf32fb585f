/* Random fills bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_random_kernels *kernels(const ag_op_call *c) { return c->be->kernels->random; }

static ag_status fill_uniform_fwd(const ag_op_call *c) {
  const ag_uniform_args a = ag_uniform_args_decode(c);
  return kernels(c)->fill_uniform(ag_call_dtype(c), ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                                  a.seed, a.offset, a.lo, a.hi, c->stream);
}

static ag_status fill_normal_fwd(const ag_op_call *c) {
  const ag_normal_args a = ag_normal_args_decode(c);
  return kernels(c)->fill_normal(ag_call_dtype(c), ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                                 a.seed, a.offset, a.mean, a.std, c->stream);
}

const ag_op_binding ag_bind_fill_uniform = {.forward = fill_uniform_fwd};
const ag_op_binding ag_bind_fill_normal = {.forward = fill_normal_fwd};
