// f64 references: embedding lookup and the sinusoidal timestep embedding
// (runtime/ops/embedding.list).
#include <cmath>

#include "op_reference.h"

using namespace ag_test;

namespace {

// y[..., d] = table[ids[...], d].
RefTensors embedding(const RefCall &r) {
  const RefTensor &table = r.in[0], &ids = r.in[1];
  const int64_t dim = table.shape[1];
  Shape shape = ids.shape;
  shape.push_back(dim);
  RefTensor y = zeros(shape);
  for (size_t j = 0; j < ids.v.size(); j++)
    for (int64_t d = 0; d < dim; d++)
      y.v[j * (size_t)dim + (size_t)d] = table.v[(size_t)((int64_t)ids.v[j] * dim + d)];
  return {y};
}

// Every lookup of a row adds its gradient to that row; ids take none.
RefTensors embedding_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &ids = r.in[1];
  RefTensor gtable = zeros(r.in[0].shape);
  const int64_t dim = gtable.shape[1];
  for (size_t j = 0; j < ids.v.size(); j++)
    for (int64_t d = 0; d < dim; d++)
      gtable.v[(size_t)((int64_t)ids.v[j] * dim + d)] += gy[0].v[j * (size_t)dim + (size_t)d];
  return {gtable, RefTensor{}};
}

// Column col of the embedding of t: [sin(t w_k) | cos(t w_k)] for k < D/2,
// w_k = max_period^(-k / (D/2 - shift)), the halves swapped by flip_sin_to_cos,
// and a zero column last when D is odd.
double timestep_column(double t, int64_t col, const ag_timestep_embedding_args &a) {
  const int64_t half = a.dim / 2;
  if (col >= 2 * half) return 0.0;
  const int64_t k = col < half ? col : col - half;
  const double w = std::exp(-std::log((double)a.max_period) * (double)k /
                            ((double)half - a.downscale_freq_shift));
  const bool is_sin = (col < half) != (a.flip_sin_to_cos != 0);
  return is_sin ? std::sin(t * w) : std::cos(t * w);
}

RefTensors timestep_embedding(const RefCall &r) {
  const ag_timestep_embedding_args a = ag_timestep_embedding_args_decode(&r.params);
  const RefTensor &t = r.in[0];
  RefTensor y = zeros({t.shape[0], a.dim});
  for (int64_t n = 0; n < t.shape[0]; n++)
    for (int64_t col = 0; col < a.dim; col++)
      y.v[(size_t)(n * a.dim + col)] = timestep_column(t.v[(size_t)n], col, a);
  return {y};
}

}  // namespace

AG_OP_REFERENCE(embedding) {
  return {
      {AG_OP_EMBEDDING, {embedding, embedding_backward}},
      {AG_OP_TIMESTEP_EMBEDDING, {timestep_embedding, nullptr}},
  };
}
