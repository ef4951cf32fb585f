/* graph_internal.h - what the graph, autograd and the scheduler share. */
#ifndef AG_GRAPH_INTERNAL_H
#define AG_GRAPH_INTERNAL_H

#include "ag_graph.h"

/* A graph value. `t` comes first: callers hold &v->t. */
typedef struct ag_value {
  ag_tensor t;         /* shape and dtype; memory is set by the scheduler */
  unsigned flags;      /* ag_value_flag */
  int index;           /* position in ag_graph.values */
  int base;            /* the value owning the memory (itself unless a view) */
  int64_t view_offset; /* elements from the base's first element */
  int permuted;        /* a view made by ag_permute: perm holds the order */
  int perm[AG_MAX_DIMS];
  int producer;        /* node writing it; -1 for leaves */
  int grad;            /* its gradient value after ag_backward, else -1 */
  ag_tensor *external; /* the caller's tensor behind a parameter or constant */
  ag_tensor *owned;    /* the tensor allocated for an input */
} ag_value;

struct ag_graph {
  ag_backend *be;
  ag_value **values;
  int n_values, cap_values;
  ag_node *nodes;
  int n_nodes, cap_nodes;
  int *params; /* value indices */
  int n_params, cap_params;
  int differentiated; /* ag_backward has run */
  int planned;        /* a live ag_sched owns the values' memory */
  ag_status status;
  char error[512];
};

/* The index of a tensor known to be a value of its graph (every tensor a
 * node names is): the tensor is the first member of its ag_value. */
static inline int ag_value_id(const ag_tensor *t) {
  return ((const ag_value *)(const void *)t)->index;
}

/* How many tensors a node's call reads and writes (ag_ops.h's convention
 * for backward calls); views count none. */
int ag_node_inputs(const ag_node *n);
int ag_node_outputs(const ag_node *n);

/* Records the first error of a graph (later ones are dropped: they are
 * usually consequences) and sets ag_last_error to it. */
ag_status ag_graph_fail(ag_graph *g, ag_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
ag_value *ag_graph_new_value(ag_graph *g, const ag_shape *s, unsigned flags);
ag_value *ag_graph_value_of(const ag_graph *g, const ag_tensor *t);
/* Appends a node of `kind` whose n_out outputs are new values of `shapes`;
 * `call->out` is ignored and filled. Returns the node (valid until the next
 * append) or NULL. */
ag_node *ag_graph_record(ag_graph *g, ag_node_kind kind, ag_op op, const ag_op_call *call,
                         const ag_shape *shapes, int n_out, ag_tensor **outs);
/* A view of x with shape s and the given strides; perm when made by permute. */
ag_tensor *ag_graph_view(ag_graph *g, ag_tensor *x, const ag_shape *s, const int64_t *stride,
                         const int *perm);

#endif
