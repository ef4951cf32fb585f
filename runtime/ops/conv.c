/* Convolution ops (NCHW): arguments, shape inference and graph builders. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

static int64_t or_one(int64_t v) { return v == 0 ? 1 : v; }

/* Slots: i[0..1] stride, i[2..3] padding, i[4..5] dilation, i[6] groups,
 * i[7] output_padding. */
void ag_conv2d_args_encode(ag_op_call *c, const ag_conv2d_args *a) {
  const int64_t v[8] = {a->stride[0],   a->stride[1],   a->padding[0], a->padding[1],
                        a->dilation[0], a->dilation[1], a->groups,     a->output_padding};
  for (int k = 0; k < 8; k++) c->i[k] = v[k];
}

ag_conv2d_args ag_conv2d_args_decode(const ag_op_call *c) {
  return (ag_conv2d_args){{or_one(c->i[0]), or_one(c->i[1])}, {c->i[2], c->i[3]},
                          {or_one(c->i[4]), or_one(c->i[5])}, or_one(c->i[6]), c->i[7]};
}

/* Slots: i[0] kernel, i[1] stride, i[2] padding. */
void ag_pool2d_args_encode(ag_op_call *c, const ag_pool2d_args *a) {
  c->i[0] = a->kernel;
  c->i[1] = a->stride;
  c->i[2] = a->padding;
}

ag_pool2d_args ag_pool2d_args_decode(const ag_op_call *c) {
  return (ag_pool2d_args){c->i[0], c->i[1] ? c->i[1] : c->i[0], c->i[2]};
}

static ag_status require_nchw(const char *op, const char *role, const ag_tensor *t) {
  char d[64];
  AG_TRY(ag_op_require_float(op, role, t));
  if (t->ndim == 4) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be 4-d (NCHW)", op, role,
                      ag_tensor_describe(t, d, sizeof d));
}

static ag_status check_args(const char *op, const ag_conv2d_args *a) {
  for (int k = 0; k < 2; k++)
    if (a->stride[k] < 1 || a->padding[k] < 0 || a->dilation[k] < 1)
      return ag_set_error(AG_ERR_INVALID,
                          "%s: stride %lld,%lld must be >= 1, padding %lld,%lld >= 0, "
                          "dilation %lld,%lld >= 1",
                          op, (long long)a->stride[0], (long long)a->stride[1],
                          (long long)a->padding[0], (long long)a->padding[1],
                          (long long)a->dilation[0], (long long)a->dilation[1]);
  if (a->groups < 1)
    return ag_set_error(AG_ERR_INVALID, "%s: groups %lld must be >= 1", op, (long long)a->groups);
  return AG_OK;
}

/* x, w: the 4-d float inputs of one dtype; w [rows, cols, kh, kw]. */
static ag_status check_pair(const char *op, const ag_tensor *x, const ag_tensor *w) {
  AG_TRY(require_nchw(op, "input x", x));
  AG_TRY(require_nchw(op, "weight", w));
  if (x->dtype != w->dtype) return ag_op_error_shapes(op, "x and weight dtypes differ", x, w);
  return AG_OK;
}

static ag_status conv2d_shape(const char *op, const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0], *w = c->in[1];
  const ag_conv2d_args a = ag_conv2d_args_decode(c);
  AG_TRY(check_pair(op, x, w));
  AG_TRY(check_args(op, &a));
  int64_t cin = x->shape[1], cout = w->shape[0];
  if (cin % a.groups || cout % a.groups || w->shape[1] * a.groups != cin) {
    char dx[64], dw[64];
    return ag_set_error(AG_ERR_INVALID,
                        "%s: weight %s must be [cout, cin/groups, kh, kw] for x %s and groups "
                        "%lld, with groups dividing cin and cout",
                        op, ag_tensor_describe(w, dw, sizeof dw),
                        ag_tensor_describe(x, dx, sizeof dx), (long long)a.groups);
  }
  int64_t o[2];
  for (int k = 0; k < 2; k++) {
    int64_t in = x->shape[2 + k], kk = w->shape[2 + k];
    o[k] = (in + 2 * a.padding[k] - a.dilation[k] * (kk - 1) - 1) / a.stride[k] + 1;
    if (in + 2 * a.padding[k] < a.dilation[k] * (kk - 1) + 1)
      return ag_op_error_shapes(op, "the dilated kernel is larger than the padded input", x, w);
  }
  *out = (ag_shape){x->dtype, 4, {x->shape[0], cout, o[0], o[1]}};
  return AG_OK;
}

ag_status ag_infer_conv2d(const ag_op_call *c, ag_shape *out) {
  return conv2d_shape("conv2d", c, out);
}

ag_status ag_infer_conv2d_bias(const ag_op_call *c, ag_shape *out) {
  AG_TRY(conv2d_shape("conv2d_bias", c, out));
  const ag_tensor *b = c->in[2];
  if (b->dtype != c->in[0]->dtype || b->ndim != 1 || b->shape[0] != out->dims[1])
    return ag_op_error_shapes("conv2d_bias", "bias must be [cout] of the weight's dtype",
                              c->in[1], b);
  return AG_OK;
}

ag_status ag_infer_conv_transpose2d(const ag_op_call *c, ag_shape *out) {
  const char *op = "conv_transpose2d";
  const ag_tensor *x = c->in[0], *w = c->in[1];
  const ag_conv2d_args a = ag_conv2d_args_decode(c);
  AG_TRY(check_pair(op, x, w));
  AG_TRY(check_args(op, &a));
  int64_t cin = x->shape[1];
  if (w->shape[0] != cin || cin % a.groups) {
    char dx[64], dw[64];
    return ag_set_error(AG_ERR_INVALID,
                        "%s: weight %s must be [cin, cout/groups, kh, kw] for x %s and groups "
                        "%lld, with groups dividing cin",
                        op, ag_tensor_describe(w, dw, sizeof dw),
                        ag_tensor_describe(x, dx, sizeof dx), (long long)a.groups);
  }
  int64_t o[2];
  for (int k = 0; k < 2; k++) {
    if (a.output_padding < 0 || a.output_padding >= a.stride[k])
      return ag_set_error(AG_ERR_INVALID, "%s: output_padding %lld must be in [0, stride %lld)",
                          op, (long long)a.output_padding, (long long)a.stride[k]);
    o[k] = (x->shape[2 + k] - 1) * a.stride[k] - 2 * a.padding[k] + a.dilation[k] * (w->shape[2 + k] - 1) +
           a.output_padding + 1;
    if (o[k] < 1) return ag_op_error_shapes(op, "the output would be empty", x, w);
  }
  *out = (ag_shape){x->dtype, 4, {x->shape[0], w->shape[1] * a.groups, o[0], o[1]}};
  return AG_OK;
}

ag_status ag_infer_upsample_nearest2x(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  AG_TRY(require_nchw("upsample_nearest2x", "input", x));
  *out = (ag_shape){x->dtype, 4, {x->shape[0], x->shape[1], 2 * x->shape[2], 2 * x->shape[3]}};
  return AG_OK;
}

ag_status ag_infer_avgpool2d(const ag_op_call *c, ag_shape *out) {
  const ag_tensor *x = c->in[0];
  char d[64];
  AG_TRY(require_nchw("avgpool2d", "input", x));
  const ag_pool2d_args a = ag_pool2d_args_decode(c);
  const int64_t k = a.kernel, s = a.stride, p = a.padding;
  if (k < 1 || s < 1 || p < 0 || 2 * p > k)
    return ag_set_error(AG_ERR_INVALID,
                        "avgpool2d: kernel %lld must be >= 1, stride %lld >= 1, padding %lld in "
                        "[0, kernel/2]",
                        (long long)k, (long long)s, (long long)p);
  if (x->shape[2] + 2 * p < k || x->shape[3] + 2 * p < k)
    return ag_set_error(AG_ERR_INVALID, "avgpool2d: kernel %lld is larger than the padded input %s",
                        (long long)k, ag_tensor_describe(x, d, sizeof d));
  *out = (ag_shape){x->dtype, 4,
                    {x->shape[0], x->shape[1], (x->shape[2] + 2 * p - k) / s + 1,
                     (x->shape[3] + 2 * p - k) / s + 1}};
  return AG_OK;
}

ag_tensor *ag_conv2d(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias,
                     const ag_conv2d_args *args) {
  ag_op_call c = {.in = {x, w, bias}};
  ag_conv2d_args_encode(&c, args);
  return ag_graph_op(g, bias ? AG_OP_CONV2D_BIAS : AG_OP_CONV2D, &c, NULL);
}

ag_tensor *ag_conv_transpose2d(ag_graph *g, ag_tensor *x, ag_tensor *w,
                               const ag_conv2d_args *args) {
  ag_op_call c = {.in = {x, w}};
  ag_conv2d_args_encode(&c, args);
  return ag_graph_op(g, AG_OP_CONV_TRANSPOSE2D, &c, NULL);
}

ag_tensor *ag_avgpool2d(ag_graph *g, ag_tensor *x, int k) {
  ag_op_call c = {.in = {x}};
  ag_pool2d_args_encode(&c, &(ag_pool2d_args){.kernel = k});
  return ag_graph_op(g, AG_OP_AVGPOOL2D, &c, NULL);
}

ag_tensor *ag_upsample_nearest2x(ag_graph *g, ag_tensor *x) {
  return ag_graph_op(g, AG_OP_UPSAMPLE_NEAREST2X, &(ag_op_call){.in = {x}}, NULL);
}
