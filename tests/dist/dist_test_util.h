// dist_test_util.h - what the communicator's suites share: tensors written
// from and read back as doubles in any dtype the collectives move.
#ifndef AG_DIST_TEST_UTIL_H
#define AG_DIST_TEST_UTIL_H

#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
#include "kernels/common/ag_bf16.h"
#include "runtime/core/ag_tensor.h"
}

namespace ag_dist_test {

// A 1-d tensor of dt on be holding v (rounded to dt; i32 truncated).
inline ag_tensor *tensor_of(ag_backend *be, ag_dtype dt, const std::vector<double> &v) {
  const int64_t n = (int64_t)v.size();
  ag_tensor *t = ag_tensor_new(be, dt, 1, &n);
  if (!t) return nullptr;
  std::vector<uint8_t> bytes(v.size() * ag_dtype_size(dt));
  for (size_t i = 0; i < v.size(); i++) {
    const float f = (float)v[i];
    uint16_t h = 0;
    int32_t k = 0;
    switch (dt) {
    case AG_BF16: h = ag_f32_to_bf16(f); std::memcpy(&bytes[2 * i], &h, 2); break;
    case AG_F16: h = ag_f32_to_f16(f); std::memcpy(&bytes[2 * i], &h, 2); break;
    case AG_I32: k = (int32_t)v[i]; std::memcpy(&bytes[4 * i], &k, 4); break;
    default: std::memcpy(&bytes[4 * i], &f, 4); break;
    }
  }
  if (ag_tensor_write(t, bytes.data(), bytes.size()) != AG_OK) {
    ag_tensor_free(t);
    return nullptr;
  }
  return t;
}

inline std::vector<double> values_of(const ag_tensor *t) {
  const size_t n = (size_t)ag_tensor_numel(t), es = ag_dtype_size(t->dtype);
  std::vector<uint8_t> bytes(n * es);
  std::vector<double> v(n, -12345.0);
  if (ag_tensor_read(t, bytes.data(), bytes.size()) != AG_OK) return v;
  for (size_t i = 0; i < n; i++) {
    uint16_t h;
    int32_t k;
    float f;
    switch (t->dtype) {
    case AG_BF16: std::memcpy(&h, &bytes[2 * i], 2); v[i] = ag_bf16_to_f32(h); break;
    case AG_F16: std::memcpy(&h, &bytes[2 * i], 2); v[i] = ag_f16_to_f32(h); break;
    case AG_I32: std::memcpy(&k, &bytes[4 * i], 4); v[i] = k; break;
    default: std::memcpy(&f, &bytes[4 * i], 4); v[i] = f; break;
    }
  }
  return v;
}

}  // namespace ag_dist_test

#endif
