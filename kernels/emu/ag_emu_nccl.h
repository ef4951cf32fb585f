/* ag_emu_nccl.h - the emulator's stand-in for the NCCL calls the collective
 * launchers make (kernels/cuda/collective.cu), served over MPI
 * (standin_nccl.cpp), so `mpirun -np 2` over emulated devices runs the same
 * launcher code as real GPUs.
 *
 * Included instead of <nccl.h> when AG_CUDA_EMU is defined. It declares the
 * types and enums the launchers use itself, with NCCL 2.x's values (the real
 * header pulls in cuda_runtime.h, which the emulator's shim cannot sit
 * beside, and the emulator then needs no NCCL installed); each ncclXxx used
 * is a macro naming ag_emu_ncclXxx, the way ag_emu.h renames the runtime
 * API: test binaries may also link the real libnccl, so nothing here defines
 * a symbol that it defines.
 *
 * Semantics are those of a nonblocking NCCL communicator (config.blocking =
 * 0, the only kind served): the unique id carries nothing (every rank of
 * MPI_COMM_WORLD joins, and nranks / rank must be MPI's); init and every
 * collective start an MPI non-blocking operation and return ncclSuccess when
 * it completed at once, else ncclInProgress, and ncclCommGetAsyncError
 * reports ncclInProgress until it completes (the caller polls it, bounded by
 * its own timeout). A call while the previous one is in progress is
 * ncclInvalidUsage. Buffers are host memory (the emulator's device memory);
 * streams are ignored, since emulated launches complete before returning.
 * Reductions: ncclSum and ncclAvg of ncclFloat32, ncclFloat16, ncclBfloat16
 * (added in f32, rounded once) and ncclInt32 (sum only); all-gather and
 * broadcast move any type. ncclCommAbort frees the handle without waiting;
 * ncclCommFinalize then ncclCommDestroy free a healthy one. */
#ifndef AG_EMU_NCCL_H
#define AG_EMU_NCCL_H

#include <driver_types.h>

#include <climits>
#include <cstddef>

typedef struct ncclComm *ncclComm_t;

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
  ncclRemoteError = 6,
  ncclInProgress = 7,
} ncclResult_t;

typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4 } ncclRedOp_t;

typedef enum {
  ncclInt8 = 0,
  ncclUint8 = 1,
  ncclInt32 = 2,
  ncclUint32 = 3,
  ncclInt64 = 4,
  ncclUint64 = 5,
  ncclFloat16 = 6,
  ncclFloat32 = 7,
  ncclFloat64 = 8,
  ncclBfloat16 = 9,
} ncclDataType_t;

/* The part of NCCL's configuration the stand-in reads (`blocking`); the
 * initializer leaves it undefined, as NCCL's does. */
typedef struct {
  size_t size;
  int blocking;
} ncclConfig_t;
#define NCCL_CONFIG_INITIALIZER {sizeof(ncclConfig_t), INT_MIN}

#define ncclGetUniqueId ag_emu_ncclGetUniqueId
#define ncclCommInitRankConfig ag_emu_ncclCommInitRankConfig
#define ncclCommGetAsyncError ag_emu_ncclCommGetAsyncError
#define ncclCommFinalize ag_emu_ncclCommFinalize
#define ncclCommDestroy ag_emu_ncclCommDestroy
#define ncclCommAbort ag_emu_ncclCommAbort
#define ncclGetErrorString ag_emu_ncclGetErrorString
#define ncclGetLastError ag_emu_ncclGetLastError
#define ncclAllReduce ag_emu_ncclAllReduce
#define ncclBroadcast ag_emu_ncclBroadcast
#define ncclAllGather ag_emu_ncclAllGather
#define ncclReduceScatter ag_emu_ncclReduceScatter

extern "C" {
ncclResult_t ag_emu_ncclGetUniqueId(ncclUniqueId *id);
ncclResult_t ag_emu_ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id,
                                           int rank, ncclConfig_t *config);
ncclResult_t ag_emu_ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *async_error);
ncclResult_t ag_emu_ncclCommFinalize(ncclComm_t comm);
ncclResult_t ag_emu_ncclCommDestroy(ncclComm_t comm);
ncclResult_t ag_emu_ncclCommAbort(ncclComm_t comm);
const char *ag_emu_ncclGetErrorString(ncclResult_t result);
const char *ag_emu_ncclGetLastError(ncclComm_t comm);
ncclResult_t ag_emu_ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                                  ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                                  cudaStream_t stream);
ncclResult_t ag_emu_ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                                  ncclDataType_t datatype, int root, ncclComm_t comm,
                                  cudaStream_t stream);
ncclResult_t ag_emu_ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                                  ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream);
ncclResult_t ag_emu_ncclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount,
                                      ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                                      cudaStream_t stream);
}

#endif
