// The classifier through the whole stack: one training step's loss and
// gradients agree between the CPU and the CUDA kernels (emulated), and
// checkpoints round-trip exactly and refuse what is not theirs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/backends/ag_backend_emu.h"
extern "C" {
#include "models/ag_classifier.h"
}

namespace {

constexpr int64_t kBatch = 4;

// The first training step of a classifier on `be`: loss and every gradient.
struct Step {
  float loss = 0;
  std::vector<std::vector<float>> grads;
  std::vector<std::string> names;
};

Step first_step(ag_backend *be, const ag_classifier_config &c, const std::vector<float> &images,
                const std::vector<int32_t> &labels) {
  Step out;
  ag_params *p = ag_params_new(be, 7);
  EXPECT_EQ(ag_classifier_init(p, &c), AG_OK) << ag_last_error();
  ag_graph *g = ag_graph_new(be);
  const int64_t xs[4] = {kBatch, 1, c.height, c.width}, n = kBatch;
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 4, xs);
  ag_tensor *y = ag_graph_input(g, "y", AG_I32, 1, &n);
  ag_tensor *loss =
      ag_graph_output(g, ag_cross_entropy(g, ag_classifier_forward(g, p, &c, x, nullptr), y));
  EXPECT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_tensor_write(x, images.data(), images.size() * 4), AG_OK);
  EXPECT_EQ(ag_tensor_write(y, labels.data(), labels.size() * 4), AG_OK);
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_tensor_read(loss, &out.loss, 4), AG_OK);
  for (int i = 0; i < ag_params_count(p); i++) {
    ag_tensor *gr = ag_graph_grad(g, ag_params_tensor(p, i));
    EXPECT_NE(gr, nullptr) << ag_params_name(p, i);
    if (!gr) continue;
    std::vector<float> v(ag_tensor_numel(gr));
    EXPECT_EQ(ag_tensor_read(gr, v.data(), v.size() * 4), AG_OK);
    out.grads.push_back(v);
    out.names.push_back(ag_params_name(p, i));
  }
  ag_sched_free(s);
  ag_graph_free(g);
  ag_params_free(p);
  return out;
}

// A small config keeps the emulated run short; the graph is the same.
ag_classifier_config small_config() {
  ag_classifier_config c = ag_classifier_default_config();
  c.height = c.width = 12;
  c.c1 = 4;
  c.c2 = 8;
  c.hidden = 16;
  return c;
}

std::vector<float> some_images(const ag_classifier_config &c) {
  std::vector<float> v(kBatch * c.height * c.width);
  for (size_t i = 0; i < v.size(); i++) v[i] = std::sin(0.37f * i) + 0.1f * (i % 7);
  return v;
}

TEST(Classifier, FirstStepMatchesOnEmulatedCuda) {
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr);
  const ag_classifier_config c = small_config();
  const std::vector<float> images = some_images(c);
  const std::vector<int32_t> labels = {3, 0, 9, 3};
  Step cpu = first_step(ag_backend_cpu(), c, images, labels);
  Step gpu = first_step(emu, c, images, labels);
  ASSERT_EQ(cpu.grads.size(), 8u);  // conv1, conv2, fc1, fc2: weight and bias each
  ASSERT_EQ(gpu.grads.size(), cpu.grads.size());
  EXPECT_TRUE(std::isfinite(cpu.loss));
  // f32 throughout; the two sides sum in different orders (cuDNN-style
  // convolutions, cuBLASLt GEMM tiles), so agreement is to a few ulps of the
  // largest magnitude involved, not bitwise.
  EXPECT_NEAR(cpu.loss, gpu.loss, 1e-5f * std::fabs(cpu.loss));
  for (size_t t = 0; t < cpu.grads.size(); t++) {
    float scale = 0;
    for (float v : cpu.grads[t]) scale = std::fmax(scale, std::fabs(v));
    ASSERT_GT(scale, 0.0f) << cpu.names[t] << " has an all-zero gradient";
    for (size_t i = 0; i < cpu.grads[t].size(); i++)
      ASSERT_NEAR(cpu.grads[t][i], gpu.grads[t][i], 1e-4f * scale)
          << cpu.names[t] << "[" << i << "]";
  }
}

std::string temp_path(const char *name) {
  return testing::TempDir() + "aigc_classifier_" + name + ".safetensors";
}

TEST(Classifier, CheckpointRoundTripsExactly) {
  const ag_classifier_config c = small_config();
  ag_params *p = ag_params_new(ag_backend_cpu(), 11);
  ASSERT_EQ(ag_classifier_init(p, &c), AG_OK) << ag_last_error();
  ag_classifier_meta meta = {1234, 0.9012, "fashion-mnist"};
  const std::string path = temp_path("roundtrip");
  ASSERT_EQ(ag_classifier_save(path.c_str(), p, &c, &meta), AG_OK) << ag_last_error();
  ag_params *q = nullptr;
  ag_classifier_config c2;
  ag_classifier_meta meta2;
  ASSERT_EQ(ag_classifier_load(path.c_str(), ag_backend_cpu(), &q, &c2, &meta2), AG_OK)
      << ag_last_error();
  EXPECT_EQ(c2.c1, c.c1);
  EXPECT_EQ(c2.hidden, c.hidden);
  EXPECT_FLOAT_EQ(c2.norm_std, c.norm_std);
  EXPECT_EQ(meta2.step, 1234);
  EXPECT_NEAR(meta2.test_accuracy, 0.9012, 1e-9);
  EXPECT_STREQ(meta2.dataset, "fashion-mnist");
  ASSERT_EQ(ag_params_count(q), ag_params_count(p));
  for (int i = 0; i < ag_params_count(p); i++) {
    ag_tensor *a = ag_params_tensor(p, i), *b = ag_params_tensor(q, i);
    EXPECT_STREQ(ag_params_name(p, i), ag_params_name(q, i));
    std::vector<float> va(ag_tensor_numel(a)), vb(ag_tensor_numel(b));
    ASSERT_EQ(va.size(), vb.size());
    ag_tensor_read(a, va.data(), va.size() * 4);
    ag_tensor_read(b, vb.data(), vb.size() * 4);
    EXPECT_EQ(va, vb) << ag_params_name(p, i);
  }
  ag_params_free(p);
  ag_params_free(q);
  std::remove(path.c_str());
}

TEST(Classifier, RefusesAnotherModelsCheckpoint) {
  const std::string path = temp_path("gan");
  const int64_t n = 4;
  ag_tensor *t = ag_tensor_new(ag_backend_cpu(), AG_F32, 1, &n);
  ag_eager_fill(t, 1.0f);
  const char *names[] = {"gen.weight"}, *keys[] = {"aigc.model"}, *values[] = {"gan"};
  const ag_tensor *ts[] = {t};
  ASSERT_EQ(ag_st_save(path.c_str(), names, ts, 1, keys, values, 1), AG_OK) << ag_last_error();
  ag_params *q = nullptr;
  ag_classifier_config c;
  EXPECT_NE(ag_classifier_load(path.c_str(), ag_backend_cpu(), &q, &c, nullptr), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("a 'gan' checkpoint, not a classifier"),
            std::string::npos)
      << ag_last_error();
  EXPECT_EQ(q, nullptr);
  ag_tensor_free(t);
  std::remove(path.c_str());
}

TEST(Classifier, RefusesWeightsThatDoNotMatchTheConfig) {
  // A checkpoint whose config says 16 hidden units but whose fc1 was saved
  // from a 24-unit model: the loader names the tensor and both shapes.
  ag_classifier_config c = small_config();
  ag_params *p = ag_params_new(ag_backend_cpu(), 3);
  c.hidden = 24;
  ASSERT_EQ(ag_classifier_init(p, &c), AG_OK);
  c.hidden = 16;
  const std::string path = temp_path("mismatch");
  ag_classifier_meta meta = {1, -1, "x"};
  ASSERT_EQ(ag_classifier_save(path.c_str(), p, &c, &meta), AG_OK) << ag_last_error();
  ag_params *q = nullptr;
  ag_classifier_config c2;
  EXPECT_NE(ag_classifier_load(path.c_str(), ag_backend_cpu(), &q, &c2, nullptr), AG_OK);
  const std::string msg = ag_last_error();
  EXPECT_NE(msg.find("fc1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[24,"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[16,"), std::string::npos) << msg;
  ag_params_free(p);
  std::remove(path.c_str());
}

}  // namespace
