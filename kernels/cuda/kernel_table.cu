/* The CUDA backend's kernel table (and, built for the emulator, the emu
 * backend's): every family's launchers. */
#include "ag_cuda.h"
#include "kernels/common/ag_kernels.h"

#define AG_CUDA_FAMILY(family) .family = &AG_CUDA_SYM(family##_kernels),
extern "C" const ag_kernel_table AG_CUDA_SYM(kernel_table) = {AG_FAMILIES(AG_CUDA_FAMILY)};
