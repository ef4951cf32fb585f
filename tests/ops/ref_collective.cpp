// f64 references: the collective ops (runtime/ops/collective.list) with the
// one rank a single process has. all_gather of world w concatenates every
// rank's x along axis 0 and its gradient sums every rank's matching rows of
// gy; with w = 1 there is one x and one gy, so y = x and gx = gy.
#include "op_reference.h"

using namespace ag_test;

namespace {

RefTensors all_gather(const RefCall &r) { return {r.in[0]}; }

RefTensors all_gather_backward(const RefCall &r, const RefTensors &gy) {
  (void)r;
  return {gy[0]};
}

}  // namespace

AG_OP_REFERENCE(collective) {
  return {{AG_OP_ALL_GATHER, {all_gather, all_gather_backward}}};
}
