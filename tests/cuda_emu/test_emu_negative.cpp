/* The emulator catches the deliberately broken kernels of broken.cu. These
 * tests pass when the bug is detected; the same bugs are demonstrated one per
 * process by emu_broken_demo (see CMakeLists.txt). */
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include "tests/cuda_emu/broken.h"

namespace {

const int kN = 1000;

#define EXPECT_CONTAINS(text, part)                                                               \
  EXPECT_NE(std::string(text).find(part), std::string::npos)                                      \
      << "expected to find: " << (part) << "\nin: " << (text)

/* Sets an environment variable for one scope (the emulator reads its
 * AG_EMU_* settings at every launch). */
class ScopedEnv {
 public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    const char *old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  const char *name_;
  bool had_ = false;
  std::string old_;
};

const char *const kThreadOrders[] = {"forward", "reverse"};

/* (c) A barrier inside `if (tid < s)`: half of the block waits there forever
 * while the other half exits. The launch must fail with a message that says
 * which threads were where. */
TEST(EmuNegative, DivergentBarrierIsALaunchFailure) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> sums(broken::block_sums(x).size(), -1.0f);
  const ag_status st = ag_emu_broken_block_sum_divergent(x.data(), sums.data(), kN, nullptr);
  ASSERT_EQ(st, AG_ERR_KERNEL) << "the divergent barrier went unnoticed";
  const std::string msg = ag_last_error();
  EXPECT_CONTAINS(msg, "kernel 'block_sum_divergent'");
  EXPECT_CONTAINS(msg, "block (0,0,0)");
  EXPECT_CONTAINS(msg, "__syncthreads() barrier can never complete");
  EXPECT_CONTAINS(msg, "threads 0-127 wait at __syncthreads() broken.cu:");
  EXPECT_CONTAINS(msg, "threads 128-255 exited");
  /* The launch was abandoned at the first block: no sum was written. */
  EXPECT_EQ(sums[0], -1.0f);
}

/* (a) Without the barrier after the shared-memory store, the first tree step
 * reads slots that later threads have not written yet: the emulator starts
 * the block's threads first to last, so the race always shows as a wrong
 * sum. (Last to first, every read would follow its write: a tree reduction
 * is only checked by the default order, which this test therefore pins.) */
TEST(EmuNegative, MissingSyncthreadsGivesWrongSums) {
  unsetenv("AG_EMU_THREAD_ORDER");
  /* The race detector would stop the launch first (RaceDetector tests). */
  ScopedEnv no_race_checks("AG_EMU_RACECHECK", "0");
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> sums(broken::block_sums(x).size());
  ASSERT_EQ(ag_emu_broken_block_sum_missing_sync(x.data(), sums.data(), kN, nullptr), AG_OK)
      << ag_last_error();
  const std::vector<float> want = broken::block_sums(x);
  for (size_t b = 0; b < sums.size(); ++b)
    EXPECT_NE(sums[b], want[b]) << "block " << b << ": the race went unnoticed";
}

/* (b) An off-by-one write past the end of dynamic shared memory, caught by the
 * guard bytes around it. Not compiled under AddressSanitizer, where the write
 * aborts the process: there the emu_broken_off-by-one-dynamic ctest expects
 * ASan's report instead. (A skipped test would make ctest report this whole
 * program as skipped.) */
#if !defined(__SANITIZE_ADDRESS__)
TEST(EmuNegative, OffByOneDynamicSharedWriteIsALaunchFailure) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> y((size_t)kN);
  const ag_status st = ag_emu_broken_stencil_dynamic(x.data(), y.data(), kN, nullptr);
  ASSERT_EQ(st, AG_ERR_KERNEL) << "the off-by-one write went unnoticed";
  EXPECT_CONTAINS(ag_last_error(), "kernel 'stencil_dynamic'");
  EXPECT_CONTAINS(ag_last_error(), "wrote outside its dynamic shared memory (1032 bytes)");
}
#endif

/* ---- (f) Block order ------------------------------------------------------------- */

std::vector<unsigned> block_order(unsigned gx, unsigned gy, unsigned gz) {
  unsigned next = 0;
  std::vector<unsigned> order(gx * gy * gz, ~0u);
  EXPECT_EQ(ag_emu_broken_log_block_order(gx, gy, gz, &next, order.data(), nullptr), AG_OK)
      << ag_last_error();
  EXPECT_EQ(next, order.size());
  return order;
}

std::vector<unsigned> iota(size_t n) {
  std::vector<unsigned> v(n);
  std::iota(v.begin(), v.end(), 0u);
  return v;
}

TEST(EmuBlockOrder, ForwardAndReverse) {
  unsetenv("AG_EMU_BLOCK_ORDER");
  EXPECT_EQ(block_order(7, 5, 3), iota(105));
  ScopedEnv reverse("AG_EMU_BLOCK_ORDER", "reverse");
  std::vector<unsigned> want = iota(105);
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(block_order(7, 5, 3), want);
}

/* Every block runs once, in an order fixed by the seed. */
TEST(EmuBlockOrder, ShuffleIsASeededPermutation) {
  ScopedEnv shuffle("AG_EMU_BLOCK_ORDER", "shuffle");
  for (const unsigned n : {1u, 2u, 3u, 100u, 1000u}) {
    std::vector<unsigned> order = block_order(n, 1, 1);
    const std::vector<unsigned> again = block_order(n, 1, 1);
    EXPECT_EQ(order, again) << n << " blocks: the default seed is fixed";
    std::vector<unsigned> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, iota(n)) << n << " blocks";
    if (n >= 100) {
      EXPECT_NE(order, iota(n)) << n << " blocks were not shuffled";
    }
  }
  const std::vector<unsigned> seed1 = block_order(7, 5, 3);
  ScopedEnv seed("AG_EMU_BLOCK_SEED", "12345");
  const std::vector<unsigned> seed2 = block_order(7, 5, 3);
  EXPECT_NE(seed1, seed2) << "AG_EMU_BLOCK_SEED changes the order";
  std::vector<unsigned> sorted = seed2;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota(105));
}

/* The last block adds up the partial sums of the others: right only when it
 * happens to run last. */
TEST(EmuBlockOrder, LastBlockSumFailsInOtherOrders) {
  const std::vector<float> x = broken::inputs(kN);
  const std::vector<float> sums = broken::block_sums(x);
  const float want = std::accumulate(sums.begin(), sums.end(), 0.0f);
  const auto run = [&] {
    std::vector<float> partial(sums.size(), std::nanf("")), total(1, -1.0f);
    EXPECT_EQ(ag_emu_broken_sum_in_last_block(x.data(), partial.data(), total.data(), kN, nullptr),
              AG_OK)
        << ag_last_error();
    return total[0];
  };
  unsetenv("AG_EMU_BLOCK_ORDER");
  EXPECT_EQ(run(), want) << "the default order runs the last block last";
  for (const char *order : {"reverse", "shuffle"}) {
    ScopedEnv env("AG_EMU_BLOCK_ORDER", order);
    const float got = run();
    EXPECT_FALSE(got == want) << "AG_EMU_BLOCK_ORDER=" << order << " went unnoticed";
  }
}

/* A launch error says how the blocks were ordered, so it can be reproduced. */
TEST(EmuBlockOrder, ErrorsNameTheOrderAndSeed) {
  const std::vector<float> x = broken::inputs(kN);
  std::vector<float> sums(broken::block_sums(x).size());
  ScopedEnv shuffle("AG_EMU_BLOCK_ORDER", "shuffle");
  ScopedEnv seed("AG_EMU_BLOCK_SEED", "77");
  ASSERT_EQ(ag_emu_broken_block_sum_divergent(x.data(), sums.data(), kN, nullptr), AG_ERR_KERNEL);
  EXPECT_CONTAINS(ag_last_error(), "AG_EMU_BLOCK_ORDER=shuffle AG_EMU_BLOCK_SEED=77");
}

/* ---- (d, e) The race detector ---------------------------------------------------- *
 * Compiled in when the emulated kernels carry its hooks (not under
 * AddressSanitizer; see kernels/emu/ag_emu_race.h). */
#if defined(AG_EMU_RACECHECK)

/* Runs neighbour_sum_racy; "" if it succeeded, else the error. */
std::string run_neighbour_sum(std::vector<float> *y) {
  const std::vector<float> x = broken::inputs(kN);
  y->assign((size_t)kN, -1.0f);
  const ag_status st = ag_emu_broken_neighbour_sum_racy(x.data(), y->data(), kN, nullptr);
  return st == AG_OK ? "" : ag_last_error();
}

/* The race changes nothing a result comparison could see... */
TEST(RaceDetector, RacyNeighbourSumIsRightInBothThreadOrders) {
  ScopedEnv no_race_checks("AG_EMU_RACECHECK", "0");
  for (const char *order : kThreadOrders) {
    ScopedEnv env("AG_EMU_THREAD_ORDER", order);
    std::vector<float> y;
    ASSERT_EQ(run_neighbour_sum(&y), "") << order;
    EXPECT_EQ(y, broken::neighbour_sums(broken::inputs(kN))) << order;
  }
}

/* ...but the detector reports it. The last thread to reach a barrier goes on
 * first: last to first that is thread 0, which rewrites buf[0] before thread
 * 255 reads it... */
TEST(RaceDetector, ReadAfterWriteIsReported) {
  ScopedEnv env("AG_EMU_THREAD_ORDER", "reverse");
  std::vector<float> y;
  const std::string msg = run_neighbour_sum(&y);
  EXPECT_CONTAINS(msg, "kernel 'neighbour_sum_racy'");
  EXPECT_CONTAINS(msg, "block (0,0,0)");
  EXPECT_CONTAINS(msg, "shared-memory race (read after write) on byte 0 of static __shared__ "
                       "'neighbour_sum_racy(float const*, float*, int)::buf'");
  EXPECT_CONTAINS(msg, "thread 255 (255,0,0; warp 7 lane 31) reads at broken.cu:");
  EXPECT_CONTAINS(msg, "thread 0 (0,0,0; warp 0 lane 0) wrote at broken.cu:");
}

/* ...and first to last, thread 255 goes on first and reads buf[0], which
 * thread 0 then rewrites. */
TEST(RaceDetector, WriteAfterReadIsReported) {
  ScopedEnv env("AG_EMU_THREAD_ORDER", "forward");
  std::vector<float> y;
  const std::string msg = run_neighbour_sum(&y);
  EXPECT_CONTAINS(msg, "shared-memory race (write after read) on byte 0 of static __shared__ "
                       "'neighbour_sum_racy(float const*, float*, int)::buf'");
  EXPECT_CONTAINS(msg, "thread 0 (0,0,0; warp 0 lane 0) writes at broken.cu:");
  EXPECT_CONTAINS(msg, "thread 255 (255,0,0; warp 7 lane 31) read at broken.cu:");
}

/* __syncwarp() orders the lanes of a warp and __syncthreads() the block: the
 * correctly synchronised exchange is not reported, in either order. */
TEST(RaceDetector, SynchronisedExchangeIsNotReported) {
  const std::vector<float> x = broken::inputs(kN);
  for (const char *order : kThreadOrders) {
    ScopedEnv env("AG_EMU_THREAD_ORDER", order);
    std::vector<float> y((size_t)kN);
    ASSERT_EQ(ag_emu_broken_exchange(x.data(), y.data(), kN, 0, nullptr), AG_OK)
        << order << ": " << ag_last_error();
    EXPECT_EQ(y, broken::exchanged(x)) << order;
  }
}

/* A __syncwarp() does not order two warps. */
TEST(RaceDetector, CrossWarpReadAfterSyncwarpIsReported) {
  const std::vector<float> x = broken::inputs(kN);
  for (const char *order : kThreadOrders) {
    ScopedEnv env("AG_EMU_THREAD_ORDER", order);
    std::vector<float> y((size_t)kN);
    ASSERT_EQ(ag_emu_broken_exchange(x.data(), y.data(), kN, 1, nullptr), AG_ERR_KERNEL) << order;
    EXPECT_CONTAINS(ag_last_error(), "kernel 'exchange_warp_sync_only'");
    EXPECT_CONTAINS(ag_last_error(), "shared-memory race");
  }
}

TEST(RaceDetector, SharedAtomicsAreNotRaces) {
  const std::vector<float> x = broken::inputs(kN);
  for (const char *order : kThreadOrders) {
    ScopedEnv env("AG_EMU_THREAD_ORDER", order);
    std::vector<unsigned> counts(broken::block_sums(x).size(), 0u);
    ASSERT_EQ(ag_emu_broken_count_odd(x.data(), counts.data(), kN, nullptr), AG_OK)
        << order << ": " << ag_last_error();
    for (size_t b = 0; b < counts.size(); ++b) {
      unsigned want = 0;
      for (size_t i = b * AG_BROKEN_BLOCK; i < x.size() && i < (b + 1) * AG_BROKEN_BLOCK; ++i)
        want += (int)x[i] & 1;
      EXPECT_EQ(counts[b], want) << order << ", block " << b;
    }
  }
}

/* (e) Every block's static __shared__ starts poisoned: NaN as floats, even
 * where the previous block stored 1.0f. */
TEST(RaceDetector, StaticSharedStartsEveryBlockPoisoned) {
  std::vector<float> y((size_t)kN, 0.0f);
  ASSERT_EQ(ag_emu_broken_read_before_write(y.data(), kN, nullptr), AG_OK) << ag_last_error();
  for (int i = 0; i < kN; ++i) EXPECT_TRUE(std::isnan(y[(size_t)i])) << "y[" << i << "] = " << y[i];
}

#endif

} /* namespace */
