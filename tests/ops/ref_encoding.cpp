// f64 references: the multiresolution hash grid and the spherical-harmonics
// encoding (runtime/ops/encoding.list). Written from the definitions, not
// from the kernels: the grid's cells, corners and weights in double, the SH
// gradient by forward-mode dual numbers over the same polynomials.
#include <cmath>
#include <cstdint>

#include "op_reference.h"

using namespace ag_test;

namespace {

struct Grid {
  int64_t levels, features, table_size;
  std::vector<int64_t> res;
};

Grid grid_of(const RefCall &r) {
  const ag_hash_grid_args a = ag_hash_grid_args_decode(&r.params);
  Grid g{a.levels, a.features, (int64_t)1 << a.log2_table, {}};
  for (int64_t l = 0; l < a.levels; l++)
    g.res.push_back((int64_t)std::floor((double)a.base_res * std::pow((double)a.per_level_scale, (double)l)));
  return g;
}

// Corner vertex (x, y, z) of a level's grid -> its table row.
int64_t row_of(const Grid &g, int64_t res, int64_t x, int64_t y, int64_t z) {
  const int64_t side = res + 1;
  if (side * side * side <= g.table_size) return x + side * y + side * side * z;
  const uint32_t h = (uint32_t)x * 1u ^ (uint32_t)y * 2654435761u ^ (uint32_t)z * 805459861u;
  return (int64_t)(h % (uint32_t)g.table_size);
}

// Calls visit(row, weight) for the 8 corners around point i at level l:
// p = clamp(x, 0, 1) (res - 1) + 1/2, the cell floor(p), trilinear weights.
template <class Visit>
void corners(const Grid &g, const RefTensor &pos, int64_t i, int64_t l, Visit visit) {
  const int64_t res = g.res[(size_t)l];
  int64_t cell[3];
  double frac[3];
  for (int d = 0; d < 3; d++) {
    const double x = std::fmin(std::fmax(pos.v[(size_t)(3 * i + d)], 0.0), 1.0);
    const double p = x * (double)(res - 1) + 0.5;
    cell[d] = (int64_t)std::floor(p);
    frac[d] = p - (double)cell[d];
  }
  for (int dz = 0; dz < 2; dz++)
    for (int dy = 0; dy < 2; dy++)
      for (int dx = 0; dx < 2; dx++) {
        const double w = (dx ? frac[0] : 1 - frac[0]) * (dy ? frac[1] : 1 - frac[1]) *
                         (dz ? frac[2] : 1 - frac[2]);
        visit(l * g.table_size + row_of(g, res, cell[0] + dx, cell[1] + dy, cell[2] + dz), w);
      }
}

RefTensors hash_grid(const RefCall &r) {
  const Grid g = grid_of(r);
  const RefTensor &pos = r.in[0], &table = r.in[1];
  const int64_t n = pos.shape[0], width = g.levels * g.features;
  RefTensor y = zeros({n, width});
  for (int64_t i = 0; i < n; i++)
    for (int64_t l = 0; l < g.levels; l++)
      corners(g, pos, i, l, [&](int64_t row, double w) {
        for (int64_t f = 0; f < g.features; f++)
          y.v[(size_t)(i * width + l * g.features + f)] += w * table.v[(size_t)(row * g.features + f)];
      });
  return {y};
}

// Every output feature sends its gradient times the corner weights to the
// corners' rows; positions take none.
RefTensors hash_grid_backward(const RefCall &r, const RefTensors &gy) {
  const Grid g = grid_of(r);
  const RefTensor &pos = r.in[0];
  const int64_t n = pos.shape[0], width = g.levels * g.features;
  RefTensor gtable = zeros(r.in[1].shape);
  for (int64_t i = 0; i < n; i++)
    for (int64_t l = 0; l < g.levels; l++)
      corners(g, pos, i, l, [&](int64_t row, double w) {
        for (int64_t f = 0; f < g.features; f++)
          gtable.v[(size_t)(row * g.features + f)] +=
              w * gy[0].v[(size_t)(i * width + l * g.features + f)];
      });
  return {RefTensor{}, gtable};
}

// a + b eps with eps^2 = 0: carries one directional derivative.
struct Dual {
  double a, b;
};
Dual operator-(Dual x, Dual y) { return {x.a - y.a, x.b - y.b}; }
Dual operator*(Dual x, Dual y) { return {x.a * y.a, x.a * y.b + x.b * y.a}; }
Dual operator*(double k, Dual x) { return {k * x.a, k * x.b}; }
Dual operator-(double k, Dual x) { return {k - x.a, -x.b}; }
Dual operator-(Dual x, double k) { return {x.a - k, x.b}; }

// Real SH of bands 0..3, tcnn's constants and signs.
template <class V> void sh(V x, V y, V z, V *o) {
  const V one = 1.0 - (x - x);  // a constant of the value type
  o[0] = 0.28209479177387814 * one;
  o[1] = -0.48860251190291987 * y;
  o[2] = 0.48860251190291987 * z;
  o[3] = -0.48860251190291987 * x;
  o[4] = 1.0925484305920792 * (x * y);
  o[5] = -1.0925484305920792 * (y * z);
  o[6] = 0.94617469575755997 * (z * z) - 0.31539156525251999;
  o[7] = -1.0925484305920792 * (x * z);
  o[8] = 0.54627421529603959 * (x * x - y * y);
  o[9] = 0.59004358992664352 * (y * (y * y - 3.0 * (x * x)));
  o[10] = 2.8906114426405538 * (x * y * z);
  o[11] = 0.45704579946446572 * (y * (1.0 - 5.0 * (z * z)));
  o[12] = 0.3731763325901154 * (z * (5.0 * (z * z) - 3.0));
  o[13] = 0.45704579946446572 * (x * (1.0 - 5.0 * (z * z)));
  o[14] = 1.4453057213202769 * (z * (x * x - y * y));
  o[15] = 0.59004358992664352 * (x * (3.0 * (y * y) - x * x));
}

RefTensors sh_encode(const RefCall &r) {
  const RefTensor &d = r.in[0];
  const int64_t n = d.shape[0];
  RefTensor y = zeros({n, 16});
  for (int64_t i = 0; i < n; i++) {
    Dual o[16];
    const auto at = [&](int k) { return Dual{d.v[(size_t)(3 * i + k)], 0.0}; };
    sh(at(0), at(1), at(2), o);
    for (int j = 0; j < 16; j++) y.v[(size_t)(16 * i + j)] = o[j].a;
  }
  return {y};
}

// One dual pass per axis: d o_j / d axis, dotted with gy.
RefTensors sh_encode_backward(const RefCall &r, const RefTensors &gy) {
  const RefTensor &d = r.in[0];
  const int64_t n = d.shape[0];
  RefTensor gd = zeros(d.shape);
  for (int64_t i = 0; i < n; i++)
    for (int axis = 0; axis < 3; axis++) {
      Dual v[3], o[16];
      for (int k = 0; k < 3; k++) v[k] = {d.v[(size_t)(3 * i + k)], k == axis ? 1.0 : 0.0};
      sh(v[0], v[1], v[2], o);
      for (int j = 0; j < 16; j++)
        gd.v[(size_t)(3 * i + axis)] += o[j].b * gy[0].v[(size_t)(16 * i + j)];
    }
  return {gd};
}

}  // namespace

AG_OP_REFERENCE(encoding) {
  return {
      {AG_OP_HASH_GRID, {hash_grid, hash_grid_backward}},
      {AG_OP_SH_ENCODE, {sh_encode, sh_encode_backward}},
  };
}
