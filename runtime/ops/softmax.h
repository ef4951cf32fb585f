/* softmax.h - typed arguments, graph builders and eager API of the softmax
 * and loss ops (see softmax.list). */
#ifndef AG_OPS_SOFTMAX_H
#define AG_OPS_SOFTMAX_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* SOFTMAX: softmax(scale * x) over the last dim (scale 0 means 1); `causal`
 * masks a [.., T, S] input bottom-right aligned (needs S >= T). */
typedef struct ag_softmax_args {
  float scale;
  int causal;
} ag_softmax_args;

/* CROSS_ENTROPY: rows whose target is ignore_index give loss 0 and no
 * gradient when has_ignore; label smoothing in [0, 1] as PyTorch defines it. */
typedef struct ag_cross_entropy_args {
  int has_ignore;
  int64_t ignore_index;
  float label_smoothing;
} ag_cross_entropy_args;

/* HUBER_LOSS: the quadratic-to-linear threshold (0 means 1). */
typedef struct ag_huber_args {
  float delta;
} ag_huber_args;

void ag_softmax_args_encode(ag_op_call *c, const ag_softmax_args *a);
ag_softmax_args ag_softmax_args_decode(const ag_op_call *c);
void ag_cross_entropy_args_encode(ag_op_call *c, const ag_cross_entropy_args *a);
ag_cross_entropy_args ag_cross_entropy_args_decode(const ag_op_call *c);
void ag_huber_args_encode(ag_op_call *c, const ag_huber_args *a);
ag_huber_args ag_huber_args_decode(const ag_op_call *c);

/* Graph builders. */
/* softmax(scale * x) over the last dim (scale 0 means 1). */
ag_tensor *ag_softmax(ag_graph *g, ag_tensor *x, float scale, int causal);
ag_tensor *ag_log_softmax(ag_graph *g, ag_tensor *x);
/* Mean softmax cross-entropy of logits [N, C] against i32 targets [N], [1]. */
ag_tensor *ag_cross_entropy(ag_graph *g, ag_tensor *logits, ag_tensor *targets);
/* Mean losses of a against b, f32 [1]. */
ag_tensor *ag_mse_loss(ag_graph *g, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_huber_loss(ag_graph *g, ag_tensor *a, ag_tensor *b, float delta);

/* Eager softmax (see ag_softmax_args). */
ag_status ag_eager_softmax(ag_tensor *y, const ag_tensor *x, float scale, int causal);

#ifdef __cplusplus
}
#endif

#endif
