/* Attention ops bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_attention_kernels *kernels(const ag_op_call *c) {
  return c->be->kernels->attention;
}

#include <math.h>

/* Dimensions of a call whose in[0..2] are q, k, v; scale 0 means 1/sqrt(D). */
static ag_attn_dims attn_dims(const ag_op_call *c) {
  const ag_tensor *q = c->in[0];
  const ag_attention_args a = ag_attention_args_decode(c);
  ag_attn_dims d = {q->shape[0], q->shape[1], q->shape[2], c->in[1]->shape[2],
                    q->shape[3], a.causal,    a.scale};
  if (d.scale == 0.0f) d.scale = 1.0f / sqrtf((float)d.dim);
  return d;
}

static ag_status attn_forward(const ag_op_call *c, const int32_t *kv_len) {
  return kernels(c)->attention_forward(ag_call_dtype(c), attn_dims(c), ag_in_data(c, 0),
                                       ag_in_data(c, 1), ag_in_data(c, 2), kv_len,
                                       ag_out_data(c, 0), (float *)ag_out_data(c, 1), c->stream);
}

/* in[] = q, k, v, [kv_len,] o, lse, dO, dlse (dlse may be NULL). */
static ag_status attn_backward(const ag_op_call *c, int n_in, const int32_t *kv_len) {
  if (!c->out[0] && !c->out[1] && !c->out[2]) return AG_OK;
  return kernels(c)->attention_backward(
      ag_call_dtype(c), attn_dims(c), ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2), kv_len,
      ag_in_data(c, n_in), (const float *)ag_in_data(c, n_in + 1), ag_in_data(c, n_in + 2),
      c->in[n_in + 3] ? (const float *)ag_in_data(c, n_in + 3) : NULL,
      c->out[0] ? ag_out_data(c, 0) : NULL, c->out[1] ? ag_out_data(c, 1) : NULL,
      c->out[2] ? ag_out_data(c, 2) : NULL, c->stream);
}

static ag_status attention_fwd(const ag_op_call *c) { return attn_forward(c, NULL); }
static ag_status attention_bwd(const ag_op_call *c) { return attn_backward(c, 3, NULL); }

static ag_status attention_padded_fwd(const ag_op_call *c) {
  return attn_forward(c, (const int32_t *)ag_in_data(c, 3));
}
static ag_status attention_padded_bwd(const ag_op_call *c) {
  return attn_backward(c, 4, (const int32_t *)ag_in_data(c, 3));
}

/* Asks the backend's kernels for their shape limits (the fused CUDA kernel
 * runs only some head dims), so a graph fails when planned, not mid-run. */
static ag_status attention_supports(const ag_op_call *c, int backward) {
  ag_attention_supports_kernel *supports = kernels(c)->attention_supports;
  return supports ? supports(ag_call_dtype(c), attn_dims(c), backward) : AG_OK;
}

const ag_op_binding ag_bind_attention = {
    .forward = attention_fwd, .backward = attention_bwd, .supports = attention_supports};
const ag_op_binding ag_bind_attention_padded = {.forward = attention_padded_fwd,
                                                .backward = attention_padded_bwd,
                                                .supports = attention_supports};
