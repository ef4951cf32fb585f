/* Elementwise ops bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_elementwise_kernels *kernels(const ag_op_call *c) {
  return c->be->kernels->elementwise;
}

#define AG_EW_BINARY_OPS(B) B(ADD, add) B(SUB, sub) B(MUL, mul) B(DIV, div)

/* The broadcast of a and b onto y (right-aligned). Size-1 output dims are
 * dropped and neighbouring dims merged where both inputs keep them
 * contiguous (or both broadcast them), so equal shapes become one flat dim
 * and a bias [C] on [N,H,C] becomes [N*H, C]. */
static ag_bcast4 ew_bcast(const ag_tensor *a, const ag_tensor *b, const ag_tensor *y) {
  int64_t shape[4], sa[4], sb[4], ca = 1, cb = 1; /* innermost first */
  int n = 0;
  for (int d = y->ndim - 1; d >= 0; d--) {
    int da = d - (y->ndim - a->ndim), db = d - (y->ndim - b->ndim);
    int64_t xa = da >= 0 ? a->shape[da] : 1, xb = db >= 0 ? b->shape[db] : 1;
    int64_t ta = xa == 1 ? 0 : ca, tb = xb == 1 ? 0 : cb;
    ca *= xa;
    cb *= xb;
    if (y->shape[d] == 1) continue;
    if (n > 0 && ta == sa[n - 1] * shape[n - 1] && tb == sb[n - 1] * shape[n - 1]) {
      shape[n - 1] *= y->shape[d];
      continue;
    }
    shape[n] = y->shape[d];
    sa[n] = ta;
    sb[n] = tb;
    n++;
  }
  ag_bcast4 bc = {.ndim = n > 0 ? n : 1, .shape = {1}, .sa = {0}, .sb = {0}};
  for (int k = 0; k < n; k++) {
    bc.shape[k] = shape[n - 1 - k];
    bc.sa[k] = sa[n - 1 - k];
    bc.sb[k] = sb[n - 1 - k];
  }
  return bc;
}

static ag_status ew_binary_fwd(const ag_op_call *c, int fn) {
  return kernels(c)->binary(ag_call_dtype(c), fn, ag_in_data(c, 0), ag_in_data(c, 1),
                            ag_out_data(c, 0), ew_bcast(c->in[0], c->in[1], c->out[0]), c->stream);
}

/* in: a, b, y, g. Each input's gradient is summed over its broadcast dims. */
static ag_status ew_binary_bwd(const ag_op_call *c, int fn) {
  ag_bcast4 bc = ew_bcast(c->in[0], c->in[1], c->in[3]);
  for (int i = 0; i < 2; i++)
    if (c->out[i])
      AG_TRY(kernels(c)->binary_backward(ag_call_dtype(c), fn, i, ag_in_data(c, 0),
                                         ag_in_data(c, 1), ag_in_data(c, 3), ag_out_data(c, i), bc,
                                         c->stream));
  return AG_OK;
}

/* The parameter is SCALE's and LEAKY_RELU's; the others ignore it. */
static ag_status ew_unary_fwd(const ag_op_call *c, int fn) {
  return kernels(c)->unary(ag_call_dtype(c), fn, ag_unary_args_decode(c).param, ag_in_data(c, 0), ag_out_data(c, 0),
                           ag_tensor_numel(c->out[0]), c->stream);
}

/* in: x, y, g. */
static ag_status ew_unary_bwd(const ag_op_call *c, int fn) {
  if (!c->out[0]) return AG_OK;
  return kernels(c)->unary_backward(ag_call_dtype(c), fn, ag_unary_args_decode(c).param, ag_in_data(c, 0),
                                    ag_in_data(c, 2), ag_out_data(c, 0), ag_tensor_numel(c->in[0]),
                                    c->stream);
}

#define AG_EW_UNARY_FNS(ID, name)                                                                  \
  static ag_status ew_##name##_fwd(const ag_op_call *c) { return ew_unary_fwd(c, AG_UNARY_##ID); } \
  static ag_status ew_##name##_bwd(const ag_op_call *c) { return ew_unary_bwd(c, AG_UNARY_##ID); }
#define AG_EW_BINARY_FNS(ID, name)                                                                 \
  static ag_status ew_##name##_fwd(const ag_op_call *c) {                                          \
    return ew_binary_fwd(c, AG_BINARY_##ID);                                                       \
  }                                                                                                \
  static ag_status ew_##name##_bwd(const ag_op_call *c) { return ew_binary_bwd(c, AG_BINARY_##ID); }
AG_UNARY_FN_LIST(AG_EW_UNARY_FNS)
AG_EW_BINARY_OPS(AG_EW_BINARY_FNS)
#undef AG_EW_UNARY_FNS
#undef AG_EW_BINARY_FNS

static ag_status ew_cast_fwd(const ag_op_call *c) {
  return kernels(c)->cast(c->in[0]->dtype, c->out[0]->dtype, ag_in_data(c, 0), ag_out_data(c, 0),
                          ag_tensor_numel(c->out[0]), c->stream);
}

/* in: x, y, g. The gradient is g cast back to x's dtype, and zero through an
 * i32 output (truncation is piecewise constant). */
static ag_status ew_cast_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  ag_dtype from = c->in[2]->dtype, to = c->out[0]->dtype;
  if (from == AG_I32)
    return kernels(c)->fill(to, 0.0f, ag_out_data(c, 0), ag_tensor_numel(c->out[0]), c->stream);
  return kernels(c)->cast(from, to, ag_in_data(c, 2), ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                          c->stream);
}

static ag_status ew_fill_fwd(const ag_op_call *c) {
  return kernels(c)->fill(c->out[0]->dtype, ag_fill_args_decode(c).value, ag_out_data(c, 0), ag_tensor_numel(c->out[0]),
                          c->stream);
}

static ag_status ew_arange_fwd(const ag_op_call *c) {
  const ag_arange_args a = ag_arange_args_decode(c);
  return kernels(c)->arange(c->out[0]->dtype, a.start, a.step, ag_out_data(c, 0),
                            ag_tensor_numel(c->out[0]), c->stream);
}


/* A backend may lack a unary kernel in one direction (a partial backend,
 * or a test's); say so when planning rather than call a NULL pointer. */
static ag_status ew_unary_supports(const ag_op_call *c, int backward) {
  const ag_elementwise_kernels *k = kernels(c);
  if (backward ? k->unary_backward != NULL : k->unary != NULL) return AG_OK;
  return ag_set_error(AG_ERR_UNSUPPORTED, "the backend has no %s kernel",
                      backward ? "unary_backward" : "unary");
}

#define AG_EW_UNARY_BINDING(ID, name)                                                             \
  const ag_op_binding ag_bind_##name = {                                                          \
      .forward = ew_##name##_fwd, .backward = ew_##name##_bwd, .supports = ew_unary_supports};
#define AG_EW_BINARY_BINDING(ID, name)                                                            \
  const ag_op_binding ag_bind_##name = {.forward = ew_##name##_fwd, .backward = ew_##name##_bwd};
AG_UNARY_FN_LIST(AG_EW_UNARY_BINDING)
AG_EW_BINARY_OPS(AG_EW_BINARY_BINDING)
#undef AG_EW_UNARY_BINDING
#undef AG_EW_BINARY_BINDING
const ag_op_binding ag_bind_cast = {.forward = ew_cast_fwd, .backward = ew_cast_bwd};
const ag_op_binding ag_bind_fill = {.forward = ew_fill_fwd};
const ag_op_binding ag_bind_arange = {.forward = ew_arange_fwd};
