/* ag_comm.h - the main header of runtime/dist/, which owns distributed
 * execution: a communicator over the ranks of a job (this file) and
 * data-parallel training over it (ag_dp.h). MPI and NCCL are the transport;
 * aigc never invents its own.
 *
 * Back ends, one per communicator:
 *   single  one rank; every collective is a copy (or nothing), no library;
 *   mpi     CPU tensors (any host-memory backend), MPI collectives;
 *   nccl    device tensors: NCCL collectives on the backend's streams, the
 *           ncclUniqueId broadcast over MPI. On the emulated backend ("emu")
 *           the nccl* calls are served by a stand-in over MPI
 *           (kernels/emu/standin_nccl.cpp), so `mpirun -np 2` over emulated
 *           devices runs the same code path as real GPUs.
 * The collectives themselves are a kernel family (kernels/common/
 * ag_k_collective.h: MPI in kernels/cpu, NCCL in kernels/cuda); the
 * communicator's handle lives in the backend's ag_kernel_ctx (`comm`), so the
 * all-gather op of a graph (runtime/ops/collective.h) reaches it too.
 *
 * Launch: `mpirun -np N aigc ...` (multi-node: a hostfile, or Slurm's
 * `srun`). The rank, world size and local rank come from MPI; a GPU rank
 * takes device local_rank % devices (OMPI_COMM_WORLD_LOCAL_RANK,
 * SLURM_LOCALID or MPI_LOCALRANKID, read before any device is opened).
 *
 * Failure is never a hang: every collective waits at most `timeout_s`; past
 * it, or when a peer died, the call returns an error naming the collective,
 * the rank and the timeout, and the caller exits non-zero without
 * finalising (MPI: a watchdog polls the request; NCCL: the communicator is
 * aborted). A rank that gets SIGTERM from the launcher (a peer died) prints
 * one line saying so and exits 1. */
#ifndef AG_COMM_H
#define AG_COMM_H

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_comm_kind {
  AG_COMM_AUTO,   /* mpi when launched by mpirun/srun with > 1 rank, else single;
                     nccl instead of mpi on a cuda or emu backend */
  AG_COMM_SINGLE,
  AG_COMM_MPI,
  AG_COMM_NCCL,
} ag_comm_kind;

typedef enum ag_comm_op { AG_COMM_SUM, AG_COMM_AVG } ag_comm_op;

typedef struct ag_comm_opts {
  ag_comm_kind kind;
  double timeout_s; /* per collective; 0: $AG_DIST_TIMEOUT, else 60 */
} ag_comm_opts;

typedef struct ag_comm ag_comm;

/* "single", "mpi", "nccl" or "auto" -> kind; -1 for anything else. */
int ag_comm_kind_parse(const char *name);
const char *ag_comm_kind_name(ag_comm_kind kind);

/* Which rank this process is and how many there are, from the launcher's
 * environment, before MPI or a device is opened (1 rank without one). */
typedef struct ag_comm_env {
  int rank, world, local_rank;
  int launched; /* mpirun or srun started this process */
} ag_comm_env;
ag_comm_env ag_comm_env_read(void);

/* Opens the communicator for tensors on `be` (opts NULL: auto, the default
 * timeout), initialising MPI once per process when needed, and installs its
 * handle in be->libs.comm. One communicator per backend at a time; MPI is
 * finalised when the last one of the process closes, so a program opening
 * several in turn keeps one open. Collective: every rank opens it.
 * Errors: a kind the build lacks, nccl on a CPU backend, mpi on device
 * memory, a launcher without MPI, a bad timeout (opts or $AG_DIST_TIMEOUT). */
ag_status ag_comm_open(ag_backend *be, const ag_comm_opts *opts, ag_comm **out);
/* Frees the handle (after a barrier when every rank is healthy) and, with
 * the last communicator, finalises MPI. After a failed collective it does
 * neither, so the process can exit at once. */
void ag_comm_close(ag_comm *c);

int ag_comm_rank(const ag_comm *c);
int ag_comm_world(const ag_comm *c);
ag_comm_kind ag_comm_kind_of(const ag_comm *c);
ag_backend *ag_comm_backend(const ag_comm *c);

/* Collectives on contiguous float (f32, f16, bf16) or i32 tensors of the
 * communicator's backend (i32: sums only), ordered on `stream` (NULL: the
 * default stream). MPI calls complete before returning; NCCL calls return
 * once enqueued, and ag_comm_synchronize waits for them. Every rank calls
 * them in the same order with the same shapes. all-reduce may run in place
 * (dst == src); all-gather and reduce-scatter take separate tensors. On a
 * single communicator they are copies. */
ag_status ag_comm_all_reduce(ag_comm *c, ag_tensor *dst, const ag_tensor *src, ag_comm_op op,
                             void *stream);
ag_status ag_comm_broadcast(ag_comm *c, ag_tensor *t, int root, void *stream);
/* dst holds world * numel(src) elements: rank r's src at offset r * numel. */
ag_status ag_comm_all_gather(ag_comm *c, ag_tensor *dst, const ag_tensor *src, void *stream);
/* src holds world * numel(dst) elements; rank r gets the reduction of every
 * rank's r-th share. */
ag_status ag_comm_reduce_scatter(ag_comm *c, ag_tensor *dst, const ag_tensor *src, ag_comm_op op,
                                 void *stream);
/* Waits, at most the timeout, for the collectives enqueued on `stream`
 * (NCCL; nothing to wait for under MPI). Wait with this, not with the
 * backend's synchronize, so that a dead peer is an error rather than a hang. */
ag_status ag_comm_synchronize(ag_comm *c, void *stream);
/* Returns once every rank has called it (bounded like the collectives). */
ag_status ag_comm_barrier(ag_comm *c);

/* Byte-level helpers for host data (config strings, checkpoint metadata):
 * broadcast `bytes` from root, and the sum of a host double over ranks
 * (added in rank order, so every rank gets the same bits). */
ag_status ag_comm_broadcast_host(ag_comm *c, void *data, size_t bytes, int root);
ag_status ag_comm_sum_host(ag_comm *c, double *value);

#ifdef __cplusplus
}
#endif

#endif
