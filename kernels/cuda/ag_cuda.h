/* ag_cuda.h - the one header every .cu file in kernels/cuda includes first.
 *
 * The same .cu sources are built two ways:
 *   - by nvcc for real GPUs: launchers are named ag_cuda_*, AG_LAUNCH is <<<>>>;
 *   - by the host C++ compiler with AG_CUDA_EMU defined, for the CUDA-on-CPU
 *     emulator in tests/cuda_emu/: launchers are named ag_emu_*, and the shim
 *     provides the CUDA built-ins (threadIdx, __syncthreads, shuffles, ...).
 * Both builds can be linked into one program, so kernels must have internal
 * linkage (declare them `static __global__`) and launchers must be named with
 * AG_CUDA_SYM. */
#ifndef AG_CUDA_H
#define AG_CUDA_H

#include "base/ag_base.h"

#ifdef AG_CUDA_EMU
#include "kernels/emu/ag_emu.h"
#define AG_CUDA_SYM(name) ag_emu_##name
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define AG_CUDA_SYM(name) ag_cuda_##name

/* Launch a kernel. The kernel expression must contain no top-level comma
 * (alias multi-parameter templates first). */
#define AG_LAUNCH(kernel, grid, block, smem, stream, ...)                      \
  kernel<<<(grid), (block), (smem), (cudaStream_t)(stream)>>>(__VA_ARGS__)

/* Dynamic shared memory: `AG_DYNAMIC_SMEM(float, buf);` declares `buf` as the
 * block's dynamically sized shared array (the launch's smem bytes). */
#define AG_DYNAMIC_SMEM(type, name) extern __shared__ type name[]
#endif

/* Turns the launch's error state into an ag_status naming the kernel. */
#define AG_LAUNCH_STATUS(what)                                                 \
  ag_cuda_launch_status_(cudaGetLastError(), (what), __FILE__, __LINE__)

static inline ag_status ag_cuda_launch_status_(cudaError_t err,
                                               const char *what,
                                               const char *file, int line) {
  if (err == cudaSuccess) return AG_OK;
  ag_status st = err == cudaErrorLaunchFailure ? AG_ERR_KERNEL : AG_ERR_DEVICE;
  return ag_set_error(st, "kernel %s failed: %s (%s:%d)", what,
                      cudaGetErrorString(err), file, line);
}

/* Grid size for `n` items at `per_block` items per block. */
static inline unsigned ag_cuda_blocks(int64_t n, int64_t per_block) {
  return (unsigned)((n + per_block - 1) / per_block);
}

#endif
