/* Attention ops: shape inference and eager API. */
#include "ops_internal.h"

static ag_status require_4d(const char *op, const char *role, const ag_tensor *t) {
  char d[64];
  if (t->ndim == 4) return AG_OK;
  return ag_set_error(AG_ERR_INVALID, "%s: %s %s must be [B, H, T, D]", op, role,
                      ag_tensor_describe(t, d, sizeof d));
}

/* q [B,H,Tq,D], k and v [B,H,Tk,D] of one float dtype; o like q, lse f32. */
static ag_status infer_attention(const char *op, const ag_op_call *c, ag_shape *out) {
  const ag_tensor *q = c->in[0], *k = c->in[1], *v = c->in[2];
  AG_TRY(ag_op_require_float(op, "q", q));
  AG_TRY(require_4d(op, "q", q));
  AG_TRY(require_4d(op, "k", k));
  AG_TRY(ag_op_require_same(op, "k and v differ", k, v));
  if (k->dtype != q->dtype || k->shape[0] != q->shape[0] || k->shape[1] != q->shape[1] ||
      k->shape[3] != q->shape[3])
    return ag_op_error_shapes(op, "q and k disagree in dtype, batch, heads or head dim", q, k);
  if (q->shape[3] < 1 || k->shape[2] < 1)
    return ag_op_error_shapes(op, "head dim and key length must be positive", q, k);
  if (c->f[0] < 0 || c->f[0] != c->f[0])
    return ag_set_error(AG_ERR_INVALID, "%s: scale %g must be >= 0 (0: 1/sqrt(D))", op,
                        (double)c->f[0]);
  if (c->i[0] != 0 && c->i[0] != 1)
    return ag_set_error(AG_ERR_INVALID, "%s: causal flag %lld must be 0 or 1", op,
                        (long long)c->i[0]);
  out[0] = ag_shape_of(q);
  out[1] = (ag_shape){AG_F32, 3, {q->shape[0], q->shape[1], q->shape[2]}};
  return AG_OK;
}

ag_status ag_infer_attention(const ag_op_call *c, ag_shape *out) {
  return infer_attention("attention", c, out);
}

ag_status ag_infer_attention_padded(const ag_op_call *c, ag_shape *out) {
  AG_TRY(infer_attention("attention_padded", c, out));
  const ag_tensor *len = c->in[3];
  char d[64];
  if (len->dtype != AG_I32 || len->ndim != 1 || len->shape[0] != c->in[0]->shape[0])
    return ag_set_error(AG_ERR_INVALID, "attention_padded: kv_len %s must be i32 [%lld]",
                        ag_tensor_describe(len, d, sizeof d), (long long)c->in[0]->shape[0]);
  return AG_OK;
}

ag_status ag_eager_attention(ag_tensor *o, ag_tensor *lse, const ag_tensor *q, const ag_tensor *k,
                             const ag_tensor *v, float scale, int causal) {
  return ag_op_eager(AG_OP_ATTENTION, &(ag_op_call){.in = {q, k, v}, .out = {o, lse},
                                                    .f = {scale}, .i = {causal}});
}

ag_status ag_eager_attention_padded(ag_tensor *o, ag_tensor *lse, const ag_tensor *q,
                                    const ag_tensor *k, const ag_tensor *v, const ag_tensor *kv_len,
                                    float scale, int causal) {
  return ag_op_eager(AG_OP_ATTENTION_PADDED, &(ag_op_call){.in = {q, k, v, kv_len},
                                                           .out = {o, lse}, .f = {scale},
                                                           .i = {causal}});
}
