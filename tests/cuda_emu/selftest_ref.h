/* selftest_ref.h - plain CPU references for the self-test kernels of
 * selftest.cu, and the inputs the tests feed them. Inputs are small integers
 * stored as float, so every sum is exact whatever the order of additions and
 * results can be compared for equality. */
#ifndef AG_EMU_SELFTEST_REF_H
#define AG_EMU_SELFTEST_REF_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tests/cuda_emu/selftest.h"

namespace selftest {

/* Deterministic integers in [lo, hi]. */
inline std::vector<int> random_ints(int n, int lo, int hi, uint32_t seed) {
  std::vector<int> v((size_t)n);
  uint32_t s = seed;
  for (int &x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (int)((s >> 8) % (uint32_t)(hi - lo + 1));
  }
  return v;
}

inline std::vector<float> random_floats(int n, int lo, int hi, uint32_t seed) {
  const std::vector<int> i = random_ints(n, lo, hi, seed);
  return std::vector<float>(i.begin(), i.end());
}

inline int chunks(int n, int size) { return (n + size - 1) / size; }

inline std::vector<float> block_sum(const std::vector<float> &x, int block) {
  const int n = (int)x.size();
  std::vector<float> out((size_t)chunks(n, block), 0.0f);
  for (int i = 0; i < n; ++i) out[(size_t)(i / block)] += x[(size_t)i];
  return out;
}

inline std::vector<float> transpose(const std::vector<float> &in, int rows, int cols) {
  std::vector<float> out(in.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) out[(size_t)c * rows + r] = in[(size_t)r * cols + c];
  return out;
}

inline std::vector<int> warp_scan(const std::vector<int> &x) {
  std::vector<int> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] + (i % 32 ? y[i - 1] : 0);
  return y;
}

inline std::vector<unsigned> histogram(const std::vector<int> &x) {
  std::vector<unsigned> bins(AG_SELFTEST_BINS, 0);
  for (int v : x) ++bins[(size_t)(v & (AG_SELFTEST_BINS - 1))];
  return bins;
}

struct Votes {
  std::vector<unsigned> ballot;
  std::vector<int> any, all;
};

/* Lanes past the end of x vote 0, like the kernel's out-of-range threads. */
inline Votes votes(const std::vector<float> &x) {
  const int warps = chunks((int)x.size(), 32);
  Votes v{std::vector<unsigned>((size_t)warps), std::vector<int>((size_t)warps),
          std::vector<int>((size_t)warps)};
  for (int w = 0; w < warps; ++w) {
    unsigned b = 0;
    for (int l = 0; l < 32; ++l) {
      const size_t i = (size_t)(w * 32 + l);
      if (i < x.size() && x[i] > 0.0f) b |= 1u << l;
    }
    v.ballot[(size_t)w] = b;
    v.any[(size_t)w] = b != 0;
    v.all[(size_t)w] = b == 0xffffffffu;
  }
  return v;
}

/* Every element gets the sum and max of its aligned chunk of 32. */
inline void butterfly(const std::vector<float> &x, std::vector<float> &sum,
                      std::vector<float> &max) {
  sum.assign(x.size(), 0.0f);
  max.assign(x.size(), 0.0f);
  for (size_t w = 0; w < x.size(); w += 32) {
    const size_t end = std::min(x.size(), w + 32);
    float s = 0.0f, m = -INFINITY;
    for (size_t i = w; i < end; ++i) s += x[i], m = std::max(m, x[i]);
    for (size_t i = w; i < end; ++i) sum[i] = s, max[i] = m;
  }
}

inline std::vector<float> reverse_chunks(const std::vector<float> &x, int block) {
  std::vector<float> y(x.size());
  for (size_t start = 0; start < x.size(); start += (size_t)block) {
    const size_t end = std::min(x.size(), start + (size_t)block);
    std::reverse_copy(x.begin() + (long)start, x.begin() + (long)end, y.begin() + (long)start);
  }
  return y;
}

struct SyncCounts {
  std::vector<int> count, all, any;
};

/* Per block of `block` threads; threads past the end of x count as false. */
inline SyncCounts sync_counts(const std::vector<float> &x, int block) {
  const int blocks = chunks((int)x.size(), block);
  SyncCounts s{std::vector<int>((size_t)blocks, 0), std::vector<int>((size_t)blocks),
               std::vector<int>((size_t)blocks)};
  for (size_t i = 0; i < x.size(); ++i) s.count[i / (size_t)block] += x[i] > 0.0f;
  for (int b = 0; b < blocks; ++b) {
    s.all[(size_t)b] = s.count[(size_t)b] == block;
    s.any[(size_t)b] = s.count[(size_t)b] != 0;
  }
  return s;
}

inline std::vector<unsigned> index3d() {
  std::vector<unsigned> out;
  for (unsigned bz = 0; bz < AG_SELFTEST_GRID_Z; ++bz)
    for (unsigned by = 0; by < AG_SELFTEST_GRID_Y; ++by)
      for (unsigned bx = 0; bx < AG_SELFTEST_GRID_X; ++bx)
        for (unsigned tz = 0; tz < AG_SELFTEST_BLOCK_Z; ++tz)
          for (unsigned ty = 0; ty < AG_SELFTEST_BLOCK_Y; ++ty)
            for (unsigned tx = 0; tx < AG_SELFTEST_BLOCK_X; ++tx)
              out.push_back(selftest_index_code(bx, by, bz, tx, ty, tz));
  return out;
}

inline std::vector<int> rotate(const std::vector<int> &x, int steps) {
  const int B = AG_SELFTEST_ROTATE_BLOCK, n = (int)x.size();
  std::vector<int> y(x.size());
  for (int i = 0; i < n; ++i) {
    const int src = i - i % B + (i % B + steps) % B;
    y[(size_t)i] = src < n ? x[(size_t)src] : 0;
  }
  return y;
}

inline std::vector<float> saxpy(float a, const std::vector<float> &x, std::vector<float> y) {
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::fma(a, x[i], y[i]);
  return y;
}

} /* namespace selftest */

#endif
