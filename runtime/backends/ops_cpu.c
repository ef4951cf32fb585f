/* The CPU op table: the op set bound to kernels/cpu. */
#include "kernels/common/ag_kernels.h"

#define AG_KERNEL(name) ag_cpu_##name
#define AG_OP_TABLE ag_cpu_op_table
#include "runtime/ops/ops_bind.inc"
