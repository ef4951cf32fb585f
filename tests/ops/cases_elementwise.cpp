// Op harness cases: elementwise ops. Sizes avoid multiples of block sizes;
// broadcast cases cover both gradient kernels (fewer and more than 32
// broadcast positions per gradient element) and scalar-like operands.
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "ag_test_util.h"
#include "op_cases.h"

using namespace ag_test;

namespace {

using Shape = std::vector<int64_t>;

int64_t count(const Shape &s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

std::string dims(const Shape &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

// Finite differences cost two forwards per element: keep them to small inputs.
void limit_finite_differences(OpCase *c) {
  int64_t n = 0;
  for (const auto &s : c->inputs) n += count(s.shape);
  c->finite_differences = c->finite_differences && n <= 200;
}

void add_binary(CaseList *cases) {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{5}, {5}},                      // equal shapes: the flat path
      {{3, 33}, {3, 33}},
      {{2, 3, 257}, {2, 3, 257}},
      {{2, 3, 5}, {5}},                // trailing-dim broadcast
      {{4, 1, 7}, {1, 3, 1}},          // both inputs broadcast
      {{3, 4}, {1}},                   // scalar-like b
      {{1}, {6}},                      // scalar-like a
      {{1}, {1}},
      {{40, 3}, {3}},                  // bias: 40 positions per gradient element
      {{5, 40}, {5, 1}},               // per-row factor: inner reduction
      {{2, 2, 3, 70}, {2, 1, 3, 1}},   // 4-d, reduction over two dims
      {{2, 35, 3}, {35, 1}},
  };
  for (ag_op op : {AG_OP_ADD, AG_OP_SUB, AG_OP_MUL, AG_OP_DIV}) {
    for (const auto &[sa, sb] : pairs) {
      InputSpec b = in(sb);
      if (op == AG_OP_DIV) b.lo = 0.5f;  // keep divisors away from 0
      OpCase c = op_case(op, dims(sa) + "_" + dims(sb), {in(sa), b});
      limit_finite_differences(&c);
      cases->push_back(c);
    }
  }
}

void add_unary(CaseList *cases) {
  struct Unary {
    ag_op op;
    float lo, hi, param;
  };
  const Unary unary[] = {
      {AG_OP_SCALE, -2, 2, -1.75f},   {AG_OP_EXP, -2, 2, 0},       {AG_OP_LOG, 0.5f, 3, 0},
      {AG_OP_SQRT, 0.5f, 3, 0},       {AG_OP_RSQRT, 0.5f, 3, 0},   {AG_OP_RELU, -2, 2, 0},
      {AG_OP_LEAKY_RELU, -2, 2, 0.1f}, {AG_OP_GELU, -3, 3, 0},     {AG_OP_SILU, -3, 3, 0},
      {AG_OP_SIGMOID, -4, 4, 0},      {AG_OP_TANH, -3, 3, 0},      {AG_OP_SOFTPLUS, -4, 4, 0},
      {AG_OP_TRUNC_EXP, -2, 2, 0},
  };
  const std::vector<Shape> shapes = {{1}, {5}, {3, 33}, {2, 3, 257}, {2, 2, 3, 70}};
  for (const auto &u : unary) {
    for (const auto &s : shapes) {
      InputSpec x = in(s);
      x.lo = u.lo;
      x.hi = u.hi;
      OpCase c = op_case(u.op, dims(s), {x});
      encode_args(c, ag_unary_args_encode, ag_unary_args{u.param});
      c.fd_kinks = u.op == AG_OP_RELU || u.op == AG_OP_LEAKY_RELU;  // at 0
      limit_finite_differences(&c);
      cases->push_back(c);
    }
  }
  // softplus past its threshold of 20, and trunc_exp past its clamp at 15,
  // where the gradient is exp(15), not exp(x): f32 only (exp overflows f16).
  InputSpec wide = in({3, 33});
  wide.lo = -25.0f;
  wide.hi = 25.0f;
  for (ag_op op : {AG_OP_SOFTPLUS, AG_OP_TRUNC_EXP}) {
    OpCase c = op_case(op, "wide", {wide});
    c.dtypes = {AG_F32};
    c.finite_differences = op == AG_OP_SOFTPLUS;
    cases->push_back(c);
  }
}

std::string dtype_label(ag_dtype dt) { return ag_dtype_name(dt); }

void add_cast(CaseList *cases) {
  const ag_dtype targets[] = {AG_F32, AG_F16, AG_BF16, AG_I32};
  for (ag_dtype to : targets) {
    InputSpec x = in({3, 37});
    x.lo = -5.0f;
    x.hi = 5.0f;
    OpCase c = op_case(AG_OP_CAST, "to_" + dtype_label(to), {x});
    encode_args(c, ag_cast_args_encode, ag_cast_args{to});
    c.exact = true;
    // Rounded or truncated outputs make numeric gradients meaningless.
    c.finite_differences = to == AG_F32;
    cases->push_back(c);
    InputSpec xi = in({3, 37});
    xi.dtype = AG_I32;
    xi.lo = -300.0f;
    xi.hi = 300.0f;
    OpCase ci = op_case(AG_OP_CAST, "i32_to_" + dtype_label(to), {xi});
    encode_args(ci, ag_cast_args_encode, ag_cast_args{to});
    ci.exact = true;
    ci.dtypes = {AG_F32};  // the input dtype is fixed; one run suffices
    cases->push_back(ci);
  }
}

void add_fills(CaseList *cases) {
  for (const Shape &s : {Shape{7}, Shape{3, 33}, Shape{2, 3, 257}}) {
    OpCase c = op_case(AG_OP_FILL, dims(s), {});
    c.out_shape = s;
    encode_args(c, ag_fill_args_encode, ag_fill_args{-2.75f});
    c.dtypes = {AG_F32, AG_BF16, AG_F16, AG_I32};
    c.exact = true;
    cases->push_back(c);
  }
  OpCase f = op_case(AG_OP_ARANGE, "frac", {});
  f.out_shape = {1029};
  encode_args(f, ag_arange_args_encode, ag_arange_args{-3.5f, 0.125f});
  f.exact = true;
  cases->push_back(f);
  OpCase i = op_case(AG_OP_ARANGE, "int", {});
  i.out_shape = {1029};
  encode_args(i, ag_arange_args_encode, ag_arange_args{-70.0f, 3.0f});
  i.dtypes = {AG_I32, AG_F32};
  i.exact = true;
  cases->push_back(i);
}

}  // namespace

AG_OP_CASES(elementwise) {
  CaseList cases;
  add_binary(&cases);
  add_unary(&cases);
  add_cast(&cases);
  add_fills(&cases);
  return cases;
}

// Eager API checks on the CPU (names end in _cpu so the cpu ctest runs them).
namespace {

Tensor cpu_tensor(ag_dtype dt, std::vector<int64_t> shape) {
  return Tensor(ag_tensor_new(ag_backend_cpu(), dt, (int)shape.size(), shape.data()));
}

}  // namespace

TEST(ElementwiseEager, BroadcastsABias_cpu) {
  Tensor a(make_tensor(ag_backend_cpu(), AG_F32, {2, 3}, {1, 2, 3, 4, 5, 6}));
  Tensor b(make_tensor(ag_backend_cpu(), AG_F32, {3}, {10, 20, 30}));
  Tensor y = cpu_tensor(AG_F32, {2, 3});
  ASSERT_EQ(ag_eager_add(y.get(), a.get(), b.get()), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(y.get()), (std::vector<float>{11, 22, 33, 14, 25, 36}));
  ASSERT_EQ(ag_eager_div(y.get(), b.get(), a.get()), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(y.get()), (std::vector<float>{10, 10, 10, 2.5f, 4, 5}));
}

TEST(ElementwiseEager, MismatchNamesBothShapes_cpu) {
  Tensor a = cpu_tensor(AG_F32, {2, 3}), b = cpu_tensor(AG_F32, {4});
  Tensor y = cpu_tensor(AG_F32, {2, 3});
  EXPECT_EQ(ag_eager_mul(y.get(), a.get(), b.get()), AG_ERR_INVALID);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find("mul"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[2,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[4]"), std::string::npos) << msg;
  EXPECT_EQ(ag_eager_unary(y.get(), a.get(), AG_OP_ADD), AG_ERR_INVALID);
}

TEST(ElementwiseEager, CastToI32TruncatesTowardZero_cpu) {
  const float nan = std::nanf("");
  Tensor x(make_tensor(ag_backend_cpu(), AG_F32, {6}, {-2.7f, -0.5f, 0.5f, 2.7f, 1e10f, nan}));
  Tensor y = cpu_tensor(AG_I32, {6});
  ASSERT_EQ(ag_eager_cast(y.get(), x.get()), AG_OK) << ag_last_error();
  std::vector<int32_t> got(6);
  auto bytes = read_bytes(y.get());
  std::memcpy(got.data(), bytes.data(), bytes.size());
  EXPECT_EQ(got, (std::vector<int32_t>{-2, 0, 0, 2, INT_MAX, 0}));
  Tensor u = cpu_tensor(AG_U8, {6});
  EXPECT_EQ(ag_eager_cast(u.get(), x.get()), AG_ERR_UNSUPPORTED);
}

TEST(ElementwiseEager, ArangeAndFill_cpu) {
  Tensor r = cpu_tensor(AG_I32, {4});
  ASSERT_EQ(ag_eager_arange(r.get(), 5, -2), AG_OK) << ag_last_error();
  std::vector<int32_t> got(4);
  auto bytes = read_bytes(r.get());
  std::memcpy(got.data(), bytes.data(), bytes.size());
  EXPECT_EQ(got, (std::vector<int32_t>{5, 3, 1, -1}));
  Tensor f = cpu_tensor(AG_BF16, {3});
  ASSERT_EQ(ag_eager_fill(f.get(), 0.5f), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(f.get()), (std::vector<float>{0.5f, 0.5f, 0.5f}));
  Tensor m = cpu_tensor(AG_F32, {2, 2});
  EXPECT_EQ(ag_eager_arange(m.get(), 0, 1), AG_ERR_INVALID);
}
