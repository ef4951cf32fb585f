/* ag_kernel_ctx.h - the library handles library-backed kernels keep between
 * calls (cuBLASLt, cuDNN, oneDNN, the communicator's NCCL or MPI handle). A
 * kernel-layer notion: the base floor knows nothing of libraries, and a
 * backend owns one of these per device. */
#ifndef AG_KERNEL_CTX_H
#define AG_KERNEL_CTX_H

/* Per-device state kept between kernel calls by library-backed kernels (a
 * cuBLASLt or cuDNN handle and its workspace). Owned by the backend, zeroed
 * when it is created, filled lazily by the kernels that need it. */
typedef struct ag_kernel_ctx {
  int device;
  void *blas;             /* e.g. cublasLtHandle_t */
  void *blas_workspace;   /* the matmul kernels' per-stream workspaces */
  void *dnn;              /* e.g. cudnnHandle_t */
  void *onednn;           /* the CPU kernels' oneDNN state (kernels/cpu/cpu_dnnl.h) */
  /* The communicator's handle (an ag_collective_comm, kernels/common/
   * ag_k_collective.h) while runtime/dist has one open on this backend, else
   * NULL: the all-gather op reaches its peers through it. */
  void *comm;
} ag_kernel_ctx;

#endif
