/* Diffusion sampler ops bound to kernels (runtime/ops/bind.h). Dim 0 of x
 * counts the images; the rest is one image. */
#include "bind.h"

static const ag_diffusion_kernels *kernels(const ag_op_call *c) {
  return c->be->kernels->diffusion;
}

static int64_t image_numel(const ag_tensor *x) {
  return x->shape[0] ? ag_tensor_numel(x) / x->shape[0] : 0;
}

static ag_status diffusion_noise_fwd(const ag_op_call *c) {
  const ag_diffusion_noise_args a = ag_diffusion_noise_args_decode(c);
  const ag_tensor *x0 = c->in[0];
  return kernels(c)->diffusion_noise(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                     ag_in_data(c, 2), c->in[2]->shape[0], ag_out_data(c, 0),
                                     ag_out_data(c, 1), x0->shape[0], image_numel(x0),
                                     a.prediction, a.seed, a.first, c->stream);
}

static ag_status diffusion_step_fwd(const ag_op_call *c) {
  const ag_diffusion_step_args a = ag_diffusion_step_args_decode(c);
  const ag_tensor *x = c->in[0];
  const int guided = c->in[1]->shape[0] == 2 * x->shape[0];
  return kernels(c)->diffusion_step(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                    ag_in_data(c, 2), ag_out_data(c, 0), ag_out_data(c, 1),
                                    x->shape[0], image_numel(x), guided, &a, c->stream);
}

static ag_status cfg_combine_fwd(const ag_op_call *c) {
  const ag_cfg_combine_args a = ag_cfg_combine_args_decode(c);
  const ag_tensor *y = c->out[0];
  return kernels(c)->cfg_combine(ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                                 y->shape[0], image_numel(y), a.guidance, c->stream);
}

const ag_op_binding ag_bind_diffusion_noise = {.forward = diffusion_noise_fwd};
const ag_op_binding ag_bind_diffusion_step = {.forward = diffusion_step_fwd};
const ag_op_binding ag_bind_cfg_combine = {.forward = cfg_combine_fwd};
