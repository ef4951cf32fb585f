// f64 references: layout ops (runtime/ops/layout.list). Every tensor is
// viewed as [outer, n, inner] around the op's axis, so each op moves slabs of
// `inner` values. The harness hands a strided view's values over in logical
// order, which makes contiguous the identity.
#include "op_reference.h"

using namespace ag_test;

namespace {

// whole[o, off + a, :] = part[o, a, :] for every a of part.
void put_slab(const RefTensor &part, int axis, int64_t off, RefTensor *whole) {
  const AxisView pv = axis_view(part.shape, axis), wv = axis_view(whole->shape, axis);
  for (int64_t o = 0; o < pv.outer; o++)
    for (int64_t a = 0; a < pv.n; a++)
      for (int64_t i = 0; i < pv.inner; i++)
        whole->v[wv.at(o, off + a, i)] = part.v[pv.at(o, a, i)];
}

// part[o, a, :] = whole[o, off + a, :] for every a of part.
void take_slab(const RefTensor &whole, int axis, int64_t off, RefTensor *part) {
  const AxisView pv = axis_view(part->shape, axis), wv = axis_view(whole.shape, axis);
  for (int64_t o = 0; o < pv.outer; o++)
    for (int64_t a = 0; a < pv.n; a++)
      for (int64_t i = 0; i < pv.inner; i++)
        part->v[pv.at(o, a, i)] = whole.v[wv.at(o, off + a, i)];
}

Shape with_dim(Shape s, int axis, int64_t n) {
  s[(size_t)axis] = n;
  return s;
}

RefTensors contiguous(const RefCall &r) { return {r.in[0]}; }

RefTensors concat(const RefCall &r) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  const int axis = axis_view(a.shape, ag_axis_args_decode(&r.params).axis).axis;
  const int64_t na = a.shape[(size_t)axis];
  RefTensor y = zeros(with_dim(a.shape, axis, na + b.shape[(size_t)axis]));
  put_slab(a, axis, 0, &y);
  put_slab(b, axis, na, &y);
  return {y};
}

RefTensors concat_backward(const RefCall &r, const RefTensors &gy) {
  const int axis = axis_view(r.in[0].shape, ag_axis_args_decode(&r.params).axis).axis;
  RefTensor ga = zeros(r.in[0].shape), gb = zeros(r.in[1].shape);
  take_slab(gy[0], axis, 0, &ga);
  take_slab(gy[0], axis, ga.shape[(size_t)axis], &gb);
  return {ga, gb};
}

RefTensors split(const RefCall &r) {
  const RefTensor &x = r.in[0];
  const ag_split_args a = ag_split_args_decode(&r.params);
  const AxisView xv = axis_view(x.shape, a.axis);
  RefTensor y0 = zeros(with_dim(x.shape, xv.axis, a.first));
  RefTensor y1 = zeros(with_dim(x.shape, xv.axis, xv.n - a.first));
  take_slab(x, xv.axis, 0, &y0);
  take_slab(x, xv.axis, a.first, &y1);
  return {y0, y1};
}

RefTensors split_backward(const RefCall &r, const RefTensors &gy) {
  const ag_split_args a = ag_split_args_decode(&r.params);
  RefTensor gx = zeros(r.in[0].shape);
  const int axis = axis_view(gx.shape, a.axis).axis;
  put_slab(gy[0], axis, 0, &gx);
  put_slab(gy[1], axis, a.first, &gx);
  return {gx};
}

// y[o, j, :] = x[o, idx[j], :].
RefTensors gather(const RefCall &r) {
  const RefTensor &x = r.in[0], &idx = r.in[1];
  const AxisView xv = axis_view(x.shape, ag_axis_args_decode(&r.params).axis);
  RefTensor y = zeros(with_dim(x.shape, xv.axis, numel(idx.shape)));
  const AxisView yv = axis_view(y.shape, xv.axis);
  for (int64_t o = 0; o < xv.outer; o++)
    for (int64_t j = 0; j < yv.n; j++)
      for (int64_t i = 0; i < xv.inner; i++)
        y.v[yv.at(o, j, i)] = x.v[xv.at(o, (int64_t)idx.v[(size_t)j], i)];
  return {y};
}

// gx[o, idx[j], :] += gy[o, j, :]: repeated indices add up; idx takes none.
RefTensors gather_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &idx = r.in[1];
  RefTensor gx = zeros(r.in[0].shape);
  const AxisView xv = axis_view(gx.shape, ag_axis_args_decode(&r.params).axis);
  const AxisView yv = axis_view(gy[0].shape, xv.axis);
  for (int64_t o = 0; o < xv.outer; o++)
    for (int64_t j = 0; j < yv.n; j++)
      for (int64_t i = 0; i < xv.inner; i++)
        gx.v[xv.at(o, (int64_t)idx.v[(size_t)j], i)] += gy[0].v[yv.at(o, j, i)];
  return {gx, RefTensor{}};
}

}  // namespace

AG_OP_REFERENCE(layout) {
  return {
      {AG_OP_CONTIGUOUS, {contiguous, nullptr}},
      {AG_OP_CONCAT, {concat, concat_backward}},
      {AG_OP_SPLIT, {split, split_backward}},
      {AG_OP_GATHER, {gather, gather_backward}},
  };
}
