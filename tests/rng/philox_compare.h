// philox_compare.h - the backend-vs-CPU checks shared by the emulated (emu) and
// real-GPU (gpu) Philox tests: for every case, a backend fill must be
// bit-identical (memcmp) to the CPU fill, since random streams are part of the
// engine's reproducibility contract.
#ifndef AG_TESTS_PHILOX_COMPARE_H
#define AG_TESTS_PHILOX_COMPARE_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/ag_base.h"
#include "kernels/common/ag_kernels.h"

namespace ag_philox_test {

enum Kind { kUniform, kNormal };

struct Case {
  Kind kind;
  ag_dtype dt;
  int64_t n;
  uint64_t seed, offset;
  float a, b; // lo/hi or mean/std
};

inline std::string describe(const Case &c) {
  return std::string(c.kind == kUniform ? "uniform" : "normal") + " " + ag_dtype_name(c.dt) +
         " n=" + std::to_string(c.n) + " seed=" + std::to_string(c.seed) +
         " offset=" + std::to_string(c.offset);
}

// Fills c.n values into `out` (host bytes, already sized) with a backend.
using Filler = std::function<ag_status(const Case &c, std::vector<uint8_t> &out)>;

inline ag_status cpu_fill(const Case &c, std::vector<uint8_t> &out) {
  return c.kind == kUniform
             ? ag_cpu_fill_uniform(c.dt, out.data(), c.n, c.seed, c.offset, c.a, c.b, nullptr)
             : ag_cpu_fill_normal(c.dt, out.data(), c.n, c.seed, c.offset, c.a, c.b, nullptr);
}

// Runs one case on the CPU and on the backend and compares the bytes.
inline void expect_same_as_cpu(const Filler &backend, const Case &c) {
  const size_t bytes = (size_t)c.n * ag_dtype_size(c.dt);
  std::vector<uint8_t> want(bytes, 0xAB), got(bytes, 0xCD);
  ASSERT_EQ(cpu_fill(c, want), AG_OK) << ag_last_error();
  ASSERT_EQ(backend(c, got), AG_OK) << describe(c) << ": " << ag_last_error();
  if (std::memcmp(want.data(), got.data(), bytes) == 0) return;
  const size_t es = ag_dtype_size(c.dt);
  size_t i = 0;
  while (std::memcmp(&want[i * es], &got[i * es], es) == 0) i++;
  uint32_t w = 0, g = 0;
  std::memcpy(&w, &want[i * es], es);
  std::memcpy(&g, &got[i * es], es);
  ADD_FAILURE() << describe(c) << ": first difference at element " << i << ": cpu bits 0x"
                << std::hex << w << ", backend bits 0x" << g;
}

// The offsets the brief asks for: aligned, unaligned head, far (block > 2^32 / 4).
inline std::vector<uint64_t> standard_offsets() {
  return {0, 1, 3, 4, 1000003, (1ull << 32) + 5};
}

// 10^6 draws per case, uniform and normal, for f32 and bf16 at every offset,
// and f16 at two of them.
inline void check_large_fills(const Filler &backend, int64_t n = 1000000) {
  for (uint64_t off : standard_offsets()) {
    for (ag_dtype dt : {AG_F32, AG_BF16, AG_F16}) {
      if (dt == AG_F16 && off != 0 && off != 3) continue;
      SCOPED_TRACE("offset " + std::to_string(off) + " " + ag_dtype_name(dt));
      expect_same_as_cpu(backend, {kUniform, dt, n, 0x0123456789abcdefull, off, -1.5f, 2.5f});
      expect_same_as_cpu(backend, {kNormal, dt, n, 0x0123456789abcdefull, off, 0.25f, 1.75f});
    }
  }
}

// Every head/tail shape within and across blocks: offsets 0..7 and sizes that
// start and end at each position of a 4-value block, including fills that lie
// inside one block.
inline void check_head_tail(const Filler &backend) {
  for (uint64_t off = 0; off < 8; off++)
    for (int64_t n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 1027})
      for (Kind k : {kUniform, kNormal})
        expect_same_as_cpu(backend, {k, AG_F32, n, 77, off + (1ull << 40), 0.0f, 1.0f});
}

// Non-float dtypes are refused with AG_ERR_UNSUPPORTED, as on the CPU.
inline void check_unsupported(const Filler &backend) {
  std::vector<uint8_t> buf(64);
  EXPECT_EQ(backend({kUniform, AG_I32, 4, 1, 0, 0.0f, 1.0f}, buf), AG_ERR_UNSUPPORTED);
  EXPECT_EQ(backend({kNormal, AG_U8, 4, 1, 0, 0.0f, 1.0f}, buf), AG_ERR_UNSUPPORTED);
}

}  // namespace ag_philox_test

#endif
