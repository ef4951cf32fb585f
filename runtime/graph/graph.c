/* The graph: values (ag_tensor plus bookkeeping) and the nodes that write
 * them, in the order they were recorded. Recording order is a topological
 * order, since a node can only name values that already exist.
 *
 * Values are allocated one by one so that the ag_tensor pointers handed to
 * callers stay valid as the graph grows. */
#include "graph_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ag_graph *ag_graph_new(ag_backend *be) {
  if (!be) {
    ag_set_error(AG_ERR_INVALID, "graph: no backend given");
    return NULL;
  }
  ag_graph *g = calloc(1, sizeof *g);
  if (!g) ag_set_error(AG_ERR_OOM, "graph: out of host memory");
  if (g) g->be = be;
  return g;
}

void ag_graph_free(ag_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_values; i++) {
    ag_value *v = g->values[i];
    if (v->flags & AG_VALUE_INPUT) ag_tensor_free(v->owned);
    free(v);
  }
  free(g->values);
  free(g->nodes);
  free(g->params);
  free(g);
}

ag_backend *ag_graph_backend(const ag_graph *g) { return g->be; }
ag_status ag_graph_status(const ag_graph *g) { return g->status; }
const char *ag_graph_error(const ag_graph *g) { return g->status ? g->error : ""; }

ag_status ag_graph_fail(ag_graph *g, ag_status st, const char *fmt, ...) {
  if (g->status == AG_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->error, sizeof g->error, fmt, ap);
    va_end(ap);
    g->status = st;
  }
  return ag_set_error(g->status, "%s", g->error);
}

ag_status ag_graph_set_error(ag_graph *g, ag_status st, const char *msg) {
  return ag_graph_fail(g, st, "%s", msg);
}

/* Room for a quoted tensor name and a shape. */
enum { AG_LABEL_LEN = sizeof(((ag_tensor *)0)->name) + 64 + 4 };

/* "'name' f32[2,3]", or just the shape for an unnamed tensor: messages about
 * a tensor the caller passed must identify it even when it has no name. */
static const char *label(const ag_tensor *t, char *buf, size_t len) {
  char d[64];
  ag_tensor_describe(t, d, sizeof d);
  if (t->name[0])
    snprintf(buf, len, "'%s' %s", t->name, d);
  else
    snprintf(buf, len, "%s", d);
  return buf;
}

/* Records the error a callee left in ag_last_error. */
static ag_status fail_last(ag_graph *g, ag_status st) {
  return ag_graph_fail(g, st, "%s", ag_last_error());
}

static int grow(void **items, int *cap, int need, size_t size) {
  if (need <= *cap) return 1;
  int cap2 = *cap ? *cap * 2 : 64;
  void *p = realloc(*items, (size_t)cap2 * size);
  if (!p) return 0;
  *items = p;
  *cap = cap2;
  return 1;
}

ag_value *ag_graph_new_value(ag_graph *g, const ag_shape *s, unsigned flags) {
  ag_value *v = calloc(1, sizeof *v);
  if (!v || !grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values)) {
    free(v);
    ag_graph_fail(g, AG_ERR_OOM, "graph: out of host memory");
    return NULL;
  }
  v->t.dtype = s->dtype;
  v->t.ndim = s->ndim;
  int64_t stride = 1;
  for (int i = s->ndim - 1; i >= 0; i--) {
    v->t.shape[i] = s->dims[i];
    v->t.stride[i] = stride;
    stride *= s->dims[i];
  }
  v->index = g->n_values;
  v->base = v->index;
  v->producer = -1;
  v->grad = -1;
  v->flags = flags;
  g->values[g->n_values++] = v;
  return v;
}

int ag_graph_value_index(const ag_graph *g, const ag_tensor *t) {
  for (int i = g->n_values - 1; i >= 0; i--)
    if (&g->values[i]->t == t) return i;
  return -1;
}

ag_value *ag_graph_value_of(const ag_graph *g, const ag_tensor *t) {
  int i = ag_graph_value_index(g, t);
  return i < 0 ? NULL : g->values[i];
}

static ag_tensor *wrap(ag_graph *g, ag_tensor *t, unsigned flag, const char *what) {
  char d[AG_LABEL_LEN];
  if (g->status) return NULL;
  if (!t) return ag_graph_fail(g, AG_ERR_INVALID, "graph: %s: no tensor given", what), NULL;
  for (int i = 0; i < g->n_values; i++)
    if (g->values[i]->external == t) return &g->values[i]->t;
  if (ag_tensor_backend(t) != g->be || !ag_tensor_is_contiguous(t)) {
    ag_graph_fail(
        g, AG_ERR_INVALID, "graph: %s %s must be a contiguous tensor on %s (it is %s on %s)", what,
        label(t, d, sizeof d), g->be->name,
        ag_tensor_is_contiguous(t) ? "contiguous" : "not contiguous", ag_tensor_backend(t)->name);
    return NULL;
  }
  ag_shape s = ag_shape_of(t);
  ag_value *v = ag_graph_new_value(g, &s, flag);
  if (!v) return NULL;
  v->t = *t;
  v->t.grad = NULL;
  v->external = t;
  if (flag == AG_VALUE_PARAM) {
    if (!grow((void **)&g->params, &g->cap_params, g->n_params + 1, sizeof *g->params))
      return ag_graph_fail(g, AG_ERR_OOM, "graph: out of host memory"), NULL;
    g->params[g->n_params++] = v->index;
  }
  return &v->t;
}

ag_tensor *ag_graph_param(ag_graph *g, ag_tensor *t) { return wrap(g, t, AG_VALUE_PARAM, "param"); }
ag_tensor *ag_graph_const(ag_graph *g, ag_tensor *t) { return wrap(g, t, AG_VALUE_CONST, "const"); }

ag_tensor *ag_graph_input(ag_graph *g, const char *name, ag_dtype dt, int ndim,
                          const int64_t *shape) {
  if (g->status) return NULL;
  ag_tensor *t = ag_tensor_new(g->be, dt, ndim, shape);
  if (!t) return fail_last(g, AG_ERR_INVALID), NULL;
  ag_shape s = ag_shape_of(t);
  ag_value *v = ag_graph_new_value(g, &s, AG_VALUE_INPUT);
  if (!v) {
    ag_tensor_free(t);
    return NULL;
  }
  v->t = *t;
  v->owned = t;
  return ag_graph_name(&v->t, name);
}

ag_tensor *ag_graph_output(ag_graph *g, ag_tensor *t) {
  char d[AG_LABEL_LEN];
  ag_value *v = t ? ag_graph_value_of(g, t) : NULL;
  if (v)
    v->flags |= AG_VALUE_OUTPUT;
  else if (t)
    ag_graph_fail(g, AG_ERR_INVALID, "graph: output %s is not a value of this graph",
                  label(t, d, sizeof d));
  return v ? t : NULL;
}

ag_tensor *ag_graph_name(ag_tensor *t, const char *name) {
  if (t && name) snprintf(t->name, sizeof t->name, "%s", name);
  return t;
}

static ag_node *append_node(ag_graph *g) {
  if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) {
    ag_graph_fail(g, AG_ERR_OOM, "graph: out of host memory");
    return NULL;
  }
  ag_node *n = &g->nodes[g->n_nodes++];
  memset(n, 0, sizeof *n);
  return n;
}

/* Every input of a call must be a value of this graph. A NULL input after an
 * earlier failure is that failure, already recorded. */
static ag_status check_inputs(ag_graph *g, const char *op, const ag_op_call *c, int n_in) {
  char d[AG_LABEL_LEN];
  for (int i = 0; i < n_in; i++) {
    if (!c->in[i])
      return g->status ? g->status
                       : ag_graph_fail(g, AG_ERR_INVALID, "%s: input %d is missing", op, i);
    if (ag_graph_value_index(g, c->in[i]) < 0)
      return ag_graph_fail(g, AG_ERR_INVALID,
                           "%s: input %d (%s) is not a value of this graph; wrap tensors with "
                           "ag_graph_param or ag_graph_const",
                           op, i, label(c->in[i], d, sizeof d));
  }
  return AG_OK;
}

ag_node *ag_graph_record(ag_graph *g, ag_node_kind kind, ag_op op, const ag_op_call *call,
                         const ag_shape *shapes, int n_out, ag_tensor **outs) {
  ag_node *n = append_node(g);
  if (!n) return NULL;
  n->kind = kind;
  n->op = op;
  n->call = *call;
  const int index = g->n_nodes - 1;
  for (int k = 0; k < n_out; k++) {
    ag_value *v = ag_graph_new_value(g, &shapes[k], 0);
    if (!v) return NULL;
    v->producer = index;
    g->nodes[index].call.out[k] = &v->t;
    if (outs) outs[k] = &v->t;
  }
  return &g->nodes[index];
}

ag_tensor *ag_graph_op(ag_graph *g, ag_op op, const ag_op_call *call, ag_tensor **outs) {
  ag_tensor *local[AG_OP_MAX_ARGS];
  ag_shape shapes[AG_OP_MAX_ARGS];
  const ag_op_info *info = ag_op_get_info(op);
  if (g->status) return NULL;
  if (!info) return ag_graph_fail(g, AG_ERR_INVALID, "graph: unknown op %d", (int)op), NULL;
  if (info->n_in == 0)
    return ag_graph_fail(g, AG_ERR_INVALID, "graph: %s takes no inputs; use ag_graph_source",
                         info->name),
           NULL;
  if (check_inputs(g, info->name, call, info->n_in)) return NULL;
  if (ag_op_infer(op, call, shapes) != AG_OK) return fail_last(g, AG_ERR_INVALID), NULL;
  if (!outs) outs = local;
  ag_op_call c = *call;
  memset(c.out, 0, sizeof c.out);
  if (!ag_graph_record(g, AG_NODE_FORWARD, op, &c, shapes, info->n_out, outs)) return NULL;
  return outs[0];
}

ag_tensor *ag_graph_source(ag_graph *g, ag_op op, const ag_op_call *call, ag_dtype dt, int ndim,
                           const int64_t *shape) {
  const ag_op_info *info = ag_op_get_info(op);
  if (g->status) return NULL;
  if (!info || info->n_in != 0 || info->n_out != 1)
    return ag_graph_fail(g, AG_ERR_INVALID, "graph: op %d is not a fill", (int)op), NULL;
  if (ndim < 0 || ndim > AG_MAX_DIMS)
    return ag_graph_fail(g, AG_ERR_INVALID, "%s: %d dims (0..%d supported)", info->name, ndim,
                         AG_MAX_DIMS),
           NULL;
  /* The op's inference checks the output it is given; a stand-in carries
   * the requested dtype and shape. */
  ag_tensor stand_in = {.dtype = dt, .ndim = ndim};
  memcpy(stand_in.shape, shape, sizeof(int64_t) * (size_t)ndim);
  ag_op_call c = *call;
  memset(c.out, 0, sizeof c.out);
  c.out[0] = &stand_in;
  ag_shape s;
  if (ag_op_infer(op, &c, &s) != AG_OK) return fail_last(g, AG_ERR_INVALID), NULL;
  c.out[0] = NULL;
  ag_tensor *y = NULL;
  return ag_graph_record(g, AG_NODE_FORWARD, op, &c, &s, 1, &y) ? y : NULL;
}

/* A view node: out[0] shares in[0]'s memory with the given shape and
 * strides, starting `offset` elements into it. */
ag_tensor *ag_graph_view(ag_graph *g, ag_tensor *x, const ag_shape *s, const int64_t *stride,
                         const int *perm) {
  ag_tensor *y = NULL;
  ag_op_call c = {.in = {x}};
  ag_node *n = ag_graph_record(g, AG_NODE_VIEW, AG_OP_COUNT, &c, s, 1, &y);
  if (!n) return NULL;
  ag_value *src = ag_graph_value_of(g, x), *v = ag_graph_value_of(g, y);
  v->base = src->base;
  v->flags |= AG_VALUE_VIEW;
  v->view_offset = src->view_offset;
  memcpy(v->t.stride, stride, sizeof(int64_t) * (size_t)s->ndim);
  if (perm) {
    v->permuted = 1;
    memcpy(v->perm, perm, sizeof(int) * (size_t)s->ndim);
  }
  return y;
}

ag_tensor *ag_reshape(ag_graph *g, ag_tensor *x, int ndim, const int64_t *shape) {
  if (g->status) return NULL;
  if (!x) return ag_graph_fail(g, AG_ERR_INVALID, "reshape: input is missing"), NULL;
  ag_value *src = ag_graph_value_of(g, x);
  if (!src)
    return ag_graph_fail(g, AG_ERR_INVALID, "reshape: input is not a value of this graph"), NULL;
  ag_shape s = {x->dtype, ndim, {0}};
  int64_t n = 1, stride[AG_MAX_DIMS];
  char d[64], dw[64];
  if (ndim < 1 || ndim > AG_MAX_DIMS)
    return ag_graph_fail(g, AG_ERR_INVALID, "reshape: %d dims (1..%d supported)", ndim,
                         AG_MAX_DIMS),
           NULL;
  for (int i = ndim - 1; i >= 0; i--) {
    s.dims[i] = shape[i];
    stride[i] = n;
    n *= shape[i];
  }
  if (n != ag_tensor_numel(x) || !ag_tensor_is_contiguous(x))
    return ag_graph_fail(
               g, AG_ERR_INVALID, "reshape: %s cannot be viewed as %s%s",
               ag_tensor_describe(x, d, sizeof d), ag_shape_describe(&s, dw, sizeof dw),
               n != ag_tensor_numel(x) ? " (element counts differ)" : " (not contiguous)"),
           NULL;
  return ag_graph_view(g, x, &s, stride, NULL);
}

ag_tensor *ag_permute(ag_graph *g, ag_tensor *x, const int *perm) {
  if (g->status) return NULL;
  if (!x || !ag_graph_value_of(g, x))
    return ag_graph_fail(g, AG_ERR_INVALID, "permute: input is missing or not of this graph"), NULL;
  ag_shape s = {x->dtype, x->ndim, {0}};
  int64_t stride[AG_MAX_DIMS];
  int seen[AG_MAX_DIMS] = {0};
  for (int i = 0; i < x->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= x->ndim || seen[perm[i]]++)
      return ag_graph_fail(g, AG_ERR_INVALID, "permute: perm is not a permutation of %d dims",
                           x->ndim),
             NULL;
    s.dims[i] = x->shape[perm[i]];
    stride[i] = x->stride[perm[i]];
  }
  ag_tensor *view = ag_graph_view(g, x, &s, stride, perm);
  return ag_graph_op(g, AG_OP_CONTIGUOUS, &(ag_op_call){.in = {view}}, NULL);
}

int ag_node_inputs(const ag_node *n) {
  const ag_op_info *info = ag_op_get_info(n->op);
  if (n->kind == AG_NODE_VIEW) return 0;
  return n->kind == AG_NODE_BACKWARD ? info->n_in + 2 * info->n_out : info->n_in;
}

int ag_node_outputs(const ag_node *n) {
  const ag_op_info *info = ag_op_get_info(n->op);
  if (n->kind == AG_NODE_VIEW) return 0;
  return n->kind == AG_NODE_BACKWARD ? info->n_in : info->n_out;
}

int ag_graph_node_count(const ag_graph *g) { return g->n_nodes; }
const ag_node *ag_graph_node(const ag_graph *g, int i) {
  return i >= 0 && i < g->n_nodes ? &g->nodes[i] : NULL;
}
int ag_graph_value_count(const ag_graph *g) { return g->n_values; }
ag_tensor *ag_graph_value(const ag_graph *g, int i) {
  return i >= 0 && i < g->n_values ? &g->values[i]->t : NULL;
}
unsigned ag_graph_value_flags(const ag_graph *g, int i) { return g->values[i]->flags; }
int ag_graph_value_base(const ag_graph *g, int i) { return g->values[i]->base; }
int ag_graph_value_producer(const ag_graph *g, int i) { return g->values[i]->producer; }
int ag_graph_param_count(const ag_graph *g) { return g->n_params; }
ag_tensor *ag_graph_param_at(const ag_graph *g, int i) {
  return i >= 0 && i < g->n_params ? &g->values[g->params[i]]->t : NULL;
}

ag_tensor *ag_graph_grad(const ag_graph *g, const ag_tensor *t) {
  for (int i = 0; i < g->n_values; i++) {
    const ag_value *v = g->values[i];
    if (&v->t == t || (v->external && v->external == t))
      return v->grad >= 0 ? &g->values[v->grad]->t : NULL;
  }
  return NULL;
}
