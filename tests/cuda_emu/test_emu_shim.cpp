/* Unit tests of the emulator shim itself: launch configuration, shared memory,
 * barrier and warp-collective semantics and their error reports, atomics,
 * intrinsics and the runtime API subset. The kernels are written inline, the
 * way a .cu file would use the shim. */
#include "kernels/cuda/ag_cuda.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

/* `text` contains `part` (gmock's HasSubstr without the gmock dependency). */
#define EXPECT_CONTAINS(text, part)                                                               \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                                      \
      << "expected to find: " << (part) << "\nin: " << (text)

#define FULL 0xffffffffu

/* Launch status + message of the last emulated launch, cleared afterwards. */
struct Outcome {
  cudaError_t err;
  std::string message;
};
Outcome last_outcome() {
  const cudaError_t err = cudaGetLastError();
  return Outcome{err, cudaGetErrorString(err)};
}

#define EXPECT_LAUNCH_OK()                                                                        \
  do {                                                                                            \
    const Outcome o_ = last_outcome();                                                            \
    EXPECT_EQ(o_.err, cudaSuccess) << o_.message;                                                 \
  } while (0)

/* ---- launch configuration ------------------------------------------------------ */

static __global__ void write_index(int *out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = (int)(blockIdx.x * blockDim.x + threadIdx.x);
}

TEST(EmuLaunch, RejectsInvalidConfigurations) {
  std::vector<int> out(4096);
  struct Case {
    dim3 grid, block;
    long long smem;
    const char *expect;
  } cases[] = {
      {dim3(1), dim3(2048), 0, "block.x = 2048 is outside [1, 1024]"},
      {dim3(1), dim3(64, 32), 0, "has 2048 threads; the limit is 1024"},
      {dim3(1), dim3(1, 1, 65), 0, "block.z = 65"},
      {dim3(0), dim3(32), 0, "grid.x = 0"},
      {dim3(1), dim3(32), 300000, "dynamic shared memory of 300000 bytes"},
  };
  for (const Case &c : cases) {
    AG_LAUNCH(write_index, c.grid, c.block, c.smem, 0, out.data());
    const Outcome o = last_outcome();
    EXPECT_EQ(o.err, cudaErrorInvalidConfiguration) << c.expect;
    EXPECT_CONTAINS(o.message, (c.expect));
    EXPECT_CONTAINS(o.message, ("write_index"));
  }
}

// The opt-in shared-memory limit the device reports is the one launches
// enforce: a launch of exactly that much runs, one byte more is refused.
TEST(EmuLaunch, ReportedSharedMemoryLimitIsTheEnforcedOne) {
  int dev = -1, limit = 0;
  ASSERT_EQ(cudaGetDevice(&dev), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev),
            cudaSuccess);
  EXPECT_EQ(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxThreadsPerBlock, dev),
            cudaErrorInvalidValue);
  std::vector<int> out(32);
  AG_LAUNCH(write_index, dim3(1), dim3(32), limit, 0, out.data());
  EXPECT_EQ(last_outcome().err, cudaSuccess);
  AG_LAUNCH(write_index, dim3(1), dim3(32), limit + 1, 0, out.data());
  EXPECT_EQ(last_outcome().err, cudaErrorInvalidConfiguration);
}

TEST(EmuLaunch, AcceptsIntegersAndDim3) {
  std::vector<int> out(300, -1);
  AG_LAUNCH(write_index, 3, 100u, 0, nullptr, out.data());
  EXPECT_LAUNCH_OK();
  AG_LAUNCH(write_index, (int64_t)3, dim3(100), (size_t)0, 0, out.data());
  EXPECT_LAUNCH_OK();
  for (int i = 0; i < 300; ++i) ASSERT_EQ(out[(size_t)i], i);
}

TEST(EmuLaunch, GetLastErrorClearsPeekDoesNot) {
  int out[32];
  AG_LAUNCH(write_index, 1, 0, 0, 0, out);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_STREQ(cudaGetErrorString(cudaSuccess), "no error");
  EXPECT_STREQ(cudaGetErrorName(cudaErrorLaunchFailure), "cudaErrorLaunchFailure");
}

static __global__ void count_calls(int *calls, int marker) { calls[threadIdx.x] = marker; }

TEST(EmuLaunch, ArgumentsAreEvaluatedOnce) {
  int calls[64] = {0};
  int marker = 7;
  AG_LAUNCH(count_calls, 1, 64, 0, 0, calls, marker++);
  EXPECT_LAUNCH_OK();
  EXPECT_EQ(marker, 8);
  for (int c : calls) EXPECT_EQ(c, 7);
}

static __global__ void modify_parameter(int *out, int n) {
  n -= (int)threadIdx.x; /* each thread owns its copy of n */
  out[threadIdx.x] = n;
}

TEST(EmuLaunch, EveryThreadGetsItsOwnParameterCopy) {
  int out[16];
  AG_LAUNCH(modify_parameter, 1, 16, 0, 0, out, 100);
  EXPECT_LAUNCH_OK();
  for (int i = 0; i < 16; ++i) EXPECT_EQ(out[i], 100 - i);
}

/* ---- shared memory ------------------------------------------------------------------ */

static __device__ int block_leader_value(int v) {
  __shared__ int shared_value; /* declared in a helper: still one per block */
  if (threadIdx.x == 0) shared_value = v;
  __syncthreads();
  return shared_value;
}

static __global__ void broadcast_from_thread0(int *out) {
  out[blockIdx.x * blockDim.x + threadIdx.x] = block_leader_value((int)blockIdx.x * 100);
}

TEST(EmuShared, StaticSharedIsOneObjectPerBlock) {
  std::vector<int> out(4 * 64);
  AG_LAUNCH(broadcast_from_thread0, 4, 64, 0, 0, out.data());
  EXPECT_LAUNCH_OK();
  for (int i = 0; i < 4 * 64; ++i) ASSERT_EQ(out[(size_t)i], i / 64 * 100) << i;
}

static __global__ void dump_dynamic_smem(unsigned *out, int words) {
  AG_DYNAMIC_SMEM(unsigned, buf);
  if (threadIdx.x == 0)
    for (int i = 0; i < words; ++i) out[i] = buf[i];
}

TEST(EmuShared, DynamicSharedStartsAsGarbageNotZero) {
  unsigned out[8] = {0};
  AG_LAUNCH(dump_dynamic_smem, 1, 1, sizeof out, 0, out, 8);
  EXPECT_LAUNCH_OK();
  for (unsigned v : out) EXPECT_EQ(v, 0xffffffffu);
}

static __global__ void big_frame(float *out) {
  float local[4096]; /* 16 KiB of stack in every fiber */
  for (int i = 0; i < 4096; ++i) local[i] = (float)(i + (int)threadIdx.x);
  __syncthreads();
  float s = 0;
  for (int i = 0; i < 4096; i += 512) s += local[i];
  out[threadIdx.x] = s;
}

TEST(EmuShared, LargeStackFramesFit) {
  std::vector<float> out(256);
  AG_LAUNCH(big_frame, 1, 256, 0, 0, out.data());
  EXPECT_LAUNCH_OK();
  for (int t = 0; t < 256; ++t) EXPECT_EQ(out[(size_t)t], 8.0f * (float)t + 14336.0f);
}

/* ---- block barriers: error reports --------------------------------------------------- */

static __global__ void barrier_after_early_exit(int *out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

TEST(EmuBarrier, ThreadsThatExitedMakeTheBarrierFail) {
  int out[64];
  AG_LAUNCH(barrier_after_early_exit, 2, 64, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("kernel 'barrier_after_early_exit'"));
  EXPECT_CONTAINS(o.message, ("block (0,0,0)"));
  EXPECT_CONTAINS(o.message, ("__syncthreads() barrier can never complete"));
  EXPECT_CONTAINS(o.message, ("threads 0-15 wait at __syncthreads() test_emu_shim.cpp:"));
  EXPECT_CONTAINS(o.message, ("threads 16-63 exited"));
}

static __global__ void barriers_in_both_branches(int *out) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

TEST(EmuBarrier, DifferentCallSitesFail) {
  int out[8];
  AG_LAUNCH(barriers_in_both_branches, 1, 8, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("threads wait at different __syncthreads() calls"));
  EXPECT_CONTAINS(o.message, ("threads 0,2,4,6 wait at __syncthreads()"));
  EXPECT_CONTAINS(o.message, ("threads 1,3,5,7 wait at __syncthreads()"));
}

static __global__ void uniform_block_branch(int *out) {
  /* Divergent between blocks but uniform within each: valid CUDA. */
  if (blockIdx.x == 1) {
    __shared__ int buf[32];
    buf[threadIdx.x] = (int)threadIdx.x;
    __syncthreads();
    out[threadIdx.x] = buf[threadIdx.x] + buf[(threadIdx.x + 1) % 32];
  }
}

TEST(EmuBarrier, BlockUniformBranchesAreFine) {
  int out[32] = {0};
  AG_LAUNCH(uniform_block_branch, 3, 32, 0, 0, out);
  EXPECT_LAUNCH_OK();
  EXPECT_EQ(out[31], 31 + 0);
  EXPECT_EQ(out[3], 3 + 4);
}

static __global__ void sum_rows_with_barrier(const int *x, int *y) {
  __shared__ int buf[128];
  buf[threadIdx.x] = x[blockIdx.x * 128 + threadIdx.x];
  __syncthreads();
  for (int s = 64; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) y[blockIdx.x] = buf[0];
}

TEST(EmuBarrier, LaunchesWorkAfterAFailedOne) {
  std::vector<int> x(4 * 128), y(4);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (int)i;
  for (int round = 0; round < 3; ++round) {
    int out[256];
    AG_LAUNCH(barrier_after_early_exit, 1, 256, 0, 0, out);
    EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
    AG_LAUNCH(sum_rows_with_barrier, 4, 128, 0, 0, x.data(), y.data());
    EXPECT_LAUNCH_OK();
    for (int b = 0; b < 4; ++b) EXPECT_EQ(y[(size_t)b], 128 * 128 * b + 127 * 128 / 2);
  }
}

TEST(EmuBarrier, ConcurrentLaunchesFromSeveralOsThreads) {
  std::vector<int> x(8 * 128);
  for (size_t i = 0; i < x.size(); ++i) x[i] = (int)(i % 97);
  std::vector<int> ref(8, 0);
  for (size_t i = 0; i < x.size(); ++i) ref[i / 128] += x[i];
  std::vector<std::vector<int>> results(4, std::vector<int>(8));
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int r = 0; r < 20; ++r) {
        AG_LAUNCH(sum_rows_with_barrier, 8, 128, 0, 0, x.data(), results[(size_t)w].data());
        if (cudaGetLastError() != cudaSuccess || results[(size_t)w] != ref) return;
      }
    });
  for (std::thread &t : workers) t.join();
  for (const std::vector<int> &r : results) EXPECT_EQ(r, ref);
}

static __global__ void read_left_neighbour_without_barrier(int *out) {
  __shared__ int buf[64];
  const int t = (int)threadIdx.x, value = (int)blockIdx.x * 1000 + t;
  buf[t] = value;
  /* BUG: no __syncthreads() before reading another thread's slot. */
  out[blockIdx.x * 64 + t] = t ? buf[t - 1] : value - 1;
}

/* The race above is invisible when threads start first to last (the writer
 * always runs first) and visible last to first. */
TEST(EmuBarrier, ReverseThreadOrderExposesTheOtherRaces) {
  std::vector<int> out(4 * 64);
  auto wrong = [&] {
    int bad = 0;
    for (int i = 0; i < 4 * 64; ++i) bad += out[(size_t)i] != i / 64 * 1000 + i % 64 - 1;
    return bad;
  };
  setenv("AG_EMU_THREAD_ORDER", "forward", 1);
  AG_LAUNCH(read_left_neighbour_without_barrier, 4, 64, 0, 0, out.data());
  EXPECT_LAUNCH_OK();
  EXPECT_EQ(wrong(), 0);
  setenv("AG_EMU_THREAD_ORDER", "reverse", 1);
  AG_LAUNCH(read_left_neighbour_without_barrier, 4, 64, 0, 0, out.data());
  unsetenv("AG_EMU_THREAD_ORDER");
  EXPECT_LAUNCH_OK();
  EXPECT_GT(wrong(), 0);
}

/* ---- warp collectives -------------------------------------------------------------------- */

static __global__ void shuffle_widths(int *idx8, int *down16, int *up4, int *xor8) {
  const int lane = (int)threadIdx.x;
  idx8[lane] = __shfl_sync(FULL, lane * 10, 3, 8);
  down16[lane] = __shfl_down_sync(FULL, lane * 10, 5, 16);
  up4[lane] = __shfl_up_sync(FULL, lane * 10, 1, 4);
  xor8[lane] = __shfl_xor_sync(FULL, lane * 10, 9, 8);
}

TEST(EmuWarp, ShuffleWidthSegments) {
  int idx8[32], down16[32], up4[32], xor8[32];
  AG_LAUNCH(shuffle_widths, 1, 32, 0, 0, idx8, down16, up4, xor8);
  EXPECT_LAUNCH_OK();
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(idx8[l], (l / 8 * 8 + 3) * 10) << l;
    EXPECT_EQ(down16[l], (l % 16 + 5 < 16 ? l + 5 : l) * 10) << l;
    EXPECT_EQ(up4[l], (l % 4 >= 1 ? l - 1 : l) * 10) << l;
    /* xor 9 with width 8: a later segment is out of reach, an earlier one not */
    const int src = l ^ 9;
    EXPECT_EQ(xor8[l], (src >= (l / 8 + 1) * 8 ? l : src) * 10) << l;
  }
}

static __global__ void shuffle_types(double *d, long long *ll, float *h) {
  const int lane = (int)threadIdx.x;
  d[lane] = __shfl_sync(FULL, 0.5 + lane, 31 - lane);
  ll[lane] = __shfl_down_sync(FULL, (long long)lane << 40, 1);
  h[lane] = __half2float(__shfl_xor_sync(FULL, __float2half((float)lane), 1));
}

TEST(EmuWarp, ShufflesDoublesLongLongsAndHalves) {
  double d[32];
  long long ll[32];
  float h[32];
  AG_LAUNCH(shuffle_types, 1, 32, 0, 0, d, ll, h);
  EXPECT_LAUNCH_OK();
  for (int l = 0; l < 32; ++l) {
    EXPECT_EQ(d[l], 0.5 + (31 - l));
    EXPECT_EQ(ll[l], (long long)(l < 31 ? l + 1 : l) << 40);
    EXPECT_EQ(h[l], (float)(l ^ 1));
  }
}

static __global__ void half_warp_groups(int *out) {
  const int lane = (int)threadIdx.x;
  /* Two independent collectives in one warp, each naming only its half. */
  if (lane < 16)
    out[lane] = __shfl_sync(0x0000ffffu, lane, 15);
  else
    out[lane] = __shfl_sync(0xffff0000u, lane, 16);
}

TEST(EmuWarp, DisjointMasksFormSeparateGroups) {
  int out[32];
  AG_LAUNCH(half_warp_groups, 1, 32, 0, 0, out);
  EXPECT_LAUNCH_OK();
  for (int l = 0; l < 32; ++l) EXPECT_EQ(out[l], l < 16 ? 15 : 16);
}

static __global__ void read_lane_outside_mask(int *out) {
  const int lane = (int)threadIdx.x;
  if (lane < 16) out[lane] = __shfl_sync(0x0000ffffu, lane, 20);
}

TEST(EmuWarp, ReadingALaneOutsideTheMaskFails) {
  int out[32];
  AG_LAUNCH(read_lane_outside_mask, 1, 32, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("reads lane 20 with __shfl_sync"));
  EXPECT_CONTAINS(o.message, ("is not in the mask"));
}

static __global__ void shuffle_after_early_exit(int *out) {
  if (threadIdx.x >= 8) return;
  out[threadIdx.x] = __shfl_sync(FULL, (int)threadIdx.x, 0);
}

TEST(EmuWarp, ExitedLaneInTheMaskFails) {
  int out[32];
  AG_LAUNCH(shuffle_after_early_exit, 1, 32, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("warp collective can never complete"));
  EXPECT_CONTAINS(o.message, ("threads 0-7 wait at __shfl_sync(mask 0xffffffff)"));
  EXPECT_CONTAINS(o.message, ("threads 8-31 exited"));
}

static __global__ void mask_without_self(int *out) {
  out[threadIdx.x] = __shfl_sync(0x1u, 1, 0);
}

TEST(EmuWarp, MaskMustIncludeTheCaller) {
  int out[2];
  AG_LAUNCH(mask_without_self, 1, 2, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("with mask 0x00000001, which does not include its own lane 1"));
}

static __global__ void mismatched_votes(unsigned *out) {
  if (threadIdx.x % 2)
    out[threadIdx.x] = __ballot_sync(FULL, 1);
  else
    out[threadIdx.x] = __any_sync(FULL, 1);
}

TEST(EmuWarp, DifferentCollectivesDoNotMatch) {
  unsigned out[32];
  AG_LAUNCH(mismatched_votes, 1, 32, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("wait at __any_sync(mask 0xffffffff)"));
  EXPECT_CONTAINS(o.message, ("wait at __ballot_sync(mask 0xffffffff)"));
}

static __global__ void partial_warp(unsigned *ballot, unsigned *active, int *sum) {
  /* 48 threads: warp 1 has lanes 0-15 only. A full mask is fine there. */
  const unsigned b = __ballot_sync(FULL, 1);
  __syncwarp();
  const unsigned a = __activemask();
  int v = 1;
  for (int off = 8; off > 0; off >>= 1) v += __shfl_xor_sync(FULL, v, off);
  ballot[threadIdx.x] = b;
  active[threadIdx.x] = a;
  sum[threadIdx.x] = v;
}

TEST(EmuWarp, PartialLastWarpIgnoresMissingLanes) {
  unsigned ballot[48], active[48];
  int sum[48];
  AG_LAUNCH(partial_warp, 1, 48, 0, 0, ballot, active, sum);
  EXPECT_LAUNCH_OK();
  for (int t = 0; t < 48; ++t) {
    EXPECT_EQ(ballot[t], t < 32 ? FULL : 0xffffu);
    EXPECT_EQ(active[t], t < 32 ? FULL : 0xffffu);
    EXPECT_EQ(sum[t], 16);
  }
}

static __global__ void read_missing_lane(int *out) {
  out[threadIdx.x] = __shfl_down_sync(FULL, 1, 8);
}

TEST(EmuWarp, ReadingAMissingLaneFails) {
  int out[40];
  AG_LAUNCH(read_missing_lane, 1, 40, 0, 0, out);
  const Outcome o = last_outcome();
  EXPECT_EQ(o.err, cudaErrorLaunchFailure);
  EXPECT_CONTAINS(o.message, ("lane 0 of warp 1 reads lane 8 with __shfl_down_sync"));
  EXPECT_CONTAINS(o.message, ("does not exist in the block"));
}

static __global__ void warps_of_a_2d_block(unsigned *out) {
  /* block (8, 8): warp 0 is rows 0-3, warp 1 rows 4-7 (x varies fastest). */
  out[threadIdx.y * 8 + threadIdx.x] = __ballot_sync(FULL, threadIdx.y % 4 == 0);
}

TEST(EmuWarp, LanesFollowLinearThreadOrder) {
  unsigned out[64];
  AG_LAUNCH(warps_of_a_2d_block, 1, dim3(8, 8), 0, 0, out);
  EXPECT_LAUNCH_OK();
  for (unsigned v : out) EXPECT_EQ(v, 0xffu);
}

/* ---- atomics -------------------------------------------------------------------------------- */

static __device__ float atomic_add_via_cas(float *address, float v) {
  unsigned *bits = reinterpret_cast<unsigned *>(address);
  unsigned old = *bits, assumed;
  do {
    assumed = old;
    old = atomicCAS(bits, assumed, __float_as_uint(__uint_as_float(assumed) + v));
  } while (assumed != old);
  return __uint_as_float(old);
}

struct AtomicsOut {
  float cas_sum, float_sum;
  double double_sum;
  int imax, imin, isum;
  unsigned umax, umin, inc, exch_count;
  unsigned long long ull_sum;
  __half half_sum;
};

static __global__ void atomics_kernel(AtomicsOut *o) {
  const int t = (int)(blockIdx.x * blockDim.x + threadIdx.x);
  atomic_add_via_cas(&o->cas_sum, 1.0f);
  atomicAdd(&o->float_sum, 0.5f);
  atomicAdd(&o->double_sum, 0.25);
  atomicMax(&o->imax, t - 100);
  atomicMin(&o->imin, t - 100);
  atomicAdd(&o->isum, t);
  atomicMax(&o->umax, (unsigned)t);
  atomicMin(&o->umin, (unsigned)t + 5u);
  atomicInc(&o->inc, 9u); /* wraps to 0 after 9 */
  if (atomicExch(&o->exch_count, 1u) == 0u) atomicAdd(&o->ull_sum, 1ull << 40);
  atomicAdd(&o->half_sum, __float2half(1.0f));
}

TEST(EmuAtomics, ReadModifyWriteSemantics) {
  AtomicsOut o{};
  o.imin = 1 << 30;
  o.umin = 0xffffffffu;
  AG_LAUNCH(atomics_kernel, 3, 100, 0, 0, &o);
  EXPECT_LAUNCH_OK();
  EXPECT_EQ(o.cas_sum, 300.0f);
  EXPECT_EQ(o.float_sum, 150.0f);
  EXPECT_EQ(o.double_sum, 75.0);
  EXPECT_EQ(o.imax, 199);
  EXPECT_EQ(o.imin, -100);
  EXPECT_EQ(o.isum, 299 * 300 / 2);
  EXPECT_EQ(o.umax, 299u);
  EXPECT_EQ(o.umin, 5u);
  EXPECT_EQ(o.inc, 300u % 10u);
  EXPECT_EQ(o.ull_sum, 1ull << 40); /* only the first exchange saw 0 */
  EXPECT_EQ(__half2float(o.half_sum), 300.0f);
}

/* ---- intrinsics ------------------------------------------------------------------------------- */

TEST(EmuIntrinsics, BitsAndIntegers) {
  EXPECT_EQ(__popc(0xf0f0u), 8);
  EXPECT_EQ(__popcll(~0ull), 64);
  EXPECT_EQ(__clz(0), 32);
  EXPECT_EQ(__clz(1), 31);
  EXPECT_EQ(__clz(-1), 0);
  EXPECT_EQ(__ffs(0), 0);
  EXPECT_EQ(__ffs(8), 4);
  EXPECT_EQ(__brev(1u), 0x80000000u);
  EXPECT_EQ(__umulhi(0x80000000u, 4u), 2u);
  EXPECT_EQ(__float_as_uint(1.0f), 0x3f800000u);
  EXPECT_EQ(__int_as_float(0x40000000), 2.0f);
  int v = 42;
  EXPECT_EQ(__ldg(&v), 42);
}

TEST(EmuIntrinsics, FloatMath) {
  EXPECT_EQ(__saturatef(-1.0f), 0.0f);
  EXPECT_EQ(__saturatef(2.0f), 1.0f);
  EXPECT_EQ(__saturatef(NAN), 0.0f);
  EXPECT_EQ(__saturatef(0.25f), 0.25f);
  EXPECT_EQ(__frsqrt_rn(4.0f), 0.5f);
  EXPECT_EQ(rsqrtf(16.0f), 0.25f);
  EXPECT_EQ(__fmaf_rn(2.0f, 3.0f, 1.0f), 7.0f);
  EXPECT_EQ(__fdividef(1.0f, 4.0f), 0.25f);
  EXPECT_NEAR(__expf(1.0f), 2.7182817f, 1e-6f);
  EXPECT_EQ(__float2int_rn(2.5f), 2); /* round half to even */
  EXPECT_EQ(__float2int_rz(-2.7f), -2);
}

TEST(EmuIntrinsics, MinMaxOverloads) {
  EXPECT_EQ(min(3, -2), -2);
  EXPECT_EQ(max(3u, 7u), 7u);
  EXPECT_EQ(min(-1, 1u), 1u); /* mixed signedness compares as unsigned, as in CUDA */
  EXPECT_EQ(max(2.5f, 1.0f), 2.5f);
  EXPECT_EQ(min(2.5f, NAN), 2.5f);
  EXPECT_EQ(max(1.0f, 2.0), 2.0);
  EXPECT_EQ(min(5ll, 3ll), 3ll);
}

TEST(EmuIntrinsics, HalfAndBfloat16) {
  const __half h = __float2half(3.0f) * __float2half(0.5f);
  EXPECT_EQ(__half2float(h), 1.5f);
  EXPECT_EQ(__half2float(hsqrt(__float2half(4.0f))), 2.0f);
  const __nv_bfloat16 b = __float2bfloat16(2.0f) + __float2bfloat16(1.0f);
  EXPECT_EQ(__bfloat162float(b), 3.0f);
  EXPECT_EQ(__bfloat162float(hexp(__float2bfloat16(0.0f))), 1.0f);
}

/* ---- runtime API subset --------------------------------------------------------------------- */

TEST(EmuRuntime, MemsetMemcpyAndSynchronize) {
  int a[4] = {1, 2, 3, 4}, b[4];
  EXPECT_EQ(cudaMemsetAsync(b, 0, sizeof b, nullptr), cudaSuccess);
  EXPECT_EQ(b[3], 0);
  EXPECT_EQ(cudaMemcpyAsync(b, a, sizeof a, cudaMemcpyDefault, nullptr), cudaSuccess);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(cudaStreamSynchronize(nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

} /* namespace */
