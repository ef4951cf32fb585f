// ag_test_util.h - helpers shared by the GoogleTest suites.
#ifndef AG_TEST_UTIL_H
#define AG_TEST_UTIL_H

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/ag_bf16.h"
#include "runtime/core/ag_tensor.h"

namespace ag_test {

// A tensor freed when it goes out of scope.
struct TensorDeleter {
  void operator()(ag_tensor *t) const { ag_tensor_free(t); }
};
using Tensor = std::unique_ptr<ag_tensor, TensorDeleter>;

// Host values rounded to the dtype, so the same numbers go to every backend.
inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -2.0f,
                                        float hi = 2.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto &x : v) x = dist(rng);
  return v;
}

inline std::vector<uint8_t> encode(ag_dtype dt, const std::vector<float> &v) {
  std::vector<uint8_t> bytes(v.size() * ag_dtype_size(dt));
  for (size_t i = 0; i < v.size(); i++) {
    if (dt == AG_F32) std::memcpy(&bytes[i * 4], &v[i], 4);
    else {
      uint16_t h = dt == AG_BF16 ? ag_f32_to_bf16(v[i]) : ag_f32_to_f16(v[i]);
      std::memcpy(&bytes[i * 2], &h, 2);
    }
  }
  return bytes;
}

inline std::vector<float> decode(ag_dtype dt, const std::vector<uint8_t> &bytes) {
  size_t n = bytes.size() / ag_dtype_size(dt);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) {
    if (dt == AG_F32) std::memcpy(&v[i], &bytes[i * 4], 4);
    else {
      uint16_t h;
      std::memcpy(&h, &bytes[i * 2], 2);
      v[i] = dt == AG_BF16 ? ag_bf16_to_f32(h) : ag_f16_to_f32(h);
    }
  }
  return v;
}

// A new tensor on `be` holding `values` (rounded to dt); asserts on failure.
inline ag_tensor *make_tensor(ag_backend *be, ag_dtype dt, std::vector<int64_t> shape,
                              const std::vector<float> &values) {
  ag_tensor *t = ag_tensor_new(be, dt, (int)shape.size(), shape.data());
  EXPECT_NE(t, nullptr) << ag_last_error();
  if (!t) return nullptr;
  auto bytes = encode(dt, values);
  EXPECT_EQ(ag_tensor_write(t, bytes.data(), bytes.size()), AG_OK) << ag_last_error();
  return t;
}

inline std::vector<uint8_t> read_bytes(const ag_tensor *t) {
  std::vector<uint8_t> bytes(ag_tensor_nbytes(t));
  EXPECT_EQ(ag_tensor_read(t, bytes.data(), bytes.size()), AG_OK) << ag_last_error();
  return bytes;
}

inline std::vector<float> read_floats(const ag_tensor *t) {
  return decode(t->dtype, read_bytes(t));
}

// Normalised mean squared error of `got` against `want` (ggml's metric), in
// double whatever the element types.
template <class W, class G>
double nmse(const std::vector<W> &want, const std::vector<G> &got) {
  double err = 0.0, ref = 0.0;
  for (size_t i = 0; i < want.size(); i++) {
    const double d = (double)got[i] - (double)want[i];
    err += d * d;
    ref += (double)want[i] * (double)want[i];
  }
  return ref > 0 ? err / ref : err;
}

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The names in a directory, sorted.
inline std::vector<std::string> listing(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// A fresh directory under /tmp, removed with everything in it.
struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/aigc_test_XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Scratch() { std::filesystem::remove_all(dir); }
};

}  // namespace ag_test

#endif
