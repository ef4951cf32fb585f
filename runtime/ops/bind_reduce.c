/* Reductions bound to kernels (runtime/ops/bind.h). */
#include "bind.h"

static const ag_reduce_kernels *kernels(const ag_op_call *c) { return c->be->kernels->reduce; }

/* x viewed as [outer, n, inner] around the reduced axis. */
typedef struct reduce_view {
  int64_t outer, n, inner;
} reduce_view;

static reduce_view reduce_view_of(const ag_op_call *c) {
  const ag_tensor *x = c->in[0];
  const int a = ag_reduce_args_decode(c).axis;
  int axis = a < 0 ? a + x->ndim : a;
  reduce_view v = {1, x->shape[axis], 1};
  for (int d = 0; d < axis; d++) v.outer *= x->shape[d];
  for (int d = axis + 1; d < x->ndim; d++) v.inner *= x->shape[d];
  return v;
}

static ag_status reduce_fwd(const ag_op_call *c, ag_reduce_kind kind) {
  reduce_view v = reduce_view_of(c);
  return kernels(c)->reduce_axis(ag_call_dtype(c), kind, ag_in_data(c, 0), ag_out_data(c, 0),
                                 v.outer, v.n, v.inner, c->stream);
}

/* in = {x, y, gy}; out = {gx}. */
static ag_status reduce_bwd(const ag_op_call *c, ag_reduce_kind kind) {
  if (!c->out[0]) return AG_OK;
  reduce_view v = reduce_view_of(c);
  return kernels(c)->reduce_axis_backward(ag_call_dtype(c), kind, ag_in_data(c, 0),
                                          ag_in_data(c, 1), ag_in_data(c, 2), ag_out_data(c, 0),
                                          v.outer, v.n, v.inner, c->stream);
}

static ag_status sum_fwd(const ag_op_call *c) { return reduce_fwd(c, AG_REDUCE_SUM); }
static ag_status sum_bwd(const ag_op_call *c) { return reduce_bwd(c, AG_REDUCE_SUM); }
static ag_status mean_fwd(const ag_op_call *c) { return reduce_fwd(c, AG_REDUCE_MEAN); }
static ag_status mean_bwd(const ag_op_call *c) { return reduce_bwd(c, AG_REDUCE_MEAN); }
static ag_status max_fwd(const ag_op_call *c) { return reduce_fwd(c, AG_REDUCE_MAX); }
static ag_status max_bwd(const ag_op_call *c) { return reduce_bwd(c, AG_REDUCE_MAX); }

const ag_op_binding ag_bind_sum = {.forward = sum_fwd, .backward = sum_bwd};
const ag_op_binding ag_bind_mean = {.forward = mean_fwd, .backward = mean_bwd};
const ag_op_binding ag_bind_max = {.forward = max_fwd, .backward = max_bwd};
