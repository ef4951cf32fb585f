// References: Philox random fills (runtime/ops/random.list). Their result is
// defined bit for bit by the stream and transforms of kernels/common/ag_philox.h,
// so that header is the reference: element i of a fill with `offset` is value
// offset + i of the stream, word (offset + i) % 4 of Philox block (offset + i) / 4.
#include "kernels/common/ag_philox.h"
#include "op_reference.h"

using namespace ag_test;

namespace {

// Fills y with values offset, offset + 1, ... of the stream, where
// `block(group, out)` writes the 4 values of one Philox block.
template <class Block> RefTensor philox_fill(const Shape &shape, uint64_t offset, Block block) {
  RefTensor y = zeros(shape);
  float words[4];
  for (size_t k = 0; k < y.v.size(); k++) {
    const uint64_t s = offset + k;
    if (k == 0 || s % 4 == 0) block(s / 4, words);
    y.v[k] = words[s % 4];
  }
  return y;
}

RefTensors fill_uniform(const RefCall &r) {
  const ag_uniform_args a = ag_uniform_args_decode(&r.params);
  return {philox_fill(r.out_shape, a.offset, [&a](uint64_t group, float *out) {
    ag_philox_uniform4(a.seed, group, a.lo, a.hi, out);
  })};
}

RefTensors fill_normal(const RefCall &r) {
  const ag_normal_args a = ag_normal_args_decode(&r.params);
  return {philox_fill(r.out_shape, a.offset, [&a](uint64_t group, float *out) {
    ag_philox_normal4(a.seed, group, a.mean, a.std, out);
  })};
}

}  // namespace

AG_OP_REFERENCE(random) {
  return {
      {AG_OP_FILL_UNIFORM, {fill_uniform, nullptr}},
      {AG_OP_FILL_NORMAL, {fill_normal, nullptr}},
  };
}
