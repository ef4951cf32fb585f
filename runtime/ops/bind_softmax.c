/* Softmax and loss ops bound to kernels (runtime/ops/bind.h).
 * Softmax ops normalise the last dim: rows are all leading dims flattened. */
#include "bind.h"

static const ag_softmax_kernels *kernels(const ag_op_call *c) { return c->be->kernels->softmax; }

static int64_t softmax_cols(const ag_tensor *x) { return x->shape[x->ndim - 1]; }
static int64_t softmax_rows(const ag_tensor *x) { return ag_tensor_numel(x) / softmax_cols(x); }
static float softmax_scale(const ag_op_call *c) {
  const float s = ag_softmax_args_decode(c).scale;
  return s == 0.0f ? 1.0f : s;
}

/* The T of a causal [.., T, S] call, 0 without a mask. */
static int64_t softmax_causal_t(const ag_op_call *c) {
  return ag_softmax_args_decode(c).causal ? c->in[0]->shape[c->in[0]->ndim - 2] : 0;
}

static ag_status softmax_fwd(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  return kernels(c)->softmax_rows(ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                                  softmax_rows(x), softmax_cols(x), softmax_scale(c),
                                  softmax_causal_t(c), c->stream);
}

/* in: x, y, dy. Masked entries have y = 0, so they get no gradient. */
static ag_status softmax_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  const ag_tensor *x = c->in[0];
  return kernels(c)->softmax_rows_backward(ag_call_dtype(c), ag_in_data(c, 1), ag_in_data(c, 2),
                                           ag_out_data(c, 0), softmax_rows(x), softmax_cols(x),
                                           softmax_scale(c), c->stream);
}

static ag_status log_softmax_fwd(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  return kernels(c)->log_softmax_rows(ag_call_dtype(c), ag_in_data(c, 0), ag_out_data(c, 0),
                                      softmax_rows(x), softmax_cols(x), c->stream);
}

static ag_status log_softmax_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  const ag_tensor *x = c->in[0];
  return kernels(c)->log_softmax_rows_backward(ag_call_dtype(c), ag_in_data(c, 1), ag_in_data(c, 2),
                                               ag_out_data(c, 0), softmax_rows(x), softmax_cols(x),
                                               c->stream);
}

static ag_status cross_entropy_fwd(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  const ag_cross_entropy_args a = ag_cross_entropy_args_decode(c);
  return kernels(c)->cross_entropy(ag_call_dtype(c), ag_in_data(c, 0),
                                   (const int32_t *)ag_in_data(c, 1), (float *)ag_out_data(c, 0),
                                   (float *)ag_out_data(c, 1), x->shape[0], x->shape[1],
                                   a.has_ignore, a.ignore_index, a.label_smoothing, c->stream);
}

/* in: logits, targets, losses, lse, dlosses, dlse (NULL means zero). */
static ag_status cross_entropy_bwd(const ag_op_call *c) {
  if (c->out[1])
    return ag_set_error(AG_ERR_INVALID, "cross_entropy: integer targets have no gradient");
  if (!c->out[0]) return AG_OK;
  const ag_tensor *x = c->in[0];
  const ag_cross_entropy_args a = ag_cross_entropy_args_decode(c);
  const float *dlse = c->in[5] ? (const float *)ag_in_data(c, 5) : NULL;
  return kernels(c)->cross_entropy_backward(
      ag_call_dtype(c), ag_in_data(c, 0), (const int32_t *)ag_in_data(c, 1),
      (const float *)ag_in_data(c, 3), (const float *)ag_in_data(c, 4), dlse, ag_out_data(c, 0),
      x->shape[0], x->shape[1], a.has_ignore, a.ignore_index, a.label_smoothing, c->stream);
}

static void *loss_grad_or_null(const ag_op_call *c, int i) {
  return c->out[i] ? ag_tensor_data(c->out[i]) : NULL;
}

static ag_status mse_loss_fwd(const ag_op_call *c) {
  return kernels(c)->mse_loss(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                              (float *)ag_out_data(c, 0), ag_tensor_numel(c->in[0]), c->stream);
}

/* in: a, b, y, dy. */
static ag_status mse_loss_bwd(const ag_op_call *c) {
  return kernels(c)->mse_loss_backward(
      ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1), (const float *)ag_in_data(c, 3),
      loss_grad_or_null(c, 0), loss_grad_or_null(c, 1), ag_tensor_numel(c->in[0]), c->stream);
}

static float huber_delta(const ag_op_call *c) {
  const float d = ag_huber_args_decode(c).delta;
  return d == 0.0f ? 1.0f : d;
}

static ag_status huber_loss_fwd(const ag_op_call *c) {
  return kernels(c)->huber_loss(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                (float *)ag_out_data(c, 0), ag_tensor_numel(c->in[0]),
                                huber_delta(c), c->stream);
}

static ag_status huber_loss_bwd(const ag_op_call *c) {
  return kernels(c)->huber_loss_backward(ag_call_dtype(c), ag_in_data(c, 0), ag_in_data(c, 1),
                                         (const float *)ag_in_data(c, 3), loss_grad_or_null(c, 0),
                                         loss_grad_or_null(c, 1), ag_tensor_numel(c->in[0]),
                                         huber_delta(c), c->stream);
}

const ag_op_binding ag_bind_softmax = {.forward = softmax_fwd, .backward = softmax_bwd};
const ag_op_binding ag_bind_log_softmax = {.forward = log_softmax_fwd, .backward = log_softmax_bwd};
const ag_op_binding ag_bind_cross_entropy = {.forward = cross_entropy_fwd,
                                             .backward = cross_entropy_bwd};
const ag_op_binding ag_bind_mse_loss = {.forward = mse_loss_fwd, .backward = mse_loss_bwd};
const ag_op_binding ag_bind_huber_loss = {.forward = huber_loss_fwd, .backward = huber_loss_bwd};
