/* ag_ops.h - the op set, owned by runtime/ops/. Every op has an id, a shape
 * inference function that validates a call, and one binding (bind_<family>.c)
 * that turns a checked call into kernel calls through the backend's kernel
 * table. Ops come in families, each a runtime/ops/<family>.list of entries
 * (the families are found by runtime/ops/families.cmake), with its typed
 * arguments and graph builders in <family>.h. Calls are checked here, once,
 * before a backend sees them; see docs/ADDING_AN_OP.md.
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
#define AG_OP(ID, name, n_in, n_out, grad, strided, inplace) AG_OP_##ID,
#include "ag_family_lists.h"
#undef AG_OP
  AG_OP_COUNT
} ag_op;

/* The in-place column of an op's entry: which output may take an input's
 * memory when that input dies at the node (the scheduler decides). Only ops
 * whose kernels read element i of that input just to write element i of the
 * output qualify. */
typedef enum ag_inplace {
  AG_INPLACE_NO,      /* never */
  AG_INPLACE_FWD,     /* forward: output 0 over input 0 */
  AG_INPLACE_FWD_BWD, /* and backward: input 0's gradient over output 0's */
} ag_inplace;

#define AG_OP_MAX_ARGS 12

typedef struct ag_op_call {
  const ag_tensor *in[AG_OP_MAX_ARGS];
  ag_tensor *out[AG_OP_MAX_ARGS];
  /* Parameter storage. Only the op's family reads or writes it, through
   * the typed argument struct and its encode/decode pair (<family>.h). */
  float f[4];
  int64_t i[8];
  uint64_t u[2];
  void *stream;    /* backend stream; NULL for the default */
  ag_backend *be;  /* set by ag_op_forward / ag_op_backward */
} ag_op_call;

typedef struct ag_op_info {
  const char *name;
  int n_in, n_out;
  int differentiable;
  unsigned strided_inputs; /* bitmask: inputs that may be non-contiguous */
  ag_inplace inplace;
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

/* Whether `be` has the op's forward (or backward) at all: the op has one
 * and the backend has its family's kernels. AG_OK or AG_ERR_UNSUPPORTED. */
ag_status ag_op_has_kernel(const ag_backend *be, ag_op op, int backward);
/* Whether `be` can run this call: it has the kernel, and the backend's
 * limits (dtypes, shapes, shared memory) admit these shapes. AG_OK or
 * AG_ERR_UNSUPPORTED with the reason. The scheduler asks this of every node
 * when a graph is planned. */
ag_status ag_op_supported(ag_backend *be, ag_op op, const ag_op_call *call, int backward);

/* Runs a forward call on the backend of its first output. */
ag_status ag_op_eager(ag_op op, const ag_op_call *call);

#ifdef __cplusplus
}
#endif

#include "ag_family_ops.h"

#endif
