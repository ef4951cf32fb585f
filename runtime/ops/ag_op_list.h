/* ag_op_list.h - every op, as X-macro entries, one file per op family:
 *   AG_OP(ID, name, n_in, n_out, differentiable, strided_inputs)
 * n_in / n_out count tensors; strided_inputs is a bitmask of the inputs that
 * may be non-contiguous views (all others, and every output, must be
 * contiguous). Each op needs `ag_infer_<name>` in runtime/ops/<family>.c.
 * Include with AG_OP defined; this file has no include guard on purpose. */
#include "elementwise.list"
#include "reduce.list"
#include "layout.list"
#include "random.list"
#include "norm.list"
#include "softmax.list"
#include "matmul.list"
#include "conv.list"
#include "attention.list"
#include "optim.list"
#include "embedding.list"
