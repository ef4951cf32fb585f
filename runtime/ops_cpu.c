/* The CPU op table: the op set bound to kernels/cpu. */
#include "ag_ops.h"
#include "kernels/cpu/ag_cpu.h"

#define AG_KERNEL(name) ag_cpu_##name
#define AG_OP_TABLE ag_cpu_op_table
#include "ops_bind.inc"
