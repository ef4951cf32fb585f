/* ag_graph.h - the main header of runtime/graph/, which owns recorded
 * computation: graphs and their values, views (reshape, permute), autograd,
 * and named parameter sets (ag_params.h). Op builders live with their
 * families (runtime/ops/<family>.h) and record through ag_graph_op.
 * Recorded computation: Ops added to a graph are checked and
 * recorded, not run: `y = ag_matmul(g, a, b)` appends a node whose output y
 * has a shape and dtype but no memory until the graph is planned by the
 * scheduler (runtime/sched/ag_sched.h). A graph is built once and run many times.
 *
 * Values are ag_tensor pointers owned by the graph. Leaves come in three
 * kinds, all resident (they keep their memory for the life of the graph):
 *   - parameters wrap a caller's tensor and take a gradient;
 *   - constants wrap a caller's tensor and take none;
 *   - inputs are allocated by the graph; the caller writes them before a run.
 * Everything else is an intermediate, placed in the scheduler's arena, unless
 * it is flagged as an output (ag_graph_output) or is a parameter gradient.
 *
 * Errors: a builder that fails returns NULL and records the message; any
 * builder given a NULL input returns NULL too, so a model can be written
 * straight through and checked once with ag_graph_status. */
#ifndef AG_GRAPH_H
#define AG_GRAPH_H

#include "runtime/ops/ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

typedef enum ag_value_flag {
  AG_VALUE_PARAM = 1u << 0,  /* caller's tensor, takes a gradient */
  AG_VALUE_CONST = 1u << 1,  /* caller's tensor, no gradient */
  AG_VALUE_INPUT = 1u << 2,  /* graph-allocated, written by the caller */
  AG_VALUE_OUTPUT = 1u << 3, /* kept resident and readable after a run */
  AG_VALUE_GRAD = 1u << 4,   /* the gradient of a parameter */
  AG_VALUE_VIEW = 1u << 5,   /* shares the memory of another value */
} ag_value_flag;

typedef enum ag_node_kind {
  AG_NODE_FORWARD,  /* the op's forward kernel */
  AG_NODE_BACKWARD, /* the op's backward kernel (ag_ops.h convention) */
  AG_NODE_VIEW,     /* out[0] is a view of in[0]: no kernel, no memory */
} ag_node_kind;

/* A node: one op call on graph values. */
typedef struct ag_node {
  ag_node_kind kind;
  ag_op op;        /* AG_OP_COUNT for views */
  ag_op_call call; /* in/out point at graph values */
} ag_node;

ag_graph *ag_graph_new(ag_backend *be);
void ag_graph_free(ag_graph *g);
ag_backend *ag_graph_backend(const ag_graph *g);

/* AG_OK, or the first error a builder met (message in ag_graph_error). */
ag_status ag_graph_status(const ag_graph *g);
const char *ag_graph_error(const ag_graph *g);
/* Records an error met while building on the graph's behalf (a layer that
 * could not create its weights); the first error sticks. Returns st. */
ag_status ag_graph_set_error(ag_graph *g, ag_status st, const char *msg);

/* Leaves. A parameter or constant wraps a contiguous tensor of the caller on
 * the graph's backend; wrapping the same tensor twice gives the same value. */
ag_tensor *ag_graph_param(ag_graph *g, ag_tensor *t);
ag_tensor *ag_graph_const(ag_graph *g, ag_tensor *t);
ag_tensor *ag_graph_input(ag_graph *g, const char *name, ag_dtype dt, int ndim,
                          const int64_t *shape);
/* Keeps `t` resident so it can be read after ag_sched_run. Returns t. */
ag_tensor *ag_graph_output(ag_graph *g, ag_tensor *t);
/* Names a value (shown in errors and traces). Returns t. */
ag_tensor *ag_graph_name(ag_tensor *t, const char *name);

/* Reverse-mode autograd: appends the gradient nodes of `loss` (a float tensor
 * of one element) with respect to every parameter it depends on. Gradients
 * of values used more than once are summed; branches no parameter reaches
 * are skipped. Afterwards ag_graph_grad gives each parameter's gradient
 * (resident; NULL for a parameter the loss does not depend on). */
ag_status ag_backward(ag_graph *g, ag_tensor *loss);
/* The gradient of `t`: a graph parameter or the caller's tensor it wraps. */
ag_tensor *ag_graph_grad(const ag_graph *g, const ag_tensor *t);

/* Inspection, for the scheduler and tests. */
int ag_graph_node_count(const ag_graph *g);
const ag_node *ag_graph_node(const ag_graph *g, int i);
int ag_graph_value_count(const ag_graph *g);
ag_tensor *ag_graph_value(const ag_graph *g, int i);
/* Index of a value in this graph, or -1 when it is not one of its values.
 * (Values are found by address; a graph holds at most a few thousand.) */
int ag_graph_value_index(const ag_graph *g, const ag_tensor *t);
unsigned ag_graph_value_flags(const ag_graph *g, int i);
/* The value whose memory a view shares (itself when not a view). */
int ag_graph_value_base(const ag_graph *g, int i);
/* The node that writes value i, or -1 for leaves and views. */
int ag_graph_value_producer(const ag_graph *g, int i);
/* Parameters, in the order they were added. */
int ag_graph_param_count(const ag_graph *g);
ag_tensor *ag_graph_param_at(const ag_graph *g, int i);

/* Records any op: `call->in` holds graph values, parameters as the op
 * defines them; the outputs are created from the op's shape inference and
 * returned through `outs` (n_out of them). Returns out 0. */
ag_tensor *ag_graph_op(ag_graph *g, ag_op op, const ag_op_call *call, ag_tensor **outs);
/* Records an op without inputs (a fill): its one output takes dtype `dt`
 * and the given shape, which the op's inference checks. Returns it. */
ag_tensor *ag_graph_source(ag_graph *g, ag_op op, const ag_op_call *call, ag_dtype dt, int ndim,
                           const int64_t *shape);

/* ---- builders, one per op or common composition -------------------------- */

/* Views. reshape is a view (no node); permute writes a contiguous copy.
 * The other builders live with their op families (runtime/ops/<family>.h). */
ag_tensor *ag_reshape(ag_graph *g, ag_tensor *x, int ndim, const int64_t *shape);
ag_tensor *ag_permute(ag_graph *g, ag_tensor *x, const int *perm);

#ifdef __cplusplus
}
#endif

#endif
