// Op harness cases: the occupancy grid update (out-of-range indices,
// repeats, negative densities) and bitfield (the mean rule and the fixed
// threshold, a partial last byte, more cells than mean lanes), ray marching
// over random bitfields (with and without truncation at the capacity, a
// near plane, a fine step, more rays than one CUDA scan tile) and
// compositing forward and backward. All f32: the family has no other dtype.
//
// Compositing reads ray ranges that must be disjoint and in order, which
// independent random draws are not, so the cases fix them (InputSpec::values)
// and draw the rest. Optical depths stay below 5 (sigma < 2, dt < 0.2, at
// most 12 samples), far from the early-termination cut at ln(1e-4) = -9.2,
// so finite differences never cross it; "early_stop" fixes sigma and dt to
// cross it by a wide margin (T drops from e^-2 to e^-17).
#include "op_cases.h"

using namespace ag_test;

namespace {

InputSpec fixed_input(std::vector<int64_t> shape, ag_dtype dt, std::vector<float> values) {
  InputSpec s = in(std::move(shape));
  s.dtype = dt;
  s.values = std::move(values);
  s.differentiable = false;
  return s;
}

InputSpec drawn(std::vector<int64_t> shape, ag_dtype dt, float lo, float hi,
                bool differentiable = false) {
  InputSpec s = in(std::move(shape));
  s.dtype = dt;
  s.lo = lo;
  s.hi = hi;
  s.differentiable = differentiable;
  return s;
}

OpCase occ_update_case(const std::string &label, int64_t g, int64_t m, float grid_lo, float decay) {
  const float cells = (float)(g * g * g);
  OpCase c = op_case(AG_OP_OCC_UPDATE, label,
                     {drawn({g, g, g}, AG_F32, grid_lo, 2.0f), drawn({m}, AG_I32, -4, cells + 4),
                      drawn({m}, AG_F32, -0.5f, 3.0f)});
  encode_args(c, ag_occ_update_args_encode, ag_occ_update_args{decay});
  c.dtypes = {AG_F32};
  c.exact = true;  // a product and maxima: correctly rounded everywhere
  return c;
}

OpCase occ_bitfield_case(const std::string &label, int64_t g, float lo, float threshold) {
  OpCase c = op_case(AG_OP_OCC_BITFIELD, label, {drawn({g, g, g}, AG_F32, lo, 1.0f)});
  encode_args(c, ag_occ_bitfield_args_encode, ag_occ_bitfield_args{threshold});
  c.dtypes = {AG_F32};
  c.exact = true;
  return c;
}

// Rays from anywhere in [-1.5, 1.5]^3 (inside and outside the box), any
// direction (the op normalises), through a random bitfield.
OpCase ray_march_case(const std::string &label, int64_t n, const ag_ray_march_args &a,
                      float bits_lo) {
  const int64_t bytes = (a.grid_res * a.grid_res * a.grid_res + 7) / 8;
  OpCase c = op_case(AG_OP_RAY_MARCH, label,
                     {drawn({n, 3}, AG_F32, -1.5f, 1.5f), drawn({n, 3}, AG_F32, -1.0f, 1.0f),
                      drawn({bytes}, AG_U8, bits_lo, 256.0f)});
  encode_args(c, ag_ray_march_args_encode, a);
  c.dtypes = {AG_F32};
  return c;
}

// Packed ranges of `counts` in order from row 0, then `spare` unused rows.
struct Packed {
  std::vector<float> rays;
  int64_t rows;
};

Packed pack(const std::vector<int> &counts, int64_t spare) {
  Packed p{{}, 0};
  for (int k : counts) {
    p.rays.push_back((float)p.rows);
    p.rays.push_back((float)k);
    p.rows += k;
  }
  p.rows += spare;
  return p;
}

OpCase composite_case(const std::string &label, const std::vector<int> &counts, int64_t spare) {
  const Packed p = pack(counts, spare);
  const int64_t s = p.rows, n = (int64_t)counts.size();
  OpCase c =
      op_case(AG_OP_COMPOSITE, label,
              {drawn({s}, AG_F32, 0.0f, 2.0f, true), drawn({s, 3}, AG_F32, 0.0f, 1.0f, true),
               drawn({s}, AG_F32, 0.02f, 0.2f), drawn({s}, AG_F32, 0.5f, 3.0f),
               fixed_input({n, 2}, AG_I32, p.rays), drawn({n, 3}, AG_F32, 0.0f, 1.0f, true)});
  c.dtypes = {AG_F32};
  c.grad_outputs = {0, 1, 2};
  return c;
}

// Counts 0..12 in a scrambled order, every one of them.
std::vector<int> scrambled_counts(int n) {
  std::vector<int> k;
  for (int r = 0; r < n; r++) k.push_back(r * 7 % 13);
  return k;
}

// Ray 0 stops before its fourth sample (sigma dt = 1, 1, 15, then T = e^-17),
// ray 1 never stops, ray 2 is empty (color = background).
OpCase early_stop_case() {
  OpCase c = composite_case("early_stop", {5, 4, 0}, 2);
  const std::vector<float> sigma = {2, 2, 30, 2, 2, 1, 1, 1, 1, 3, 3};
  c.inputs[0] = fixed_input({11}, AG_F32, sigma);
  c.inputs[0].differentiable = true;
  c.inputs[2] = fixed_input({11}, AG_F32, std::vector<float>(11, 0.5f));
  return c;
}

}  // namespace

AG_OP_CASES(volume) {
  // max_samples cuts the longer rays short; "truncated" fills its rows
  // about halfway through the rays.
  const ag_ray_march_args roomy = {-1.0f, 1.0f, 0.05f, 0.0f, 8, 12, 41 * 12};
  ag_ray_march_args truncated = roomy;
  truncated.capacity = 100;
  const ag_ray_march_args g5 = {-0.5f, 1.5f, 0.1f, 0.5f, 5, 16, 23 * 16};
  const ag_ray_march_args fine = {-1.0f, 1.0f, 0.01f, 0.0f, 16, 64, 19 * 64};
  // Three tiles of the CUDA scan (512 rays each), full before the last.
  const ag_ray_march_args many = {-1.0f, 1.0f, 0.2f, 0.0f, 4, 4, 1000};
  CaseList cases = {
      occ_update_case("g8", 8, 300, 0.0f, 0.95f),
      occ_update_case("g5_negative", 5, 40, -2.0f, 0.5f),
      occ_bitfield_case("g8_mean", 8, 0.0f, 10.0f),
      occ_bitfield_case("g5_threshold", 5, 0.0f, 0.3f),
      occ_bitfield_case("g16_lanes", 16, -1.0f, 0.01f),
      ray_march_case("roomy", 41, roomy, 0.0f),
      ray_march_case("truncated", 41, truncated, 0.0f),
      ray_march_case("g5_near_dense", 23, g5, 128.0f),
      ray_march_case("fine", 19, fine, 0.0f),
      ray_march_case("many_rays", 1100, many, 0.0f),
      composite_case("rays13", scrambled_counts(13), 5),
      composite_case("rays40", scrambled_counts(40), 0),
      early_stop_case(),
  };
  return cases;
}
