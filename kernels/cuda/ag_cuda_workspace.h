/* ag_cuda_workspace.h - scratch memory for library calls (cuBLASLt, cuDNN),
 * one block per stream: calls on two streams may run at once, so they must
 * never share one. A scheduler uses at most 8 streams, plus the default. */
#ifndef AG_CUDA_WORKSPACE_H
#define AG_CUDA_WORKSPACE_H

#include <cstdlib>

#include "ag_cuda.h"

/* The nvcc and emulator builds of a .cu are linked into one test program,
 * so the type lives in an anonymous namespace (see conv.cu). */
namespace {

struct ag_stream_workspaces {
  struct {
    void *stream;
    void *ptr;
    size_t bytes;
  } slot[16];
  int n;
};

}  // namespace

/* Device memory; the emulator's device memory is host memory. */
static inline cudaError_t ag_workspace_alloc(void **p, size_t bytes) {
#ifdef AG_CUDA_EMU
  *p = std::malloc(bytes > 0 ? bytes : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
#else
  return cudaMalloc(p, bytes);
#endif
}

static inline void ag_workspace_free(void *p) {
#ifdef AG_CUDA_EMU
  std::free(p);
#else
  cudaFree(p);
#endif
}

/* A workspace of at least `bytes` for `stream`, allocated on first use and
 * grown on demand. Growing frees the old block first: cudaFree waits for
 * the device, so no queued call still uses it. (A planned graph's first
 * run, never captured, does the allocating.) `what` names the kernel. */
static inline ag_status ag_stream_workspace(ag_stream_workspaces *w, void *stream, size_t bytes,
                                            const char *what, void **out) {
  int i = 0;
  while (i < w->n && w->slot[i].stream != stream) i++;
  if (i == w->n) {
    if (w->n == (int)(sizeof w->slot / sizeof w->slot[0]))
      return ag_set_error(AG_ERR_UNSUPPORTED, "cuda kernel %s: more than %d streams", what, w->n);
    w->slot[w->n++] = {stream, nullptr, 0};
  }
  if (bytes > w->slot[i].bytes) {
    if (w->slot[i].ptr) ag_workspace_free(w->slot[i].ptr);
    w->slot[i].ptr = nullptr;
    w->slot[i].bytes = 0;
    cudaError_t e = ag_workspace_alloc(&w->slot[i].ptr, bytes);
    if (e != cudaSuccess) {
      w->slot[i].ptr = nullptr;
      return ag_set_error(AG_ERR_OOM, "cuda kernel %s: no workspace of %zu bytes: %s", what,
                          bytes, cudaGetErrorString(e));
    }
    w->slot[i].bytes = bytes;
  }
  *out = w->slot[i].ptr;
  return AG_OK;
}

#endif
