// f64 references: the convolution family (runtime/ops/conv.list), NCHW.
// conv2d is written once, as the list of its taps (which x element times
// which w element adds to which y element); its bias variant adds b[c], and
// conv_transpose2d, the adjoint of conv2d, runs the same taps with input and
// output swapped.
#include "op_reference.h"

using namespace ag_test;

namespace {

// A conv2d: in [n, cin, h, w] * weight [cout, cin/groups, kh, kw] -> out [n, cout, oh, ow].
struct Conv {
  Shape in, weight, out;
  ag_conv2d_args a;
};

// Calls tap(in_at, weight_at, out_at) for every product in[in_at] *
// weight[weight_at] that adds to out[out_at]:
//   out[b, co, oy, ox] += in[b, g * cin_g + ci, oy * s - p + ky * d, ox * s - p + kx * d]
//                         * weight[co, ci, ky, kx],   g = co / (cout / groups),
// skipping taps that fall on the zero padding.
template <class Tap> void for_each_tap(const Conv &c, Tap tap) {
  const int64_t cout = c.weight[0], cin_g = c.weight[1], kh = c.weight[2], kw = c.weight[3];
  const int64_t cout_g = cout / c.a.groups, h = c.in[2], w = c.in[3];
  for (int64_t b = 0; b < c.out[0]; b++)
    for (int64_t co = 0; co < cout; co++)
      for (int64_t oy = 0; oy < c.out[2]; oy++)
        for (int64_t ox = 0; ox < c.out[3]; ox++)
          for (int64_t ci = 0; ci < cin_g; ci++)
            for (int64_t ky = 0; ky < kh; ky++)
              for (int64_t kx = 0; kx < kw; kx++) {
                const int64_t iy = oy * c.a.stride[0] - c.a.padding[0] + ky * c.a.dilation[0];
                const int64_t ix = ox * c.a.stride[1] - c.a.padding[1] + kx * c.a.dilation[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                const int64_t cin = co / cout_g * cin_g + ci;
                tap((size_t)(((b * c.in[1] + cin) * h + iy) * w + ix),
                    (size_t)(((co * cin_g + ci) * kh + ky) * kw + kx),
                    (size_t)(((b * cout + co) * c.out[2] + oy) * c.out[3] + ox));
              }
}

// conv2d(x, w): the output size is PyTorch's floor formula.
Conv conv2d_of(const RefCall &r) {
  const Shape &x = r.in[0].shape, &w = r.in[1].shape;
  const ag_conv2d_args a = ag_conv2d_args_decode(&r.params);
  Shape y = {x[0], w[0], 0, 0};
  for (int k = 0; k < 2; k++)
    y[2 + k] = (x[2 + k] + 2 * a.padding[k] - a.dilation[k] * (w[2 + k] - 1) - 1) / a.stride[k] + 1;
  return {x, w, y, a};
}

// conv_transpose2d(x, w), w [cin, cout/groups, kh, kw], as the conv2d whose
// output has x's shape: its input has the transposed conv's output shape and
// its weight is w itself.
Conv conv_transpose2d_of(const RefCall &r) {
  const Shape &x = r.in[0].shape, &w = r.in[1].shape;
  const ag_conv2d_args a = ag_conv2d_args_decode(&r.params);
  Shape y = {x[0], w[1] * a.groups, 0, 0};
  for (int k = 0; k < 2; k++)
    y[2 + k] = (x[2 + k] - 1) * a.stride[k] - 2 * a.padding[k] + a.dilation[k] * (w[2 + k] - 1) +
               a.output_padding + 1;
  return {y, w, x, a};
}

// The channel of element k of an NCHW tensor of shape s.
size_t channel_of(size_t k, const Shape &s) { return (size_t)((int64_t)k / (s[2] * s[3]) % s[1]); }

// in = {x, w, [b]}; y [n, cout, oh, ow].
RefTensors conv2d(const RefCall &r) {
  const Conv c = conv2d_of(r);
  const RefTensor &x = r.in[0], &w = r.in[1];
  RefTensor y = zeros(c.out);
  for_each_tap(c, [&](size_t xi, size_t wi, size_t yi) { y.v[yi] += x.v[xi] * w.v[wi]; });
  if (r.op == AG_OP_CONV2D_BIAS)
    for (size_t k = 0; k < y.v.size(); k++) y.v[k] += r.in[2].v[channel_of(k, y.shape)];
  return {y};
}

RefTensors conv2d_backward(const RefCall &r, const RefTensors &gy) {
  const Conv c = conv2d_of(r);
  const RefTensor &x = r.in[0], &w = r.in[1], &g = gy[0];
  RefTensor gx = zeros(x.shape), gw = zeros(w.shape);
  for_each_tap(c, [&](size_t xi, size_t wi, size_t yi) {
    gx.v[xi] += g.v[yi] * w.v[wi];
    gw.v[wi] += g.v[yi] * x.v[xi];
  });
  if (r.op != AG_OP_CONV2D_BIAS) return {gx, gw};
  RefTensor gb = zeros(r.in[2].shape);
  for (size_t k = 0; k < g.v.size(); k++) gb.v[channel_of(k, g.shape)] += g.v[k];
  return {gx, gw, gb};
}

RefTensors conv_transpose2d(const RefCall &r) {
  const Conv c = conv_transpose2d_of(r);
  const RefTensor &x = r.in[0], &w = r.in[1];
  RefTensor y = zeros(c.in);
  for_each_tap(c, [&](size_t yi, size_t wi, size_t xi) { y.v[yi] += x.v[xi] * w.v[wi]; });
  return {y};
}

RefTensors conv_transpose2d_backward(const RefCall &r, const RefTensors &gy) {
  const Conv c = conv_transpose2d_of(r);
  const RefTensor &x = r.in[0], &w = r.in[1], &g = gy[0];
  RefTensor gx = zeros(x.shape), gw = zeros(w.shape);
  for_each_tap(c, [&](size_t yi, size_t wi, size_t xi) {
    gx.v[xi] += g.v[yi] * w.v[wi];
    gw.v[wi] += g.v[yi] * x.v[xi];
  });
  return {gx, gw};
}

// Flat index of pixel (y, x) of plane p of an [.., h, w] tensor.
size_t pixel(int64_t p, int64_t y, int64_t x, int64_t h, int64_t w) {
  return (size_t)((p * h + y) * w + x);
}

// y [n, c, 2h, 2w]: every pixel repeated 2x2; its gradient sums the four.
RefTensors upsample_nearest2x(const RefCall &r) {
  const RefTensor &x = r.in[0];
  const int64_t planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3];
  RefTensor y = zeros({x.shape[0], x.shape[1], 2 * h, 2 * w});
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < 2 * h; oy++)
      for (int64_t ox = 0; ox < 2 * w; ox++)
        y.v[pixel(p, oy, ox, 2 * h, 2 * w)] = x.v[pixel(p, oy / 2, ox / 2, h, w)];
  return {y};
}

RefTensors upsample_nearest2x_backward(const RefCall &r, const RefTensors &gy) {
  const Shape &s = r.in[0].shape;
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3];
  RefTensor gx = zeros(s);
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < 2 * h; oy++)
      for (int64_t ox = 0; ox < 2 * w; ox++)
        gx.v[pixel(p, oy / 2, ox / 2, h, w)] += gy[0].v[pixel(p, oy, ox, 2 * h, 2 * w)];
  return {gx};
}

// Average pooling: k x k windows at o * stride - pad over a zero-padded
// input, floor-mode output size, always divided by k * k (count_include_pad).
Shape pooled_shape(const Shape &x, const ag_pool2d_args &a) {
  return {x[0], x[1], (x[2] + 2 * a.padding - a.kernel) / a.stride + 1,
          (x[3] + 2 * a.padding - a.kernel) / a.stride + 1};
}

// Calls tap(x_at, y_at) for every input that output y_at's window holds.
template <class Tap> void for_each_window_tap(const Shape &x, const ag_pool2d_args &a, Tap tap) {
  const Shape y = pooled_shape(x, a);
  const int64_t planes = x[0] * x[1], h = x[2], w = x[3], oh = y[2], ow = y[3];
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t ky = 0; ky < a.kernel; ky++)
          for (int64_t kx = 0; kx < a.kernel; kx++) {
            const int64_t iy = oy * a.stride - a.padding + ky, ix = ox * a.stride - a.padding + kx;
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              tap(pixel(p, iy, ix, h, w), pixel(p, oy, ox, oh, ow));
          }
}

RefTensors avgpool2d(const RefCall &r) {
  const ag_pool2d_args a = ag_pool2d_args_decode(&r.params);
  const RefTensor &x = r.in[0];
  const double area = (double)(a.kernel * a.kernel);
  RefTensor y = zeros(pooled_shape(x.shape, a));
  for_each_window_tap(x.shape, a, [&](size_t xi, size_t yi) { y.v[yi] += x.v[xi] / area; });
  return {y};
}

RefTensors avgpool2d_backward(const RefCall &r, const RefTensors &gy) {
  const ag_pool2d_args a = ag_pool2d_args_decode(&r.params);
  const double area = (double)(a.kernel * a.kernel);
  RefTensor gx = zeros(r.in[0].shape);
  for_each_window_tap(gx.shape, a, [&](size_t xi, size_t yi) { gx.v[xi] += gy[0].v[yi] / area; });
  return {gx};
}

}  // namespace

AG_OP_REFERENCE(conv) {
  return {
      {AG_OP_CONV2D, {conv2d, conv2d_backward}},
      {AG_OP_CONV2D_BIAS, {conv2d, conv2d_backward}},
      {AG_OP_CONV_TRANSPOSE2D, {conv_transpose2d, conv_transpose2d_backward}},
      {AG_OP_UPSAMPLE_NEAREST2X, {upsample_nearest2x, upsample_nearest2x_backward}},
      {AG_OP_AVGPOOL2D, {avgpool2d, avgpool2d_backward}},
  };
}
