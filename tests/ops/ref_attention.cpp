// f64 references: attention and attention_padded (runtime/ops/attention.list):
// o = softmax(scale * q k^T + mask) v over [B, H, T, D], and lse, the
// log-sum-exp of each query's visible scaled scores. Key j is visible to
// query i when j < kv_len[b] (padded only) and, if causal, j <= i + Tk - Tq.
// A query that sees no key gets o = 0 and lse = +inf.
#include <algorithm>
#include <cmath>
#include <limits>

#include "op_reference.h"

using namespace ag_test;

namespace {

struct Attention {
  int64_t batch, heads, tq, tk, dim;
  double scale;
  bool causal;
  const RefTensor *kv_len;  // nullptr: no key padding

  // Element c of query i (or key j) of head bh = b * heads + h.
  size_t q_at(int64_t bh, int64_t i, int64_t c) const { return (size_t)((bh * tq + i) * dim + c); }
  size_t kv_at(int64_t bh, int64_t j, int64_t c) const { return (size_t)((bh * tk + j) * dim + c); }

  bool visible(int64_t bh, int64_t i, int64_t j) const {
    if (kv_len && j >= (int64_t)kv_len->v[(size_t)(bh / heads)]) return false;
    return !causal || j <= i + tk - tq;
  }
};

// in = {q, k, v, [kv_len]}; scale 0 means 1/sqrt(D).
Attention attention_of(const RefCall &r) {
  const Shape &q = r.in[0].shape;
  const ag_attention_args a = ag_attention_args_decode(&r.params);
  return {q[0], q[1], q[2], r.in[1].shape[2], q[3],
          a.scale == 0.0f ? 1.0 / std::sqrt((double)q[3]) : (double)a.scale, a.causal != 0,
          r.op == AG_OP_ATTENTION_PADDED ? &r.in[3] : nullptr};
}

// Query i of head bh: its probability for every key (0 where masked) and its lse.
struct QueryRow {
  std::vector<double> p;
  double lse;
};

QueryRow query_row(const Attention &a, const RefTensor &q, const RefTensor &k, int64_t bh,
                   int64_t i) {
  const double masked = -std::numeric_limits<double>::infinity();
  std::vector<double> s((size_t)a.tk, masked);
  for (int64_t j = 0; j < a.tk; j++) {
    if (!a.visible(bh, i, j)) continue;
    double dot = 0.0;
    for (int64_t c = 0; c < a.dim; c++) dot += q.v[a.q_at(bh, i, c)] * k.v[a.kv_at(bh, j, c)];
    s[(size_t)j] = a.scale * dot;
  }
  const double m = *std::max_element(s.begin(), s.end());
  if (m == masked) return {std::vector<double>((size_t)a.tk, 0.0), -masked};
  double sum = 0.0;
  for (double &e : s) sum += e = std::exp(e - m);
  for (double &e : s) e /= sum;
  return {s, m + std::log(sum)};
}

RefTensors attention(const RefCall &r) {
  const Attention a = attention_of(r);
  const RefTensor &q = r.in[0], &v = r.in[2];
  RefTensor o = zeros(q.shape), lse = zeros({a.batch, a.heads, a.tq});
  for (int64_t bh = 0; bh < a.batch * a.heads; bh++)
    for (int64_t i = 0; i < a.tq; i++) {
      const QueryRow row = query_row(a, q, r.in[1], bh, i);
      lse.v[(size_t)(bh * a.tq + i)] = row.lse;
      for (int64_t j = 0; j < a.tk; j++)
        for (int64_t c = 0; c < a.dim; c++)
          o.v[a.q_at(bh, i, c)] += row.p[(size_t)j] * v.v[a.kv_at(bh, j, c)];
    }
  return {o, lse};
}

// do . o for query i, with o as the forward stored it (in q's dtype): the
// op's backward takes sum_j p_j dp_j from the saved output, as FlashAttention
// does (kernels/common/ag_k_attention.h). Where a query's probability sits on
// one key, dp_j - delta is nothing but that rounding, so it is part of the
// gradient the op defines.
double stored_delta(const RefCall &r, const Attention &a, const QueryRow &row,
                    const RefTensor &dout, int64_t bh, int64_t i) {
  const RefTensor &v = r.in[2];
  double delta = 0.0;
  for (int64_t c = 0; c < a.dim; c++) {
    double o = 0.0;
    for (int64_t j = 0; j < a.tk; j++) o += row.p[(size_t)j] * v.v[a.kv_at(bh, j, c)];
    delta += dout.v[a.q_at(bh, i, c)] * stored_as(r.dtype, o);
  }
  return delta;
}

// Per query, with dp_j = do . v_j and the scores' gradient
// ds_j = p_j (dp_j - delta + dlse), delta = do . o (lse's own gradient enters
// through d lse / d s_j = p_j):
//   dv_j += p_j do,  dq += scale ds_j k_j,  dk_j += scale ds_j q.
RefTensors attention_backward(const RefCall &r, const RefTensors &gy) {
  const Attention a = attention_of(r);
  const RefTensor &q = r.in[0], &k = r.in[1], &v = r.in[2], &dout = gy[0];
  RefTensor dq = zeros(q.shape), dk = zeros(k.shape), dv = zeros(v.shape);
  for (int64_t bh = 0; bh < a.batch * a.heads; bh++)
    for (int64_t i = 0; i < a.tq; i++) {
      const QueryRow row = query_row(a, q, k, bh, i);
      std::vector<double> dp((size_t)a.tk, 0.0);
      for (int64_t j = 0; j < a.tk; j++)
        for (int64_t c = 0; c < a.dim; c++)
          dp[(size_t)j] += dout.v[a.q_at(bh, i, c)] * v.v[a.kv_at(bh, j, c)];
      const double delta = stored_delta(r, a, row, dout, bh, i);
      const double dlse = gy[1].v[(size_t)(bh * a.tq + i)];
      for (int64_t j = 0; j < a.tk; j++) {
        const double p = row.p[(size_t)j], dsj = p * (dp[(size_t)j] - delta + dlse);
        for (int64_t c = 0; c < a.dim; c++) {
          dv.v[a.kv_at(bh, j, c)] += p * dout.v[a.q_at(bh, i, c)];
          dq.v[a.q_at(bh, i, c)] += a.scale * dsj * k.v[a.kv_at(bh, j, c)];
          dk.v[a.kv_at(bh, j, c)] += a.scale * dsj * q.v[a.q_at(bh, i, c)];
        }
      }
    }
  RefTensors grads = {dq, dk, dv};
  if (a.kv_len) grads.push_back(RefTensor{});
  return grads;
}

}  // namespace

AG_OP_REFERENCE(attention) {
  return {
      {AG_OP_ATTENTION, {attention, attention_backward}},
      {AG_OP_ATTENTION_PADDED, {attention, attention_backward}},
  };
}
