/* ag_op_list.h - every op, as X-macro entries, one file per op family:
 *   AG_OP(ID, name, n_in, n_out, differentiable, strided_inputs)
 * n_in / n_out count tensors; strided_inputs is a bitmask of the inputs that
 * may be non-contiguous views (all others, and every output, must be
 * contiguous). Each op needs `ag_infer_<name>` in runtime/ops/<family>.c.
 * Include with AG_OP defined; this file has no include guard on purpose. */
#include "ops/elementwise.list"
#include "ops/reduce.list"
#include "ops/layout.list"
#include "ops/random.list"
#include "ops/norm.list"
#include "ops/softmax.list"
#include "ops/matmul.list"
#include "ops/conv.list"
#include "ops/attention.list"
#include "ops/optim.list"
#include "ops/embedding.list"
