/* Reverse-mode autograd. ag_backward walks the nodes recorded so far from the
 * last to the first and appends, for each node that has an output gradient
 * and an input that needs one, the nodes computing its input gradients:
 *   - an op node gets one backward node (the op's backward kernel);
 *   - a matmul with a fused activation recomputes its pre-activation as a
 *     node of its own, so that no kernel needs scratch memory the scheduler
 *     does not know about;
 *   - a view passes its gradient back as the inverse view, and the copy that
 *     makes a permuted view contiguous passes it through unchanged.
 * Values stay single-assignment: a value used twice gets the sum of its two
 * gradients as a new value, and the planner later decides what may share
 * memory. */
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* Adds `g` (a gradient of value v) to v's gradient. */
static ag_status accumulate(ag_graph *g, int v, ag_tensor *grad) {
  if (!grad) return g->status ? g->status : AG_ERR_INVALID;
  ag_value *val = g->values[v];
  if (val->grad < 0) {
    val->grad = ag_value_id(grad);
    return AG_OK;
  }
  ag_tensor *sum = ag_add(g, &g->values[val->grad]->t, grad);
  if (!sum) return g->status;
  g->values[v]->grad = ag_value_id(sum);
  return AG_OK;
}

static ag_tensor *grad_of(const ag_graph *g, const ag_tensor *t) {
  int gi = g->values[ag_value_id(t)]->grad;
  return gi < 0 ? NULL : &g->values[gi]->t;
}

/* Which values need a gradient: parameters, and the outputs of
 * differentiable ops and views that read one. */
static char *mark_needs_grad(const ag_graph *g) {
  char *need = calloc((size_t)g->n_values, 1);
  if (!need) return NULL;
  for (int i = 0; i < g->n_values; i++) need[i] = (g->values[i]->flags & AG_VALUE_PARAM) != 0;
  for (int n = 0; n < g->n_nodes; n++) {
    const ag_node *node = &g->nodes[n];
    const ag_op_info *info = node->kind == AG_NODE_VIEW ? NULL : ag_op_get_info(node->op);
    int n_in = info ? info->n_in : 1, n_out = info ? info->n_out : 1;
    int passes = !info || info->differentiable || node->op == AG_OP_CONTIGUOUS;
    int any = 0;
    for (int i = 0; i < n_in; i++) any |= need[ag_value_id(node->call.in[i])];
    for (int k = 0; k < n_out && passes && any; k++) need[ag_value_id(node->call.out[k])] = 1;
  }
  return need;
}

/* The gradient of a view, passed back to its source: the inverse reshape,
 * or for a permuted view a contiguous copy in the source's order. */
static ag_status view_backward(ag_graph *g, const ag_node *node, ag_tensor *gy) {
  const ag_tensor *x = node->call.in[0];
  const ag_value *y = g->values[ag_value_id(node->call.out[0])];
  ag_tensor *gx;
  if (y->permuted) {
    int inverse[AG_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) inverse[y->perm[i]] = i;
    gx = ag_permute(g, gy, inverse);
  } else {
    gx = ag_reshape(g, gy, x->ndim, x->shape);
  }
  return accumulate(g, ag_value_id(x), gx);
}

/* Appends the backward node of an op node. `gouts` are the output
 * gradients (gouts[0] present); input i gets a gradient when need_in[i]. */
static ag_status op_backward(ag_graph *g, ag_op op, const ag_op_call *fwd, ag_tensor *const *gouts,
                             const char *need_in) {
  const ag_op_info *info = ag_op_get_info(op);
  ag_op_call c = *fwd;
  memset(c.in, 0, sizeof c.in);
  memset(c.out, 0, sizeof c.out);
  for (int i = 0; i < info->n_in; i++) c.in[i] = fwd->in[i];
  for (int k = 0; k < info->n_out; k++) {
    c.in[info->n_in + k] = fwd->out[k];
    c.in[info->n_in + info->n_out + k] = gouts[k];
  }
  ag_node *node = ag_graph_record(g, AG_NODE_BACKWARD, op, &c, NULL, 0, NULL);
  if (!node) return g->status;
  const int index = g->n_nodes - 1;
  ag_tensor *grads[AG_OP_MAX_ARGS] = {0};
  for (int i = 0; i < info->n_in; i++) {
    if (!need_in[i]) continue;
    ag_shape s = ag_shape_of(fwd->in[i]);
    ag_value *v = ag_graph_new_value(g, &s, 0);
    if (!v) return g->status;
    v->producer = index;
    g->nodes[index].call.out[i] = grads[i] = &v->t;
  }
  for (int i = 0; i < info->n_in; i++)
    if (grads[i]) AG_TRY(accumulate(g, ag_value_id(fwd->in[i]), grads[i]));
  return AG_OK;
}

/* matmul / matmul_bias with a fused activation: z = the product without it
 * (recomputed), gz = act'(z) * gy through the activation op's backward,
 * then the plain product's backward. */
static ag_status matmul_act_backward(ag_graph *g, const ag_node *node, ag_tensor *gy,
                                     const char *need_in) {
  ag_op_call plain = node->call;
  ag_matmul_args args = ag_matmul_args_decode(&node->call);
  const int epilogue = args.epilogue;
  args.epilogue = AG_MATMUL_EPI_NONE;
  ag_matmul_args_encode(&plain, &args);
  memset(plain.out, 0, sizeof plain.out);
  ag_tensor *z = ag_graph_op(g, node->op, &plain, NULL);
  if (!z) return g->status;
  const ag_op act = epilogue == AG_MATMUL_EPI_RELU ? AG_OP_RELU : AG_OP_GELU;
  const ag_op_call act_call = {.in = {z}, .out = {node->call.out[0]}};
  ag_tensor *gz = NULL;
  const char need_z = 1;
  ag_value *zv = ag_graph_value_of(g, z);
  AG_TRY(op_backward(g, act, &act_call, &gy, &need_z));
  gz = &g->values[zv->grad]->t;
  plain.out[0] = z;
  return op_backward(g, node->op, &plain, &gz, need_in);
}

static ag_status node_backward(ag_graph *g, const ag_node *node, const char *need) {
  if (node->kind == AG_NODE_VIEW) {
    ag_tensor *gy = grad_of(g, node->call.out[0]);
    return gy && need[ag_value_id(node->call.in[0])] ? view_backward(g, node, gy) : AG_OK;
  }
  const ag_op_info *info = ag_op_get_info(node->op);
  ag_tensor *gouts[AG_OP_MAX_ARGS] = {0};
  char need_in[AG_OP_MAX_ARGS] = {0};
  int any_out = 0, any_in = 0;
  for (int k = 0; k < info->n_out; k++) any_out |= (gouts[k] = grad_of(g, node->call.out[k])) != 0;
  for (int i = 0; i < info->n_in; i++) any_in |= need_in[i] = need[ag_value_id(node->call.in[i])];
  if (!any_out || !any_in) return AG_OK;
  if (node->op == AG_OP_CONTIGUOUS) return accumulate(g, ag_value_id(node->call.in[0]), gouts[0]);
  if (!info->differentiable) return AG_OK;
  if (!gouts[0]) {
    const ag_tensor *y = node->call.out[0];
    gouts[0] = ag_full(g, y->dtype, y->ndim, y->shape, 0.0f);
    if (!gouts[0]) return g->status;
  }
  if ((node->op == AG_OP_MATMUL || node->op == AG_OP_MATMUL_BIAS) &&
      ag_matmul_args_decode(&node->call).epilogue)
    return matmul_act_backward(g, node, gouts[0], need_in);
  return op_backward(g, node->op, &node->call, gouts, need_in);
}

static ag_status check_loss(ag_graph *g, const ag_tensor *loss) {
  char d[64];
  if (g->status) return ag_set_error(g->status, "%s", g->error);
  if (g->differentiated)
    return ag_graph_fail(g, AG_ERR_INVALID, "ag_backward: already called on this graph");
  if (!loss || ag_graph_value_index(g, loss) < 0)
    return ag_graph_fail(g, AG_ERR_INVALID, "ag_backward: the loss is not a value of this graph");
  if (ag_tensor_numel(loss) != 1 ||
      (loss->dtype != AG_F32 && loss->dtype != AG_F16 && loss->dtype != AG_BF16))
    return ag_graph_fail(g, AG_ERR_INVALID,
                         "ag_backward: the loss must be a float tensor of one element, not %s",
                         ag_tensor_describe(loss, d, sizeof d));
  return AG_OK;
}

ag_status ag_backward(ag_graph *g, ag_tensor *loss) {
  AG_TRY(check_loss(g, loss));
  char *need = mark_needs_grad(g);
  if (!need) return ag_graph_fail(g, AG_ERR_OOM, "ag_backward: out of host memory");
  ag_status st = AG_OK;
  const int n_forward = g->n_nodes;
  if (!need[ag_value_id(loss)])
    st = ag_graph_fail(g, AG_ERR_INVALID, "ag_backward: the loss depends on no parameter");
  if (st == AG_OK)
    st = accumulate(g, ag_value_id(loss), ag_full(g, loss->dtype, loss->ndim, loss->shape, 1.0f));
  /* The nodes appended on the way are never visited. */
  for (int n = n_forward - 1; n >= 0 && st == AG_OK; n--) {
    const ag_node node = g->nodes[n];
    st = node_backward(g, &node, need);
  }
  free(need);
  if (st != AG_OK) return g->status ? ag_set_error(g->status, "%s", g->error) : st;
  for (int p = 0; p < g->n_params; p++) {
    const ag_value *v = g->values[g->params[p]];
    if (v->grad >= 0) g->values[v->grad]->flags |= AG_VALUE_GRAD;
  }
  g->differentiated = 1;
  return AG_OK;
}
