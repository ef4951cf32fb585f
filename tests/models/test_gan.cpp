// The GAN through the whole stack on the CPU: shapes and parameter counts,
// each loss against a hand computation, the finite-difference R1 penalty
// against critics whose input gradient is known, a short training run whose
// discriminator learns and whose samples move towards the data's
// statistics, checkpoints, resuming, and samples that do not depend on the
// batch they are made in.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

extern "C" {
#include "models/gan/ag_gan.h"
#include "runtime/sched/ag_sched.h"
}

namespace {

ag_backend *cpu() { return ag_backend_cpu(); }

std::string tmp(const char *name) {
  return std::string("/tmp/aigc_test_gan_") + std::to_string(getpid()) + "_" + name;
}

// A constant tensor of `values` in graph g (the tensor is kept in `owned`).
struct Consts {
  std::vector<ag_tensor *> owned;
  ~Consts() {
    for (auto *t : owned) ag_tensor_free(t);
  }
  ag_tensor *make(const std::vector<int64_t> &shape, const std::vector<float> &values) {
    ag_tensor *t = ag_tensor_new(cpu(), AG_F32, (int)shape.size(), shape.data());
    EXPECT_EQ(ag_tensor_write(t, values.data(), values.size() * sizeof(float)), AG_OK);
    owned.push_back(t);
    return t;
  }
};

float read1(const ag_tensor *t) {
  float v = NAN;
  EXPECT_EQ(ag_tensor_read(t, &v, sizeof v), AG_OK);
  return v;
}

std::vector<float> read_all(const ag_tensor *t) {
  std::vector<float> v((size_t)ag_tensor_numel(t));
  EXPECT_EQ(ag_tensor_read(t, v.data(), v.size() * sizeof(float)), AG_OK);
  return v;
}

// ---- shapes and parameters -----------------------------------------------------

TEST(GanModel, ShapesAndParameterCounts) {
  for (int conditional = 0; conditional < 2; conditional++) {
    ag_gan_config c = ag_gan_default_config();
    c.classes = conditional ? 10 : 0;
    ag_params *gen = ag_params_new(cpu(), 1), *disc = ag_params_new(cpu(), 1),
              *stats = ag_params_new(cpu(), 1);
    ASSERT_EQ(ag_gan_init(gen, disc, stats, &c), AG_OK) << ag_last_error();
    const int64_t g = c.g_channels, d = c.d_channels, in = c.zdim + (conditional ? c.embed_dim : 0);
    const int64_t feat = 2 * d * 7 * 7;
    const int64_t want_g = in * 2 * g * 49 + 2 * (2 * g) + 2 * g * g * 16 + 2 * g + g * 16 +
                           (conditional ? 10 * c.embed_dim : 0);
    const int64_t want_d =
        d * 16 + 2 * d * d * 16 + 2 * (2 * d) + feat + 1 + (conditional ? 10 * feat : 0);
    EXPECT_EQ(ag_params_numel(gen), want_g);
    EXPECT_EQ(ag_params_numel(disc), want_d);
    EXPECT_EQ(ag_params_numel(stats), 2 * (2 * g + g) + 2 * 2 * d);  // mean and var per BN

    ag_graph *gr = ag_graph_new(cpu());
    const int64_t n = 3, zs[2] = {n, c.zdim};
    ag_tensor *z = ag_graph_input(gr, "z", AG_F32, 2, zs);
    ag_tensor *labels = conditional ? ag_graph_input(gr, "labels", AG_I32, 1, &n) : nullptr;
    ag_tensor *x = ag_gan_generator(gr, gen, stats, &c, z, labels, 0);
    ag_tensor *logit = ag_gan_discriminator(gr, disc, stats, &c, x, labels);
    ASSERT_EQ(ag_graph_status(gr), AG_OK) << ag_graph_error(gr);
    EXPECT_EQ(x->ndim, 4);
    EXPECT_EQ(x->shape[0], n);
    EXPECT_EQ(x->shape[1], 1);
    EXPECT_EQ(x->shape[2], 28);
    EXPECT_EQ(x->shape[3], 28);
    EXPECT_EQ(logit->ndim, 2);
    EXPECT_EQ(logit->shape[0], n);
    EXPECT_EQ(logit->shape[1], 1);
    ag_graph_free(gr);
    ag_params_free(gen);
    ag_params_free(disc);
    ag_params_free(stats);
  }
}

TEST(GanModel, RejectsBadConfigs) {
  ag_gan_config c = ag_gan_default_config();
  c.height = 30;
  EXPECT_NE(ag_gan_check(&c), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("divide by 4"), std::string::npos);
  c = ag_gan_default_config();
  c.zdim = 0;
  EXPECT_NE(ag_gan_check(&c), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("zdim"), std::string::npos);
  ag_gan_loss l;
  EXPECT_NE(ag_gan_loss_parse("wgan", &l), AG_OK);
  EXPECT_EQ(ag_gan_loss_parse("ragan", &l), AG_OK);
  EXPECT_EQ(l, AG_GAN_LOSS_RAGAN);
}

// ---- losses -----------------------------------------------------------------------

double softplus(double x) { return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0); }
double mean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v) s += x;
  return s / (double)v.size();
}

// Both losses of `l` by hand, in double.
void hand_losses(ag_gan_loss l, const std::vector<float> &r, const std::vector<float> &f, double *d,
                 double *g) {
  const size_t n = r.size();
  std::vector<double> a(n), b(n), ga(n), gb(n);
  const double mr = mean(std::vector<double>(r.begin(), r.end()));
  const double mf = mean(std::vector<double>(f.begin(), f.end()));
  for (size_t i = 0; i < n; i++) {
    switch (l) {
      case AG_GAN_LOSS_NS:
        a[i] = softplus(-r[i]), b[i] = softplus(f[i]), ga[i] = softplus(-f[i]), gb[i] = 0;
        break;
      case AG_GAN_LOSS_HINGE:
        a[i] = std::max(0.0, 1.0 - r[i]), b[i] = std::max(0.0, 1.0 + f[i]), ga[i] = -f[i],
        gb[i] = 0;
        break;
      case AG_GAN_LOSS_RAGAN:
        a[i] = softplus(-(r[i] - mf)), b[i] = softplus(f[i] - mr);
        ga[i] = softplus(r[i] - mf), gb[i] = softplus(-(f[i] - mr));
        break;
    }
  }
  *d = mean(a) + mean(b);
  *g = mean(ga) + mean(gb);
}

TEST(GanLoss, EachLossMatchesAHandComputation) {
  const std::vector<float> r = {2.5f, -0.3f, 0.7f, 4.0f, -1.2f},
                           f = {-3.0f, 0.4f, 1.1f, -0.2f, 0.9f};
  for (ag_gan_loss l : {AG_GAN_LOSS_NS, AG_GAN_LOSS_HINGE, AG_GAN_LOSS_RAGAN}) {
    Consts k;
    ag_graph *g = ag_graph_new(cpu());
    ag_tensor *rt = ag_graph_const(g, k.make({5, 1}, r)),
              *ft = ag_graph_const(g, k.make({5, 1}, f));
    ag_tensor *dl = ag_graph_output(g, ag_gan_d_loss(g, l, rt, ft));
    ag_tensor *gl = ag_graph_output(g, ag_gan_g_loss(g, l, rt, ft));
    ASSERT_EQ(ag_graph_status(g), AG_OK) << ag_graph_error(g);
    ag_sched *s = nullptr;
    ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    double d, gg;
    hand_losses(l, r, f, &d, &gg);
    EXPECT_NEAR(read1(dl), d, 1e-5 * (1 + std::fabs(d))) << ag_gan_loss_name(l);
    EXPECT_NEAR(read1(gl), gg, 1e-5 * (1 + std::fabs(gg))) << ag_gan_loss_name(l);
    ag_sched_free(s);
    ag_graph_free(g);
  }
}

// ---- R1 -------------------------------------------------------------------------

// Critics of x [N, P] (flattened) with known input gradients:
//   linear: D(x) = w . x                 grad = w
//   tanh:   D(x) = sum_j w_j tanh(x_j)   grad_j = w_j (1 - tanh(x_j)^2)
struct Critic {
  ag_tensor *w;  // [1, P], a graph value
  int nonlinear;
};

ag_tensor *critic(void *ctx, ag_graph *g, ag_tensor *x) {
  const Critic *c = (const Critic *)ctx;
  ag_tensor *h = c->nonlinear ? ag_unary(g, AG_OP_TANH, x) : x;
  return ag_sum(g, ag_mul(g, h, c->w), 1, 1);
}

struct R1Case {
  int64_t n, p;
  std::vector<float> x, v, w;
};

R1Case r1_case(int64_t n, int64_t p, uint32_t seed) {
  R1Case c{n, p, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (int64_t i = 0; i < n * p; i++) c.x.push_back(unit(rng)), c.v.push_back(normal(rng));
  for (int64_t j = 0; j < p; j++) c.w.push_back(unit(rng));
  return c;
}

// The penalty and its gradient with respect to w, from the graph.
void run_r1(const R1Case &rc, int nonlinear, float *penalty, std::vector<float> *dw) {
  Consts k;
  ag_params *p = ag_params_new(cpu(), 1);
  ag_tensor *wt = ag_params_get(p, "w", AG_F32, 2, std::vector<int64_t>{1, rc.p}.data(),
                                ag_init{AG_INIT_ZEROS, 0});
  ASSERT_EQ(ag_tensor_write(wt, rc.w.data(), rc.w.size() * sizeof(float)), AG_OK);
  ag_graph *g = ag_graph_new(cpu());
  Critic c{ag_graph_param(g, wt), nonlinear};
  ag_tensor *x = ag_graph_const(g, k.make({rc.n, rc.p}, rc.x));
  ag_tensor *v = ag_graph_const(g, k.make({rc.n, rc.p}, rc.v));
  ag_tensor *r1 = ag_graph_output(g, ag_gan_r1(g, critic, &c, x, v, AG_GAN_R1_STEP));
  ASSERT_EQ(ag_backward(g, r1), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  *penalty = read1(r1);
  *dw = read_all(ag_graph_grad(g, wt));
  ag_sched_free(s);
  ag_graph_free(g);
  ag_params_free(p);
}

// grad D(x_i) . v_i by hand.
double directional(const R1Case &rc, int nonlinear, int64_t i) {
  double s = 0;
  for (int64_t j = 0; j < rc.p; j++) {
    const double t = std::tanh((double)rc.x[i * rc.p + j]);
    s += rc.w[j] * (nonlinear ? 1 - t * t : 1.0) * rc.v[i * rc.p + j];
  }
  return s;
}

TEST(GanR1, DifferenceQuotientIsTheDirectionalDerivative) {
  const R1Case rc = r1_case(16, 40, 7);
  for (int nonlinear = 0; nonlinear < 2; nonlinear++) {
    float penalty;
    std::vector<float> dw;
    run_r1(rc, nonlinear, &penalty, &dw);
    double want = 0;
    for (int64_t i = 0; i < rc.n; i++) want += std::pow(directional(rc, nonlinear, i), 2);
    want /= (double)rc.n;
    // Exact for a linear critic up to f32 rounding; O(h^2) for tanh.
    EXPECT_NEAR(penalty, want, (nonlinear ? 2e-3 : 2e-4) * want) << "nonlinear " << nonlinear;
    if (nonlinear) continue;
    // d/dw mean_i (w . v_i)^2 = mean_i 2 (w . v_i) v_i: backprop differentiates the penalty.
    for (int64_t j = 0; j < rc.p; j++) {
      double g = 0;
      for (int64_t i = 0; i < rc.n; i++) g += 2 * directional(rc, 0, i) * rc.v[i * rc.p + j];
      g /= (double)rc.n;
      EXPECT_NEAR(dw[j], g, 1e-3 * (1 + std::fabs(g))) << "w[" << j << "]";
    }
  }
}

TEST(GanR1, AveragesToTheSquaredGradientNorm) {
  // Over many directions E_v[(grad . v)^2] = |grad|^2; the relative standard
  // error of the mean over n directions is sqrt(2 / n), 2.2% at n = 4096.
  R1Case rc = r1_case(4096, 24, 11);
  for (int64_t i = 1; i < rc.n; i++)  // one point x, many directions
    for (int64_t j = 0; j < rc.p; j++) rc.x[i * rc.p + j] = rc.x[j];
  for (int nonlinear = 0; nonlinear < 2; nonlinear++) {
    float penalty;
    std::vector<float> dw;
    run_r1(rc, nonlinear, &penalty, &dw);
    double norm2 = 0;
    for (int64_t j = 0; j < rc.p; j++) {
      const double t = std::tanh((double)rc.x[j]);
      norm2 += std::pow(rc.w[j] * (nonlinear ? 1 - t * t : 1.0), 2);
    }
    EXPECT_NEAR(penalty, norm2, 0.1 * norm2) << "nonlinear " << nonlinear;
  }
}

// ---- training, checkpoints, sampling ---------------------------------------------

struct Data {
  ag_mnist train{};
  Data() {
    EXPECT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "train", &train), AG_OK) << ag_last_error();
  }
  ~Data() { ag_mnist_free(&train); }
};

// Mean pixel in [0, 1] and the standard deviation across images of each
// image's mean pixel.
void pixel_stats(const float *px, int64_t n, int64_t npx, double *m, double *spread) {
  std::vector<double> per(n);
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t j = 0; j < npx; j++) s += px[i * npx + j];
    per[i] = s / (double)npx;
  }
  *m = mean(per);
  double v = 0;
  for (double x : per) v += (x - *m) * (x - *m);
  *spread = std::sqrt(v / (double)n);
}

void sample_stats(const std::string &path, double *m, double *spread) {
  ag_gan *g = nullptr;
  ASSERT_EQ(ag_gan_load(path.c_str(), cpu(), &g), AG_OK) << ag_last_error();
  const int64_t n = 512;
  std::vector<float> px(n * 28 * 28);
  ASSERT_EQ(ag_gan_sample(g, 5, 0, 0, n, nullptr, px.data()), AG_OK) << ag_last_error();
  pixel_stats(px.data(), n, 28 * 28, m, spread);
  ag_gan_free(g);
}

TEST(GanTrain, DiscriminatorLearnsAndSamplesApproachTheData) {
  Data d;
  const ag_gan_config c = ag_gan_default_config();
  ag_gan_train_opts o = ag_gan_default_train_opts();
  o.steps = 400;
  o.batch = 32;
  o.progress = 0;
  std::vector<float> dl(o.steps, NAN), gl(o.steps, NAN), acc(o.steps, NAN);
  o.d_loss = dl.data(), o.g_loss = gl.data(), o.d_acc = acc.data();
  const std::string early = tmp("early.safetensors"), late = tmp("late.safetensors");
  o.out = early.c_str();
  o.until = 1;
  ag_gan_train_result res;
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  o.out = late.c_str();
  o.resume = early.c_str();
  o.until = 0;
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  EXPECT_EQ(res.resumed_at, 1);
  EXPECT_EQ(res.steps_done, o.steps);
  EXPECT_GT(res.peak_bytes, 0);

  // An untrained D cannot tell: its loss starts near 2 log 2 and accuracy near 1/2.
  EXPECT_NEAR(dl[0], 2 * std::log(2.0), 0.3);
  double acc_late = 0, dl_late = 0, gl_late = 0;
  for (int64_t s = o.steps - 100; s < o.steps; s++)
    acc_late += acc[s], dl_late += dl[s], gl_late += gl[s];
  acc_late /= 100, dl_late /= 100, gl_late /= 100;
  // Then D separates real from generated, and G's loss rises above its start
  // (log 2 at D's indifference) without D winning outright.
  EXPECT_GT(acc_late, 0.6);
  EXPECT_LT(dl_late, dl[0]);
  EXPECT_GT(gl_late, gl[1]);
  EXPECT_LT(acc_late, 0.999);

  double data_m, data_s;
  std::vector<float> real(512 * 28 * 28);
  for (size_t i = 0; i < real.size(); i++) real[i] = d.train.images[i] / 255.0f;
  pixel_stats(real.data(), 512, 28 * 28, &data_m, &data_s);
  double m0, s0, m1, s1;
  sample_stats(early, &m0, &s0);
  sample_stats(late, &m1, &s1);
  printf("mean pixel: data %.3f, after 1 update %.3f, after %lld %.3f\n", data_m, m0,
         (long long)o.steps, m1);
  printf("spread of image means: data %.3f, after 1 update %.3f, after %lld %.3f\n", data_s, s0,
         (long long)o.steps, s1);
  EXPECT_LT(std::fabs(m1 - data_m), 0.5 * std::fabs(m0 - data_m));
  EXPECT_LT(std::fabs(m1 - data_m), 0.05);
  EXPECT_LT(std::fabs(s1 - data_s), 0.5 * std::fabs(s0 - data_s));
  std::remove(early.c_str());
  std::remove(late.c_str());
}

// Every tensor of two checkpoints, compared by name.
void expect_same_tensors(const std::string &a, const std::string &b, float tol) {
  ag_safetensors *x = ag_st_open(a.c_str()), *y = ag_st_open(b.c_str());
  ASSERT_TRUE(x && y) << ag_last_error();
  ASSERT_EQ(ag_st_count(x), ag_st_count(y));
  for (int i = 0; i < ag_st_count(x); i++) {
    const int j = ag_st_find(y, ag_st_name(x, i));
    ASSERT_GE(j, 0) << ag_st_name(x, i);
    ag_st_tensor_info ix, iy;
    ASSERT_EQ(ag_st_info(x, i, &ix), AG_OK);
    ASSERT_EQ(ag_st_info(y, j, &iy), AG_OK);
    ASSERT_EQ(ix.bytes, iy.bytes);
    const float *p = (const float *)ag_st_data(x, i), *q = (const float *)ag_st_data(y, j);
    float worst = 0;
    for (size_t k = 0; k < ix.bytes / 4; k++) worst = std::max(worst, std::fabs(p[k] - q[k]));
    EXPECT_LE(worst, tol) << ag_st_name(x, i);
  }
  ag_st_close(x);
  ag_st_close(y);
}

TEST(GanTrain, ResumingContinuesTheSameRun) {
  Data d;
  ag_gan_config c = ag_gan_default_config();
  c.classes = 10;  // conditional, with every option on
  ag_gan_train_opts o = ag_gan_default_train_opts();
  o.steps = 12;
  o.batch = 16;
  o.progress = 0;
  o.loss = AG_GAN_LOSS_RAGAN;
  o.r1_gamma = 1.0f;
  o.ema_decay = 0.9f;
  const std::string whole = tmp("whole.safetensors"), half = tmp("half.safetensors"),
                    rest = tmp("rest.safetensors");
  ag_gan_train_result res;
  o.out = whole.c_str();
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  o.out = half.c_str();
  o.until = 5;
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  o.out = rest.c_str();
  o.resume = half.c_str();
  o.until = 0;
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  EXPECT_EQ(res.resumed_at, 5);
  expect_same_tensors(whole, rest, 1e-5f);

  // A resumed run of other shapes, and one already done, are refused.
  ag_gan_config other = c;
  other.g_channels = 32;
  EXPECT_NE(ag_gan_train(cpu(), &other, &o, &d.train, &res), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("g_channels 64 vs 32"), std::string::npos)
      << ag_last_error();
  o.resume = whole.c_str();
  EXPECT_NE(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("updates already"), std::string::npos);

  ag_gan *g = nullptr;
  ASSERT_EQ(ag_gan_load(whole.c_str(), cpu(), &g), AG_OK) << ag_last_error();
  ag_generator_info info;
  ag_gan_info(g, &info);
  EXPECT_STREQ(info.kind, "gan");
  EXPECT_EQ(info.classes, 10);
  EXPECT_EQ(info.train_steps, 12);
  EXPECT_GT(info.train_seconds, 0);
  EXPECT_GT(info.train_peak_bytes, 0);
  EXPECT_STREQ(info.device, "cpu");
  // The class changes the image.
  std::vector<float> a(28 * 28), b(28 * 28);
  const int32_t three = 3, seven = 7;
  ASSERT_EQ(ag_gan_sample(g, 1, 0, 0, 1, &three, a.data()), AG_OK);
  ASSERT_EQ(ag_gan_sample(g, 1, 0, 0, 1, &seven, b.data()), AG_OK);
  double diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff += std::fabs(a[i] - b[i]);
  EXPECT_GT(diff, 1e-3);
  const int32_t bad = 10;
  EXPECT_NE(ag_gan_sample(g, 1, 0, 0, 1, &bad, a.data()), AG_OK);
  ag_gan_free(g);
  for (const auto &f : {whole, half, rest}) std::remove(f.c_str());
}

TEST(GanSample, ImagesDoNotDependOnTheBatch) {
  Data d;
  const ag_gan_config c = ag_gan_default_config();
  ag_gan_train_opts o = ag_gan_default_train_opts();
  o.steps = 3;
  o.batch = 16;
  o.progress = 0;
  const std::string path = tmp("sample.safetensors");
  o.out = path.c_str();
  ag_gan_train_result res;
  ASSERT_EQ(ag_gan_train(cpu(), &c, &o, &d.train, &res), AG_OK) << ag_last_error();
  ag_gan *g = nullptr;
  ASSERT_EQ(ag_gan_load(path.c_str(), cpu(), &g), AG_OK) << ag_last_error();
  const int64_t n = 10, px = 28 * 28;
  std::vector<float> whole(n * px), small(n * px), part(3 * px), other(n * px);
  ASSERT_EQ(ag_gan_sample(g, 9, 0, 10, n, nullptr, whole.data()), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_gan_sample(g, 9, 0, 3, n, nullptr, small.data()), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_gan_sample(g, 9, 4, 1, 3, nullptr, part.data()), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_gan_sample(g, 10, 0, 10, n, nullptr, other.data()), AG_OK) << ag_last_error();
  float worst = 0, lo = 1, hi = 0;
  double seed_diff = 0;
  for (int64_t i = 0; i < n * px; i++) {
    worst = std::max(worst, std::fabs(whole[i] - small[i]));
    lo = std::min(lo, whole[i]), hi = std::max(hi, whole[i]);
    seed_diff += std::fabs(whole[i] - other[i]);
  }
  for (int64_t i = 0; i < 3 * px; i++)
    worst = std::max(worst, std::fabs(whole[4 * px + i] - part[i]));
  EXPECT_LE(worst, 1e-5f);
  EXPECT_GE(lo, 0.0f);
  EXPECT_LE(hi, 1.0f);
  EXPECT_GT(seed_diff / (double)(n * px), 1e-3);  // another seed, other images
  ag_gan_free(g);
  std::remove(path.c_str());
}

TEST(GanSample, OtherCheckpointsAreRefused) {
  const std::string path = tmp("ddpm.safetensors");
  const int64_t one = 1;
  ag_tensor *t = ag_tensor_new(cpu(), AG_F32, 1, &one);
  const char *name = "unet.weight", *key = "aigc.model", *value = "ddpm";
  ASSERT_EQ(ag_st_save(path.c_str(), &name, (const ag_tensor *const *)&t, 1, &key, &value, 1),
            AG_OK);
  ag_gan *g = nullptr;
  EXPECT_NE(ag_gan_load(path.c_str(), cpu(), &g), AG_OK);
  EXPECT_EQ(g, nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("is a 'ddpm' checkpoint, not a gan"),
            std::string::npos)
      << ag_last_error();
  EXPECT_NE(ag_gan_load("/nonexistent/gan.safetensors", cpu(), &g), AG_OK);
  ag_tensor_free(t);
  std::remove(path.c_str());
}

}  // namespace
