/* Collectives over NCCL (kernels/common/ag_k_collective.h), enqueued on the
 * backend's streams; built for the emulator they run on NCCL's stand-in over
 * MPI (kernels/emu/ag_emu_nccl.h).
 *
 * The communicator is nonblocking (config.blocking = 0), so no NCCL call can
 * hang the host: init and each collective return at once, possibly with
 * ncclInProgress, and the launcher polls ncclCommGetAsyncError until the
 * call has taken effect. `synchronize` polls the stream and the
 * communicator's asynchronous error the same way. Every poll is bounded by
 * the handle's timeout; past it the NCCL communicator is aborted (which also
 * unblocks its kernels on the GPU) and the handle is marked failed. */
#include "ag_cuda.h"
#include "kernels/common/ag_kernels.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <new>

#ifdef AG_CUDA_EMU
#include "kernels/emu/ag_emu_nccl.h"
#else
#include <nccl.h>
#endif

static_assert(sizeof(ncclUniqueId) == AG_COLLECTIVE_ID_BYTES, "the id is NCCL's");

namespace {

#ifdef AG_CUDA_EMU
/* Emulated launches complete before returning, so a stream is idle once its
 * pending error is read; there is one emulated device. */
cudaError_t stream_state(cudaStream_t s) { return cudaStreamSynchronize(s); }
cudaError_t use_device(int) { return cudaSuccess; }
#else
cudaError_t stream_state(cudaStream_t s) { return cudaStreamQuery(s); }
cudaError_t use_device(int device) { return cudaSetDevice(device); }
#endif

struct NcclComm {
  ag_collective_comm base; /* first: the handle runtime/dist holds */
  ncclComm_t comm;         /* NULL once aborted */
};

NcclComm *nccl_of(ag_collective_comm *c) { return reinterpret_cast<NcclComm *>(c); }

double now_s() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Sleeps growing from 10 us to 1 ms between polls. */
void nap(long *ns) {
  timespec t = {0, *ns};
  nanosleep(&t, nullptr);
  if (*ns < 1000000) *ns *= 2;
}

void abort_comm(NcclComm *c) {
  if (c->comm) ncclCommAbort(c->comm);
  c->comm = nullptr;
  c->base.failed = 1;
}

ag_status timed_out(NcclComm *c, const char *what) {
  abort_comm(c);
  return ag_set_error(AG_ERR_DEVICE,
                      "dist: %s (rank %d of %d) did not complete within %g s: a rank died or "
                      "stopped calling collectives",
                      what, c->base.rank, c->base.world, c->base.timeout_s);
}

ag_status nccl_failed(NcclComm *c, const char *what, ncclResult_t r) {
  char detail[512] = "";
  if (c->comm) std::snprintf(detail, sizeof detail, "%s", ncclGetLastError(c->comm));
  abort_comm(c);
  return ag_set_error(AG_ERR_DEVICE, "dist: %s (rank %d of %d) failed: %s%s%s", what,
                      c->base.rank, c->base.world, ncclGetErrorString(r), detail[0] ? ": " : "",
                      detail);
}

ag_status cuda_failed(NcclComm *c, const char *what, cudaError_t e) {
  abort_comm(c);
  return ag_set_error(AG_ERR_DEVICE, "dist: %s (rank %d of %d) failed: %s", what, c->base.rank,
                      c->base.world, cudaGetErrorString(e));
}

/* The communicator's asynchronous state: ncclSuccess, ncclInProgress or an
 * error. */
ncclResult_t async_state(NcclComm *c) {
  ncclResult_t async = ncclSuccess;
  const ncclResult_t r = ncclCommGetAsyncError(c->comm, &async);
  return r != ncclSuccess ? r : async;
}

/* Polls until the call that returned r has taken effect. */
ag_status settle(NcclComm *c, ncclResult_t r, const char *what) {
  const double deadline = now_s() + c->base.timeout_s;
  long ns = 10000;
  while (r == ncclInProgress) {
    if (now_s() > deadline) return timed_out(c, what);
    nap(&ns);
    r = async_state(c);
  }
  return r == ncclSuccess ? AG_OK : nccl_failed(c, what, r);
}

/* Polls until `stream` has run everything enqueued on it. */
ag_status wait_stream(NcclComm *c, cudaStream_t stream, const char *what) {
  const double deadline = now_s() + c->base.timeout_s;
  long ns = 10000;
  for (;;) {
    const cudaError_t q = stream_state(stream);
    if (q != cudaSuccess && q != cudaErrorNotReady) return cuda_failed(c, what, q);
    const ncclResult_t async = async_state(c);
    if (async != ncclSuccess && async != ncclInProgress) return nccl_failed(c, what, async);
    if (q == cudaSuccess && async == ncclSuccess) return AG_OK;
    if (now_s() > deadline) return timed_out(c, what);
    nap(&ns);
  }
}

ag_status check_usable(const NcclComm *c, const char *what) {
  if (!c->base.failed) return AG_OK;
  return ag_set_error(AG_ERR_INVALID,
                      "dist: %s (rank %d of %d): an earlier collective failed, the communicator "
                      "can only be closed",
                      what, c->base.rank, c->base.world);
}

ncclDataType_t nccl_type(ag_dtype dt) {
  switch (dt) {
  case AG_F16: return ncclFloat16;
  case AG_BF16: return ncclBfloat16;
  case AG_I32: return ncclInt32;
  case AG_U8: return ncclUint8;
  default: return ncclFloat32;
  }
}

/* Reductions: a float dtype or i32, and i32 only summed. */
ag_status check_reduction(const NcclComm *c, const char *what, ag_dtype dt,
                          ag_collective_op op) {
  AG_TRY(check_usable(c, what));
  if (dt != AG_F32 && dt != AG_F16 && dt != AG_BF16 && dt != AG_I32)
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: %s of %s: sums take f32, f16, bf16 or i32",
                        what, ag_dtype_name(dt));
  if (dt == AG_I32 && op == AG_COLLECTIVE_AVG)
    return ag_set_error(AG_ERR_UNSUPPORTED, "dist: %s: the average of i32 is not defined", what);
  return AG_OK;
}

ncclRedOp_t nccl_op(ag_collective_op op) { return op == AG_COLLECTIVE_AVG ? ncclAvg : ncclSum; }

cudaStream_t stream_of(void *stream) { return static_cast<cudaStream_t>(stream); }

}  // namespace

extern "C" ag_status AG_CUDA_SYM(collective_unique_id)(unsigned char id[AG_COLLECTIVE_ID_BYTES]) {
  ncclUniqueId u;
  const ncclResult_t r = ncclGetUniqueId(&u);
  if (r != ncclSuccess)
    return ag_set_error(AG_ERR_DEVICE, "dist: ncclGetUniqueId failed: %s", ncclGetErrorString(r));
  std::memcpy(id, &u, sizeof u);
  return AG_OK;
}

extern "C" ag_status AG_CUDA_SYM(collective_comm_init)(const ag_collective_init_args *a,
                                                      ag_collective_comm **out) {
  *out = nullptr;
  const cudaError_t e = use_device(a->device);
  if (e != cudaSuccess)
    return ag_set_error(AG_ERR_DEVICE, "dist: device %d for NCCL: %s", a->device,
                        cudaGetErrorString(e));
  NcclComm *c = new (std::nothrow) NcclComm{};
  if (!c) return ag_set_error(AG_ERR_OOM, "dist: no memory for an NCCL communicator");
  c->base = ag_collective_comm{&AG_CUDA_SYM(collective_kernels), a->rank, a->world, a->timeout_s,
                               0};
  ncclUniqueId id;
  std::memcpy(&id, a->id, sizeof id);
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  const ag_status st =
      settle(c, ncclCommInitRankConfig(&c->comm, a->world, id, a->rank, &config), "NCCL init");
  if (st != AG_OK) {
    delete c;
    return st;
  }
  *out = &c->base;
  return AG_OK;
}

/* Finalising flushes what is in flight (bounded); a communicator that cannot
 * is aborted instead. */
extern "C" void AG_CUDA_SYM(collective_comm_free)(ag_collective_comm *base) {
  if (!base) return;
  NcclComm *c = nccl_of(base);
  if (c->comm && settle(c, ncclCommFinalize(c->comm), "NCCL finalize") == AG_OK)
    ncclCommDestroy(c->comm);
  delete c;
}

extern "C" void AG_CUDA_SYM(collective_comm_abort)(ag_collective_comm *base) {
  if (!base) return;
  NcclComm *c = nccl_of(base);
  abort_comm(c);
  delete c;
}

extern "C" ag_status AG_CUDA_SYM(all_reduce)(ag_collective_comm *base, ag_dtype dt,
                                            ag_collective_op op, const void *src, void *dst,
                                            int64_t n, void *stream) {
  NcclComm *c = nccl_of(base);
  AG_TRY(check_reduction(c, "all-reduce", dt, op));
  return settle(c,
                ncclAllReduce(src, dst, (size_t)n, nccl_type(dt), nccl_op(op), c->comm,
                              stream_of(stream)),
                "all-reduce");
}

extern "C" ag_status AG_CUDA_SYM(reduce_scatter)(ag_collective_comm *base, ag_dtype dt,
                                                ag_collective_op op, const void *src, void *dst,
                                                int64_t n, void *stream) {
  NcclComm *c = nccl_of(base);
  AG_TRY(check_reduction(c, "reduce-scatter", dt, op));
  return settle(c,
                ncclReduceScatter(src, dst, (size_t)n, nccl_type(dt), nccl_op(op), c->comm,
                                  stream_of(stream)),
                "reduce-scatter");
}

extern "C" ag_status AG_CUDA_SYM(broadcast)(ag_collective_comm *base, ag_dtype dt, void *data,
                                           int64_t n, int root, void *stream) {
  NcclComm *c = nccl_of(base);
  AG_TRY(check_usable(c, "broadcast"));
  if (root < 0 || root >= c->base.world)
    return ag_set_error(AG_ERR_INVALID, "dist: broadcast from rank %d of %d ranks", root,
                        c->base.world);
  return settle(c,
                ncclBroadcast(data, data, (size_t)n, nccl_type(dt), root, c->comm,
                              stream_of(stream)),
                "broadcast");
}

/* Moved as bytes, so any dtype gathers. */
extern "C" ag_status AG_CUDA_SYM(all_gather)(ag_collective_comm *base, ag_dtype dt,
                                            const void *src, void *dst, int64_t n, void *stream) {
  NcclComm *c = nccl_of(base);
  AG_TRY(check_usable(c, "all-gather"));
  return settle(c,
                ncclAllGather(src, dst, (size_t)n * ag_dtype_size(dt), ncclUint8, c->comm,
                              stream_of(stream)),
                "all-gather");
}

extern "C" ag_status AG_CUDA_SYM(collective_synchronize)(ag_collective_comm *base, void *stream) {
  NcclComm *c = nccl_of(base);
  AG_TRY(check_usable(c, "synchronize"));
  return wait_stream(c, stream_of(stream), "synchronize");
}

extern "C" const ag_collective_kernels AG_CUDA_SYM(collective_kernels) = {
    .unique_id = AG_CUDA_SYM(collective_unique_id),
    .comm_init = AG_CUDA_SYM(collective_comm_init),
    .comm_free = AG_CUDA_SYM(collective_comm_free),
    .comm_abort = AG_CUDA_SYM(collective_comm_abort),
    .all_reduce = AG_CUDA_SYM(all_reduce),
    .broadcast = AG_CUDA_SYM(broadcast),
    .all_gather = AG_CUDA_SYM(all_gather),
    .reduce_scatter = AG_CUDA_SYM(reduce_scatter),
    .synchronize = AG_CUDA_SYM(collective_synchronize),
    .barrier = nullptr,
};
