// f64 references: elementwise ops (runtime/ops/elementwise.list). Binary ops
// broadcast numpy-style and their gradients sum over the broadcast
// positions; casts, fills and aranges leave the rounding to the output dtype
// to the harness, so only the i32 conversion rule is spelled out here.
#include <algorithm>
#include <cmath>

#include "op_reference.h"

using namespace ag_test;

namespace {

// numpy broadcasting: dims are right-aligned and a 1 stretches to the other size.
Shape broadcast_shape(const Shape &a, const Shape &b) {
  Shape s(std::max(a.size(), b.size()));
  for (size_t back = 0; back < s.size(); back++) {
    int64_t x = back < a.size() ? a[a.size() - 1 - back] : 1;
    int64_t y = back < b.size() ? b[b.size() - 1 - back] : 1;
    s[s.size() - 1 - back] = x == 1 ? y : x;
  }
  return s;
}

// For each element of `out`, the flat index of the element of `in` (broadcast
// to out) that it reads.
std::vector<int64_t> broadcast_sources(const Shape &in, const Shape &out) {
  std::vector<int64_t> src((size_t)numel(out));
  const size_t lead = out.size() - in.size();
  for (size_t k = 0; k < src.size(); k++) {
    int64_t rem = (int64_t)k, idx = 0, stride = 1;
    for (size_t d = out.size(); d-- > lead;) {
      const int64_t coord = rem % out[d], n = in[d - lead];
      rem /= out[d];
      if (n != 1) idx += coord * stride;
      stride *= n;
    }
    src[k] = idx;
  }
  return src;
}

double binary(ag_op op, double a, double b) {
  switch (op) {
  case AG_OP_ADD: return a + b;
  case AG_OP_SUB: return a - b;
  case AG_OP_MUL: return a * b;
  default: return a / b;  // AG_OP_DIV
  }
}

// The partial derivatives of a op b by a and by b.
std::pair<double, double> binary_partials(ag_op op, double a, double b) {
  switch (op) {
  case AG_OP_ADD: return {1.0, 1.0};
  case AG_OP_SUB: return {1.0, -1.0};
  case AG_OP_MUL: return {b, a};
  default: return {1.0 / b, -a / (b * b)};  // AG_OP_DIV
  }
}

RefTensors binary_forward(const RefCall &r) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  RefTensor y = zeros(broadcast_shape(a.shape, b.shape));
  const auto ia = broadcast_sources(a.shape, y.shape), ib = broadcast_sources(b.shape, y.shape);
  for (size_t k = 0; k < y.v.size(); k++) y.v[k] = binary(r.op, a.v[ia[k]], b.v[ib[k]]);
  return {y};
}

RefTensors binary_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  RefTensor ga = zeros(a.shape), gb = zeros(b.shape);
  const Shape &ys = gy[0].shape;
  const auto ia = broadcast_sources(a.shape, ys), ib = broadcast_sources(b.shape, ys);
  for (size_t k = 0; k < gy[0].v.size(); k++) {
    const auto [da, db] = binary_partials(r.op, a.v[ia[k]], b.v[ib[k]]);
    ga.v[ia[k]] += gy[0].v[k] * da;
    gb.v[ib[k]] += gy[0].v[k] * db;
  }
  return {ga, gb};
}

// A unary function and its derivative; p is the op's parameter (the factor
// of scale, the negative slope of leaky_relu).
struct Unary {
  ag_op op;
  double (*f)(double x, double p);
  double (*df)(double x, double p);
};

constexpr double kSoftplusThreshold = 20.0;  // PyTorch's: the identity above it
constexpr double kTruncExpLimit = 15.0;      // the gradient is exp(clamp(x, -15, 15))

const Unary kUnary[] = {
    {AG_OP_SCALE, [](double x, double p) { return p * x; }, [](double, double p) { return p; }},
    {AG_OP_EXP, [](double x, double) { return std::exp(x); },
     [](double x, double) { return std::exp(x); }},
    {AG_OP_LOG, [](double x, double) { return std::log(x); },
     [](double x, double) { return 1.0 / x; }},
    {AG_OP_SQRT, [](double x, double) { return std::sqrt(x); },
     [](double x, double) { return 0.5 / std::sqrt(x); }},
    {AG_OP_RSQRT, [](double x, double) { return 1.0 / std::sqrt(x); },
     [](double x, double) { return -0.5 / (x * std::sqrt(x)); }},
    {AG_OP_RELU, [](double x, double) { return x > 0.0 ? x : 0.0; },
     [](double x, double) { return x > 0.0 ? 1.0 : 0.0; }},
    {AG_OP_LEAKY_RELU, [](double x, double p) { return x > 0.0 ? x : p * x; },
     [](double x, double p) { return x > 0.0 ? 1.0 : p; }},
    {AG_OP_GELU, [](double x, double) { return gelu_tanh(x); },
     [](double x, double) { return gelu_tanh_grad(x); }},
    {AG_OP_SILU, [](double x, double) { return x * sigmoid(x); },
     [](double x, double) { return sigmoid(x) * (1.0 + x * (1.0 - sigmoid(x))); }},
    {AG_OP_SIGMOID, [](double x, double) { return sigmoid(x); },
     [](double x, double) { return sigmoid(x) * (1.0 - sigmoid(x)); }},
    {AG_OP_TANH, [](double x, double) { return std::tanh(x); },
     [](double x, double) { return 1.0 - std::tanh(x) * std::tanh(x); }},
    {AG_OP_SOFTPLUS,
     [](double x, double) { return x > kSoftplusThreshold ? x : std::log1p(std::exp(x)); },
     [](double x, double) { return x > kSoftplusThreshold ? 1.0 : sigmoid(x); }},
    {AG_OP_TRUNC_EXP, [](double x, double) { return std::exp(x); },
     [](double x, double) { return std::exp(std::clamp(x, -kTruncExpLimit, kTruncExpLimit)); }},
};

const Unary &unary_of(ag_op op) {
  return *std::find_if(std::begin(kUnary), std::end(kUnary),
                       [op](const Unary &u) { return u.op == op; });
}

RefTensors unary_forward(const RefCall &r) {
  const Unary &u = unary_of(r.op);
  const double p = ag_unary_args_decode(&r.params).param;
  RefTensor y = zeros(r.in[0].shape);
  for (size_t k = 0; k < y.v.size(); k++) y.v[k] = u.f(r.in[0].v[k], p);
  return {y};
}

RefTensors unary_backward(const RefCall &r, const RefTensors &gy) {
  const Unary &u = unary_of(r.op);
  const double p = ag_unary_args_decode(&r.params).param;
  RefTensor gx = zeros(r.in[0].shape);
  for (size_t k = 0; k < gx.v.size(); k++) gx.v[k] = gy[0].v[k] * u.df(r.in[0].v[k], p);
  return {gx};
}

// float -> i32 truncates toward zero, saturating, and NaN gives 0; a cast to
// a float dtype is the harness's rounding of x.
double cast_value(double x, ag_dtype to) {
  if (to != AG_I32) return x;
  if (std::isnan(x)) return 0.0;
  return std::trunc(std::clamp(x, -2147483648.0, 2147483647.0));
}

RefTensors cast_forward(const RefCall &r) {
  const ag_dtype to = ag_cast_args_decode(&r.params).dtype;
  RefTensor y = zeros(r.in[0].shape);
  for (size_t k = 0; k < y.v.size(); k++) y.v[k] = cast_value(r.in[0].v[k], to);
  return {y};
}

// The identity's gradient, or none through an i32 output.
RefTensors cast_backward(const RefCall &r, const RefTensors &gy) {
  if (ag_cast_args_decode(&r.params).dtype == AG_I32) return {zeros(r.in[0].shape)};
  return {RefTensor{r.in[0].shape, gy[0].v}};
}

RefTensors fill_forward(const RefCall &r) {
  RefTensor y = zeros(r.out_shape);
  std::fill(y.v.begin(), y.v.end(), (double)ag_fill_args_decode(&r.params).value);
  return {y};
}

RefTensors arange_forward(const RefCall &r) {
  const ag_arange_args a = ag_arange_args_decode(&r.params);
  RefTensor y = zeros(r.out_shape);
  for (size_t k = 0; k < y.v.size(); k++) y.v[k] = (double)a.start + (double)k * a.step;
  return {y};
}

}  // namespace

AG_OP_REFERENCE(elementwise) {
  ReferenceList refs = {
      {AG_OP_ADD, {binary_forward, binary_backward}},
      {AG_OP_SUB, {binary_forward, binary_backward}},
      {AG_OP_MUL, {binary_forward, binary_backward}},
      {AG_OP_DIV, {binary_forward, binary_backward}},
      {AG_OP_CAST, {cast_forward, cast_backward}},
      {AG_OP_FILL, {fill_forward, nullptr}},
      {AG_OP_ARANGE, {arange_forward, nullptr}},
  };
  for (const Unary &u : kUnary) refs.push_back({u.op, {unary_forward, unary_backward}});
  return refs;
}
