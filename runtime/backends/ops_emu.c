/* The emulator's op table: the op set bound to the kernels/cuda launchers as
 * compiled for the CUDA-on-CPU emulator (ag_emu_* symbols). */
#include "kernels/common/ag_kernels.h"

#define AG_KERNEL(name) ag_emu_##name
#define AG_OP_TABLE ag_emu_op_table
#include "runtime/ops/ops_bind.inc"
