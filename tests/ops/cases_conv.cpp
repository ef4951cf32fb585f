// Op harness cases: convolution family (NCHW). Shapes are small and odd
// because every emulated CUDA thread is a fiber; finite differences only on
// the smallest shapes. All these ops are linear in each input, so central
// differences are exact up to rounding and a larger step keeps that small.
#include "op_cases.h"

using namespace ag_test;

namespace {

struct ConvSpec {
  const char *label;
  std::vector<int64_t> x, w;
  int64_t stride[2], pad[2], dil[2], groups, output_padding;
  bool fd;
};

OpCase conv_case(ag_op op, const ConvSpec &s, bool bias) {
  std::vector<InputSpec> ins = {in(s.x), in(s.w)};
  if (bias) ins.push_back(in({s.w[0]}));
  OpCase c = op_case(op, s.label, ins);
  const ag_conv2d_args args = {{s.stride[0], s.stride[1]}, {s.pad[0], s.pad[1]},
                               {s.dil[0], s.dil[1]},       s.groups,
                               s.output_padding};
  ag_op_call call = {};
  ag_conv2d_args_encode(&call, &args);
  c.set_args(call);
  c.finite_differences = s.fd;
  return c;
}

OpCase pool_case(const char *label, std::vector<int64_t> x, int64_t k, int64_t stride,
                 int64_t pad, bool fd) {
  OpCase c = op_case(AG_OP_AVGPOOL2D, label, {in(std::move(x))});
  const ag_pool2d_args args = {k, stride, pad};
  ag_op_call call = {};
  ag_pool2d_args_encode(&call, &args);
  c.set_args(call);
  c.finite_differences = fd;
  return c;
}

}  // namespace

AG_OP_CASES(conv) {
  const std::vector<ConvSpec> convs = {
      {"s1p1", {2, 3, 7, 7}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, 0, true},
      {"s2p1", {2, 3, 7, 7}, {4, 3, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, 0, true},
      {"odd", {1, 2, 5, 6}, {3, 2, 2, 3}, {2, 1}, {0, 2}, {1, 2}, 1, 0, true},
      {"groups2", {2, 4, 6, 5}, {6, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 2, 0, true},
      {"1x1", {2, 5, 4, 3}, {3, 5, 1, 1}, {1, 1}, {0, 0}, {1, 1}, 1, 0, true},
      {"wide", {2, 5, 17, 19}, {7, 5, 3, 3}, {1, 1}, {1, 1}, {1, 1}, 1, 0, false},
  };
  CaseList cases;
  for (const auto &s : convs) cases.push_back(conv_case(AG_OP_CONV2D, s, false));
  // The bias variants: rows of oh*ow longer than a block (wide), and batch 2.
  cases.push_back(conv_case(AG_OP_CONV2D_BIAS, convs[0], true));
  cases.push_back(conv_case(AG_OP_CONV2D_BIAS, convs[2], true));
  cases.push_back(conv_case(AG_OP_CONV2D_BIAS, convs[5], true));

  // conv_transpose2d: x [n, cin, h, w], w [cin, cout/groups, kh, kw].
  const std::vector<ConvSpec> transposed = {
      {"s2p1op1", {2, 4, 4, 4}, {4, 3, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 1, 1, true},
      {"s1p0", {2, 3, 5, 6}, {3, 2, 3, 2}, {1, 1}, {0, 0}, {1, 1}, 1, 0, true},
      {"odd", {1, 2, 3, 5}, {2, 3, 2, 3}, {3, 2}, {1, 0}, {2, 1}, 1, 1, true},
      {"groups2", {2, 4, 3, 4}, {4, 3, 3, 3}, {2, 2}, {1, 1}, {1, 1}, 2, 0, true},
      {"wide", {2, 5, 9, 11}, {5, 4, 4, 4}, {2, 2}, {1, 1}, {1, 1}, 1, 0, false},
  };
  for (const auto &s : transposed) cases.push_back(conv_case(AG_OP_CONV_TRANSPOSE2D, s, false));

  const std::vector<std::vector<int64_t>> planes = {{2, 3, 5, 7}, {1, 1, 1, 1}, {1, 2, 17, 40}};
  for (size_t k = 0; k < planes.size(); k++) {
    OpCase c = op_case(AG_OP_UPSAMPLE_NEAREST2X, "s" + std::to_string(k), {in(planes[k])});
    c.exact = true;  // a copy forward; the backward sums four values in a fixed order
    c.finite_differences = k < 2;
    cases.push_back(c);
  }

  cases.push_back(pool_case("k2s2", {2, 3, 8, 7}, 2, 2, 0, true));
  cases.push_back(pool_case("k3s2p1", {1, 2, 9, 10}, 3, 2, 1, true));
  cases.push_back(pool_case("k3s1", {2, 2, 5, 6}, 3, 1, 0, true));
  cases.push_back(pool_case("k2s1p1", {1, 3, 4, 5}, 2, 1, 1, true));
  cases.push_back(pool_case("k4wide", {2, 3, 33, 30}, 4, 0, 2, false));

  for (auto &c : cases) c.fd_eps = 0.05;
  return cases;
}
