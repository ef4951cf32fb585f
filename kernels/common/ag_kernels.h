/* ag_kernels.h - every kernel's entry point, for every backend.
 *
 * Each op family declares its kernels once, in kernels/common/ag_k_<family>.h,
 * as a macro over a name prefix P:
 *   ag_cpu_*   the CPU kernels (kernels/cpu), the reference and the fallback;
 *   ag_cuda_*  the CUDA launchers (kernels/cuda, built by nvcc);
 *   ag_emu_*   the same launchers built for the CUDA-on-CPU emulator.
 * One declaration for all three keeps their signatures identical, which is
 * what lets runtime/ops_bind.inc bind the op set to any of them. Pointers are
 * raw device (or host) addresses of contiguous data; `stream` is the
 * backend's stream (ignored on the CPU). */
#ifndef AG_KERNELS_H
#define AG_KERNELS_H

#include "base/ag_base.h"
#include "ag_strided.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_DECLARE_KERNELS(LIST)                                               \
  LIST(ag_cpu_)                                                                \
  LIST(ag_cuda_)                                                               \
  LIST(ag_emu_)

#include "ag_k_elementwise.h"
#include "ag_k_reduce.h"
#include "ag_k_layout.h"
#include "ag_k_random.h"
#include "ag_k_norm.h"
#include "ag_k_softmax.h"
#include "ag_k_matmul.h"
#include "ag_k_conv.h"
#include "ag_k_attention.h"
#include "ag_k_optim.h"
#include "ag_k_embedding.h"

#ifdef __cplusplus
}
#endif

#endif
