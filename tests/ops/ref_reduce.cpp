// f64 references: reductions over one axis (runtime/ops/reduce.list), with
// x viewed as [outer, n, inner] around the axis and y as [outer, inner].
#include "op_reference.h"

using namespace ag_test;

namespace {

ag_reduce_args args_of(const RefCall &r) { return ag_reduce_args_decode(&r.params); }

// y's shape: the axis kept with size 1, or dropped.
Shape reduced_shape(const Shape &x, const ag_reduce_args &a) {
  Shape s = x;
  const AxisView v = axis_view(x, a.axis);
  if (a.keepdim) s[(size_t)v.axis] = 1;
  else s.erase(s.begin() + v.axis);
  return s;
}

// The first a of line (o, i) holding the line's maximum: max's gradient goes there.
int64_t first_max(const RefTensor &x, const AxisView &v, int64_t o, int64_t i) {
  int64_t best = 0;
  for (int64_t a = 1; a < v.n; a++)
    if (x.v[v.at(o, a, i)] > x.v[v.at(o, best, i)]) best = a;
  return best;
}

double reduce_line(ag_op op, const RefTensor &x, const AxisView &v, int64_t o, int64_t i) {
  if (op == AG_OP_MAX) return x.v[v.at(o, first_max(x, v, o, i), i)];
  double s = 0.0;
  for (int64_t a = 0; a < v.n; a++) s += x.v[v.at(o, a, i)];
  return op == AG_OP_MEAN ? s / (double)v.n : s;
}

RefTensors reduce(const RefCall &r) {
  const RefTensor &x = r.in[0];
  const AxisView v = axis_view(x.shape, args_of(r).axis);
  RefTensor y = zeros(reduced_shape(x.shape, args_of(r)));
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++)
      y.v[(size_t)(o * v.inner + i)] = reduce_line(r.op, x, v, o, i);
  return {y};
}

RefTensors reduce_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &x = r.in[0];
  const AxisView v = axis_view(x.shape, args_of(r).axis);
  RefTensor gx = zeros(x.shape);
  for (int64_t o = 0; o < v.outer; o++)
    for (int64_t i = 0; i < v.inner; i++) {
      const double g = gy[0].v[(size_t)(o * v.inner + i)];
      if (r.op == AG_OP_MAX) {
        gx.v[v.at(o, first_max(x, v, o, i), i)] = g;
        continue;
      }
      for (int64_t a = 0; a < v.n; a++)
        gx.v[v.at(o, a, i)] = r.op == AG_OP_MEAN ? g / (double)v.n : g;
    }
  return {gx};
}

}  // namespace

AG_OP_REFERENCE(reduce) {
  return {
      {AG_OP_SUM, {reduce, reduce_backward}},
      {AG_OP_MEAN, {reduce, reduce_backward}},
      {AG_OP_MAX, {reduce, reduce_backward}},
  };
}
