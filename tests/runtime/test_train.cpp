// Training-loop helpers on cpu and emu: AdamW and SGD steps through the
// optimizer match double-precision references of torch.optim's formulas,
// gradient accumulation equals one step on the mean gradient, clipping scales
// to the global norm, weight decay can be switched off per parameter, the LR
// schedule hits its landmarks, the EMA follows its closed form, and bad input
// is rejected with a message naming the parameter.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/train/ag_train.h"
#include "runtime/backends/ag_backend_emu.h"

using namespace ag_test;

namespace {

struct OptimDeleter {
  void operator()(ag_optimizer *o) const { ag_optimizer_free(o); }
};
using Optim = std::unique_ptr<ag_optimizer, OptimDeleter>;

std::vector<ag_backend *> backends() {
  std::vector<ag_backend *> out = {ag_backend_cpu()};
  ag_backend *emu = ag_backend_emu();
  EXPECT_NE(emu, nullptr) << ag_last_error();
  if (emu) out.push_back(emu);
  return out;
}

// Two parameters of different shapes, so every loop covers more than one.
const std::vector<std::vector<int64_t>> kShapes = {{3, 5}, {7}};

size_t numel(const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= (size_t)d;
  return n;
}

// Parameters and gradients on one backend plus host copies for references.
struct Model {
  std::vector<Tensor> params, grads;
  std::vector<ag_tensor *> p, g;
  std::vector<std::vector<double>> ref;  // reference parameter values

  Model(ag_backend *be, uint32_t seed) {
    for (size_t i = 0; i < kShapes.size(); i++) {
      auto v = random_values(numel(kShapes[i]), seed + (uint32_t)i);
      params.emplace_back(make_tensor(be, AG_F32, kShapes[i], v));
      grads.emplace_back(make_tensor(be, AG_F32, kShapes[i], std::vector<float>(v.size(), 0.0f)));
      p.push_back(params.back().get());
      g.push_back(grads.back().get());
      ref.emplace_back(v.begin(), v.end());
    }
  }
  // Writes fresh gradients and returns them.
  std::vector<std::vector<float>> set_grads(uint32_t seed, float scale = 1.0f) {
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < g.size(); i++) {
      auto v = random_values(numel(kShapes[i]), seed * 31 + (uint32_t)i, -scale, scale);
      write(g[i], v);
      out.push_back(v);
    }
    return out;
  }
  static void write(ag_tensor *t, const std::vector<float> &v) {
    ASSERT_EQ(ag_tensor_write(t, v.data(), v.size() * sizeof(float)), AG_OK) << ag_last_error();
  }
  Optim optimizer(const ag_optim_opts &o) {
    ag_optimizer *opt = nullptr;
    EXPECT_EQ(ag_optimizer_new(&o, (int)p.size(), p.data(), g.data(), &opt), AG_OK)
        << ag_last_error();
    return Optim(opt);
  }
};

// |got - want| <= 1e-6 * max(1, |want|): float steps against a double reference.
void expect_close(const std::vector<double> &want, const ag_tensor *t) {
  auto got = read_floats(t);
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < want.size(); k++)
    EXPECT_NEAR(got[k], want[k], 1e-6 * std::max(1.0, std::fabs(want[k]))) << "element " << k;
}

void expect_params(const Model &m) {
  for (size_t i = 0; i < m.p.size(); i++) {
    SCOPED_TRACE("param " + std::to_string(i));
    expect_close(m.ref[i], m.p[i]);
  }
}

// torch.optim.AdamW, one element, in double.
struct AdamRef {
  std::vector<std::vector<double>> m, v;
  void step(Model &mod, const std::vector<std::vector<float>> &g, const ag_optim_opts &o, double lr,
            int t, const std::vector<int> &decay) {
    if (m.empty())
      for (auto &r : mod.ref) m.emplace_back(r.size(), 0.0), v.emplace_back(r.size(), 0.0);
    double bc1 = 1.0 - std::pow((double)o.beta1, t), bc2 = 1.0 - std::pow((double)o.beta2, t);
    for (size_t i = 0; i < g.size(); i++)
      for (size_t k = 0; k < g[i].size(); k++) {
        double gk = g[i][k], &p = mod.ref[i][k];
        p *= 1.0 - lr * (decay[i] ? o.weight_decay : 0.0);
        m[i][k] = o.beta1 * m[i][k] + (1.0 - o.beta1) * gk;
        v[i][k] = o.beta2 * v[i][k] + (1.0 - o.beta2) * gk * gk;
        p -= lr * (m[i][k] / bc1) / (std::sqrt(v[i][k] / bc2) + o.eps);
      }
  }
};

// torch.optim.SGD, one element, in double.
struct SgdRef {
  std::vector<std::vector<double>> buf;
  void step(Model &mod, const std::vector<std::vector<float>> &g, const ag_optim_opts &o, double lr,
            const std::vector<int> &decay) {
    bool first = buf.empty();
    if (first)
      for (auto &r : mod.ref) buf.emplace_back(r.size(), 0.0);
    for (size_t i = 0; i < g.size(); i++)
      for (size_t k = 0; k < g[i].size(); k++) {
        double &p = mod.ref[i][k], &b = buf[i][k];
        double d = g[i][k] + (decay[i] ? o.weight_decay : 0.0) * p;
        b = first || o.momentum == 0.0f ? d : o.momentum * b + (1.0 - o.dampening) * d;
        p -= lr * (o.nesterov ? d + o.momentum * b : b);
      }
  }
};

std::vector<std::vector<float>> scaled(std::vector<std::vector<float>> g, double s) {
  for (auto &v : g)
    for (auto &x : v) x = (float)(x * s);
  return g;
}

double global_norm(const std::vector<std::vector<float>> &g) {
  double sq = 0.0;
  for (auto &v : g)
    for (float x : v) sq += (double)x * x;
  return std::sqrt(sq);
}

TEST(Optimizer, AdamwMatchesTorchReference) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Model mod(be, 1);
    ag_optim_opts o = ag_optim_defaults(AG_OPTIM_ADAMW);
    o.weight_decay = 0.1f;
    Optim opt = mod.optimizer(o);
    ASSERT_TRUE(opt);
    AdamRef ref;
    for (int t = 1; t <= 6; t++) {
      float lr = 1e-2f * (float)t;  // a schedule: each step's own lr
      auto g = mod.set_grads((uint32_t)t);
      int stepped = -1;
      ASSERT_EQ(ag_optimizer_step(opt.get(), lr, &stepped), AG_OK) << ag_last_error();
      EXPECT_EQ(stepped, 1);
      ref.step(mod, g, o, lr, t, {1, 1});
    }
    EXPECT_EQ(ag_optimizer_steps(opt.get()), 6);
    expect_params(mod);
  }
}

TEST(Optimizer, SgdMomentumAndNesterovMatchTorchReference) {
  struct Case {
    float momentum, dampening, weight_decay;
    int nesterov;
  };
  for (Case c : {Case{0.0f, 0.0f, 0.0f, 0}, Case{0.9f, 0.1f, 0.01f, 0}, Case{0.9f, 0.0f, 0.05f, 1}})
    for (ag_backend *be : backends()) {
      SCOPED_TRACE(std::string(be->name) + " momentum " + std::to_string(c.momentum) +
                   " nesterov " + std::to_string(c.nesterov));
      Model mod(be, 2);
      ag_optim_opts o = ag_optim_defaults(AG_OPTIM_SGD);
      o.momentum = c.momentum, o.dampening = c.dampening, o.weight_decay = c.weight_decay;
      o.nesterov = c.nesterov;
      Optim opt = mod.optimizer(o);
      ASSERT_TRUE(opt);
      SgdRef ref;
      for (int t = 1; t <= 5; t++) {
        auto g = mod.set_grads((uint32_t)t + 10);
        ASSERT_EQ(ag_optimizer_step(opt.get(), 0.05f, nullptr), AG_OK) << ag_last_error();
        ref.step(mod, g, o, 0.05f, {1, 1});
      }
      expect_params(mod);
    }
}

// SGD as well as AdamW: AdamW's update barely depends on the gradient's scale,
// so only SGD would notice a wrong mean.
TEST(Optimizer, AccumulationEqualsOneStepOnTheMean) {
  for (ag_optim_kind kind : {AG_OPTIM_ADAMW, AG_OPTIM_SGD})
    for (ag_backend *be : backends()) {
      SCOPED_TRACE(std::string(be->name) + (kind == AG_OPTIM_ADAMW ? " adamw" : " sgd"));
      Model acc(be, 3), one(be, 3);
      ag_optim_opts o = ag_optim_defaults(kind);
      o.momentum = kind == AG_OPTIM_SGD ? 0.9f : 0.0f;
      Optim opt_one = one.optimizer(o);
      o.accum_steps = 3;
      Optim opt_acc = acc.optimizer(o);
      ASSERT_TRUE(opt_acc && opt_one);
      // Two rounds: the second proves the sums restart after an update.
      for (int round = 0; round < 2; round++) {
        std::vector<std::vector<float>> mean;
        for (int k = 0; k < 3; k++) {
          auto g = acc.set_grads((uint32_t)(20 + 3 * round + k));
          if (k == 0)
            mean = g;
          else
            for (size_t i = 0; i < g.size(); i++)
              for (size_t e = 0; e < g[i].size(); e++) mean[i][e] += g[i][e];
          int stepped = -1;
          ASSERT_EQ(ag_optimizer_step(opt_acc.get(), 1e-2f, &stepped), AG_OK) << ag_last_error();
          EXPECT_EQ(stepped, k == 2 ? 1 : 0) << "micro-batch " << k;
          EXPECT_EQ(ag_optimizer_steps(opt_acc.get()), round + (k == 2 ? 1 : 0));
        }
        mean = scaled(mean, 1.0 / 3.0);
        for (size_t i = 0; i < mean.size(); i++) Model::write(one.g[i], mean[i]);
        ASSERT_EQ(ag_optimizer_step(opt_one.get(), 1e-2f, nullptr), AG_OK) << ag_last_error();
        for (size_t i = 0; i < acc.p.size(); i++) {
          SCOPED_TRACE("round " + std::to_string(round) + " param " + std::to_string(i));
          auto want = read_floats(one.p[i]);
          expect_close(std::vector<double>(want.begin(), want.end()), acc.p[i]);
        }
      }
    }
}

// Gradients whose global norm is exactly 13: [3, 4, 0, ...] and [12, 0, ...].
std::vector<std::vector<float>> norm13_grads() {
  std::vector<std::vector<float>> g;
  for (auto &s : kShapes) g.emplace_back(numel(s), 0.0f);
  g[0][0] = 3.0f, g[0][1] = 4.0f, g[1][2] = 12.0f;
  return g;
}

TEST(Optimizer, ClippingScalesToTheGlobalNorm) {
  for (float clip : {1.3f, 20.0f})
    for (int accum : {1, 2})
      for (ag_backend *be : backends()) {
        SCOPED_TRACE(std::string(be->name) + " clip " + std::to_string(clip) + " accum " +
                     std::to_string(accum));
        Model mod(be, 4);
        ag_optim_opts o = ag_optim_defaults(AG_OPTIM_SGD);
        o.clip_norm = clip;
        o.accum_steps = accum;
        Optim opt = mod.optimizer(o);
        ASSERT_TRUE(opt);
        EXPECT_EQ(ag_optimizer_last_grad_norm(opt.get()), 0.0f);
        auto g = norm13_grads();
        ASSERT_NEAR(global_norm(g), 13.0, 0.0);
        for (int k = 0; k < accum; k++) {
          for (size_t i = 0; i < g.size(); i++) Model::write(mod.g[i], g[i]);
          ASSERT_EQ(ag_optimizer_step(opt.get(), 0.1f, nullptr), AG_OK) << ag_last_error();
        }
        EXPECT_NEAR(ag_optimizer_last_grad_norm(opt.get()), 13.0, 13.0 * 1e-6);
        double coef = std::min(1.0, clip / (13.0 + 1e-6));
        SgdRef ref;
        ref.step(mod, scaled(g, coef), o, 0.1, {1, 1});
        expect_params(mod);
        if (accum == 1) {  // clipped in place, as clip_grad_norm_ does
          std::vector<std::vector<float>> now;
          for (ag_tensor *t : mod.g) now.push_back(read_floats(t));
          EXPECT_NEAR(global_norm(now), std::min(13.0, (double)clip), 1e-5);
        }
      }
}

TEST(Optimizer, WeightDecayCanBeSwitchedOffPerParameter) {
  for (ag_optim_kind kind : {AG_OPTIM_ADAMW, AG_OPTIM_SGD})
    for (ag_backend *be : backends()) {
      SCOPED_TRACE(std::string(be->name) + (kind == AG_OPTIM_ADAMW ? " adamw" : " sgd"));
      Model mod(be, 5);
      ag_optim_opts o = ag_optim_defaults(kind);
      o.weight_decay = 0.5f;
      Optim opt = mod.optimizer(o);
      ASSERT_TRUE(opt);
      ASSERT_EQ(ag_optimizer_set_decay(opt.get(), 1, 0), AG_OK);
      AdamRef adam;
      SgdRef sgd;
      for (int t = 1; t <= 3; t++) {
        auto g = mod.set_grads((uint32_t)t + 40);
        ASSERT_EQ(ag_optimizer_step(opt.get(), 0.1f, nullptr), AG_OK) << ag_last_error();
        if (kind == AG_OPTIM_ADAMW)
          adam.step(mod, g, o, 0.1, t, {1, 0});
        else
          sgd.step(mod, g, o, 0.1, {1, 0});
      }
      expect_params(mod);
      EXPECT_EQ(ag_optimizer_set_decay(opt.get(), 2, 0), AG_ERR_INVALID);
      EXPECT_NE(std::string(ag_last_error()).find("param index 2 out of range [0, 2)"),
                std::string::npos)
          << ag_last_error();
    }
}

TEST(LrSchedule, WarmupThenCosine) {
  const float peak = 1e-3f, floor = 1e-5f;
  auto lr = [&](int64_t s) { return ag_lr_warmup_cosine(s, 10, 110, peak, floor); };
  EXPECT_EQ(lr(0), 0.0f);
  EXPECT_FLOAT_EQ(lr(5), peak / 2);
  EXPECT_FLOAT_EQ(lr(10), peak);
  EXPECT_FLOAT_EQ(lr(60), (peak + floor) / 2);
  EXPECT_FLOAT_EQ(lr(110), floor);
  EXPECT_FLOAT_EQ(lr(500), floor);
  for (int64_t s = 1; s <= 110; s++) {
    if (s <= 10)
      EXPECT_GT(lr(s), lr(s - 1)) << "step " << s;
    else
      EXPECT_LT(lr(s), lr(s - 1)) << "step " << s;
  }
  EXPECT_FLOAT_EQ(ag_lr_warmup_cosine(0, 0, 100, peak, floor), peak);  // no warm-up
}

TEST(Ema, FollowsTheClosedForm) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    Model mod(be, 6);
    std::vector<std::vector<double>> start = mod.ref;
    const float decay = 0.9f;
    ag_ema *raw = nullptr;
    ASSERT_EQ(ag_ema_new((int)mod.p.size(), mod.p.data(), decay, &raw), AG_OK) << ag_last_error();
    std::unique_ptr<ag_ema, void (*)(ag_ema *)> ema(raw, ag_ema_free);
    for (size_t i = 0; i < mod.p.size(); i++) expect_close(start[i], ag_ema_tensor(raw, (int)i));
    EXPECT_EQ(ag_ema_tensor(raw, 2), nullptr);
    // The params move to q and stay: ema_k = d^k p0 + (1 - d^k) q.
    std::vector<std::vector<float>> q;
    for (size_t i = 0; i < mod.p.size(); i++) {
      q.push_back(random_values(numel(kShapes[i]), 60 + (uint32_t)i));
      Model::write(mod.p[i], q[i]);
    }
    const int k = 7;
    for (int s = 0; s < k; s++) ASSERT_EQ(ag_ema_update(raw), AG_OK) << ag_last_error();
    double dk = std::pow((double)decay, k);
    for (size_t i = 0; i < mod.p.size(); i++) {
      std::vector<double> want(q[i].size());
      for (size_t e = 0; e < want.size(); e++) want[e] = dk * start[i][e] + (1.0 - dk) * q[i][e];
      SCOPED_TRACE("param " + std::to_string(i));
      expect_close(want, ag_ema_tensor(raw, (int)i));
    }
    ASSERT_EQ(ag_ema_copy_to_params(raw), AG_OK) << ag_last_error();
    for (size_t i = 0; i < mod.p.size(); i++)
      EXPECT_EQ(read_floats(mod.p[i]), read_floats(ag_ema_tensor(raw, (int)i)));
  }
}

void expect_error(ag_status st, const std::vector<std::string> &parts) {
  EXPECT_EQ(st, AG_ERR_INVALID);
  std::string msg = ag_last_error();
  for (auto &part : parts) EXPECT_NE(msg.find(part), std::string::npos) << msg;
}

TEST(TrainErrors, BadInputsNameTheProblem) {
  ag_backend *cpu = ag_backend_cpu(), *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  Model mod(cpu, 7);
  ag_optim_opts o = ag_optim_defaults(AG_OPTIM_ADAMW);
  ag_optimizer *opt = nullptr;

  expect_error(ag_optimizer_new(&o, 0, mod.p.data(), mod.g.data(), &opt), {"0 params"});
  ag_optim_opts bad = o;
  bad.accum_steps = 0;
  expect_error(ag_optimizer_new(&bad, 2, mod.p.data(), mod.g.data(), &opt),
               {"accum_steps 0", ">= 1"});
  bad = o;
  bad.beta2 = 1.0f;
  expect_error(ag_optimizer_new(&bad, 2, mod.p.data(), mod.g.data(), &opt), {"betas (0.9, 1)"});
  bad = ag_optim_defaults(AG_OPTIM_SGD);
  bad.momentum = 0.9f, bad.dampening = 0.1f, bad.nesterov = 1;
  expect_error(ag_optimizer_new(&bad, 2, mod.p.data(), mod.g.data(), &opt), {"nesterov"});

  int64_t wrong_shape[1] = {8};
  Tensor wrong(ag_tensor_new(cpu, AG_F32, 1, wrong_shape));
  std::vector<ag_tensor *> g = {mod.g[0], wrong.get()};
  expect_error(ag_optimizer_new(&o, 2, mod.p.data(), g.data(), &opt),
               {"param 1", "f32[7]", "f32[8]"});

  Tensor on_emu(ag_tensor_new(emu, AG_F32, 1, kShapes[1].data()));
  std::vector<ag_tensor *> p = {mod.p[0], on_emu.get()};
  expect_error(ag_optimizer_new(&o, 2, p.data(), mod.g.data(), &opt),
               {"param 1", "f32[7]", "emu", "cpu"});

  Tensor ints(ag_tensor_new(cpu, AG_I32, 1, kShapes[1].data()));
  std::vector<ag_tensor *> pi = {mod.p[0], ints.get()}, gi = {mod.g[0], ints.get()};
  expect_error(ag_optimizer_new(&o, 2, pi.data(), gi.data(), &opt), {"param 1", "i32[7]"});
  EXPECT_EQ(opt, nullptr);

  Optim good = mod.optimizer(o);
  ASSERT_TRUE(good);
  expect_error(ag_optimizer_step(good.get(), -1.0f, nullptr), {"lr -1"});

  ag_ema *ema = nullptr;
  expect_error(ag_ema_new(2, mod.p.data(), 1.5f, &ema), {"decay 1.5"});
  expect_error(ag_ema_new(0, mod.p.data(), 0.9f, &ema), {"0 params"});
  expect_error(ag_ema_new(2, p.data(), 0.9f, &ema), {"param 1", "emu"});
  EXPECT_EQ(ema, nullptr);
}

// A model's parameter set paired with a graph's gradients: vectors are
// excluded from weight decay, and a parameter the loss misses is named.
TEST(Optimizer, ForParamsPairsGradientsAndSkipsDecayOnVectors) {
  ag_backend *be = ag_backend_cpu();
  ag_params *p = ag_params_new(be, 5);
  ag_graph *g = ag_graph_new(be);
  const int64_t xs[2] = {2, 3}, ws[2] = {4, 3}, n = 4;
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 2, xs);
  ag_tensor *w = ag_param(g, p, "w", AG_F32, 2, ws, {AG_INIT_ONES, 0});
  ag_tensor *b = ag_param(g, p, "b", AG_F32, 1, &n, {AG_INIT_ONES, 0});
  ag_tensor *loss = ag_mean_all(g, ag_linear(g, x, w, b, AG_MATMUL_EPI_NONE));
  ASSERT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  std::vector<float> xv(6, 1.0f);
  ASSERT_EQ(ag_tensor_write(x, xv.data(), 24), AG_OK);
  ASSERT_EQ(ag_sched_run(s), AG_OK);
  ag_optim_opts o = ag_optim_defaults(AG_OPTIM_SGD);
  o.lr = 0.5f;
  o.weight_decay = 0.1f;
  ag_optimizer *opt = nullptr;
  ASSERT_EQ(ag_optimizer_for_params(&o, p, g, &opt), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_optimizer_step(opt, 0.5f, nullptr), AG_OK);
  // d loss / d w = mean over 8 outputs of x = 1/8 * 2 rows = 0.25; d b = 0.25.
  // SGD with L2: w -= lr * (g + wd * w) = 1 - 0.5 * (0.25 + 0.1) = 0.825;
  // the bias takes no decay: 1 - 0.5 * 0.25 = 0.875.
  float wv[12], bv[4];
  ASSERT_EQ(ag_tensor_read(ag_params_find(p, "w"), wv, sizeof wv), AG_OK);
  ASSERT_EQ(ag_tensor_read(ag_params_find(p, "b"), bv, sizeof bv), AG_OK);
  EXPECT_FLOAT_EQ(wv[0], 0.825f);
  EXPECT_FLOAT_EQ(bv[0], 0.875f);
  ag_optimizer_free(opt);
  // A parameter outside the loss's graph has no gradient there.
  const int64_t one = 1;
  ASSERT_NE(ag_params_get(p, "unused", AG_F32, 1, &one, {AG_INIT_ZEROS, 0}), nullptr);
  EXPECT_NE(ag_optimizer_for_params(&o, p, g, &opt), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("'unused' has no gradient"), std::string::npos)
      << ag_last_error();
  EXPECT_EQ(opt, nullptr);
  ag_sched_free(s);
  ag_graph_free(g);
  ag_params_free(p);
}

}  // namespace
