/* Collectives over the ranks of a job, one implementation per transport:
 *   kernels/cpu/collective.c   MPI on host memory (the CPU backend's);
 *   kernels/cuda/collective.cu NCCL on the backend's streams, and built for
 *                              the emulator, NCCL's stand-in over MPI
 *                              (kernels/emu/standin_nccl.cpp).
 * runtime/dist/ag_comm.h opens a handle with comm_init and installs it in the
 * backend's ag_kernel_ctx (`comm`); the handle names the kernels that made
 * it, so a host-memory backend may run its collectives on the CPU's MPI
 * kernels whatever its own table holds.
 *
 * Every rank calls the same collectives in the same order with the same
 * counts. Counts are elements of `dt`; buffers are contiguous. all_reduce
 * and broadcast may run in place (dst == src); all_gather and reduce_scatter
 * take separate buffers of world * n (src resp. dst holding n). Sums and
 * averages take float dtypes (f32, f16, bf16: f16/bf16 added in f32) or i32
 * (sum only); broadcast and all_gather move bytes of any dtype.
 *
 * Failure is bounded: an operation that has not completed within the
 * handle's timeout_s returns an error naming the collective, the rank and
 * the timeout, and marks the handle failed; a failed handle may only be
 * aborted. MPI operations complete before returning; NCCL operations are
 * enqueued on `stream` and `synchronize` waits for them, bounded the same
 * way (aborting the NCCL communicator on timeout). */

/* Bytes of the id rank 0 creates and every rank passes to comm_init (NCCL's
 * ncclUniqueId; MPI needs none). */
#define AG_COLLECTIVE_ID_BYTES 128

typedef enum ag_collective_op { AG_COLLECTIVE_SUM, AG_COLLECTIVE_AVG } ag_collective_op;

struct ag_collective_kernels;

/* What every implementation's handle starts with. */
typedef struct ag_collective_comm {
  const struct ag_collective_kernels *kernels; /* the implementation that made it */
  int rank, world;
  double timeout_s;
  int failed; /* an operation failed or timed out: abort it, never free it */
} ag_collective_comm;

typedef struct ag_collective_init_args {
  int rank, world;
  int device;       /* the backend's device ordinal (CUDA) */
  double timeout_s; /* > 0 */
  const unsigned char *id; /* AG_COLLECTIVE_ID_BYTES from rank 0's unique_id */
} ag_collective_init_args;

typedef ag_status ag_collective_unique_id_kernel(unsigned char id[AG_COLLECTIVE_ID_BYTES]);
/* Collective: every rank calls it with the same world and id. */
typedef ag_status ag_collective_comm_init_kernel(const ag_collective_init_args *a,
                                                 ag_collective_comm **out);
/* Frees a healthy handle (NULL is a no-op). */
typedef void ag_collective_comm_free_kernel(ag_collective_comm *c);
/* Frees a failed handle without waiting for any peer (NULL is a no-op). */
typedef void ag_collective_comm_abort_kernel(ag_collective_comm *c);
typedef ag_status ag_all_reduce_kernel(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                                       const void *src, void *dst, int64_t n, void *stream);
typedef ag_status ag_broadcast_kernel(ag_collective_comm *c, ag_dtype dt, void *data, int64_t n,
                                      int root, void *stream);
/* dst[r * n, (r + 1) * n) = rank r's src[0, n). */
typedef ag_status ag_all_gather_kernel(ag_collective_comm *c, ag_dtype dt, const void *src,
                                       void *dst, int64_t n, void *stream);
/* dst[0, n) on rank r = op over ranks of src[r * n, (r + 1) * n). */
typedef ag_status ag_reduce_scatter_kernel(ag_collective_comm *c, ag_dtype dt, ag_collective_op op,
                                           const void *src, void *dst, int64_t n, void *stream);
/* Waits, bounded by the timeout, until the collectives enqueued on `stream`
 * have completed. */
typedef ag_status ag_collective_synchronize_kernel(ag_collective_comm *c, void *stream);
/* Waits until every rank has called it (host only; the MPI handle). */
typedef ag_status ag_collective_barrier_kernel(ag_collective_comm *c);

/* The collective family's kernels on one backend. Without MPI in the build
 * the CPU table holds comm_init (which says so) and unique_id only: no
 * handle can exist to call the rest with. */
typedef struct ag_collective_kernels {
  ag_collective_unique_id_kernel *unique_id;
  ag_collective_comm_init_kernel *comm_init;
  ag_collective_comm_free_kernel *comm_free;
  ag_collective_comm_abort_kernel *comm_abort;
  ag_all_reduce_kernel *all_reduce;
  ag_broadcast_kernel *broadcast;
  ag_all_gather_kernel *all_gather;
  ag_reduce_scatter_kernel *reduce_scatter;
  ag_collective_synchronize_kernel *synchronize;
  ag_collective_barrier_kernel *barrier; /* NULL: the transport has none (NCCL) */
} ag_collective_kernels;

ag_collective_unique_id_kernel ag_cpu_collective_unique_id, ag_cuda_collective_unique_id,
    ag_emu_collective_unique_id;
ag_collective_comm_init_kernel ag_cpu_collective_comm_init, ag_cuda_collective_comm_init,
    ag_emu_collective_comm_init;
ag_collective_comm_free_kernel ag_cpu_collective_comm_free, ag_cuda_collective_comm_free,
    ag_emu_collective_comm_free;
ag_collective_comm_abort_kernel ag_cpu_collective_comm_abort, ag_cuda_collective_comm_abort,
    ag_emu_collective_comm_abort;
ag_all_reduce_kernel ag_cpu_all_reduce, ag_cuda_all_reduce, ag_emu_all_reduce;
ag_broadcast_kernel ag_cpu_broadcast, ag_cuda_broadcast, ag_emu_broadcast;
ag_all_gather_kernel ag_cpu_all_gather, ag_cuda_all_gather, ag_emu_all_gather;
ag_reduce_scatter_kernel ag_cpu_reduce_scatter, ag_cuda_reduce_scatter, ag_emu_reduce_scatter;
ag_collective_synchronize_kernel ag_cpu_collective_synchronize, ag_cuda_collective_synchronize,
    ag_emu_collective_synchronize;
ag_collective_barrier_kernel ag_cpu_collective_barrier;
extern const ag_collective_kernels ag_cpu_collective_kernels, ag_cuda_collective_kernels,
    ag_emu_collective_kernels;
