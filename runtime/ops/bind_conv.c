/* Convolution ops bound to kernels (runtime/ops/bind.h).
 * conv_transpose2d is the adjoint of conv2d in x, so it runs on the conv2d
 * kernels with the roles of x and y swapped: its forward is conv2d's
 * backward_data, its gradient in x is conv2d's forward, and its gradient in
 * w is conv2d's backward_filter with (x, gy) = (its gy, its x). */
#include "bind.h"

static const ag_conv_kernels *kernels(const ag_op_call *c) { return c->be->kernels->conv; }

/* The geometry of the convolution from `in` [n, cin, h, w] to `out`
 * [n, cout, oh, ow] with kernel `w`, from the call's arguments. */
static ag_conv2d_geom conv_geom(const ag_op_call *c, const ag_tensor *in, const ag_tensor *out,
                                const ag_tensor *w) {
  const ag_conv2d_args a = ag_conv2d_args_decode(c);
  ag_conv2d_geom g = {.n = in->shape[0],
                      .cin = in->shape[1],
                      .h = in->shape[2],
                      .w = in->shape[3],
                      .cout = out->shape[1],
                      .kh = w->shape[2],
                      .kw = w->shape[3],
                      .oh = out->shape[2],
                      .ow = out->shape[3],
                      .stride_h = a.stride[0],
                      .stride_w = a.stride[1],
                      .pad_h = a.padding[0],
                      .pad_w = a.padding[1],
                      .dil_h = a.dilation[0],
                      .dil_w = a.dilation[1],
                      .groups = a.groups};
  return g;
}

/* in[]: x, w[, b], y, gy; out[]: gx, gw[, gb]. */
static ag_status conv2d_grads(const ag_op_call *c, int n_in) {
  const ag_tensor *gy = c->in[n_in + 1];
  ag_conv2d_geom g = conv_geom(c, c->in[0], gy, c->in[1]);
  const void *gyd = ag_tensor_data(gy);
  if (c->out[0])
    AG_TRY(kernels(c)->conv2d_backward_data(ag_call_libs(c), ag_call_dtype(c), g, gyd,
                                            ag_in_data(c, 1), ag_out_data(c, 0), c->stream));
  if (c->out[1])
    AG_TRY(kernels(c)->conv2d_backward_filter(ag_call_libs(c), ag_call_dtype(c), g,
                                              ag_in_data(c, 0), gyd, ag_out_data(c, 1), c->stream));
  if (n_in == 3 && c->out[2])
    AG_TRY(kernels(c)->conv2d_backward_bias(ag_call_libs(c), ag_call_dtype(c), g, gyd,
                                            ag_out_data(c, 2), c->stream));
  return AG_OK;
}

static ag_status conv2d_fwd(const ag_op_call *c) {
  return kernels(c)->conv2d_forward(ag_call_libs(c), ag_call_dtype(c),
                                    conv_geom(c, c->in[0], c->out[0], c->in[1]), ag_in_data(c, 0),
                                    ag_in_data(c, 1), NULL, ag_out_data(c, 0), c->stream);
}

static ag_status conv2d_bias_fwd(const ag_op_call *c) {
  return kernels(c)->conv2d_forward(
      ag_call_libs(c), ag_call_dtype(c), conv_geom(c, c->in[0], c->out[0], c->in[1]),
      ag_in_data(c, 0), ag_in_data(c, 1), ag_in_data(c, 2), ag_out_data(c, 0), c->stream);
}

static ag_status conv2d_bwd(const ag_op_call *c) { return conv2d_grads(c, 2); }
static ag_status conv2d_bias_bwd(const ag_op_call *c) { return conv2d_grads(c, 3); }

/* x is the convolution's output side, y its input side. */
static ag_status conv_transpose2d_fwd(const ag_op_call *c) {
  ag_conv2d_geom g = conv_geom(c, c->out[0], c->in[0], c->in[1]);
  return kernels(c)->conv2d_backward_data(ag_call_libs(c), ag_call_dtype(c), g, ag_in_data(c, 0),
                                          ag_in_data(c, 1), ag_out_data(c, 0), c->stream);
}

/* in[]: x, w, y, gy; out[]: gx, gw. */
static ag_status conv_transpose2d_bwd(const ag_op_call *c) {
  ag_conv2d_geom g = conv_geom(c, c->in[3], c->in[0], c->in[1]);
  if (c->out[0])
    AG_TRY(kernels(c)->conv2d_forward(ag_call_libs(c), ag_call_dtype(c), g, ag_in_data(c, 3),
                                      ag_in_data(c, 1), NULL, ag_out_data(c, 0), c->stream));
  if (c->out[1])
    AG_TRY(kernels(c)->conv2d_backward_filter(ag_call_libs(c), ag_call_dtype(c), g,
                                              ag_in_data(c, 3), ag_in_data(c, 0), ag_out_data(c, 1),
                                              c->stream));
  return AG_OK;
}

static ag_status upsample_nearest2x_fwd(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  return kernels(c)->upsample_nearest2x(ag_call_dtype(c), x->shape[0] * x->shape[1], x->shape[2],
                                        x->shape[3], ag_in_data(c, 0), ag_out_data(c, 0),
                                        c->stream);
}

/* in[]: x, y, gy. */
static ag_status upsample_nearest2x_bwd(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  if (!c->out[0]) return AG_OK;
  return kernels(c)->upsample_nearest2x_backward(ag_call_dtype(c), x->shape[0] * x->shape[1],
                                                 x->shape[2], x->shape[3], ag_in_data(c, 2),
                                                 ag_out_data(c, 0), c->stream);
}

static ag_pool2d_geom pool_geom(const ag_op_call *c, const ag_tensor *x, const ag_tensor *y) {
  const ag_pool2d_args a = ag_pool2d_args_decode(c);
  ag_pool2d_geom p = {.nc = x->shape[0] * x->shape[1],
                      .h = x->shape[2],
                      .w = x->shape[3],
                      .oh = y->shape[2],
                      .ow = y->shape[3],
                      .k = a.kernel,
                      .stride = a.stride,
                      .pad = a.padding};
  return p;
}

static ag_status avgpool2d_fwd(const ag_op_call *c) {
  return kernels(c)->avgpool2d(ag_call_dtype(c), pool_geom(c, c->in[0], c->out[0]),
                               ag_in_data(c, 0), ag_out_data(c, 0), c->stream);
}

/* in[]: x, y, gy. */
static ag_status avgpool2d_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  return kernels(c)->avgpool2d_backward(ag_call_dtype(c), pool_geom(c, c->in[0], c->in[1]),
                                        ag_in_data(c, 2), ag_out_data(c, 0), c->stream);
}

const ag_op_binding ag_bind_conv2d = {.forward = conv2d_fwd, .backward = conv2d_bwd};
const ag_op_binding ag_bind_conv2d_bias = {.forward = conv2d_bias_fwd, .backward = conv2d_bias_bwd};
const ag_op_binding ag_bind_conv_transpose2d = {.forward = conv_transpose2d_fwd,
                                                .backward = conv_transpose2d_bwd};
const ag_op_binding ag_bind_upsample_nearest2x = {.forward = upsample_nearest2x_fwd,
                                                  .backward = upsample_nearest2x_bwd};
const ag_op_binding ag_bind_avgpool2d = {.forward = avgpool2d_fwd, .backward = avgpool2d_bwd};
