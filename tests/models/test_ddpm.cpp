// The diffusion model through the whole stack: the UNet's shapes and
// parameter count against the architecture worked out by hand, a short
// training run whose loss falls, checkpoints that round-trip and resume
// exactly and refuse other models, and sampling that does not depend on the
// batch or the shard an image is made in, the same on the emulated CUDA
// kernels as on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include "models/diffusion/ag_ddpm.h"
#include "runtime/sched/ag_sched.h"
#ifdef AG_DDPM_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif
}

namespace {

// ---- the UNet ---------------------------------------------------------------

// Parameters of each piece, as ag_unet.h describes the network.
int64_t conv(int64_t cin, int64_t cout, int64_t k) { return cin * cout * k * k + cout; }
int64_t linear(int64_t in, int64_t out) { return in * out + out; }
int64_t res_block(int64_t cin, int64_t cout, int64_t emb) {
  return 2 * cin + conv(cin, cout, 3) + linear(emb, cout) + 2 * cout + conv(cout, cout, 3) +
         (cin == cout ? 0 : conv(cin, cout, 1));
}
int64_t attn_block(int64_t c) { return 2 * c + 4 * linear(c, c); }

int64_t expected_params(const ag_unet_config &c) {
  const int64_t emb = 4 * c.base;
  int64_t n = linear(c.base, emb) + linear(emb, emb) + (c.classes ? (c.classes + 1) * emb : 0);
  int64_t ch = c.base * c.mult[0];
  n += conv(c.channels, ch, 3);
  std::vector<int64_t> skips = {ch};
  for (int l = 0; l < c.levels; l++) {
    const int64_t out = c.base * c.mult[l];
    for (int b = 0; b < c.blocks; b++) {
      n += res_block(ch, out, emb) + (c.attn[l] ? attn_block(out) : 0);
      skips.push_back(ch = out);
    }
    if (l < c.levels - 1) n += conv(ch, ch, 3), skips.push_back(ch);
  }
  n += 2 * res_block(ch, ch, emb) + attn_block(ch);
  for (int l = (int)c.levels - 1; l >= 0; l--) {
    const int64_t out = c.base * c.mult[l];
    for (int b = 0; b <= c.blocks; b++) {
      n += res_block(ch + skips.back(), out, emb) + (c.attn[l] ? attn_block(out) : 0);
      skips.pop_back();
      ch = out;
    }
    if (l > 0) n += conv(ch, ch, 3);
  }
  return n + 2 * ch + conv(ch, c.channels, 3);
}

TEST(DdpmUnet, ShapesAndParameterCount) {
  for (int variant = 0; variant < 3; variant++) {
    ag_unet_config c = ag_unet_default_config();
    if (variant == 1) c.base = 16, c.blocks = 2, c.attn[1] = 1;
    if (variant == 2) c.mult[2] = 4, c.classes = 0;
    ag_params *p = ag_params_new(ag_backend_cpu(), 1);
    ASSERT_EQ(ag_unet_init(p, &c), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_params_numel(p), expected_params(c)) << "variant " << variant;
    ag_graph *g = ag_graph_new(ag_backend_cpu());
    const int64_t b = 3, xs[4] = {b, 1, 28, 28};
    ag_tensor *x = ag_graph_input(g, "x", AG_F32, 4, xs);
    ag_tensor *t = ag_graph_input(g, "t", AG_F32, 1, &b);
    ag_tensor *l = c.classes ? ag_graph_input(g, "labels", AG_I32, 1, &b) : nullptr;
    ag_tensor *y = ag_unet(g, p, &c, x, t, l);
    ASSERT_EQ(ag_graph_status(g), AG_OK) << ag_graph_error(g);
    ASSERT_EQ(y->ndim, 4);
    for (int d = 0; d < 4; d++) EXPECT_EQ(y->shape[d], xs[d]);
    ag_graph_free(g);
    ag_params_free(p);
  }
  // The default's size, stated in the README.
  ag_params *p = ag_params_new(ag_backend_cpu(), 1);
  const ag_unet_config d = ag_unet_default_config();
  ASSERT_EQ(ag_unet_init(p, &d), AG_OK);
  std::printf("default UNet: %lld parameters\n", (long long)ag_params_numel(p));
  ag_params_free(p);
}

TEST(DdpmUnet, RefusesShapesItCannotTake) {
  ag_unet_config c = ag_unet_default_config();
  c.height = c.width = 30;  // 30 -> 15 -> 7.5
  EXPECT_EQ(ag_unet_check(&c), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("do not halve evenly"), std::string::npos)
      << ag_last_error();
  c = ag_unet_default_config();
  c.base = 24;  // 48 channels in the middle: not heads of 32
  EXPECT_EQ(ag_unet_check(&c), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("head_dim 32"), std::string::npos)
      << ag_last_error();
}

// ---- training ---------------------------------------------------------------

// The first 512 training images of Fashion-MNIST.
struct Data {
  ag_mnist all{};
  ag_status st = ag_mnist_load(AG_FASHION_MNIST_DIR, "train", &all);
  ~Data() { ag_mnist_free(&all); }
  ag_mnist subset(int64_t n) const { return ag_mnist{n, all.h, all.w, all.images, all.labels}; }
};

const Data &data() {
  static const Data d;
  return d;
}

ag_ddpm_config small_config() {
  ag_ddpm_config c = ag_ddpm_default_config();
  c.unet.base = 16;
  return c;
}

ag_ddpm_train_opts short_opts(int64_t steps, std::vector<double> *losses) {
  ag_ddpm_train_opts o = ag_ddpm_default_train_opts();
  o.steps = steps;
  o.batch = 32;
  o.warmup = 5;
  o.progress = 0;
  losses->assign(steps, NAN);
  o.losses = losses->data();
  return o;
}

ag_status train(const ag_ddpm_config &c, const ag_ddpm_train_opts &o, ag_ddpm_train_result *r) {
  ag_comm *comm = nullptr;
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  ag_status st = ag_comm_open(ag_backend_cpu(), &co, &comm);
  const ag_mnist raw = data().subset(512);
  if (st == AG_OK) st = ag_ddpm_train(comm, &c, &o, &raw, r);
  ag_comm_close(comm);
  return st;
}

std::string temp_path(const char *name) {
  return std::string(::testing::TempDir()) + "ddpm_" + name + ".safetensors";
}

TEST(DdpmTrain, LossFalls) {
  ASSERT_EQ(data().st, AG_OK) << ag_last_error();
  std::vector<double> losses;
  ag_ddpm_train_result r;
  ASSERT_EQ(train(small_config(), short_opts(40, &losses), &r), AG_OK) << ag_last_error();
  EXPECT_EQ(r.steps_done, 40);
  // An untrained epsilon predictor is off by about the noise itself (MSE
  // near 1); a few dozen updates learn most of it.
  const double first = (losses[0] + losses[1] + losses[2]) / 3;
  double last = 0;
  for (int s = 30; s < 40; s++) last += losses[s] / 10;
  std::printf("loss: first %.4f, last 10 %.4f\n", first, last);
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, 0.5 * first);
  EXPECT_GT(r.peak_bytes, 0);
}

TEST(DdpmTrain, CheckpointsRoundTripAndResumeExactly) {
  ASSERT_EQ(data().st, AG_OK) << ag_last_error();
  const ag_ddpm_config c = small_config();
  std::vector<double> straight, a, b;
  ag_ddpm_train_result r;
  ASSERT_EQ(train(c, short_opts(10, &straight), &r), AG_OK) << ag_last_error();

  const std::string half = temp_path("half"), rest = temp_path("rest");
  ag_ddpm_train_opts o = short_opts(10, &a);
  o.until = 6;
  o.out = half.c_str();
  ASSERT_EQ(train(c, o, &r), AG_OK) << ag_last_error();
  EXPECT_EQ(r.steps_done, 6);
  ag_ddpm_train_opts o2 = short_opts(10, &b);
  o2.resume = half.c_str();
  o2.out = rest.c_str();
  ASSERT_EQ(train(c, o2, &r), AG_OK) << ag_last_error();
  EXPECT_EQ(r.resumed_at, 6);
  for (int s = 0; s < 6; s++) EXPECT_EQ(a[s], straight[s]) << "step " << s;
  for (int s = 6; s < 10; s++) EXPECT_EQ(b[s], straight[s]) << "step " << s;

  ag_ddpm *m = nullptr;
  ASSERT_EQ(ag_ddpm_load(rest.c_str(), ag_backend_cpu(), &m), AG_OK) << ag_last_error();
  ag_generator_info info;
  ag_ddpm_info(m, &info);
  EXPECT_STREQ(info.kind, "ddpm");
  EXPECT_EQ(info.train_steps, 10);
  EXPECT_EQ(info.height, 28);
  EXPECT_EQ(info.classes, 10);
  EXPECT_STREQ(info.device, "cpu");
  EXPECT_GT(info.train_seconds, 0.0);
  ag_params *fresh = ag_params_new(ag_backend_cpu(), 0);
  ASSERT_EQ(ag_unet_init(fresh, &c.unet), AG_OK);
  EXPECT_EQ(info.params, ag_params_numel(fresh));
  ag_params_free(fresh);
  const ag_ddpm_config *loaded = ag_ddpm_config_of(m);
  EXPECT_EQ(loaded->unet.base, 16);
  EXPECT_EQ(loaded->schedule.prediction, c.schedule.prediction);
  EXPECT_EQ(loaded->schedule.train_timesteps, c.schedule.train_timesteps);
  EXPECT_EQ(loaded->label_dropout, c.label_dropout);
  ag_ddpm_free(m);

  // Another config cannot resume it.
  ag_ddpm_config other = c;
  other.schedule.prediction = AG_PRED_V;
  std::vector<double> unused;
  ag_ddpm_train_opts o3 = short_opts(12, &unused);
  o3.resume = rest.c_str();
  EXPECT_EQ(train(other, o3, &r), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("another config"), std::string::npos)
      << ag_last_error();
  std::remove(half.c_str());
  std::remove(rest.c_str());
}

TEST(DdpmTrain, RefusesImagesOfAnotherSize) {
  std::vector<uint8_t> px(64 * 32 * 32, 7), labels(64, 1);
  const ag_mnist raw = {64, 32, 32, px.data(), labels.data()};
  ag_comm *comm = nullptr;
  const ag_comm_opts co = {AG_COMM_SINGLE, 0};
  ASSERT_EQ(ag_comm_open(ag_backend_cpu(), &co, &comm), AG_OK);
  std::vector<double> losses;
  ag_ddpm_train_result r;
  const ag_ddpm_config c = small_config();
  const ag_ddpm_train_opts o = short_opts(2, &losses);
  EXPECT_EQ(ag_ddpm_train(comm, &c, &o, &raw, &r), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("images are 32x32, the model takes 28x28"),
            std::string::npos)
      << ag_last_error();
  ag_comm_close(comm);
}

TEST(DdpmLoad, RefusesOtherCheckpoints) {
  const std::string path = temp_path("gan");
  const int64_t two = 2;
  ag_tensor *w = ag_tensor_new(ag_backend_cpu(), AG_F32, 1, &two);
  const float zeros[2] = {0, 0};
  ASSERT_EQ(ag_tensor_write(w, zeros, sizeof zeros), AG_OK);
  const char *names[1] = {"g.fc.weight"}, *keys[1] = {"aigc.model"}, *values[1] = {"gan"};
  const ag_tensor *ts[1] = {w};
  ASSERT_EQ(ag_st_save(path.c_str(), names, ts, 1, keys, values, 1), AG_OK) << ag_last_error();
  ag_ddpm *m = nullptr;
  EXPECT_EQ(ag_ddpm_load(path.c_str(), ag_backend_cpu(), &m), AG_ERR_INVALID);
  EXPECT_EQ(m, nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("a 'gan' checkpoint, not a diffusion"),
            std::string::npos)
      << ag_last_error();
  ag_tensor_free(w);
  std::remove(path.c_str());
}

// ---- sampling ---------------------------------------------------------------

// A briefly trained model, saved once for the sampling tests.
const std::string &trained() {
  static const std::string path = [] {
    const std::string p = temp_path("sampling");
    std::vector<double> losses;
    ag_ddpm_train_opts o = short_opts(8, &losses);
    o.out = p.c_str();
    ag_ddpm_train_result r;
    EXPECT_EQ(train(small_config(), o, &r), AG_OK) << ag_last_error();
    return p;
  }();
  return path;
}

std::vector<float> sample(ag_backend *be, ag_ddpm_sample_opts o, int64_t n,
                          const int32_t *labels = nullptr) {
  ag_ddpm *m = nullptr;
  std::vector<float> images(n * 28 * 28, NAN);
  EXPECT_EQ(ag_ddpm_load(trained().c_str(), be, &m), AG_OK) << ag_last_error();
  if (m) {
    EXPECT_EQ(ag_ddpm_sample(m, &o, n, labels, images.data()), AG_OK) << ag_last_error();
  }
  ag_ddpm_free(m);
  return images;
}

float max_diff(const float *a, const float *b, size_t n) {
  float d = 0;
  for (size_t i = 0; i < n; i++) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

ag_ddpm_sample_opts quick(const char *sampler, int64_t steps) {
  ag_ddpm_sample_opts o = ag_ddpm_default_sample_opts();
  o.sampler = sampler;
  o.steps = steps;
  return o;
}

TEST(DdpmSample, ImagesDoNotDependOnTheBatchOrTheShard) {
  const int64_t px = 28 * 28;
  for (const char *sampler : {"ddim", "euler_a"}) {
    ag_ddpm_sample_opts o = quick(sampler, 6);
    o.batch = 8;
    const std::vector<float> whole = sample(ag_backend_cpu(), o, 8);
    o.batch = 3;  // batches of 3, 3 and 2 + one padding image
    const std::vector<float> threes = sample(ag_backend_cpu(), o, 8);
    o.first = 5;  // images 5..7 made apart, as another rank would
    const std::vector<float> tail = sample(ag_backend_cpu(), o, 3);
    for (float v : whole) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
    for (int i = 0; i < 8; i++)
      EXPECT_LE(max_diff(&whole[i * px], &threes[i * px], px), 1e-5f) << sampler << " image " << i;
    for (int i = 0; i < 3; i++)
      EXPECT_LE(max_diff(&whole[(5 + i) * px], &tail[i * px], px), 1e-5f)
          << sampler << " image " << 5 + i;
    // Images differ from each other (their noise and classes do).
    EXPECT_GT(max_diff(&whole[0], &whole[px], px), 0.05f) << sampler;
  }
}

TEST(DdpmSample, LabelsAndGuidanceChangeTheImages) {
  const int64_t px = 28 * 28;
  const std::vector<int32_t> zeros(2, 0), nines(2, 9);
  ag_ddpm_sample_opts o = quick("ddim", 5);
  const std::vector<float> a = sample(ag_backend_cpu(), o, 2, zeros.data());
  const std::vector<float> b = sample(ag_backend_cpu(), o, 2, nines.data());
  EXPECT_GT(max_diff(a.data(), b.data(), 2 * px), 1e-3f);
  // Default labels: image i is class i % 10, so image 0 is class 0.
  const std::vector<float> d = sample(ag_backend_cpu(), o, 2);
  EXPECT_LE(max_diff(a.data(), d.data(), px), 1e-6f);
  o.guidance = 0;
  const std::vector<float> plain = sample(ag_backend_cpu(), o, 2, zeros.data());
  EXPECT_GT(max_diff(a.data(), plain.data(), 2 * px), 1e-3f);
  o.guidance = 1;  // the conditional output alone, as guidance 0
  const std::vector<float> one = sample(ag_backend_cpu(), o, 2, zeros.data());
  EXPECT_LE(max_diff(plain.data(), one.data(), 2 * px), 1e-6f);
}

TEST(DdpmSample, RefusesBadRequests) {
  ag_ddpm *m = nullptr;
  ASSERT_EQ(ag_ddpm_load(trained().c_str(), ag_backend_cpu(), &m), AG_OK) << ag_last_error();
  std::vector<float> images(28 * 28);
  ag_ddpm_sample_opts o = quick("plms", 5);
  EXPECT_EQ(ag_ddpm_sample(m, &o, 1, nullptr, images.data()), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("dpmpp_2m"), std::string::npos) << ag_last_error();
  o = quick("ddim", 0);
  EXPECT_NE(ag_ddpm_sample(m, &o, 1, nullptr, images.data()), AG_OK);
  o = quick("ddim", 2000);  // more than the 1000 training timesteps
  EXPECT_NE(ag_ddpm_sample(m, &o, 1, nullptr, images.data()), AG_OK);
  const int32_t bad = 10;
  o = quick("ddim", 2);
  EXPECT_EQ(ag_ddpm_sample(m, &o, 1, &bad, images.data()), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("not in 0..9"), std::string::npos)
      << ag_last_error();
  ag_ddpm_free(m);
}

#ifdef AG_DDPM_TEST_EMU
// The same seed gives the same initial noise everywhere (Philox by image
// index); what differs between backends is the rounding of the UNet's
// kernels, carried through the steps. Measured after 4 steps with guidance
// 3: 2.8e-5 (ddim, ddpm) and 9.0e-5 (dpmpp_2m) on pixels in [0, 1].
TEST(DdpmSample, EmulatedCudaMatchesTheCpu) {
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  for (const char *sampler : {"ddim", "dpmpp_2m", "ddpm"}) {
    const ag_ddpm_sample_opts o = quick(sampler, 4);
    const std::vector<float> cpu = sample(ag_backend_cpu(), o, 2);
    const std::vector<float> gpu = sample(emu, o, 2);
    const float d = max_diff(cpu.data(), gpu.data(), cpu.size());
    std::printf("%s: cpu vs emu max |diff| %.3g\n", sampler, d);
    EXPECT_LE(d, 5e-4f) << sampler;
  }
}
#endif

}  // namespace
