// The CUDA Philox kernels (kernels/cuda/random.cu) compiled by the host compiler
// and run by the CUDA-on-CPU emulator must reproduce the CPU fills bit for bit.
#include <gtest/gtest.h>

#include "kernels/common/ag_kernels.h"
#include "philox_compare.h"

namespace pt = ag_philox_test;

namespace {

// The emulator runs kernels on the CPU, so the "device" buffer is host memory.
ag_status emu_fill(const pt::Case &c, std::vector<uint8_t> &out) {
  return c.kind == pt::kUniform
             ? ag_emu_fill_uniform(c.dt, out.data(), c.n, c.seed, c.offset, c.a, c.b, nullptr)
             : ag_emu_fill_normal(c.dt, out.data(), c.n, c.seed, c.offset, c.a, c.b, nullptr);
}

}  // namespace

TEST(PhiloxEmu, LargeFillsMatchCpu) { pt::check_large_fills(emu_fill); }

TEST(PhiloxEmu, HeadAndTailMatchCpu) { pt::check_head_tail(emu_fill); }

TEST(PhiloxEmu, UnsupportedDtype) { pt::check_unsupported(emu_fill); }
