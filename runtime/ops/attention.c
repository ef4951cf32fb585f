/* Attention ops: arguments, shape inference and graph builders. */
#include "ops_internal.h"
#include "runtime/graph/ag_graph.h"

/* Slots: f[0] scale, i[0] causal. */
void ag_attention_args_encode(ag_op_call *c, const ag_attention_args *a) {
  c->f[0] = a->scale;
  c->i[0] = a->causal;
}

ag_attention_args ag_attention_args_decode(const ag_op_call *c) {
  return (ag_attention_args){c->f[0], (int)c->i[0]};
}

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
  const ag_attention_args a = ag_attention_args_decode(c);
  if (a.scale < 0 || a.scale != a.scale)
    return ag_set_error(AG_ERR_INVALID, "%s: scale %g must be >= 0 (0: 1/sqrt(D))", op,
                        (double)a.scale);
  if (a.causal != 0 && a.causal != 1)
    return ag_set_error(AG_ERR_INVALID, "%s: causal flag %d must be 0 or 1", op, a.causal);
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

ag_tensor *ag_attention(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v,
                        ag_attention_args args) {
  ag_op_call c = {.in = {q, k, v}};
  ag_attention_args_encode(&c, &args);
  return ag_graph_op(g, AG_OP_ATTENTION, &c, NULL);
}

ag_tensor *ag_attention_padded(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v,
                               ag_tensor *kv_len, ag_attention_args args) {
  ag_op_call c = {.in = {q, k, v, kv_len}};
  ag_attention_args_encode(&c, &args);
  return ag_graph_op(g, AG_OP_ATTENTION_PADDED, &c, NULL);
}
