// The emulator's stand-in for NCCL over MPI: see ag_emu_nccl.h for what it
// serves. A communicator is a duplicate of MPI_COMM_WORLD that returns errors
// instead of aborting, and at most one operation in flight: the MPI request
// and what to do when it completes (round an f32 scratch sum into the
// caller's f16/bf16 buffer, divide for the average).
#include "ag_emu_nccl.h"

#include <climits>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#ifdef AG_HAVE_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "kernels/common/ag_bf16.h"

namespace {

struct Comm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0, world = 1;
  MPI_Request pending = MPI_REQUEST_NULL;
  bool initialising = false;         // the pending request is the MPI_Comm_idup
  ncclResult_t error = ncclSuccess;  // sticky once an operation failed
  std::string last_error;
  // Completion of a pending reduction: dst[0, n) = scratch (or dst) / div.
  std::vector<float> scratch;
  void *dst = nullptr;
  ncclDataType_t type = ncclFloat32;
  size_t n = 0;
  float div = 1.0f;
};

Comm *comm_of(ncclComm_t c) { return reinterpret_cast<Comm *>(c); }

ncclResult_t fail(Comm *c, ncclResult_t r, const std::string &why) {
  c->error = r;
  c->last_error = "NCCL stand-in (rank " + std::to_string(c->rank) + "): " + why;
  return r;
}

ncclResult_t mpi_fail(Comm *c, const char *what, int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  return fail(c, ncclSystemError, std::string(what) + ": " + msg);
}

size_t type_size(ncclDataType_t t) {
  switch (t) {
  case ncclInt8: case ncclUint8: return 1;
  case ncclFloat16: case ncclBfloat16: return 2;
  case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
  case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
  default: return 0;
  }
}

bool half_type(ncclDataType_t t) { return t == ncclFloat16 || t == ncclBfloat16; }

float load(ncclDataType_t t, const void *p, size_t i) {
  const uint16_t v = static_cast<const uint16_t *>(p)[i];
  return t == ncclBfloat16 ? ag_bf16_to_f32(v) : ag_f16_to_f32(v);
}

void store(ncclDataType_t t, void *p, size_t i, float v) {
  static_cast<uint16_t *>(p)[i] = t == ncclBfloat16 ? ag_f32_to_bf16(v) : ag_f32_to_f16(v);
}

// What every collective requires: a usable communicator with nothing in
// flight, and a count MPI's int takes.
ncclResult_t check_call(Comm *c, size_t count, size_t elem_bytes) {
  if (!c) return ncclInvalidArgument;
  if (c->error != ncclSuccess) return c->error;
  if (c->pending != MPI_REQUEST_NULL)
    return fail(c, ncclInvalidUsage, "a call while the previous one is in progress");
  if (elem_bytes == 0) return fail(c, ncclInvalidArgument, "unknown data type");
  if (count > (size_t)INT_MAX / elem_bytes)
    return fail(c, ncclInvalidArgument, "count over MPI's int limit");
  return ncclSuccess;
}

ncclResult_t check_reduction(Comm *c, ncclDataType_t t, ncclRedOp_t op, size_t count) {
  const ncclResult_t r = check_call(c, count, sizeof(float));
  if (r != ncclSuccess) return r;
  if (t != ncclFloat32 && !half_type(t) && t != ncclInt32)
    return fail(c, ncclInvalidArgument, "reductions take float32, float16, bfloat16 or int32");
  if (op != ncclSum && !(op == ncclAvg && t != ncclInt32))
    return fail(c, ncclInvalidArgument, "only ncclSum and (of floats) ncclAvg are served");
  return ncclSuccess;
}

// What the pending reduction writes once MPI completes it.
void finish_reduction(Comm *c) {
  if (half_type(c->type)) {
    for (size_t i = 0; i < c->n; i++) store(c->type, c->dst, i, c->scratch[i] / c->div);
  } else if (c->div != 1.0f) {
    float *d = static_cast<float *>(c->dst);
    for (size_t i = 0; i < c->n; i++) d[i] /= c->div;
  }
  c->scratch.clear();
  c->div = 1.0f;
  c->n = 0;
}

void finish(Comm *c) {
  if (c->initialising) {
    c->initialising = false;
    MPI_Comm_set_errhandler(c->mpi, MPI_ERRORS_RETURN);
    return;
  }
  finish_reduction(c);
}

// Whether the pending operation has completed (finishing it if so).
ncclResult_t progress(Comm *c) {
  if (c->error != ncclSuccess) return c->error;
  if (c->pending == MPI_REQUEST_NULL) return ncclSuccess;
  int done = 0;
  const int rc = MPI_Test(&c->pending, &done, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) return mpi_fail(c, "MPI_Test", rc);
  if (!done) return ncclInProgress;
  finish(c);
  return ncclSuccess;
}

// After an MPI start call: in progress until MPI completes it.
ncclResult_t started(Comm *c, const char *what, int rc) {
  if (rc != MPI_SUCCESS) return mpi_fail(c, what, rc);
  return progress(c);
}

// Sets up the completion of a reduction into dst of n elements; returns the
// f32 buffer MPI reduces into (the scratch for f16/bf16, else dst itself).
float *prepare_reduction(Comm *c, ncclDataType_t t, ncclRedOp_t op, void *dst, size_t n) {
  c->dst = dst;
  c->type = t;
  c->n = n;
  c->div = op == ncclAvg ? (float)c->world : 1.0f;
  if (!half_type(t)) return static_cast<float *>(dst);
  c->scratch.assign(n, 0.0f);
  return c->scratch.data();
}

MPI_Datatype sum_type(ncclDataType_t t) { return t == ncclInt32 ? MPI_INT : MPI_FLOAT; }

}  // namespace

extern "C" ncclResult_t ag_emu_ncclGetUniqueId(ncclUniqueId *id) {
  if (!id) return ncclInvalidArgument;
  std::memset(id, 0, sizeof *id);
  return ncclSuccess;
}

extern "C" ncclResult_t ag_emu_ncclCommInitRankConfig(ncclComm_t *comm, int nranks,
                                                      ncclUniqueId id, int rank,
                                                      ncclConfig_t *config) {
  (void)id;
  if (!comm) return ncclInvalidArgument;
  *comm = nullptr;
  Comm *c = new (std::nothrow) Comm;
  if (!c) return ncclSystemError;
  *comm = reinterpret_cast<ncclComm_t>(c);
  c->rank = rank;
  int inited = 0, mpi_rank = -1, mpi_world = 0;
  MPI_Initialized(&inited);
  if (!inited) return fail(c, ncclInvalidUsage, "MPI is not initialised");
  if (!config || config->blocking != 0)
    return fail(c, ncclInvalidUsage, "only nonblocking communicators are served");
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_world);
  if (rank != mpi_rank || nranks != mpi_world)
    return fail(c, ncclInvalidArgument,
                "rank " + std::to_string(rank) + " of " + std::to_string(nranks) +
                    " asked for, MPI has rank " + std::to_string(mpi_rank) + " of " +
                    std::to_string(mpi_world));
  c->world = nranks;
  c->initialising = true;
  return started(c, "MPI_Comm_idup", MPI_Comm_idup(MPI_COMM_WORLD, &c->mpi, &c->pending));
}

extern "C" ncclResult_t ag_emu_ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *async_error) {
  if (!comm || !async_error) return ncclInvalidArgument;
  *async_error = progress(comm_of(comm));
  return ncclSuccess;
}

extern "C" ncclResult_t ag_emu_ncclCommFinalize(ncclComm_t comm) {
  Comm *c = comm_of(comm);
  if (!c) return ncclInvalidArgument;
  if (c->error != ncclSuccess) return c->error;
  return c->pending == MPI_REQUEST_NULL
             ? ncclSuccess
             : fail(c, ncclInvalidUsage, "finalize while an operation is in progress");
}

extern "C" ncclResult_t ag_emu_ncclCommDestroy(ncclComm_t comm) {
  Comm *c = comm_of(comm);
  if (!c) return ncclInvalidArgument;
  if (c->pending != MPI_REQUEST_NULL) return ag_emu_ncclCommAbort(comm);
  if (c->mpi != MPI_COMM_NULL) MPI_Comm_free(&c->mpi);
  delete c;
  return ncclSuccess;
}

// A request in flight may never complete and MPI cannot cancel a
// collective, so its communicator is left to the process's exit.
extern "C" ncclResult_t ag_emu_ncclCommAbort(ncclComm_t comm) {
  delete comm_of(comm);
  return ncclSuccess;
}

extern "C" const char *ag_emu_ncclGetLastError(ncclComm_t comm) {
  return comm ? comm_of(comm)->last_error.c_str() : "";
}

extern "C" ncclResult_t ag_emu_ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                                             ncclDataType_t datatype, ncclRedOp_t op,
                                             ncclComm_t comm, cudaStream_t) {
  Comm *c = comm_of(comm);
  ncclResult_t r = check_reduction(c, datatype, op, count);
  if (r != ncclSuccess) return r;
  float *acc = prepare_reduction(c, datatype, op, recvbuff, count);
  const void *src = sendbuff == recvbuff ? MPI_IN_PLACE : sendbuff;
  if (half_type(datatype)) {
    for (size_t i = 0; i < count; i++) acc[i] = load(datatype, sendbuff, i);
    src = MPI_IN_PLACE;
  }
  return started(c, "MPI_Iallreduce",
                 MPI_Iallreduce(src, acc, (int)count, sum_type(datatype), MPI_SUM, c->mpi,
                                &c->pending));
}

extern "C" ncclResult_t ag_emu_ncclReduceScatter(const void *sendbuff, void *recvbuff,
                                                 size_t recvcount, ncclDataType_t datatype,
                                                 ncclRedOp_t op, ncclComm_t comm, cudaStream_t) {
  Comm *c = comm_of(comm);
  ncclResult_t r = check_reduction(c, datatype, op, recvcount * (size_t)(c ? c->world : 1));
  if (r != ncclSuccess) return r;
  const size_t all = recvcount * (size_t)c->world;
  float *acc = prepare_reduction(c, datatype, op, recvbuff, recvcount);
  const void *src = sendbuff;
  if (half_type(datatype)) {
    // MPI reads the send buffer until completion: it lives in the scratch
    // too, after the n results.
    c->scratch.resize(recvcount + all);
    acc = c->scratch.data();
    for (size_t i = 0; i < all; i++) acc[recvcount + i] = load(datatype, sendbuff, i);
    src = acc + recvcount;
  }
  return started(c, "MPI_Ireduce_scatter_block",
                 MPI_Ireduce_scatter_block(src, acc, (int)recvcount, sum_type(datatype), MPI_SUM,
                                           c->mpi, &c->pending));
}

extern "C" ncclResult_t ag_emu_ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                                             ncclDataType_t datatype, int root, ncclComm_t comm,
                                             cudaStream_t) {
  Comm *c = comm_of(comm);
  const size_t bytes = count * type_size(datatype);
  ncclResult_t r = check_call(c, bytes, 1);
  if (r != ncclSuccess) return r;
  if (root < 0 || root >= c->world) return fail(c, ncclInvalidArgument, "root out of range");
  if (c->rank == root && sendbuff != recvbuff) std::memmove(recvbuff, sendbuff, bytes);
  return started(c, "MPI_Ibcast",
                 MPI_Ibcast(recvbuff, (int)bytes, MPI_BYTE, root, c->mpi, &c->pending));
}

extern "C" ncclResult_t ag_emu_ncclAllGather(const void *sendbuff, void *recvbuff,
                                             size_t sendcount, ncclDataType_t datatype,
                                             ncclComm_t comm, cudaStream_t) {
  Comm *c = comm_of(comm);
  const size_t bytes = sendcount * type_size(datatype);
  ncclResult_t r = check_call(c, bytes * (size_t)(c ? c->world : 1), 1);
  if (r != ncclSuccess) return r;
  return started(c, "MPI_Iallgather",
                 MPI_Iallgather(sendbuff, (int)bytes, MPI_BYTE, recvbuff, (int)bytes, MPI_BYTE,
                                c->mpi, &c->pending));
}

#else

// Without MPI there is no transport: init says so, and no other call can
// have a communicator to work on.
extern "C" ncclResult_t ag_emu_ncclGetUniqueId(ncclUniqueId *id) {
  if (!id) return ncclInvalidArgument;
  std::memset(id, 0, sizeof *id);
  return ncclSuccess;
}
extern "C" ncclResult_t ag_emu_ncclCommInitRankConfig(ncclComm_t *comm, int, ncclUniqueId, int,
                                                      ncclConfig_t *) {
  if (comm) *comm = nullptr;
  return ncclSystemError;
}
extern "C" ncclResult_t ag_emu_ncclCommGetAsyncError(ncclComm_t, ncclResult_t *e) {
  if (e) *e = ncclInvalidUsage;
  return ncclInvalidUsage;
}
extern "C" ncclResult_t ag_emu_ncclCommFinalize(ncclComm_t) { return ncclInvalidUsage; }
extern "C" ncclResult_t ag_emu_ncclCommDestroy(ncclComm_t) { return ncclInvalidUsage; }
extern "C" ncclResult_t ag_emu_ncclCommAbort(ncclComm_t) { return ncclInvalidUsage; }
extern "C" const char *ag_emu_ncclGetLastError(ncclComm_t) {
  return "the emulator's NCCL stand-in needs MPI, which this build lacks";
}
extern "C" ncclResult_t ag_emu_ncclAllReduce(const void *, void *, size_t, ncclDataType_t,
                                             ncclRedOp_t, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
extern "C" ncclResult_t ag_emu_ncclReduceScatter(const void *, void *, size_t, ncclDataType_t,
                                                 ncclRedOp_t, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
extern "C" ncclResult_t ag_emu_ncclBroadcast(const void *, void *, size_t, ncclDataType_t, int,
                                             ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
extern "C" ncclResult_t ag_emu_ncclAllGather(const void *, void *, size_t, ncclDataType_t,
                                             ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}

#endif

extern "C" const char *ag_emu_ncclGetErrorString(ncclResult_t result) {
  switch (result) {
  case ncclSuccess: return "no error";
  case ncclUnhandledCudaError: return "unhandled cuda error";
  case ncclSystemError: return "unhandled system error";
  case ncclInternalError: return "internal error";
  case ncclInvalidArgument: return "invalid argument";
  case ncclInvalidUsage: return "invalid usage";
  case ncclRemoteError: return "remote process exited or there was a network error";
  case ncclInProgress: return "NCCL operation in progress";
  default: return "unknown result code";
  }
}
