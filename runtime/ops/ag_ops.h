/* ag_ops.h - the op set. Every op (runtime/ag_op_list.h) has an id, a shape
 * inference function that validates a call, and one entry per backend in that
 * backend's op table. Calls are checked here, once, before a backend sees
 * them; the eager API of each family is in runtime/ops/<family>.h.
 *
 * Backward convention: in[] holds the n_in forward inputs, then the n_out
 * forward outputs, then the n_out output gradients (output 0's is required;
 * a NULL one for a later output, such as saved statistics, means zero); out[i]
 * receives the gradient of input i (NULL when it is not wanted). Gradients
 * are written, not accumulated. */
#ifndef AG_OPS_H
#define AG_OPS_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_op {
#define AG_OP(ID, name, n_in, n_out, grad, strided) AG_OP_##ID,
#include "ag_op_list.h"
#undef AG_OP
  AG_OP_COUNT
} ag_op;

#define AG_OP_MAX_ARGS 12

typedef struct ag_op_call {
  const ag_tensor *in[AG_OP_MAX_ARGS];
  ag_tensor *out[AG_OP_MAX_ARGS];
  float f[4];      /* float parameters (scale, eps, ...) */
  int64_t i[8];    /* integer parameters (axis, flags, strides, ...) */
  uint64_t u[2];   /* 64-bit parameters (seed, offset) */
  void *stream;    /* backend stream; NULL for the default */
  ag_backend *be;  /* set by ag_op_forward / ag_op_backward */
} ag_op_call;

typedef struct ag_op_info {
  const char *name;
  int n_in, n_out;
  int differentiable;
  unsigned strided_inputs; /* bitmask: inputs that may be non-contiguous */
} ag_op_info;

const ag_op_info *ag_op_get_info(ag_op op);
/* Looks an op up by name; returns AG_OP_COUNT when there is none. */
ag_op ag_op_by_name(const char *name);

/* Validates the inputs and parameters of a call and writes the n_out output
 * shapes. Errors name the op and the offending shapes. */
ag_status ag_op_infer(ag_op op, const ag_op_call *call, ag_shape *out);

/* Check the call (inputs, outputs against ag_op_infer, backends), then run
 * it on `be`. */
ag_status ag_op_forward(ag_backend *be, ag_op op, const ag_op_call *call);
ag_status ag_op_backward(ag_backend *be, ag_op op, const ag_op_call *call);

/* Runs a forward call on the backend of its first output. */
ag_status ag_op_eager(ag_op op, const ag_op_call *call);

#ifdef __cplusplus
}
#endif

#include "elementwise.h"
#include "reduce.h"
#include "layout.h"
#include "random.h"
#include "norm.h"
#include "softmax.h"
#include "matmul.h"
#include "conv.h"
#include "attention.h"
#include "optim.h"
#include "embedding.h"

#endif
