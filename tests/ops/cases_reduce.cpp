// Op harness cases: reductions over every axis position, keepdim on and off,
// short rows (a warp per row), rows longer than a block, inner axes both
// short (a thread per line) and long (a block's warps split the axis), and
// axes long enough to be split over blocks (two-stage reductions).
#include "op_cases.h"

using namespace ag_test;

namespace {

OpCase reduction(ag_op op, const std::string &label, std::vector<int64_t> shape, int64_t axis,
                 int64_t keepdim) {
  OpCase c = op_case(op, label, {in(std::move(shape))});
  encode_args(c, ag_reduce_args_encode, ag_reduce_args{(int)axis, (int)keepdim});
  c.fd_kinks = op == AG_OP_MAX;  // where two values of a line tie
  return c;
}

}  // namespace

AG_OP_CASES(reduce) {
  CaseList cases;
  for (ag_op op : {AG_OP_SUM, AG_OP_MEAN, AG_OP_MAX}) {
    // Every axis of a 3-d and a 4-d tensor, by positive and negative index.
    for (int64_t axis = 0; axis < 3; axis++)
      cases.push_back(reduction(op, "d3_a" + std::to_string(axis), {3, 5, 7}, axis, axis % 2));
    for (int64_t axis = -4; axis < 0; axis++)
      cases.push_back(
          reduction(op, "d4_a" + std::to_string(axis + 4), {2, 3, 4, 5}, axis, (axis + 4) % 2));
    cases.push_back(reduction(op, "one", {1}, 0, 1));
    cases.push_back(reduction(op, "scalar", {9}, 0, 0));
    cases.push_back(reduction(op, "rows", {3, 33}, -1, 1));
    cases.push_back(reduction(op, "wide", {2, 1500}, 1, 0));     // a block per row
    cases.push_back(reduction(op, "warp_max", {3, 1024}, 1, 1)); // the longest warp row
    cases.push_back(reduction(op, "long_inner", {2, 300, 3}, 1, 0));  // warps split the axis
    cases.push_back(reduction(op, "tiles", {3, 70, 37}, -2, 1));     // a partial 32-wide tile
    cases.push_back(reduction(op, "batched", {2, 3, 257}, 2, 1));
    // Too few blocks for the GPU: the axis is cut into chunks whose partials
    // a second pass combines. A whole tensor as one row (ag_mean_all), with a
    // shorter last chunk; three long rows; a long axis over few inner lines.
    for (OpCase c : {reduction(op, "all_chunks", {40001}, 0, 0),
                     reduction(op, "row_chunks", {3, 20000}, 1, 1)}) {
      // The mean's gradient gy / n is below f16's smallest normal (6e-5) for
      // most gy once n > 2^14, so its f16 rounding alone fails the gradient
      // threshold; sum and max cover these f16 forward paths.
      if (op == AG_OP_MEAN) c.dtypes = {AG_F32, AG_BF16};
      cases.push_back(c);
    }
    cases.push_back(reduction(op, "inner_chunks", {5000, 3}, 0, 0));
  }
  // Finite differences cost two forwards per element: keep them to small shapes.
  for (auto &c : cases) {
    int64_t n = 1;
    for (auto d : c.inputs[0].shape) n *= d;
    c.finite_differences = n <= 128;
  }
  return cases;
}
