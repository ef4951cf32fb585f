/* Graph builders: each records one op (or a short composition) with the
 * parameters encoded as runtime/ops/<family>.list defines them. Checking is
 * the op's shape inference, run by ag_graph_op. */
#include "graph_internal.h"

static ag_tensor *op1(ag_graph *g, ag_op op, ag_op_call c) { return ag_graph_op(g, op, &c, NULL); }

ag_tensor *ag_add(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_ADD, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_sub(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_SUB, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_mul(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_MUL, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_div(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_DIV, (ag_op_call){.in = {a, b}});
}
ag_tensor *ag_scale(ag_graph *g, ag_tensor *x, float s) {
  return op1(g, AG_OP_SCALE, (ag_op_call){.in = {x}, .f = {s}});
}
ag_tensor *ag_unary(ag_graph *g, ag_op op, ag_tensor *x) {
  return op1(g, op, (ag_op_call){.in = {x}});
}
ag_tensor *ag_relu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_RELU, x); }
ag_tensor *ag_gelu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_GELU, x); }
ag_tensor *ag_silu(ag_graph *g, ag_tensor *x) { return ag_unary(g, AG_OP_SILU, x); }
ag_tensor *ag_leaky_relu(ag_graph *g, ag_tensor *x, float slope) {
  return op1(g, AG_OP_LEAKY_RELU, (ag_op_call){.in = {x}, .f = {slope}});
}
ag_tensor *ag_cast(ag_graph *g, ag_tensor *x, ag_dtype dt) {
  return op1(g, AG_OP_CAST, (ag_op_call){.in = {x}, .i = {dt}});
}

ag_tensor *ag_sum(ag_graph *g, ag_tensor *x, int axis, int keepdim) {
  return op1(g, AG_OP_SUM, (ag_op_call){.in = {x}, .i = {axis, keepdim}});
}
ag_tensor *ag_mean(ag_graph *g, ag_tensor *x, int axis, int keepdim) {
  return op1(g, AG_OP_MEAN, (ag_op_call){.in = {x}, .i = {axis, keepdim}});
}
ag_tensor *ag_mean_all(ag_graph *g, ag_tensor *x) {
  const int64_t n = x ? ag_tensor_numel(x) : 0;
  return ag_mean(g, ag_reshape(g, x, 1, &n), 0, 1);
}

ag_tensor *ag_concat(ag_graph *g, ag_tensor *a, ag_tensor *b, int axis) {
  return op1(g, AG_OP_CONCAT, (ag_op_call){.in = {a, b}, .i = {axis}});
}
ag_status ag_split(ag_graph *g, ag_tensor *x, int axis, int64_t at, ag_tensor **y0,
                   ag_tensor **y1) {
  ag_tensor *outs[2] = {0};
  ag_graph_op(g, AG_OP_SPLIT, &(ag_op_call){.in = {x}, .i = {axis, at}}, outs);
  *y0 = outs[0];
  *y1 = outs[1];
  return ag_graph_status(g);
}
ag_tensor *ag_gather(ag_graph *g, ag_tensor *x, ag_tensor *idx, int axis) {
  return op1(g, AG_OP_GATHER, (ag_op_call){.in = {x, idx}, .i = {axis}});
}
ag_tensor *ag_embedding(ag_graph *g, ag_tensor *table, ag_tensor *ids) {
  return op1(g, AG_OP_EMBEDDING, (ag_op_call){.in = {table, ids}});
}

ag_tensor *ag_matmul(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return ag_matmul_ex(g, a, b, NULL, (ag_matmul_opts){0});
}
ag_tensor *ag_matmul_ex(ag_graph *g, ag_tensor *a, ag_tensor *b, ag_tensor *bias,
                        ag_matmul_opts o) {
  ag_op_call c = {.in = {a, b, bias}, .i = {o.trans_a, o.trans_b, o.epilogue}};
  return op1(g, bias ? AG_OP_MATMUL_BIAS : AG_OP_MATMUL, c);
}
ag_tensor *ag_linear(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias, int act) {
  return ag_matmul_ex(g, x, w, bias, (ag_matmul_opts){.trans_b = 1, .epilogue = act});
}

ag_tensor *ag_conv2d(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias,
                     const ag_conv2d_params *p) {
  ag_op_call c = {.in = {x, w, bias}};
  ag_conv2d_encode(&c, p);
  return op1(g, bias ? AG_OP_CONV2D_BIAS : AG_OP_CONV2D, c);
}
ag_tensor *ag_conv_transpose2d(ag_graph *g, ag_tensor *x, ag_tensor *w, const ag_conv2d_params *p) {
  ag_op_call c = {.in = {x, w}};
  ag_conv2d_encode(&c, p);
  return op1(g, AG_OP_CONV_TRANSPOSE2D, c);
}
ag_tensor *ag_avgpool2d(ag_graph *g, ag_tensor *x, int k) {
  return op1(g, AG_OP_AVGPOOL2D, (ag_op_call){.in = {x}, .i = {k}});
}
ag_tensor *ag_upsample_nearest2x(ag_graph *g, ag_tensor *x) {
  return op1(g, AG_OP_UPSAMPLE_NEAREST2X, (ag_op_call){.in = {x}});
}

ag_tensor *ag_layernorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, float eps) {
  return op1(g, AG_OP_LAYERNORM, (ag_op_call){.in = {x, w, b}, .f = {eps}});
}
ag_tensor *ag_rmsnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, float eps) {
  return op1(g, AG_OP_RMSNORM, (ag_op_call){.in = {x, w}, .f = {eps}});
}
ag_tensor *ag_groupnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, int groups,
                        float eps) {
  return op1(g, AG_OP_GROUPNORM, (ag_op_call){.in = {x, w, b}, .f = {eps}, .i = {groups}});
}

ag_tensor *ag_softmax(ag_graph *g, ag_tensor *x, float scale, int causal) {
  return op1(g, AG_OP_SOFTMAX, (ag_op_call){.in = {x}, .f = {scale}, .i = {causal}});
}
ag_tensor *ag_log_softmax(ag_graph *g, ag_tensor *x) {
  return op1(g, AG_OP_LOG_SOFTMAX, (ag_op_call){.in = {x}});
}
ag_tensor *ag_cross_entropy(ag_graph *g, ag_tensor *logits, ag_tensor *targets) {
  return ag_mean_all(g, op1(g, AG_OP_CROSS_ENTROPY, (ag_op_call){.in = {logits, targets}}));
}
ag_tensor *ag_mse_loss(ag_graph *g, ag_tensor *a, ag_tensor *b) {
  return op1(g, AG_OP_MSE_LOSS, (ag_op_call){.in = {a, b}});
}

ag_tensor *ag_attention(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v, float scale,
                        int causal) {
  return op1(g, AG_OP_ATTENTION, (ag_op_call){.in = {q, k, v}, .f = {scale}, .i = {causal}});
}
