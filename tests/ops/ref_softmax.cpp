// f64 references: softmax, log-softmax, cross-entropy, MSE and Huber losses
// (runtime/ops/softmax.list). The softmax ops normalise the last dim; rows
// are all leading dims flattened.
#include <algorithm>
#include <cmath>
#include <limits>

#include "op_reference.h"

using namespace ag_test;

namespace {

struct Rows {
  int64_t rows, cols;
};

Rows rows_of(const Shape &x) { return {numel(x) / x.back(), x.back()}; }

// log sum_c exp(x[base + c]) over n values, shifted by their max.
double logsumexp(const std::vector<double> &x, size_t base, int64_t n) {
  const double m = *std::max_element(x.begin() + (long)base, x.begin() + (long)base + n);
  double s = 0.0;
  for (int64_t c = 0; c < n; c++) s += std::exp(x[base + (size_t)c] - m);
  return m + std::log(s);
}

double softmax_scale(const RefCall &r) {
  const float s = ag_softmax_args_decode(&r.params).scale;
  return s == 0.0f ? 1.0 : s;
}

// How many leading columns of row `row` the causal mask keeps: for x
// [.., T, S] row t keeps s <= t + (S - T) (bottom-right aligned); all of
// them without the mask.
int64_t kept_cols(const RefCall &r, int64_t row) {
  const Shape &x = r.in[0].shape;
  const int64_t s = x.back();
  if (!ag_softmax_args_decode(&r.params).causal) return s;
  const int64_t t = x[x.size() - 2];
  return std::min(s, row % t + (s - t) + 1);
}

RefTensors softmax(const RefCall &r) {
  const Rows d = rows_of(r.in[0].shape);
  const double scale = softmax_scale(r);
  RefTensor z = r.in[0], y = zeros(r.in[0].shape);
  for (double &v : z.v) v *= scale;
  for (int64_t i = 0; i < d.rows; i++) {
    const size_t base = (size_t)(i * d.cols);
    const int64_t kept = kept_cols(r, i);
    const double lse = logsumexp(z.v, base, kept);
    for (int64_t c = 0; c < kept; c++)
      y.v[base + (size_t)c] = std::exp(z.v[base + (size_t)c] - lse);
  }
  return {y};
}

// dx = scale * y * (gy - sum(gy * y)); masked entries (y = 0) get none.
RefTensors softmax_backward(const RefCall &r, const RefTensors &gy) {
  const Rows d = rows_of(r.in[0].shape);
  const RefTensor y = softmax(r)[0];
  RefTensor gx = zeros(y.shape);
  for (int64_t i = 0; i < d.rows; i++) {
    const size_t base = (size_t)(i * d.cols);
    double dot = 0.0;
    for (int64_t c = 0; c < d.cols; c++) dot += gy[0].v[base + (size_t)c] * y.v[base + (size_t)c];
    for (int64_t c = 0; c < d.cols; c++) {
      const size_t k = base + (size_t)c;
      gx.v[k] = softmax_scale(r) * y.v[k] * (gy[0].v[k] - dot);
    }
  }
  return {gx};
}

RefTensors log_softmax(const RefCall &r) {
  const Rows d = rows_of(r.in[0].shape);
  RefTensor y = r.in[0];
  for (int64_t i = 0; i < d.rows; i++) {
    const size_t base = (size_t)(i * d.cols);
    const double lse = logsumexp(r.in[0].v, base, d.cols);
    for (int64_t c = 0; c < d.cols; c++) y.v[base + (size_t)c] -= lse;
  }
  return {y};
}

// dx = gy - softmax(x) * sum(gy).
RefTensors log_softmax_backward(const RefCall &r, const RefTensors &gy) {
  const Rows d = rows_of(r.in[0].shape);
  const RefTensor y = log_softmax(r)[0];
  RefTensor gx = zeros(y.shape);
  for (int64_t i = 0; i < d.rows; i++) {
    const size_t base = (size_t)(i * d.cols);
    double sum = 0.0;
    for (int64_t c = 0; c < d.cols; c++) sum += gy[0].v[base + (size_t)c];
    for (int64_t c = 0; c < d.cols; c++) {
      const size_t k = base + (size_t)c;
      gx.v[k] = gy[0].v[k] - std::exp(y.v[k]) * sum;
    }
  }
  return {gx};
}

// Cross-entropy of logits [N, C] against i32 targets [N] with label smoothing
// e (PyTorch's definition): the target distribution is
// q_c = (1 - e) [c == t] + e / C, so loss = lse - sum_c q_c x_c and
// dloss/dx_c = p_c - q_c. Ignored rows give loss 0 and no loss gradient; a
// target neither in [0, C) nor ignored gives NaN.
struct CrossEntropy {
  ag_cross_entropy_args a;
  int64_t classes;

  bool ignored(double target) const {
    return a.has_ignore && (int64_t)target == a.ignore_index;
  }
  bool valid(double target) const { return target >= 0 && target < (double)classes; }
  double q(int64_t c, double target) const {
    return (c == (int64_t)target ? 1.0 - a.label_smoothing : 0.0) +
           (double)a.label_smoothing / (double)classes;
  }
};

CrossEntropy cross_entropy_of(const RefCall &r) {
  return {ag_cross_entropy_args_decode(&r.params), r.in[0].shape[1]};
}

// Outputs: the per-row losses and the per-row logsumexp.
RefTensors cross_entropy(const RefCall &r) {
  const RefTensor &x = r.in[0], &t = r.in[1];
  const CrossEntropy ce = cross_entropy_of(r);
  RefTensor loss = zeros(t.shape), lse = zeros(t.shape);
  for (size_t i = 0; i < t.v.size(); i++) {
    const size_t base = i * (size_t)ce.classes;
    lse.v[i] = logsumexp(x.v, base, ce.classes);
    if (ce.ignored(t.v[i])) continue;
    if (!ce.valid(t.v[i])) {
      loss.v[i] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    loss.v[i] = lse.v[i];
    for (int64_t c = 0; c < ce.classes; c++) loss.v[i] -= ce.q(c, t.v[i]) * x.v[base + (size_t)c];
  }
  return {loss, lse};
}

// dx_c = (p_c - q_c) * gloss + p_c * glse: both outputs are differentiable.
RefTensors cross_entropy_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &x = r.in[0], &t = r.in[1];
  const CrossEntropy ce = cross_entropy_of(r);
  const RefTensor lse = cross_entropy(r)[1];
  RefTensor gx = zeros(x.shape);
  for (size_t i = 0; i < t.v.size(); i++) {
    const double gloss = ce.ignored(t.v[i]) ? 0.0 : gy[0].v[i];
    for (int64_t c = 0; c < ce.classes; c++) {
      const size_t k = i * (size_t)ce.classes + (size_t)c;
      const double p = std::exp(x.v[k] - lse.v[i]);
      gx.v[k] = (p - ce.q(c, t.v[i])) * gloss + p * gy[1].v[i];
    }
  }
  return {gx, RefTensor{}};
}

// A mean loss over elementwise differences d = a - b: its per-element value
// and derivative.
struct MeanLoss {
  double (*f)(double d, double delta);
  double (*df)(double d, double delta);
};

const MeanLoss kMse = {[](double d, double) { return d * d; },
                       [](double d, double) { return 2.0 * d; }};
// PyTorch's Huber: quadratic below delta, linear above (delta 0 means 1).
const MeanLoss kHuber = {
    [](double d, double delta) {
      return std::fabs(d) < delta ? 0.5 * d * d : delta * (std::fabs(d) - 0.5 * delta);
    },
    [](double d, double delta) { return std::fabs(d) < delta ? d : std::copysign(delta, d); }};

const MeanLoss &mean_loss_of(const RefCall &r) { return r.op == AG_OP_MSE_LOSS ? kMse : kHuber; }

double huber_delta(const RefCall &r) {
  if (r.op != AG_OP_HUBER_LOSS) return 0.0;
  const float d = ag_huber_args_decode(&r.params).delta;
  return d == 0.0f ? 1.0 : d;
}

RefTensors mean_loss(const RefCall &r) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  const MeanLoss &l = mean_loss_of(r);
  RefTensor y = zeros({1});
  for (size_t k = 0; k < a.v.size(); k++) y.v[0] += l.f(a.v[k] - b.v[k], huber_delta(r));
  y.v[0] /= (double)a.v.size();
  return {y};
}

RefTensors mean_loss_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  const MeanLoss &l = mean_loss_of(r);
  RefTensor ga = zeros(a.shape), gb = zeros(b.shape);
  for (size_t k = 0; k < a.v.size(); k++) {
    ga.v[k] = gy[0].v[0] / (double)a.v.size() * l.df(a.v[k] - b.v[k], huber_delta(r));
    gb.v[k] = -ga.v[k];
  }
  return {ga, gb};
}

}  // namespace

AG_OP_REFERENCE(softmax) {
  return {
      {AG_OP_SOFTMAX, {softmax, softmax_backward}},
      {AG_OP_LOG_SOFTMAX, {log_softmax, log_softmax_backward}},
      {AG_OP_CROSS_ENTROPY, {cross_entropy, cross_entropy_backward}},
      {AG_OP_MSE_LOSS, {mean_loss, mean_loss_backward}},
      {AG_OP_HUBER_LOSS, {mean_loss, mean_loss_backward}},
  };
}
