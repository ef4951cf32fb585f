/* The CUDA op table: the op set bound to the kernels/cuda launchers. */
#include "kernels/common/ag_kernels.h"

#define AG_KERNEL(name) ag_cuda_##name
#define AG_OP_TABLE ag_cuda_op_table
#include "runtime/ops/ops_bind.inc"
