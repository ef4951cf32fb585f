/* norm.h - typed arguments and graph builders of the
 * normalisation ops. Saved statistics (mean, rstd, invstd) and running
 * statistics are f32; the rest share x's dtype. */
#ifndef AG_OPS_NORM_H
#define AG_OPS_NORM_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* Arguments of layernorm, layernorm_noaffine and rmsnorm. */
typedef struct ag_norm_args {
  float eps;
} ag_norm_args;

typedef struct ag_groupnorm_args {
  int64_t groups; /* divides the channels */
  float eps;
} ag_groupnorm_args;

/* training: normalise with the batch statistics and update the running ones
 * with `momentum`; else normalise with the running statistics. */
typedef struct ag_batchnorm_args {
  int training;
  float eps, momentum;
} ag_batchnorm_args;

/* The one place a call's parameter slots are read or written for the family. */
void ag_norm_args_encode(ag_op_call *c, const ag_norm_args *a);
ag_norm_args ag_norm_args_decode(const ag_op_call *c);
void ag_groupnorm_args_encode(ag_op_call *c, const ag_groupnorm_args *a);
ag_groupnorm_args ag_groupnorm_args_decode(const ag_op_call *c);
void ag_batchnorm_args_encode(ag_op_call *c, const ag_batchnorm_args *a);
ag_batchnorm_args ag_batchnorm_args_decode(const ag_op_call *c);

/* Graph builders; each returns y (the saved statistics stay internal). */
ag_tensor *ag_layernorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b, float eps);
ag_tensor *ag_rmsnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, float eps);
ag_tensor *ag_groupnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                        ag_groupnorm_args args);
/* BatchNorm of x [N, C, ...]; running_mean and running_var [C] (f32) are read,
 * not written: when `running` is not NULL it receives the value holding the
 * new running mean (row 0) and variance (row 1), [2, C] f32, for the caller
 * to copy back after a run (ag_graph_output keeps it readable). */
ag_tensor *ag_batchnorm(ag_graph *g, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                        ag_tensor *running_mean, ag_tensor *running_var, ag_batchnorm_args args,
                        ag_tensor **running);

#ifdef __cplusplus
}
#endif

#endif
