/* Embedding ops bound to kernels (runtime/ops/bind.h). The
 * lookup is a gather of whole table rows: outer 1, inner D. */
#include "bind.h"

static const ag_embedding_kernels *kernels(const ag_op_call *c) {
  return c->be->kernels->embedding;
}

static ag_status embedding_fwd(const ag_op_call *c) {
  const ag_tensor *table = c->in[0];
  return c->be->kernels->layout->gather_axis(
      ag_call_dtype(c), ag_in_data(c, 0), (const int32_t *)ag_in_data(c, 1), ag_out_data(c, 0), 1,
      table->shape[0], ag_tensor_numel(c->in[1]), table->shape[1], c->stream);
}

/* in = {table, ids, y, gy}; out = {gtable, (no gradient for ids)}. */
static ag_status embedding_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  const ag_tensor *table = c->in[0];
  return c->be->kernels->layout->gather_axis_backward(
      ag_call_dtype(c), ag_in_data(c, 3), (const int32_t *)ag_in_data(c, 1), ag_out_data(c, 0), 1,
      table->shape[0], ag_tensor_numel(c->in[1]), table->shape[1], c->stream);
}

/* The lookup runs on the layout family's gather kernels. */
static ag_status embedding_supports(const ag_op_call *c, int backward) {
  (void)backward;
  if (c->be->kernels->layout) return AG_OK;
  return ag_set_error(AG_ERR_UNSUPPORTED, "the lookup needs the layout family's gather kernels");
}

static ag_status timestep_embedding_fwd(const ag_op_call *c) {
  const ag_timestep_embedding_args a = ag_timestep_embedding_args_decode(c);
  return kernels(c)->timestep_embedding(ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                                        c->in[0]->shape[0], a.dim, a.flip_sin_to_cos,
                                        a.max_period, a.downscale_freq_shift, c->stream);
}

const ag_op_binding ag_bind_embedding = {.forward = embedding_fwd, .backward = embedding_bwd,
    .supports = embedding_supports};
const ag_op_binding ag_bind_timestep_embedding = {.forward = timestep_embedding_fwd};
