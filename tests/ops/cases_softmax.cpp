// Op harness cases: softmax, log-softmax, cross-entropy, MSE and Huber losses.
// Row lengths cover one column, one warp plus one (33), and rows longer than
// the one-warp-per-row limit (1024) that one block strides over; "packed"
// rows (16-byte multiples in every dtype) take the CUDA kernels' vector
// path, the others their scalar path.
#include "op_cases.h"

using namespace ag_test;

namespace {

OpCase softmax_case(const std::string &label, std::vector<int64_t> shape, float scale,
                    bool causal) {
  OpCase c = op_case(AG_OP_SOFTMAX, label, {in(std::move(shape))});
  encode_args(c, ag_softmax_args_encode, ag_softmax_args{scale, causal});
  return c;
}

// Integer class indices in [0, classes): not differentiable.
InputSpec targets(int64_t rows, int64_t classes) {
  InputSpec t = in({rows});
  t.dtype = AG_I32;
  t.lo = 0.0f;
  t.hi = (float)classes;
  t.differentiable = false;
  return t;
}

OpCase cross_entropy_case(const std::string &label, int64_t rows, int64_t classes) {
  return op_case(AG_OP_CROSS_ENTROPY, label, {in({rows, classes}), targets(rows, classes)});
}

int64_t numel(const OpCase &c) {
  int64_t n = 1;
  for (int64_t d : c.inputs[0].shape) n *= d;
  return n;
}

}  // namespace

AG_OP_CASES(softmax) {
  CaseList cases = {
      softmax_case("col1", {4, 1}, 0.0f, false),
      softmax_case("row1", {1, 33}, 0.0f, false),
      softmax_case("scaled", {3, 33}, 0.7f, false),
      softmax_case("wide", {2, 1500}, 0.0f, false),
      softmax_case("packed", {3, 40}, 0.0f, false),
      softmax_case("causal_wide", {1, 3, 1104}, 1.3f, true),
      softmax_case("causal", {2, 5, 9}, 0.5f, true),
      softmax_case("causal_packed", {2, 5, 16}, 0.0f, true),
      softmax_case("causal_square", {3, 7, 7}, 0.0f, true),
      op_case(AG_OP_LOG_SOFTMAX, "col1", {in({4, 1})}),
      op_case(AG_OP_LOG_SOFTMAX, "rows", {in({3, 33})}),
      op_case(AG_OP_LOG_SOFTMAX, "packed", {in({3, 40})}),
      op_case(AG_OP_LOG_SOFTMAX, "wide", {in({2, 1500})}),
      op_case(AG_OP_LOG_SOFTMAX, "batched", {in({2, 3, 17})}),
      cross_entropy_case("rows", 5, 7),
      cross_entropy_case("one_class", 3, 1),
      cross_entropy_case("wide", 3, 2500),
      cross_entropy_case("packed", 2, 1048),
  };
  OpCase ignore = cross_entropy_case("ignore", 8, 6);
  // rows with target 2 are ignored
  encode_args(ignore, ag_cross_entropy_args_encode, ag_cross_entropy_args{1, 2, 0.0f});
  cases.push_back(ignore);
  OpCase smooth = cross_entropy_case("smooth", 4, 33);
  encode_args(smooth, ag_cross_entropy_args_encode, ag_cross_entropy_args{1, 5, 0.1f});
  cases.push_back(smooth);
  OpCase lse_grad = cross_entropy_case("lse_grad", 4, 16);
  lse_grad.grad_outputs = {0, 1};  // the saved logsumexp is differentiable too
  cases.push_back(lse_grad);

  const std::vector<std::vector<int64_t>> loss_shapes = {{7}, {3, 33}, {2, 3, 257}};
  for (size_t k = 0; k < loss_shapes.size(); k++) {
    const auto &s = loss_shapes[k];
    std::string label = "s" + std::to_string(k);
    cases.push_back(op_case(AG_OP_MSE_LOSS, label, {in(s), in(s)}));
    OpCase huber = op_case(AG_OP_HUBER_LOSS, label, {in(s), in(s)});
    // 0: PyTorch's default delta of 1
    encode_args(huber, ag_huber_args_encode, ag_huber_args{k == 1 ? 0.0f : 0.8f});
    cases.push_back(huber);
  }
  // Finite differences cost two forwards per element: keep them to small shapes.
  for (auto &c : cases) {
    c.finite_differences = numel(c) <= 200;
    // log_softmax outputs are O(log cols): a loss summing ~100 of them in
    // f32 rounds by ~1e-6, too much for a 1e-3 step; its curvature is small.
    if (c.op == AG_OP_LOG_SOFTMAX) c.fd_eps = 1e-2;
  }
  return cases;
}
