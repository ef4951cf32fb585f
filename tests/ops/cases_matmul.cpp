// Op harness cases: matmul and matmul_bias. Sizes avoid multiples of 8/16
// (cuBLASLt tiles), and cover every transpose pair, two batch dims, a weight
// (or a left operand) shared by the batch, and the bias / relu / gelu
// epilogues. K stays small so bf16/f16 results stay within the default NMSE.
#include "op_cases.h"

using namespace ag_test;

namespace {

OpCase mm(std::string label, std::vector<int64_t> a, std::vector<int64_t> b, int ta, int tb,
          int epilogue = 0) {
  OpCase c = op_case(AG_OP_MATMUL, std::move(label), {in(std::move(a)), in(std::move(b))});
  const ag_matmul_args args = {ta, tb, epilogue};
  ag_op_call call = {};
  ag_matmul_args_encode(&call, &args);
  c.set_args(call);
  // The op is linear in each input (but for the epilogue), so a large step
  // keeps f32 rounding out of the quotient.
  c.fd_eps = epilogue == 0 ? 0.25 : epilogue == 1 ? 1e-3 : 1e-2;
  c.fd_kinks = epilogue == 1;  // relu: where a product crosses 0
  return c;
}

OpCase mm_bias(std::string label, std::vector<int64_t> a, std::vector<int64_t> b, int64_t n,
               int ta, int tb, int epilogue) {
  OpCase c = mm(std::move(label), std::move(a), std::move(b), ta, tb, epilogue);
  c.op = AG_OP_MATMUL_BIAS;
  c.inputs.push_back(in({n}));
  return c;
}

int64_t numel(const std::vector<int64_t> &s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

}  // namespace

AG_OP_CASES(matmul) {
  CaseList cases = {
      mm("m3n5k7", {3, 7}, {7, 5}, 0, 0),
      mm("m17n33k9", {17, 9}, {9, 33}, 0, 0),
      mm("row", {1, 11}, {11, 19}, 0, 0),
      mm("ta", {6, 4}, {6, 5}, 1, 0),
      mm("tb", {4, 6}, {5, 6}, 0, 1),
      mm("tatb", {6, 4}, {5, 6}, 1, 1),
      mm("batch2", {2, 3, 4, 5}, {2, 3, 5, 6}, 0, 0),
      mm("batch_tatb", {3, 5, 4}, {3, 7, 5}, 1, 1),
      mm("shared_b", {2, 5, 7}, {7, 3}, 0, 0),
      mm("shared_b_ta", {2, 3, 7, 5}, {7, 3}, 1, 0),
      mm("shared_b_tb", {3, 5, 7}, {3, 7}, 0, 1),
      mm("shared_a", {5, 7}, {3, 7, 4}, 0, 0),
      mm("shared_a_ta", {7, 5}, {2, 4, 7}, 1, 1),
      mm("relu", {2, 5, 7}, {7, 3}, 0, 0, 1),
      mm("gelu", {4, 9}, {6, 9}, 0, 1, 2),
      mm_bias("none", {3, 7}, {7, 5}, 5, 0, 0, 0),
      mm_bias("linear", {2, 5, 7}, {9, 7}, 9, 0, 1, 0),
      mm_bias("relu", {2, 5, 7}, {7, 9}, 9, 0, 0, 1),
      mm_bias("gelu", {2, 5, 7}, {9, 7}, 9, 0, 1, 2),
      mm_bias("gelu_ta_batched", {2, 7, 5}, {2, 7, 6}, 6, 1, 0, 2),
      mm_bias("gelu_wide", {3, 13}, {13, 70}, 70, 0, 0, 2),
  };
  for (auto &c : cases) {
    int64_t elems = 0;
    for (const auto &s : c.inputs) elems += numel(s.shape);
    // Each element costs two forwards.
    c.finite_differences = elems <= 400;
  }
  return cases;
}
