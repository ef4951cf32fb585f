/* ag_ops.h - the op set. Each op has an id, a description used for checking
 * calls, and one entry per backend in that backend's op table. Calls are
 * checked here, once, before any backend sees them.
 *
 * Backward convention: in[] holds the forward inputs, then the forward output,
 * then the gradient of that output; out[i] receives the gradient of input i
 * (NULL when that gradient is not wanted). Gradients are written, not added. */
#ifndef AG_OPS_H
#define AG_OPS_H

#include "ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_op {
  AG_OP_ADD,          /* y = a + b */
  AG_OP_MUL,          /* y = a * b */
  AG_OP_SCALE,        /* y = f[0] * a */
  AG_OP_GELU,         /* y = gelu_tanh(x) */
  AG_OP_SILU,         /* y = x * sigmoid(x) */
  AG_OP_SUM,          /* y[..., 0] = sum over the last dim of x */
  AG_OP_CONTIGUOUS,   /* y = x laid out contiguously */
  AG_OP_FILL_UNIFORM, /* y ~ U[f[0], f[1]) from Philox(seed u[0], offset u[1]) */
  AG_OP_FILL_NORMAL,  /* y ~ N(f[0], f[1]^2) from Philox(seed u[0], offset u[1]) */
  AG_OP_COUNT
} ag_op;

#define AG_OP_MAX_ARGS 6

typedef struct ag_op_call {
  const ag_tensor *in[AG_OP_MAX_ARGS];
  ag_tensor *out[AG_OP_MAX_ARGS];
  float f[4];    /* float parameters */
  uint64_t u[2]; /* integer parameters (seed, offset) */
  void *stream;  /* backend stream; NULL for the default */
} ag_op_call;

typedef struct ag_op_info {
  const char *name;
  int n_in;          /* forward inputs */
  int differentiable;
} ag_op_info;

const ag_op_info *ag_op_get_info(ag_op op);
/* Looks an op up by name; returns AG_OP_COUNT when there is none. */
ag_op ag_op_by_name(const char *name);

/* Check shapes/dtypes/backends, then run on `be`. Errors name the op. */
ag_status ag_op_forward(ag_backend *be, ag_op op, const ag_op_call *call);
ag_status ag_op_backward(ag_backend *be, ag_op op, const ag_op_call *call);

/* Eager conveniences over ag_op_forward on the tensors' backend. */
ag_status ag_add(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_mul(ag_tensor *y, const ag_tensor *a, const ag_tensor *b);
ag_status ag_scale(ag_tensor *y, const ag_tensor *a, float s);
ag_status ag_gelu(ag_tensor *y, const ag_tensor *x);
ag_status ag_silu(ag_tensor *y, const ag_tensor *x);
ag_status ag_sum(ag_tensor *y, const ag_tensor *x);
ag_status ag_fill_uniform(ag_tensor *y, uint64_t seed, uint64_t offset, float lo, float hi);
ag_status ag_fill_normal(ag_tensor *y, uint64_t seed, uint64_t offset, float mean, float std);

#ifdef __cplusplus
}
#endif

#endif
