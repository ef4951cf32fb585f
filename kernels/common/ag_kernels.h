/* ag_kernels.h - every kernel's entry point, for every backend.
 *
 * Each op family declares its kernels once, in kernels/common/ag_k_<family>.h:
 * one function type per kernel (ag_<name>_kernel), the family's table of
 * them (ag_<family>_kernels), and the three implementations of each:
 *   ag_cpu_*   the CPU kernels (kernels/cpu), the reference and the fallback;
 *   ag_cuda_*  the CUDA launchers (kernels/cuda, built by nvcc);
 *   ag_emu_*   the same launchers built for the CUDA-on-CPU emulator.
 * One function type for all three keeps their signatures identical. Each
 * family's table is defined at the end of its kernel file (cpu/<family>.c,
 * cuda/<family>.cu), and a backend holds one ag_kernel_table with a pointer
 * to every family's: the op bindings (runtime/ops/bind_<family>.c) call
 * through it, compiled once for every backend. Pointers are raw device (or
 * host) addresses of contiguous data; `stream` is the backend's stream
 * (ignored on the CPU). */
#ifndef AG_KERNELS_H
#define AG_KERNELS_H

#include "ag_families.h"
#include "ag_strided.h"
#include "base/ag_base.h"

#ifdef __cplusplus
extern "C" {
#endif

#include "ag_family_kernels.h"

/* One pointer per family (one per runtime/ops/<family>.list). */
typedef struct ag_kernel_table {
#define AG_KERNEL_TABLE_MEMBER(family) const ag_##family##_kernels *family;
  AG_FAMILIES(AG_KERNEL_TABLE_MEMBER)
#undef AG_KERNEL_TABLE_MEMBER
} ag_kernel_table;

/* kernels/cpu/kernel_table.c, kernels/cuda/kernel_table.cu. */
extern const ag_kernel_table ag_cpu_kernel_table, ag_cuda_kernel_table, ag_emu_kernel_table;

#ifdef __cplusplus
}
#endif

#endif
