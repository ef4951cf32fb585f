// Op harness cases: the hash grid (1 to 16 levels, 1, 2 or 4 features,
// dense, hashed and mixed levels, point counts off every block size, points
// on cell boundaries and at 0 and 1, the fast and the deterministic CUDA
// backward) and the SH direction encoding. Positions take no gradient, so
// they are not differentiable inputs here and finite differences perturb
// only the table (exact up to rounding: the output is linear in it), for
// tables small enough to perturb element by element.
#include <cmath>

#include "op_cases.h"

using namespace ag_test;

namespace {

struct GridSpec {
  int64_t n, levels, features, log2_table;
  float base_res, per_level_scale;
  int deterministic;
};

OpCase grid_case(const std::string &label, const GridSpec &s, std::vector<float> pos = {}) {
  InputSpec p = in({s.n, 3});
  p.dtype = AG_F32;
  p.lo = 0.0f;
  p.hi = 1.0f;
  p.differentiable = false;
  p.values = std::move(pos);
  const int64_t table_numel = s.levels * ((int64_t)1 << s.log2_table) * s.features;
  OpCase c = op_case(AG_OP_HASH_GRID, label,
                     {p, in({s.levels, (int64_t)1 << s.log2_table, s.features})});
  encode_args(c, ag_hash_grid_args_encode,
              ag_hash_grid_args{s.levels, s.features, s.log2_table, s.base_res,
                                s.per_level_scale, s.deterministic});
  c.finite_differences = table_numel <= 512;
  return c;
}

// Every coordinate from {0, 1, cell boundaries of res 3 and 9}: p =
// x (res - 1) + 1/2 is a whole number at x = (k - 1/2) / (res - 1), so points
// sit on the faces, edges and corners of cells.
std::vector<float> boundary_points(int64_t n) {
  const float xs[] = {0.0f, 1.0f, 0.25f, 0.75f, 0.0625f, 0.4375f, 0.9375f, 0.3125f, 0.6875f};
  std::vector<float> v;
  for (int64_t i = 0; i < n; i++)
    for (int d = 0; d < 3; d++) v.push_back(xs[(i * (d + 2) + d * i / 9) % 9]);
  return v;
}

OpCase sh_case(const std::string &label, int64_t n, std::vector<float> dirs = {}) {
  InputSpec d = in({n, 3});
  d.lo = -1.0f;
  d.hi = 1.0f;
  d.values = std::move(dirs);
  return op_case(AG_OP_SH_ENCODE, label, {d});
}

// n unit directions spread over the sphere (a spiral).
std::vector<float> unit_directions(int64_t n) {
  std::vector<float> v;
  for (int64_t i = 0; i < n; i++) {
    const double z = 1.0 - (2.0 * (double)i + 1.0) / (double)n, r = std::sqrt(1.0 - z * z);
    const double phi = 2.399963229728653 * (double)i;
    v.push_back((float)(r * std::cos(phi)));
    v.push_back((float)(r * std::sin(phi)));
    v.push_back((float)z);
  }
  return v;
}

}  // namespace

AG_OP_CASES(encoding) {
  // Resolutions: "dense1" 7 ((7+1)^3 = 512 = T); "mixed" 2, 3, 4, 6 with
  // T = 64 (dense, dense, hashed as 5^3 > 64, hashed); "hashed16" 4 to 501;
  // "boundary" 3 (dense) and 9 (hashed) with T = 256.
  return {
      grid_case("dense1", {37, 1, 1, 9, 7.0f, 1.0f, 0}),
      grid_case("mixed", {33, 4, 2, 6, 2.0f, 1.5f, 0}),
      grid_case("mixed_det", {33, 4, 2, 6, 2.0f, 1.5f, 1}),
      grid_case("f1", {19, 3, 1, 5, 3.0f, 2.0f, 0}),
      grid_case("f4_det", {65, 2, 4, 7, 4.0f, 3.0f, 1}),
      grid_case("hashed16", {300, 16, 2, 8, 4.0f, 1.38f, 0}),
      grid_case("hashed16_det", {257, 16, 2, 8, 4.0f, 1.38f, 1}),
      grid_case("boundary", {40, 2, 2, 8, 3.0f, 3.0f, 0}, boundary_points(40)),
      grid_case("boundary_det", {40, 2, 2, 8, 3.0f, 3.0f, 1}, boundary_points(40)),
      grid_case("one_point", {1, 5, 4, 4, 2.0f, 2.0f, 0}),
      sh_case("random", 37),
      sh_case("unit", 50, unit_directions(50)),
      sh_case("many", 1000),
  };
}
