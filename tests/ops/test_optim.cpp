// Optim ops beyond the op harness, on every backend built: in-place steps
// (outputs aliasing inputs, as training uses them) match out-of-place ones
// bit for bit, a multi-step AdamW trajectory follows the f64 one
// (tests/ops/ref_optim.h), the documented global-norm clipping recipe leaves
// the norm at max_norm, and bad parameters are rejected with errors naming
// the op.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>

#include "ag_test_util.h"
#include "ref_optim.h"
#include "runtime/ops/ag_ops.h"
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

using namespace ag_test;

namespace {

// 4099 elements: the 4-wide vector loop and its scalar remainder.
constexpr int64_t kN = 4099;

std::vector<ag_backend *> backends() {
  std::vector<ag_backend *> out = {ag_backend_cpu()};
#ifdef AG_TEST_EMU
  if (ag_backend *emu = ag_backend_emu()) out.push_back(emu);
#endif
  ag_backend *cuda = nullptr;
  if (ag_backend_select("cuda", &cuda, nullptr, 0) == AG_OK) out.push_back(cuda);
  return out;
}

Tensor make(ag_backend *be, ag_dtype dt, uint32_t seed, float lo = -2.0f, float hi = 2.0f) {
  return Tensor(make_tensor(be, dt, {kN}, random_values((size_t)kN, seed, lo, hi)));
}

Tensor empty_like(const ag_tensor *t) {
  return Tensor(ag_tensor_new(ag_tensor_backend(t), t->dtype, t->ndim, t->shape));
}

ag_op_call call(std::initializer_list<const ag_tensor *> in,
                std::initializer_list<ag_tensor *> out) {
  ag_op_call c{};
  std::copy(in.begin(), in.end(), c.in);
  std::copy(out.begin(), out.end(), c.out);
  return c;
}

const ag_adamw_args kAdamw = {1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 2};

void set_adamw(ag_op_call *c, const ag_adamw_args &hp) { ag_adamw_args_encode(c, &hp); }

TEST(OptimInPlace, AdamwMatchesOutOfPlace) {
  for (ag_backend *be : backends())
    for (ag_dtype dt : {AG_F32, AG_BF16}) {
      SCOPED_TRACE(std::string(be->name) + " " + ag_dtype_name(dt));
      Tensor p = make(be, dt, 1), g = make(be, dt, 2), m = make(be, dt, 3, -0.5f, 0.5f),
             v = make(be, dt, 4, 0.0f, 1.0f);
      Tensor po = empty_like(p.get()), mo = empty_like(m.get()), vo = empty_like(v.get());
      ag_op_call c = call({p.get(), g.get(), m.get(), v.get()}, {po.get(), mo.get(), vo.get()});
      set_adamw(&c, kAdamw);
      ASSERT_EQ(ag_op_eager(AG_OP_ADAMW, &c), AG_OK) << ag_last_error();
      ASSERT_EQ(ag_eager_adamw(p.get(), m.get(), v.get(), g.get(), &kAdamw), AG_OK)
          << ag_last_error();
      EXPECT_EQ(read_floats(p.get()), read_floats(po.get()));
      EXPECT_EQ(read_floats(m.get()), read_floats(mo.get()));
      EXPECT_EQ(read_floats(v.get()), read_floats(vo.get()));
    }
}

TEST(OptimInPlace, AdamwMasterMatchesOutOfPlace) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor g = make(be, AG_BF16, 2), master = make(be, AG_F32, 1),
           m = make(be, AG_F32, 3, -0.5f, 0.5f), v = make(be, AG_F32, 4, 0.0f, 1.0f);
    Tensor p = empty_like(g.get()), po = empty_like(g.get()), wo = empty_like(master.get()),
           mo = empty_like(m.get()), vo = empty_like(v.get());
    ag_op_call c =
        call({g.get(), master.get(), m.get(), v.get()}, {po.get(), wo.get(), mo.get(), vo.get()});
    set_adamw(&c, kAdamw);
    ASSERT_EQ(ag_op_eager(AG_OP_ADAMW_MASTER, &c), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_eager_adamw_master(p.get(), master.get(), m.get(), v.get(), g.get(), &kAdamw),
              AG_OK)
        << ag_last_error();
    EXPECT_EQ(read_floats(p.get()), read_floats(po.get()));
    EXPECT_EQ(read_floats(master.get()), read_floats(wo.get()));
    EXPECT_EQ(read_floats(m.get()), read_floats(mo.get()));
    EXPECT_EQ(read_floats(v.get()), read_floats(vo.get()));
  }
}

TEST(OptimInPlace, SgdMatchesOutOfPlace) {
  const ag_sgd_args hp = {0.05f, 0.9f, 1e-2f, 0.0f, 1, 0};
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor p = make(be, AG_F32, 1), g = make(be, AG_F32, 2), b = make(be, AG_F32, 3);
    Tensor po = empty_like(p.get()), bo = empty_like(b.get());
    ag_op_call c = call({p.get(), g.get(), b.get()}, {po.get(), bo.get()});
    ag_sgd_args_encode(&c, &hp);
    ASSERT_EQ(ag_op_eager(AG_OP_SGD, &c), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_eager_sgd(p.get(), b.get(), g.get(), &hp), AG_OK) << ag_last_error();
    EXPECT_EQ(read_floats(p.get()), read_floats(po.get()));
    EXPECT_EQ(read_floats(b.get()), read_floats(bo.get()));
  }
}

// The trajectory AdamwFollowsTheF64Reference takes, in f64 from the same
// values: param, m and v after five steps, rounded once to f32.
std::vector<std::vector<float>> adamw_trajectory_f64() {
  const std::vector<float> p0 = random_values((size_t)kN, 1);
  std::vector<AdamwState> s;
  for (float p : p0) s.push_back({p, 0.0, 0.0});
  for (int64_t t = 1; t <= 5; t++) {
    const std::vector<float> g = random_values((size_t)kN, 10 + (uint32_t)t);
    ag_adamw_args hp = kAdamw;
    hp.step = t;
    for (size_t k = 0; k < s.size(); k++) s[k] = adamw_step(hp, s[k], g[k]);
  }
  std::vector<std::vector<float>> out(3);
  for (const AdamwState &e : s) {
    out[0].push_back((float)e.p);
    out[1].push_back((float)e.m);
    out[2].push_back((float)e.v);
  }
  return out;
}

// Five in-place steps with fresh gradients: every backend stays within f32
// rounding of the f64 trajectory along the whole way.
TEST(OptimTrajectory, AdamwFollowsTheF64Reference) {
  const std::vector<std::vector<float>> want = adamw_trajectory_f64();
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Tensor p = make(be, AG_F32, 1), m(make_tensor(be, AG_F32, {kN}, std::vector<float>(kN, 0))),
           v(make_tensor(be, AG_F32, {kN}, std::vector<float>(kN, 0)));
    for (int64_t t = 1; t <= 5; t++) {
      Tensor g = make(be, AG_F32, 10 + (uint32_t)t);
      ag_adamw_args hp = kAdamw;
      hp.step = t;
      ASSERT_EQ(ag_eager_adamw(p.get(), m.get(), v.get(), g.get(), &hp), AG_OK) << ag_last_error();
    }
    std::vector<std::vector<float>> got = {read_floats(p.get()), read_floats(m.get()),
                                           read_floats(v.get())};
    for (size_t k = 0; k < got.size(); k++) EXPECT_LE(nmse(want[k], got[k]), 1e-10) << k;
  }
}

// The recipe in runtime/ops/optim.h: accumulate every gradient's sum of
// squares, then scale each by the common factor.
TEST(OptimClipping, GlobalNormEndsAtMaxNorm) {
  const float max_norm = 3.0f;
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    std::vector<Tensor> grads;
    for (uint32_t k = 0; k < 3; k++) grads.push_back(make(be, k == 1 ? AG_F32 : AG_BF16, 20 + k));
    Tensor sq(make_tensor(be, AG_F32, {1}, {0.0f}));
    for (auto &g : grads)
      ASSERT_EQ(ag_eager_sq_norm_acc(sq.get(), g.get()), AG_OK) << ag_last_error();
    double before = 0;
    for (auto &g : grads)
      for (float x : read_floats(g.get())) before += (double)x * x;
    EXPECT_NEAR(read_floats(sq.get())[0], before, 1e-5 * before);
    for (auto &g : grads)
      ASSERT_EQ(ag_eager_clip_scale(g.get(), g.get(), sq.get(), max_norm), AG_OK)
          << ag_last_error();
    double after = 0;
    for (auto &g : grads)
      for (float x : read_floats(g.get())) after += (double)x * x;
    EXPECT_NEAR(std::sqrt(after), max_norm, 1e-2 * max_norm);  // bf16 rounding of the grads
  }
}

TEST(OptimErrors, BadParametersAreRejected) {
  ag_backend *be = ag_backend_cpu();
  Tensor p = make(be, AG_F32, 1), g = make(be, AG_F32, 2), m = make(be, AG_F32, 3),
         v = make(be, AG_F32, 4, 0.0f, 1.0f), h = make(be, AG_BF16, 5);
  ag_adamw_args hp = kAdamw;
  hp.step = 0;
  EXPECT_EQ(ag_eager_adamw(p.get(), m.get(), v.get(), g.get(), &hp), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("adamw: step 0"), std::string::npos)
      << ag_last_error();
  EXPECT_EQ(ag_eager_adamw(p.get(), m.get(), v.get(), h.get(), &kAdamw), AG_ERR_INVALID);
  EXPECT_EQ(ag_eager_adamw_master(p.get(), h.get(), m.get(), v.get(), g.get(), &kAdamw),
            AG_ERR_INVALID);
  const ag_sgd_args bad_nesterov = {0.1f, 0.0f, 0.0f, 0.0f, 1, 0};
  EXPECT_EQ(ag_eager_sgd(p.get(), m.get(), g.get(), &bad_nesterov), AG_ERR_INVALID);
  EXPECT_EQ(ag_eager_sq_norm_acc(p.get(), g.get()), AG_ERR_INVALID);
  Tensor sq(make_tensor(be, AG_F32, {1}, {1.0f}));
  EXPECT_EQ(ag_eager_clip_scale(g.get(), g.get(), sq.get(), 0.0f), AG_ERR_INVALID);
}

}  // namespace
