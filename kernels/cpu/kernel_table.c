/* The CPU backend's kernel table: every family's CPU kernels. */
#include "kernels/common/ag_kernels.h"

#define AG_CPU_FAMILY(family) .family = &ag_cpu_##family##_kernels,
const ag_kernel_table ag_cpu_kernel_table = {AG_FAMILIES(AG_CPU_FAMILY)};
