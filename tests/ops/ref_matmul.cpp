// f64 references: matmul and matmul_bias (runtime/ops/matmul.list):
// y[p] = act(op(a[p]) @ op(b[p]) + bias), batched over the leading dims of
// the operand with more dims; a 2-D operand is shared by the whole batch, so
// its gradient sums over the batch.
#include "op_reference.h"

using namespace ag_test;

namespace {

// The products y[p] [m, n] = op(a[p]) [m, k] @ op(b[p]) [k, n], p < batch,
// and where their operands' elements live.
struct Products {
  int64_t batch = 1, m, n, k;
  bool ta, tb, a_batched, b_batched;

  size_t a_at(int64_t p, int64_t i, int64_t kk) const {
    return (size_t)((a_batched ? p * m * k : 0) + (ta ? kk * m + i : i * k + kk));
  }
  size_t b_at(int64_t p, int64_t kk, int64_t j) const {
    return (size_t)((b_batched ? p * k * n : 0) + (tb ? j * k + kk : kk * n + j));
  }
  size_t y_at(int64_t p, int64_t i, int64_t j) const { return (size_t)((p * m + i) * n + j); }
};

Products products_of(const RefCall &r) {
  const Shape &a = r.in[0].shape, &b = r.in[1].shape;
  const ag_matmul_args args = ag_matmul_args_decode(&r.params);
  Products d;
  d.ta = args.trans_a != 0;
  d.tb = args.trans_b != 0;
  d.m = a[a.size() - (d.ta ? 1 : 2)];
  d.k = a[a.size() - (d.ta ? 2 : 1)];
  d.n = b[b.size() - (d.tb ? 2 : 1)];
  d.a_batched = a.size() > 2;
  d.b_batched = b.size() > 2;
  const Shape &batched = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i + 2 < batched.size(); i++) d.batch *= batched[i];
  return d;
}

// y's shape: the batched operand's batch dims, then [m, n].
Shape out_shape(const RefCall &r, const Products &d) {
  const Shape &a = r.in[0].shape, &b = r.in[1].shape;
  const Shape &batched = a.size() >= b.size() ? a : b;
  Shape s(batched.begin(), batched.end() - 2);
  s.push_back(d.m);
  s.push_back(d.n);
  return s;
}

bool has_bias(const RefCall &r) { return r.op == AG_OP_MATMUL_BIAS; }
int epilogue_of(const RefCall &r) { return ag_matmul_args_decode(&r.params).epilogue; }

double activation(int epilogue, double z) {
  switch (epilogue) {
  case AG_MATMUL_EPI_RELU: return z > 0.0 ? z : 0.0;
  case AG_MATMUL_EPI_GELU: return gelu_tanh(z);
  default: return z;
  }
}

double activation_grad(int epilogue, double z) {
  switch (epilogue) {
  case AG_MATMUL_EPI_RELU: return z > 0.0 ? 1.0 : 0.0;
  case AG_MATMUL_EPI_GELU: return gelu_tanh_grad(z);
  default: return 1.0;
  }
}

// z = op(a) @ op(b) + bias, before the activation.
RefTensor pre_activation(const RefCall &r, const Products &d) {
  const RefTensor &a = r.in[0], &b = r.in[1];
  RefTensor z = zeros(out_shape(r, d));
  for (int64_t p = 0; p < d.batch; p++)
    for (int64_t i = 0; i < d.m; i++)
      for (int64_t j = 0; j < d.n; j++) {
        double s = has_bias(r) ? r.in[2].v[(size_t)j] : 0.0;
        for (int64_t kk = 0; kk < d.k; kk++) s += a.v[d.a_at(p, i, kk)] * b.v[d.b_at(p, kk, j)];
        z.v[d.y_at(p, i, j)] = s;
      }
  return z;
}

RefTensors matmul(const RefCall &r) {
  RefTensor y = pre_activation(r, products_of(r));
  for (double &v : y.v) v = activation(epilogue_of(r), v);
  return {y};
}

// With dz = gy * act'(z): da = dz @ op(b)^T, db = op(a)^T @ dz and
// dbias = the column sums of dz, each laid out as its input is.
RefTensors matmul_backward(const RefCall &r, const RefTensors &gy) {
  const Products d = products_of(r);
  const RefTensor &a = r.in[0], &b = r.in[1];
  RefTensor dz = pre_activation(r, d);
  for (size_t k = 0; k < dz.v.size(); k++)
    dz.v[k] = gy[0].v[k] * activation_grad(epilogue_of(r), dz.v[k]);
  RefTensor ga = zeros(a.shape), gb = zeros(b.shape), gbias = zeros({d.n});
  for (int64_t p = 0; p < d.batch; p++)
    for (int64_t i = 0; i < d.m; i++)
      for (int64_t j = 0; j < d.n; j++) {
        const double g = dz.v[d.y_at(p, i, j)];
        gbias.v[(size_t)j] += g;
        for (int64_t kk = 0; kk < d.k; kk++) {
          ga.v[d.a_at(p, i, kk)] += g * b.v[d.b_at(p, kk, j)];
          gb.v[d.b_at(p, kk, j)] += g * a.v[d.a_at(p, i, kk)];
        }
      }
  if (has_bias(r)) return {ga, gb, gbias};
  return {ga, gb};
}

}  // namespace

AG_OP_REFERENCE(matmul) {
  return {
      {AG_OP_MATMUL, {matmul, matmul_backward}},
      {AG_OP_MATMUL_BIAS, {matmul, matmul_backward}},
  };
}
