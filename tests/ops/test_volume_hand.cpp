// The volume ops on cases computed by hand, on every backend built (cpu,
// emu, cuda when a device answers): compositing with known weights and
// transmittance, forward and backward, a ray that stops early and an empty
// ray; ray marching on analytic grids (all occupied, one occupied cell made
// by occ_update + occ_bitfield, a ray missing the box), truncation at the
// capacity and at max_samples; and calls that shape inference rejects.
// The march's times and positions are exact in binary; compositing allows
// 1e-6 for f32 rounding (of exp, mostly).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/ops/ag_ops.h"
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

using namespace ag_test;

namespace {

std::vector<ag_backend *> backends() {
  std::vector<ag_backend *> out = {ag_backend_cpu()};
#ifdef AG_TEST_EMU
  if (ag_backend *emu = ag_backend_emu()) out.push_back(emu);
#endif
  ag_backend *cuda = nullptr;
  if (ag_backend_select("cuda", &cuda, nullptr, 0) == AG_OK) out.push_back(cuda);
  return out;
}

Tensor f32(ag_backend *be, std::vector<int64_t> shape, const std::vector<float> &v) {
  return Tensor(make_tensor(be, AG_F32, std::move(shape), v));
}

template <class T>
Tensor raw(ag_backend *be, ag_dtype dt, std::vector<int64_t> shape, const std::vector<T> &v) {
  Tensor t(ag_tensor_new(be, dt, (int)shape.size(), shape.data()));
  EXPECT_EQ(ag_tensor_write(t.get(), v.data(), v.size() * sizeof(T)), AG_OK) << ag_last_error();
  return t;
}

Tensor empty(ag_backend *be, ag_dtype dt, std::vector<int64_t> shape) {
  return Tensor(ag_tensor_new(be, dt, (int)shape.size(), shape.data()));
}

std::vector<int32_t> read_i32(const ag_tensor *t) {
  const std::vector<uint8_t> b = read_bytes(t);
  std::vector<int32_t> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

void expect_near(const std::vector<float> &got, const std::vector<float> &want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

const float kLn2 = 0.69314718f;

// Three rays over 4 + 3 + 0 packed samples (rows 7 and 8 unused):
//  ray 0: sigma dt = ln 2 four times, so alpha = 1/2 each; T before the
//    samples = 1, 1/2, 1/4, 1/8 (1/16 after), weights 1/2, 1/4, 1/8, 1/16,
//    opacity 15/16. rgb red, green, blue, white; t = 0.5, 1.5, 2.5, 3.5;
//    bg (0.2, 0.4, 0.8) weighted 1/16:
//    color = (1/2 + 1/16 + 0.0125, 1/4 + 1/16 + 0.025, 1/8 + 1/16 + 0.05)
//          = (0.575, 0.3375, 0.2375)
//    depth = 0.25 + 0.375 + 0.3125 + 0.21875 = 1.15625.
//  ray 1: sigma dt = 5 ln 10, so T after sample 0 is 1e-5 < 1e-4: samples 1
//    and 2 (green, alpha ~ 1) are cut. color = (1 - 1e-5) red + 1e-5 bg with
//    bg = 0: (0.99999, 0, 0); without the cut green would get 1e-5.
//  ray 2: no samples: color = bg (0.1, 0.2, 0.3), depth 0, opacity 0.
struct CompositeInputs {
  Tensor sigma, rgb, dt, t, rays, bg;
};

CompositeInputs composite_inputs(ag_backend *be) {
  const float big = 5.0f * std::log(10.0f);
  CompositeInputs in;
  in.sigma = f32(be, {9}, {kLn2, kLn2, kLn2, kLn2, big, 50, 50, 7, 7});
  in.rgb = f32(be, {9, 3},
               {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1});
  in.dt = f32(be, {9}, std::vector<float>(9, 1.0f));
  in.t = f32(be, {9}, {0.5f, 1.5f, 2.5f, 3.5f, 1, 2, 3, 4, 5});
  in.rays = raw<int32_t>(be, AG_I32, {3, 2}, {0, 4, 4, 3, 7, 0});
  in.bg = f32(be, {3, 3}, {0.2f, 0.4f, 0.8f, 0, 0, 0, 0.1f, 0.2f, 0.3f});
  return in;
}

TEST(VolumeHand, CompositeKnownWeights) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    CompositeInputs in = composite_inputs(be);
    Tensor color = empty(be, AG_F32, {3, 3}), depth = empty(be, AG_F32, {3}),
           opacity = empty(be, AG_F32, {3});
    ASSERT_EQ(
        ag_eager_composite(in.sigma.get(), in.rgb.get(), in.dt.get(), in.t.get(), in.rays.get(),
                           in.bg.get(), color.get(), depth.get(), opacity.get()),
        AG_OK)
        << ag_last_error();
    expect_near(read_floats(color.get()),
                {0.575f, 0.3375f, 0.2375f, 0.99999f, 0, 0, 0.1f, 0.2f, 0.3f}, 1e-6);
    expect_near(read_floats(depth.get()), {1.15625f, 0.99999f, 0}, 1e-6);
    expect_near(read_floats(opacity.get()), {0.9375f, 0.99999f, 0}, 1e-6);
  }
}

// The backward of the same rays with gc = (1, 0, 0) on every ray and no
// depth or opacity gradient. Ray 0: v_i = red_i - bg.r = 0.8, -0.2, -0.2,
// 0.8, w_i v_i = 0.4, -0.05, -0.025, 0.05, and
// dL/dsigma_i = dt_i (T_{i+1} v_i - sum_{j>i} w_j v_j):
//   0.4 + 0.025 = 0.425, -0.05 - 0.025 = -0.075, -0.025 - 0.05 = -0.075, 0.05.
// d rgb_i = w_i gc: (1/2, 1/4, 1/8, 1/16) on red. Ray 1: sample 0 has
// T_1 v_0 = 1e-5 and nothing after (cut), so 1e-5; the cut samples get
// exactly 0. d bg = gc (1 - opacity): 1/16, 1e-5 and 1 on red.
TEST(VolumeHand, CompositeBackwardByHand) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    CompositeInputs in = composite_inputs(be);
    Tensor color = empty(be, AG_F32, {3, 3}), depth = empty(be, AG_F32, {3}),
           opacity = empty(be, AG_F32, {3});
    ASSERT_EQ(
        ag_eager_composite(in.sigma.get(), in.rgb.get(), in.dt.get(), in.t.get(), in.rays.get(),
                           in.bg.get(), color.get(), depth.get(), opacity.get()),
        AG_OK)
        << ag_last_error();
    Tensor gc = f32(be, {3, 3}, {1, 0, 0, 1, 0, 0, 1, 0, 0});
    Tensor dsigma = empty(be, AG_F32, {9}), drgb = empty(be, AG_F32, {9, 3}),
           dbg = empty(be, AG_F32, {3, 3});
    ag_op_call b = {};
    const ag_tensor *ins[] = {in.sigma.get(), in.rgb.get(), in.dt.get(), in.t.get(),
                              in.rays.get(),  in.bg.get(),  color.get(), depth.get(),
                              opacity.get(),  gc.get(),     nullptr,     nullptr};
    std::copy(std::begin(ins), std::end(ins), b.in);
    b.out[0] = dsigma.get(), b.out[1] = drgb.get(), b.out[5] = dbg.get();
    ASSERT_EQ(ag_op_backward(be, AG_OP_COMPOSITE, &b), AG_OK) << ag_last_error();
    expect_near(read_floats(dsigma.get()), {0.425f, -0.075f, -0.075f, 0.05f, 1e-5f, 0, 0, 0, 0},
                1e-6);
    const std::vector<float> g = read_floats(drgb.get());
    const float w[4] = {0.5f, 0.25f, 0.125f, 0.0625f};
    for (int i = 0; i < 4; i++) EXPECT_NEAR(g[3 * i], w[i], 1e-6) << "sample " << i;
    EXPECT_NEAR(g[12], 0.99999f, 1e-6);
    for (int i = 15; i < 27; i++) EXPECT_EQ(g[i], 0.0f) << "cut or unused sample " << i / 3;
    expect_near(read_floats(dbg.get()), {0.0625f, 0, 0, 1e-5f, 0, 0, 1, 0, 0}, 1e-6);
  }
}

// Box [0, 1]^3, G = 4 (cells of 1/4), dt = 1/16.
ag_ray_march_args march_args(int64_t max_samples, int64_t capacity) {
  return {0.0f, 1.0f, 0.0625f, 0.0f, 4, max_samples, capacity};
}

// Ray 0 from (-1, 0.3, 0.6) along +x (given as (2, 0, 0): the op normalises)
// enters at t = 1 and leaves at 2: floor((2 - 1) / (1/16)) = 16 segments.
// Ray 1 from the centre along -z: t in [0, 0.5], 8 segments. Ray 2 passes
// at y = 2, outside the box: none.
struct MarchRays {
  Tensor origins, dirs;
};

MarchRays march_rays(ag_backend *be) {
  return {f32(be, {3, 3}, {-1, 0.3f, 0.6f, 0.5f, 0.5f, 0.5f, -1, 2, 0.5f}),
          f32(be, {3, 3}, {2, 0, 0, 0, 0, -1, 1, 0, 0})};
}

struct March {
  std::vector<float> pos, dirs, t, dt;
  std::vector<int32_t> rays, total;
};

March march(ag_backend *be, const ag_tensor *bits, const ag_ray_march_args &a) {
  MarchRays r = march_rays(be);
  const int64_t s = a.capacity;
  Tensor pos = empty(be, AG_F32, {s, 3}), dirs = empty(be, AG_F32, {s, 3}),
         t = empty(be, AG_F32, {s}), dt = empty(be, AG_F32, {s}), rays = empty(be, AG_I32, {3, 2}),
         total = empty(be, AG_I32, {1});
  const ag_ray_samples out = {pos.get(), dirs.get(), t.get(), dt.get(), rays.get(), total.get()};
  EXPECT_EQ(ag_eager_ray_march(r.origins.get(), r.dirs.get(), bits, &a, &out), AG_OK)
      << ag_last_error();
  return {read_floats(pos.get()), read_floats(dirs.get()), read_floats(t.get()),
          read_floats(dt.get()),  read_i32(rays.get()),    read_i32(total.get())};
}

TEST(VolumeHand, MarchAllOccupied) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor bits = raw<uint8_t>(be, AG_U8, {8}, std::vector<uint8_t>(8, 0xff));
    const March m = march(be, bits.get(), march_args(64, 40));
    EXPECT_EQ(m.rays, (std::vector<int32_t>{0, 16, 16, 8, 24, 0}));
    EXPECT_EQ(m.total, (std::vector<int32_t>{24}));
    for (int k = 0; k < 16; k++) {  // midpoints t = 1 + (k + 1/2) / 16 at x = t - 1
      EXPECT_FLOAT_EQ(m.t[k], 1.0f + (k + 0.5f) / 16);
      EXPECT_FLOAT_EQ(m.pos[3 * k], (k + 0.5f) / 16);
      EXPECT_FLOAT_EQ(m.pos[3 * k + 1], 0.3f);
      EXPECT_FLOAT_EQ(m.dirs[3 * k], 1.0f);
      EXPECT_EQ(m.dt[k], 0.0625f);
    }
    for (int k = 0; k < 8; k++) {  // from z = 0.5 down: z = 0.5 - (k + 1/2) / 16
      EXPECT_FLOAT_EQ(m.t[16 + k], (k + 0.5f) / 16);
      EXPECT_FLOAT_EQ(m.pos[3 * (16 + k) + 2], 0.5f - (k + 0.5f) / 16);
    }
    for (int i = 24; i < 40; i++) {  // rows past the total
      EXPECT_EQ(m.t[i], 0.0f) << "row " << i;
      EXPECT_EQ(m.dt[i], 0.0f) << "row " << i;
      for (int k = 0; k < 3; k++) EXPECT_EQ(m.pos[3 * i + k], 0.0f) << "row " << i;
    }
  }
}

// The rows run out at 20: ray 0 keeps its 16, ray 1 the 4 that fit, ray 2
// (none anyway) starts at 20. With max_samples 10 ray 0 keeps 10.
TEST(VolumeHand, MarchTruncates) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor bits = raw<uint8_t>(be, AG_U8, {8}, std::vector<uint8_t>(8, 0xff));
    const March full = march(be, bits.get(), march_args(64, 20));
    EXPECT_EQ(full.rays, (std::vector<int32_t>{0, 16, 16, 4, 20, 0}));
    EXPECT_EQ(full.total, (std::vector<int32_t>{20}));
    EXPECT_FLOAT_EQ(full.t[19], 3.5f / 16);
    const March capped = march(be, bits.get(), march_args(10, 40));
    EXPECT_EQ(capped.rays, (std::vector<int32_t>{0, 10, 10, 8, 18, 0}));
  }
}

// occ_update puts density 5 in cell (x 2, y 1, z 2) = 2 + 4 (1 + 4 * 2) = 38
// of a zero grid; the bitfield with threshold 0.01 (below the mean 5/64)
// sets only bit 6 of byte 4. Ray 0 (y = 0.3 in cell row 1, z = 0.6 in cell
// layer 2) has samples only where x is in [1/2, 3/4): k = 8..11, t = 1 +
// (k + 1/2) / 16; ray 1 (x = y = 1/2: cells x 2, y 2) meets none.
TEST(VolumeHand, MarchOneOccupiedCell) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor grid = f32(be, {4, 4, 4}, std::vector<float>(64, 0.0f));
    Tensor idx = raw<int32_t>(be, AG_I32, {1}, {38}), density = f32(be, {1}, {5.0f});
    ASSERT_EQ(ag_eager_occ_update(grid.get(), idx.get(), density.get(), grid.get(), 0.9f), AG_OK)
        << ag_last_error();
    Tensor bits = empty(be, AG_U8, {8});
    ASSERT_EQ(ag_eager_occ_bitfield(grid.get(), bits.get(), 0.01f), AG_OK) << ag_last_error();
    EXPECT_EQ(read_bytes(bits.get()), (std::vector<uint8_t>{0, 0, 0, 0, 0x40, 0, 0, 0}));
    const March m = march(be, bits.get(), march_args(64, 40));
    EXPECT_EQ(m.rays, (std::vector<int32_t>{0, 4, 4, 0, 4, 0}));
    for (int k = 0; k < 4; k++) {
      EXPECT_FLOAT_EQ(m.t[k], 1.0f + (k + 8.5f) / 16);
      EXPECT_FLOAT_EQ(m.pos[3 * k], (k + 8.5f) / 16);
    }
  }
}

// Shape inference names the op and the problem: a bitfield of the wrong
// size for grid_res, ray ranges that are not [N, 2], a capacity of 0.
TEST(VolumeHand, BadCallsAreRejected) {
  ag_backend *be = ag_backend_cpu();
  MarchRays r = march_rays(be);
  Tensor bits = raw<uint8_t>(be, AG_U8, {7}, std::vector<uint8_t>(7, 0xff));
  ag_op_call c = {};
  c.in[0] = r.origins.get(), c.in[1] = r.dirs.get(), c.in[2] = bits.get();
  ag_ray_march_args a = march_args(8, 16);
  ag_ray_march_args_encode(&c, &a);
  ag_shape out[AG_OP_MAX_ARGS];
  EXPECT_EQ(ag_op_infer(AG_OP_RAY_MARCH, &c, out), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("ray_march: bitfield u8[7] must be u8 [8]"),
            std::string::npos)
      << ag_last_error();
  Tensor bits8 = raw<uint8_t>(be, AG_U8, {8}, std::vector<uint8_t>(8, 0xff));
  c.in[2] = bits8.get();
  a.capacity = 0;
  ag_ray_march_args_encode(&c, &a);
  EXPECT_EQ(ag_op_infer(AG_OP_RAY_MARCH, &c, out), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("capacity 0"), std::string::npos) << ag_last_error();

  CompositeInputs in = composite_inputs(be);
  Tensor flat = raw<int32_t>(be, AG_I32, {6}, {0, 4, 4, 3, 7, 0});
  ag_op_call k = {};
  const ag_tensor *ins[] = {in.sigma.get(), in.rgb.get(), in.dt.get(),
                            in.t.get(),     flat.get(),   in.bg.get()};
  std::copy(std::begin(ins), std::end(ins), k.in);
  EXPECT_EQ(ag_op_infer(AG_OP_COMPOSITE, &k, out), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("composite: rays i32[6] must be i32 [N, 2]"),
            std::string::npos)
      << ag_last_error();
}

}  // namespace
