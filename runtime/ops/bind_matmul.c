/* matmul ops bound to kernels (runtime/ops/bind.h).
 *
 * Every product, forward or backward, goes through one batched GEMM kernel
 * (kernels/common/ag_k_matmul.h). The backward recomputes the pre-activation
 * z = op(a) @ op(b) + bias when there is an epilogue (one extra GEMM instead
 * of a second output kept alive until the backward), then
 *   dz = g * act'(z),  dbias = column sums of dz,
 *   da = dz @ op(b)^T (or its transpose),  db = op(a)^T @ dz (or its transpose),
 * summed over the batch for an operand shared by every product. */
#include "bind.h"

static const ag_matmul_kernels *kernels(const ag_op_call *c) { return c->be->kernels->matmul; }

/* The problem of a matmul call: y[p] [m,n] = op(a[p]) [m,k] @ op(b[p]) [k,n]. */
typedef struct mm_dims {
  int64_t batch, m, n, k;
  int a_batched, b_batched; /* 0: one matrix shared by the batch */
} mm_dims;

static mm_dims mm_dims_of(const ag_op_call *c) {
  const ag_tensor *a = c->in[0], *b = c->in[1];
  const ag_tensor *batched = a->ndim >= b->ndim ? a : b;
  const ag_matmul_args args = ag_matmul_args_decode(c);
  mm_dims d = {1,
               a->shape[a->ndim - 1 - !args.trans_a],
               b->shape[b->ndim - 1 - args.trans_b],
               a->shape[a->ndim - 1 - args.trans_a],
               a->ndim > 2,
               b->ndim > 2};
  for (int i = 0; i < batched->ndim - 2; i++) d.batch *= batched->shape[i];
  return d;
}

/* One operand of a product: stored transposed or not, `stride` elements
 * between the matrices of consecutive products (0: shared). */
typedef struct mm_operand {
  const void *p;
  int trans;
  int64_t stride;
} mm_operand;

/* y[p] = act(op(x[p]) @ op(w[p]) + bias) for p < batch; with `sum_batch`, y
 * (one matrix) receives the sum of the products instead. A shared w with an
 * untransposed x folds the batch into m, and a sum over products of a
 * transposed x and an untransposed w folds it into k: both are one GEMM. */
static ag_status mm_gemm(const ag_op_call *c, int64_t batch, int64_t m, int64_t n, int64_t k,
                         mm_operand x, mm_operand w, const void *bias, int epilogue, void *y,
                         int sum_batch) {
  ag_gemm g = {
      m,    n,    k,       x.trans, w.trans, batch, x.stride, w.stride, sum_batch ? 0 : m * n,
      1.0f, 0.0f, epilogue};
  if (batch > 1 && !sum_batch && !x.trans && x.stride == m * k && w.stride == 0) {
    g.m *= batch;
    g.batch = 1;
  } else if (batch > 1 && sum_batch && x.trans && x.stride == m * k && !w.trans &&
             w.stride == k * n) {
    g.k *= batch;
    g.batch = 1;
  }
  if (!sum_batch || g.batch == 1)
    return kernels(c)->matmul(ag_call_libs(c), ag_call_dtype(c), &g, x.p, w.p, bias, y, c->stream);
  /* A sum over products: accumulate one product at a time through beta. */
  const size_t es = ag_dtype_size(ag_call_dtype(c));
  g.batch = 1;
  for (int64_t p = 0; p < batch; p++) {
    g.beta = p ? 1.0f : 0.0f;
    AG_TRY(kernels(c)->matmul(ag_call_libs(c), ag_call_dtype(c), &g,
                              (const char *)x.p + (size_t)(p * x.stride) * es,
                              (const char *)w.p + (size_t)(p * w.stride) * es, bias, y, c->stream));
  }
  return AG_OK;
}

static ag_status mm_forward(const ag_op_call *c, const void *bias, int epilogue, void *y) {
  const mm_dims d = mm_dims_of(c);
  const ag_matmul_args args = ag_matmul_args_decode(c);
  mm_operand a = {ag_in_data(c, 0), args.trans_a, d.a_batched ? d.m * d.k : 0};
  mm_operand b = {ag_in_data(c, 1), args.trans_b, d.b_batched ? d.k * d.n : 0};
  return mm_gemm(c, d.batch, d.m, d.n, d.k, a, b, bias, epilogue, y, 0);
}

static ag_status matmul_fwd(const ag_op_call *c) {
  return mm_forward(c, NULL, ag_matmul_args_decode(c).epilogue, ag_out_data(c, 0));
}

static ag_status matmul_bias_fwd(const ag_op_call *c) {
  return mm_forward(c, ag_in_data(c, 2), ag_matmul_args_decode(c).epilogue, ag_out_data(c, 0));
}

/* da = dz @ op(b)^T, stored as a is (transposed when trans_a). */
static ag_status mm_grad_a(const ag_op_call *c, const mm_dims *d, const void *dz) {
  const ag_matmul_args args = ag_matmul_args_decode(c);
  const int ta = args.trans_a, tb = args.trans_b;
  mm_operand g = {dz, 0, d->m * d->n}, b = {ag_in_data(c, 1), !tb, d->b_batched ? d->k * d->n : 0};
  if (ta) {
    mm_operand bt = {ag_in_data(c, 1), tb, b.stride}, gt = {dz, 1, g.stride};
    return mm_gemm(c, d->batch, d->k, d->m, d->n, bt, gt, NULL, 0, ag_out_data(c, 0),
                   !d->a_batched);
  }
  return mm_gemm(c, d->batch, d->m, d->k, d->n, g, b, NULL, 0, ag_out_data(c, 0), !d->a_batched);
}

/* db = op(a)^T @ dz, stored as b is (transposed when trans_b). */
static ag_status mm_grad_b(const ag_op_call *c, const mm_dims *d, const void *dz) {
  const ag_matmul_args args = ag_matmul_args_decode(c);
  const int ta = args.trans_a, tb = args.trans_b;
  const int64_t sa = d->a_batched ? d->m * d->k : 0;
  if (tb) {
    mm_operand gt = {dz, 1, d->m * d->n}, a = {ag_in_data(c, 0), ta, sa};
    return mm_gemm(c, d->batch, d->n, d->k, d->m, gt, a, NULL, 0, ag_out_data(c, 1), !d->b_batched);
  }
  mm_operand at = {ag_in_data(c, 0), !ta, sa}, g = {dz, 0, d->m * d->n};
  return mm_gemm(c, d->batch, d->k, d->n, d->m, at, g, NULL, 0, ag_out_data(c, 1), !d->b_batched);
}

/* The input gradients once dz (the gradient of the pre-activation) is known. */
static ag_status mm_grads(const ag_op_call *c, const mm_dims *d, const void *dz, int has_bias) {
  if (c->out[0]) AG_TRY(mm_grad_a(c, d, dz));
  if (c->out[1]) AG_TRY(mm_grad_b(c, d, dz));
  if (has_bias && c->out[2])
    AG_TRY(kernels(c)->matmul_bias_backward(ag_call_dtype(c), dz, ag_out_data(c, 2),
                                            d->batch * d->m, d->n, c->stream));
  return AG_OK;
}

/* in[]: a, b, [bias], y, g (see runtime/ag_ops.h). With an epilogue, dz
 * lives in scratch from the backend's caching allocator, which is not
 * stream-aware: on the default stream the block's next user is ordered after
 * the kernels reading it, on any other stream that stream is drained first. */
static ag_status mm_backward(const ag_op_call *c, int has_bias) {
  const mm_dims d = mm_dims_of(c);
  const int epilogue = ag_matmul_args_decode(c).epilogue;
  const ag_tensor *g = c->in[has_bias ? 4 : 3];
  if (epilogue == AG_MATMUL_EPI_NONE) return mm_grads(c, &d, ag_tensor_data(g), has_bias);
  void *dz = NULL;
  AG_TRY(ag_allocator_alloc(c->be->alloc, ag_tensor_nbytes(g), &dz));
  ag_status st = mm_forward(c, has_bias ? ag_in_data(c, 2) : NULL, AG_MATMUL_EPI_NONE, dz);
  if (st == AG_OK)
    st = kernels(c)->matmul_act_backward(ag_call_dtype(c), epilogue, dz, ag_tensor_data(g), dz,
                                         ag_tensor_numel(g), c->stream);
  if (st == AG_OK) st = mm_grads(c, &d, dz, has_bias);
  if (c->stream) {
    ag_status drained = c->be->synchronize(c->be, c->stream);
    if (st == AG_OK) st = drained;
  }
  ag_allocator_free(c->be->alloc, dz);
  return st;
}

static ag_status matmul_bwd(const ag_op_call *c) { return mm_backward(c, 0); }
static ag_status matmul_bias_bwd(const ag_op_call *c) { return mm_backward(c, 1); }

const ag_op_binding ag_bind_matmul = {.forward = matmul_fwd, .backward = matmul_bwd};
const ag_op_binding ag_bind_matmul_bias = {.forward = matmul_bias_fwd, .backward = matmul_bias_bwd};
