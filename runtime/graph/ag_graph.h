/* ag_graph.h - recorded computation. Ops added to a graph are checked and
 * recorded, not run: `y = ag_matmul(g, a, b)` appends a node whose output y
 * has a shape and dtype but no memory until the graph is planned by the
 * scheduler (runtime/ag_sched.h). A graph is built once and run many times.
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

/* ---- builders, one per op or common composition -------------------------- */

ag_tensor *ag_add(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_sub(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_mul(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_div(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_scale(ag_graph *g, ag_tensor *x, float s);
/* Any parameterless unary op (AG_OP_RELU, AG_OP_GELU, AG_OP_EXP, ...). */
ag_tensor *ag_unary(ag_graph *g, ag_op op, ag_tensor *x);
ag_tensor *ag_relu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_gelu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_silu(ag_graph *g, ag_tensor *x);
ag_tensor *ag_leaky_relu(ag_graph *g, ag_tensor *x, float slope);
ag_tensor *ag_cast(ag_graph *g, ag_tensor *x, ag_dtype dt);
/* A tensor of the given shape filled with `value`. */
ag_tensor *ag_full(ag_graph *g, ag_dtype dt, int ndim, const int64_t *shape, float value);

/* Reductions over one axis (negative counts from the end). */
ag_tensor *ag_sum(ag_graph *g, ag_tensor *x, int axis, int keepdim);
ag_tensor *ag_mean(ag_graph *g, ag_tensor *x, int axis, int keepdim);
/* The mean of every element, as a [1] tensor. */
ag_tensor *ag_mean_all(ag_graph *g, ag_tensor *x);

/* Views and layout. reshape is a view (no node); permute writes a
 * contiguous copy; split and concat work along one axis. */
ag_tensor *ag_reshape(ag_graph *g, ag_tensor *x, int ndim, const int64_t *shape);
ag_tensor *ag_permute(ag_graph *g, ag_tensor *x, const int *perm);
ag_tensor *ag_concat(ag_graph *g, ag_tensor *a, ag_tensor *b, int axis);
ag_status ag_split(ag_graph *g, ag_tensor *x, int axis, int64_t at, ag_tensor **y0, ag_tensor **y1);
ag_tensor *ag_gather(ag_graph *g, ag_tensor *x, ag_tensor *idx, int axis);
ag_tensor *ag_embedding(ag_graph *g, ag_tensor *table, ag_tensor *ids);

/* y = act(op(a) @ op(b)); see ag_matmul_opts. */
ag_tensor *ag_matmul(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_matmul_ex(ag_graph *g, ag_tensor *a, ag_tensor *b, ag_tensor *bias,
                        ag_matmul_opts opts);
/* A dense layer in PyTorch's layout: y = act(x @ w^T + bias), w [out, in],
 * bias [out] or NULL; act is an AG_MATMUL_EPI_* epilogue. */
ag_tensor *ag_linear(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias, int act);

ag_tensor *ag_conv2d(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *bias,
                     const ag_conv2d_params *p);
ag_tensor *ag_conv_transpose2d(ag_graph *g, ag_tensor *x, ag_tensor *w, const ag_conv2d_params *p);
ag_tensor *ag_avgpool2d(ag_graph *g, ag_tensor *x, int k);
ag_tensor *ag_upsample_nearest2x(ag_graph *g, ag_tensor *x);

ag_tensor *ag_layernorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, float eps);
ag_tensor *ag_rmsnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, float eps);
ag_tensor *ag_groupnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, int groups,
                        float eps);

/* softmax(scale * x) over the last dim (scale 0 means 1). */
ag_tensor *ag_softmax(ag_graph *g, ag_tensor *x, float scale, int causal);
ag_tensor *ag_log_softmax(ag_graph *g, ag_tensor *x);
/* Mean softmax cross-entropy of logits [N, C] against i32 targets [N], [1]. */
ag_tensor *ag_cross_entropy(ag_graph *g, ag_tensor *logits, ag_tensor *targets);
ag_tensor *ag_mse_loss(ag_graph *g, ag_tensor *a, ag_tensor *b);

/* Multi-head attention on q [B,H,Tq,D], k and v [B,H,Tk,D]; scale 0 means
 * 1/sqrt(D). */
ag_tensor *ag_attention(ag_graph *g, ag_tensor *q, ag_tensor *k, ag_tensor *v, float scale,
                        int causal);

#ifdef __cplusplus
}
#endif

#endif
