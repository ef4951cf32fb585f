/* Layout ops bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_layout_kernels *kernels(const ag_op_call *c) { return c->be->kernels->layout; }

/* The view's shape and strides, right-aligned into 4 dims. */
static ag_strided4 layout_of(const ag_tensor *t) {
  ag_strided4 l;
  int pad = 4 - t->ndim;
  for (int d = 0; d < 4; d++) {
    l.shape[d] = d < pad ? 1 : t->shape[d - pad];
    l.stride[d] = d < pad ? 0 : t->stride[d - pad];
  }
  return l;
}

static ag_status contiguous_fwd(const ag_op_call *c) {
  return kernels(c)->copy_strided(ag_call_dtype(c), ag_in_data(c, 0), layout_of(c->in[0]),
                                  ag_out_data(c, 0), c->stream);
}

/* t viewed as [outer, n, inner] around an axis (validated by inference). */
typedef struct axis_view {
  int64_t outer, n, inner;
} axis_view;

static axis_view axis_view_of(const ag_tensor *t, int64_t axis_param) {
  int axis = (int)(axis_param < 0 ? axis_param + t->ndim : axis_param);
  axis_view v = {1, t->shape[axis], 1};
  for (int d = 0; d < axis; d++) v.outer *= t->shape[d];
  for (int d = axis + 1; d < t->ndim; d++) v.inner *= t->shape[d];
  return v;
}

/* whole[o, off + a, i] = part[o, a, i]; a NULL part reads as zeros. */
static ag_status slab_into(const ag_op_call *c, const void *part, axis_view pv, void *whole,
                           axis_view wv, int64_t off) {
  return kernels(c)->copy_axis(ag_call_dtype(c), part, pv.n, 0, whole, wv.n, off, wv.outer, pv.n,
                               wv.inner, c->stream);
}

/* part[o, a, i] = whole[o, off + a, i]. */
static ag_status slab_from(const ag_op_call *c, const void *whole, axis_view wv, int64_t off,
                           void *part, axis_view pv) {
  return kernels(c)->copy_axis(ag_call_dtype(c), whole, wv.n, off, part, pv.n, 0, wv.outer, pv.n,
                               wv.inner, c->stream);
}

static ag_status concat_fwd(const ag_op_call *c) {
  const int axis = ag_axis_args_decode(c).axis;
  axis_view a = axis_view_of(c->in[0], axis), b = axis_view_of(c->in[1], axis);
  axis_view y = axis_view_of(c->out[0], axis);
  AG_TRY(slab_into(c, ag_in_data(c, 0), a, ag_out_data(c, 0), y, 0));
  return slab_into(c, ag_in_data(c, 1), b, ag_out_data(c, 0), y, a.n);
}

/* in = {a, b, y, gy}; out = {ga, gb}: each gradient is its slab of gy. */
static ag_status concat_bwd(const ag_op_call *c) {
  const int axis = ag_axis_args_decode(c).axis;
  axis_view a = axis_view_of(c->in[0], axis), b = axis_view_of(c->in[1], axis);
  axis_view y = axis_view_of(c->in[3], axis);
  if (c->out[0]) AG_TRY(slab_from(c, ag_in_data(c, 3), y, 0, ag_out_data(c, 0), a));
  if (c->out[1]) AG_TRY(slab_from(c, ag_in_data(c, 3), y, a.n, ag_out_data(c, 1), b));
  return AG_OK;
}

static ag_status split_fwd(const ag_op_call *c) {
  const int axis = ag_split_args_decode(c).axis;
  axis_view x = axis_view_of(c->in[0], axis);
  axis_view y0 = axis_view_of(c->out[0], axis), y1 = axis_view_of(c->out[1], axis);
  AG_TRY(slab_from(c, ag_in_data(c, 0), x, 0, ag_out_data(c, 0), y0));
  return slab_from(c, ag_in_data(c, 0), x, y0.n, ag_out_data(c, 1), y1);
}

/* in = {x, y0, y1, gy0, gy1}; out = {gx}: gy0 and gy1 joined, a NULL one
 * standing for zeros. */
static ag_status split_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  const int axis = ag_split_args_decode(c).axis;
  axis_view x = axis_view_of(c->in[0], axis);
  axis_view y0 = axis_view_of(c->in[1], axis), y1 = axis_view_of(c->in[2], axis);
  AG_TRY(slab_into(c, c->in[3] ? ag_in_data(c, 3) : NULL, y0, ag_out_data(c, 0), x, 0));
  return slab_into(c, c->in[4] ? ag_in_data(c, 4) : NULL, y1, ag_out_data(c, 0), x, y0.n);
}

static ag_status gather_fwd(const ag_op_call *c) {
  axis_view v = axis_view_of(c->in[0], ag_axis_args_decode(c).axis);
  return kernels(c)->gather_axis(ag_call_dtype(c), ag_in_data(c, 0),
                                 (const int32_t *)ag_in_data(c, 1), ag_out_data(c, 0), v.outer, v.n,
                                 c->in[1]->shape[0], v.inner, c->stream);
}

/* in = {x, idx, y, gy}; out = {gx, (no gradient for idx)}. */
static ag_status gather_bwd(const ag_op_call *c) {
  if (!c->out[0]) return AG_OK;
  axis_view v = axis_view_of(c->in[0], ag_axis_args_decode(c).axis);
  return kernels(c)->gather_axis_backward(ag_call_dtype(c), ag_in_data(c, 3),
                                          (const int32_t *)ag_in_data(c, 1), ag_out_data(c, 0),
                                          v.outer, v.n, c->in[1]->shape[0], v.inner, c->stream);
}

const ag_op_binding ag_bind_contiguous = {.forward = contiguous_fwd};
const ag_op_binding ag_bind_concat = {.forward = concat_fwd, .backward = concat_bwd};
const ag_op_binding ag_bind_split = {.forward = split_fwd, .backward = split_bwd};
const ag_op_binding ag_bind_gather = {.forward = gather_fwd, .backward = gather_bwd};
