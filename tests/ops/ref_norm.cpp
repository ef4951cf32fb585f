// f64 references: normalisation ops (runtime/ops/norm.list). Every norm
// normalises sets of elements (a row, a group of one sample, a channel over
// the batch) with the set's mean and biased variance, then applies a
// per-channel affine; the ops differ only in how x splits into sets, whether
// the mean is subtracted (RMSNorm does not) and where the statistics come
// from (batchnorm in eval mode takes the running ones). The saved statistics
// are not differentiable outputs: their gradients are ignored.
#include <algorithm>
#include <cmath>

#include "op_reference.h"

using namespace ag_test;

namespace {

// An element of a set: its flat index in x and the channel of its affine.
struct Member {
  size_t at, channel;
};
using NormSet = std::vector<Member>;

struct Moments {
  double mean, var, rstd;
};

// One norm call laid out as sets.
struct NormProblem {
  const RefTensor &x;
  const RefTensor *w, *b;  // nullptr where the op has none
  std::vector<NormSet> sets;
  bool centered;
  double eps;
};

// Rows of the last dim; the channel is the column.
std::vector<NormSet> row_sets(const Shape &x) {
  const size_t cols = (size_t)x.back(), rows = (size_t)numel(x) / cols;
  std::vector<NormSet> sets(rows);
  for (size_t r = 0; r < rows; r++)
    for (size_t c = 0; c < cols; c++) sets[r].push_back({r * cols + c, c});
  return sets;
}

// x [N, C, spatial...]: set (n, g) holds the channels of group g of sample n,
// in that order, so the sets are the [N, G] statistics flattened.
std::vector<NormSet> group_sets(const Shape &x, int64_t groups) {
  const size_t n = (size_t)x[0], ch = (size_t)x[1], spatial = (size_t)numel(x) / (n * ch);
  const size_t per_group = ch / (size_t)groups;
  std::vector<NormSet> sets(n * (size_t)groups);
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < ch; c++)
      for (size_t s = 0; s < spatial; s++)
        sets[i * (size_t)groups + c / per_group].push_back({(i * ch + c) * spatial + s, c});
  return sets;
}

// x [N, C, spatial...]: one set per channel, over the batch and the spatial dims.
std::vector<NormSet> channel_sets(const Shape &x) {
  const size_t n = (size_t)x[0], ch = (size_t)x[1], spatial = (size_t)numel(x) / (n * ch);
  std::vector<NormSet> sets(ch);
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < ch; c++)
      for (size_t s = 0; s < spatial; s++) sets[c].push_back({(i * ch + c) * spatial + s, c});
  return sets;
}

Moments moments_of(double mean, double var, double eps) {
  return {mean, var, 1.0 / std::sqrt(var + eps)};
}

// Each set's own statistics; without centring var is the mean square.
std::vector<Moments> set_moments(const NormProblem &p) {
  std::vector<Moments> m;
  for (const NormSet &s : p.sets) {
    double mean = 0.0, var = 0.0;
    if (p.centered) {
      for (const Member &e : s) mean += p.x.v[e.at];
      mean /= (double)s.size();
    }
    for (const Member &e : s) var += (p.x.v[e.at] - mean) * (p.x.v[e.at] - mean);
    m.push_back(moments_of(mean, var / (double)s.size(), p.eps));
  }
  return m;
}

double weight(const NormProblem &p, const Member &e) { return p.w ? p.w->v[e.channel] : 1.0; }
double bias(const NormProblem &p, const Member &e) { return p.b ? p.b->v[e.channel] : 0.0; }

RefTensor normalise(const NormProblem &p, const std::vector<Moments> &m) {
  RefTensor y = zeros(p.x.shape);
  for (size_t k = 0; k < p.sets.size(); k++)
    for (const Member &e : p.sets[k])
      y.v[e.at] = (p.x.v[e.at] - m[k].mean) * m[k].rstd * weight(p, e) + bias(p, e);
  return y;
}

// The gradients of y = xhat * w + b: gx, then gw and gb where the op has them.
// With `own_stats` the statistics are the sets' own, so x reaches y through
// them as well:
//   gx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = gy * w
// (without the mean(g) term when not centred); otherwise gx = rstd * g.
RefTensors normalise_backward(const NormProblem &p, const std::vector<Moments> &m,
                              const RefTensor &gy, bool own_stats) {
  RefTensor gx = zeros(p.x.shape);
  RefTensor gw = zeros(p.w ? p.w->shape : Shape{}), gb = zeros(p.b ? p.b->shape : Shape{});
  for (size_t k = 0; k < p.sets.size(); k++) {
    const NormSet &s = p.sets[k];
    double mean_g = 0.0, mean_gx = 0.0;
    for (const Member &e : s) {
      const double g = gy.v[e.at] * weight(p, e), xhat = (p.x.v[e.at] - m[k].mean) * m[k].rstd;
      mean_g += g / (double)s.size();
      mean_gx += g * xhat / (double)s.size();
      if (p.w) gw.v[e.channel] += gy.v[e.at] * xhat;
      if (p.b) gb.v[e.channel] += gy.v[e.at];
    }
    if (!p.centered) mean_g = 0.0;
    for (const Member &e : s) {
      const double g = gy.v[e.at] * weight(p, e), xhat = (p.x.v[e.at] - m[k].mean) * m[k].rstd;
      gx.v[e.at] = m[k].rstd * (own_stats ? g - mean_g - xhat * mean_gx : g);
    }
  }
  RefTensors grads = {gx};
  if (p.w) grads.push_back(gw);
  if (p.b) grads.push_back(gb);
  return grads;
}

// An f32 statistic per set, shaped `shape`.
RefTensor statistic(const std::vector<Moments> &m, double Moments::*field, Shape shape) {
  RefTensor t = zeros(std::move(shape));
  for (size_t k = 0; k < m.size(); k++) t.v[k] = m[k].*field;
  return t;
}

double eps_of(const RefCall &r) { return ag_norm_args_decode(&r.params).eps; }

Shape rows_of(const Shape &x) { return {numel(x) / x.back()}; }

NormProblem layernorm_problem(const RefCall &r) {
  const bool affine = r.op == AG_OP_LAYERNORM;
  return {r.in[0], affine ? &r.in[1] : nullptr, affine ? &r.in[2] : nullptr,
          row_sets(r.in[0].shape), true, eps_of(r)};
}

RefTensors layernorm(const RefCall &r) {
  const NormProblem p = layernorm_problem(r);
  const auto m = set_moments(p);
  const Shape rows = rows_of(p.x.shape);
  return {normalise(p, m), statistic(m, &Moments::mean, rows), statistic(m, &Moments::rstd, rows)};
}

RefTensors layernorm_backward(const RefCall &r, const RefTensors &gy) {
  const NormProblem p = layernorm_problem(r);
  return normalise_backward(p, set_moments(p), gy[0], true);
}

NormProblem rmsnorm_problem(const RefCall &r) {
  return {r.in[0], &r.in[1], nullptr, row_sets(r.in[0].shape), false, eps_of(r)};
}

RefTensors rmsnorm(const RefCall &r) {
  const NormProblem p = rmsnorm_problem(r);
  const auto m = set_moments(p);
  return {normalise(p, m), statistic(m, &Moments::rstd, rows_of(p.x.shape))};
}

RefTensors rmsnorm_backward(const RefCall &r, const RefTensors &gy) {
  const NormProblem p = rmsnorm_problem(r);
  return normalise_backward(p, set_moments(p), gy[0], true);
}

NormProblem groupnorm_problem(const RefCall &r) {
  const ag_groupnorm_args a = ag_groupnorm_args_decode(&r.params);
  return {r.in[0], &r.in[1], &r.in[2], group_sets(r.in[0].shape, a.groups), true, a.eps};
}

RefTensors groupnorm(const RefCall &r) {
  const NormProblem p = groupnorm_problem(r);
  const auto m = set_moments(p);
  const Shape stats = {p.x.shape[0], ag_groupnorm_args_decode(&r.params).groups};
  return {normalise(p, m), statistic(m, &Moments::mean, stats),
          statistic(m, &Moments::rstd, stats)};
}

RefTensors groupnorm_backward(const RefCall &r, const RefTensors &gy) {
  const NormProblem p = groupnorm_problem(r);
  return normalise_backward(p, set_moments(p), gy[0], true);
}

// in = {x, w, b, running_mean, running_var}.
NormProblem batchnorm_problem(const RefCall &r) {
  return {r.in[0], &r.in[1], &r.in[2], channel_sets(r.in[0].shape), true,
          ag_batchnorm_args_decode(&r.params).eps};
}

// The batch statistics in training, the running ones in eval.
std::vector<Moments> batchnorm_moments(const RefCall &r, const NormProblem &p) {
  if (ag_batchnorm_args_decode(&r.params).training) return set_moments(p);
  std::vector<Moments> m;
  for (size_t c = 0; c < p.sets.size(); c++)
    m.push_back(moments_of(r.in[3].v[c], r.in[4].v[c], p.eps));
  return m;
}

// [2, C]: rows a and b one after the other.
RefTensor two_rows(const RefTensor &a, const RefTensor &b) {
  RefTensor t = zeros({2, numel(a.shape)});
  std::copy(a.v.begin(), a.v.end(), t.v.begin());
  std::copy(b.v.begin(), b.v.end(), t.v.begin() + (long)a.v.size());
  return t;
}

// PyTorch's update: the running variance moves towards the unbiased batch
// variance; eval mode copies both through.
RefTensor running_stats(const RefCall &r, const NormProblem &p, const std::vector<Moments> &m) {
  const ag_batchnorm_args a = ag_batchnorm_args_decode(&r.params);
  if (!a.training) return two_rows(r.in[3], r.in[4]);
  RefTensor mean = r.in[3], var = r.in[4];
  for (size_t c = 0; c < m.size(); c++) {
    const double count = (double)p.sets[c].size(), k = a.momentum;
    mean.v[c] = (1.0 - k) * mean.v[c] + k * m[c].mean;
    var.v[c] = (1.0 - k) * var.v[c] + k * m[c].var * count / (count - 1.0);
  }
  return two_rows(mean, var);
}

RefTensors batchnorm(const RefCall &r) {
  const NormProblem p = batchnorm_problem(r);
  const auto m = batchnorm_moments(r, p);
  const Shape ch = {p.x.shape[1]};
  return {normalise(p, m),
          two_rows(statistic(m, &Moments::mean, ch), statistic(m, &Moments::rstd, ch)),
          running_stats(r, p, m)};
}

// The running statistics take a zero gradient (they only feed eval's constants).
RefTensors batchnorm_backward(const RefCall &r, const RefTensors &gy) {
  const NormProblem p = batchnorm_problem(r);
  RefTensors g = normalise_backward(p, batchnorm_moments(r, p), gy[0],
                                    ag_batchnorm_args_decode(&r.params).training);
  g.push_back(zeros(r.in[3].shape));
  g.push_back(zeros(r.in[4].shape));
  return g;
}

}  // namespace

AG_OP_REFERENCE(norm) {
  return {
      {AG_OP_LAYERNORM, {layernorm, layernorm_backward}},
      {AG_OP_LAYERNORM_NOAFFINE, {layernorm, layernorm_backward}},
      {AG_OP_RMSNORM, {rmsnorm, rmsnorm_backward}},
      {AG_OP_GROUPNORM, {groupnorm, groupnorm_backward}},
      {AG_OP_BATCHNORM, {batchnorm, batchnorm_backward}},
  };
}
