// Autograd on composite graphs built from models/ag_layers.h: every parameter
// gradient of each block is checked against central finite differences of
// the loss the engine computes (CPU build), and the gradients of the same
// graphs on the CUDA emulator are compared with the CPU ones (emu build,
// AG_TEST_EMU).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ag_test_util.h"
extern "C" {
#include "models/ag_layers.h"
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

namespace {

const uint64_t kSeed = 1234;

// One built, differentiated and planned graph with the tensors it wraps.
struct Net {
  ag_backend *be = nullptr;
  ag_params *p = nullptr;
  ag_graph *g = nullptr;
  ag_sched *s = nullptr;
  ag_tensor *loss = nullptr;
  std::vector<ag_tensor *> owned;   // constants made by the test
  std::vector<ag_tensor *> inputs;  // graph inputs, in creation order

  ~Net() {
    ag_sched_free(s);
    ag_graph_free(g);
    for (ag_tensor *t : owned) ag_tensor_free(t);
    ag_params_free(p);
  }

  ag_tensor *constant(std::vector<int64_t> shape, uint32_t seed, float lo, float hi) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    ag_tensor *t = ag_test::make_tensor(be, AG_F32, shape, ag_test::random_values(n, seed, lo, hi));
    owned.push_back(t);
    return ag_graph_const(g, t);
  }

  // A parameter of the set holding fixed random values (the block's input,
  // so that its gradient is checked too).
  ag_tensor *param_input(const char *name, std::vector<int64_t> shape, uint32_t seed) {
    ag_tensor *t =
        ag_params_get(p, name, AG_F32, (int)shape.size(), shape.data(), ag_init{AG_INIT_ZEROS, 0});
    EXPECT_NE(t, nullptr) << ag_last_error();
    if (!t) return nullptr;
    auto v = ag_test::random_values((size_t)ag_tensor_numel(t), seed, -1.0f, 1.0f);
    EXPECT_EQ(ag_tensor_write(t, v.data(), v.size() * 4), AG_OK) << ag_last_error();
    return ag_graph_param(g, t);
  }
};

// A net on `be`: `build` records the forward graph and returns the loss;
// then backward and planning. Fails the test (returns false) on any error.
bool build_net(Net &n, ag_backend *be, const std::function<ag_tensor *(Net &)> &build) {
  n.be = be;
  n.p = ag_params_new(be, kSeed);
  n.g = ag_graph_new(be);
  EXPECT_TRUE(n.p && n.g) << ag_last_error();
  if (!n.p || !n.g) return false;
  n.loss = ag_graph_output(n.g, build(n));
  EXPECT_EQ(ag_graph_status(n.g), AG_OK) << ag_graph_error(n.g);
  EXPECT_EQ(ag_backward(n.g, n.loss), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_new(n.g, nullptr, &n.s), AG_OK) << ag_last_error();
  return n.s != nullptr;
}

double run_loss(const Net &n) {
  float l = NAN;
  EXPECT_EQ(ag_sched_run(n.s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_tensor_read(n.loss, &l, 4), AG_OK) << ag_last_error();
  return l;
}

// Every parameter reaches the loss in these blocks: each must have a
// gradient of its own shape. Returns the gradients in parameter order.
std::vector<std::vector<float>> param_grads(const Net &n) {
  std::vector<std::vector<float>> grads;
  for (int i = 0; i < ag_params_count(n.p); i++) {
    ag_tensor *t = ag_params_tensor(n.p, i);
    ag_tensor *gt = ag_graph_grad(n.g, t);
    EXPECT_NE(gt, nullptr) << "no gradient for " << ag_params_name(n.p, i);
    if (!gt) {
      grads.emplace_back();
      continue;
    }
    EXPECT_EQ(ag_tensor_numel(gt), ag_tensor_numel(t)) << ag_params_name(n.p, i);
    grads.push_back(ag_test::read_floats(gt));
  }
  return grads;
}

// ---- the blocks --------------------------------------------------------

// loss = mean(y * w) for a fixed random w, so every output element has its
// own weight in the loss (a plain mean would hide per-element errors).
ag_tensor *weighted_mean(Net &n, ag_tensor *y, uint32_t seed) {
  if (!y) return nullptr;
  std::vector<int64_t> s(y->shape, y->shape + y->ndim);
  return ag_mean_all(n.g, ag_mul(n.g, y, n.constant(s, seed, -4.0f, 4.0f)));
}

// A causal block on x [2, 5, channels] with 2 heads.
ag_tensor *transformer_loss(Net &n, int64_t channels) {
  ag_tensor *x = n.param_input("x", {2, 5, channels}, 21);
  return weighted_mean(n, ag_nn_transformer_block(n.g, n.p, "blk", x, 2, 1), 22);
}

ag_tensor *conv_loss(Net &n) {
  ag_tensor *x = n.param_input("x", {2, 4, 6, 6}, 31);
  ag_tensor *h = ag_avgpool2d(n.g, ag_nn_conv_block(n.g, n.p, "blk", x, 8, 2), 2);
  const int64_t fs[2] = {2, 8 * 3 * 3};
  ag_tensor *y = ag_nn_linear(n.g, n.p, "head", ag_reshape(n.g, h, 2, fs), 3, 0, 1);
  return weighted_mean(n, y, 32);
}

#ifndef AG_TEST_EMU

// Central differences with step `eps` on `samples` elements of every
// parameter (first, last and random ones in between).
//
// Tolerance: the engine computes the loss in f32. Each loss value carries a
// rounding error of about 1e-7 (the losses here are O(0.1..1)); divided by
// the step 2*eps = 2e-2 that is ~5e-6 in the quotient. The truncation error
// of a central difference is eps^2/6 * f''' ~ 2e-5 for the smooth blocks
// here. So atol 5e-5 (observed worst case 1.6e-5), and rtol 5e-3 for the
// truncation error that scales with large gradients. A wrong backward (a
// missing term, a transposed weight, a dropped accumulation) is off by
// O(|g|) ~ 1e-2..1e-1 here, far beyond.
void check_fd(Net &n, int samples, float eps, double atol, double rtol) {
  const double base = run_loss(n);
  ASSERT_TRUE(std::isfinite(base));
  const auto grads = param_grads(n);
  std::mt19937 rng(7);
  for (int i = 0; i < ag_params_count(n.p); i++) {
    ag_tensor *t = ag_params_tensor(n.p, i);
    const char *name = ag_params_name(n.p, i);
    if (grads[i].empty()) continue;
    std::vector<float> v = ag_test::read_floats(t);
    std::vector<int64_t> idx = {0, (int64_t)v.size() - 1};
    std::uniform_int_distribution<int64_t> pick(0, (int64_t)v.size() - 1);
    while ((int)idx.size() < std::min<int64_t>(samples, (int64_t)v.size()))
      idx.push_back(pick(rng));
    for (int64_t k : idx) {
      const float orig = v[k];
      auto loss_at = [&](float x) {
        v[k] = x;
        EXPECT_EQ(ag_tensor_write(t, v.data(), v.size() * 4), AG_OK);
        return run_loss(n);
      };
      // The step actually taken is the difference of the rounded values.
      const float up = orig + eps, down = orig - eps;
      const double numeric = (loss_at(up) - loss_at(down)) / ((double)up - (double)down);
      loss_at(orig);
      const double analytic = grads[i][k];
      EXPECT_NEAR(analytic, numeric, atol + rtol * std::fabs(numeric))
          << name << "[" << k << "] (loss " << base << ")";
    }
  }
}

const int64_t kMlpN = 4, kMlpIn = 6, kMlpHidden = 10, kMlpClasses = 5;

ag_tensor *mlp_loss(Net &n) {
  const int64_t xs[2] = {kMlpN, kMlpIn};
  ag_tensor *x = ag_graph_input(n.g, "x", AG_F32, 2, xs);
  ag_tensor *tgt = ag_graph_input(n.g, "targets", AG_I32, 1, &kMlpN);
  n.inputs = {x, tgt};
  ag_tensor *h = ag_nn_linear(n.g, n.p, "fc1", x, kMlpHidden, AG_MATMUL_EPI_RELU, 1);
  h = ag_nn_linear(n.g, n.p, "fc2", h, kMlpHidden, AG_MATMUL_EPI_GELU, 1);
  ag_tensor *logits = ag_nn_linear(n.g, n.p, "head", h, kMlpClasses, AG_MATMUL_EPI_NONE, 1);
  return ag_cross_entropy(n.g, logits, tgt);
}

void write_mlp_inputs(Net &n) {
  auto xv = ag_test::random_values(kMlpN * kMlpIn, 11, -2.0f, 2.0f);
  const int32_t tv[kMlpN] = {0, 3, 4, 1};
  ASSERT_EQ(ag_tensor_write(n.inputs[0], xv.data(), xv.size() * 4), AG_OK);
  ASSERT_EQ(ag_tensor_write(n.inputs[1], tv, sizeof tv), AG_OK);
}

ag_tensor *cross_attention_loss(Net &n) {
  ag_tensor *x = n.param_input("x", {2, 4, 8}, 41);
  ag_tensor *ctx = n.param_input("ctx", {2, 6, 8}, 42);
  return weighted_mean(n, ag_nn_cross_attention_block(n.g, n.p, "blk", x, ctx, 2), 43);
}

TEST(AutogradFd, MlpCrossEntropy) {
  Net n;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), mlp_loss));
  write_mlp_inputs(n);
  ASSERT_EQ(ag_graph_grad(n.g, n.inputs[0]), nullptr) << "an input takes no gradient";
  // ReLU has a kink: with this fixed data no sampled step moves a
  // pre-activation across zero (one that did would fail loudly, by O(|g|)).
  check_fd(n, 5, 1e-2f, 5e-5, 5e-3);
}

TEST(AutogradFd, TransformerBlock) {
  Net n;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), [](Net &m) { return transformer_loss(m, 8); }));
  EXPECT_EQ(ag_params_count(n.p), 17);  // x + 2 norms + 4 projections + 2 mlp layers
  check_fd(n, 4, 1e-2f, 5e-5, 5e-3);
}

TEST(AutogradFd, ConvBlock) {
  Net n;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), conv_loss));
  EXPECT_EQ(ag_params_count(n.p), 13);  // x + 2 norms + 3 convs + head
  check_fd(n, 4, 1e-2f, 5e-5, 5e-3);
}

TEST(AutogradFd, CrossAttentionBlock) {
  Net n;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), cross_attention_loss));
  EXPECT_EQ(ag_params_count(n.p), 18);  // x, ctx + 2 norms + 4 projections + 2 mlp layers
  check_fd(n, 4, 1e-2f, 5e-5, 5e-3);
}

// y = x*x + x reads x three times: dL/dx = mean'(2x + 1), summed from the
// three uses.
TEST(Autograd, ValueUsedTwiceAccumulates) {
  Net n;
  std::vector<float> xv;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), [&](Net &m) {
    ag_tensor *x = m.param_input("x", {2, 3}, 51);
    xv = ag_test::read_floats(x);
    return ag_mean_all(m.g, ag_add(m.g, ag_mul(m.g, x, x), x));
  }));
  double want = 0;
  for (float v : xv) want += ((double)v * v + v) / 6;
  EXPECT_NEAR(run_loss(n), want, 1e-6);
  auto g = ag_test::read_floats(ag_graph_grad(n.g, ag_params_tensor(n.p, 0)));
  ASSERT_EQ(g.size(), 6u);
  for (int i = 0; i < 6; i++) EXPECT_NEAR(g[i], (2.0 * xv[i] + 1.0) / 6.0, 1e-6) << i;
}

// A branch built only from constants and inputs needs no gradient: ag_backward
// appends backward nodes for the parameter branch only, and none reads a
// value of the constant branch.
TEST(Autograd, ConstantBranchGetsNoBackwardNodes) {
  ag_backend *be = ag_backend_cpu();
  Net n;
  n.be = be;
  n.p = ag_params_new(be, kSeed);
  n.g = ag_graph_new(be);
  const int64_t s[2] = {3, 4};
  ag_tensor *in = ag_graph_input(n.g, "in", AG_F32, 2, s);
  ag_tensor *c = n.constant({3, 4}, 61, -1.0f, 1.0f);
  ag_tensor *branch = ag_gelu(n.g, ag_mul(n.g, ag_add(n.g, in, c), c));  // no parameter
  const int branch_values = ag_graph_value_count(n.g);
  ag_tensor *w = n.param_input("w", {3, 4}, 62);
  ag_tensor *loss = ag_mean_all(n.g, ag_mul(n.g, ag_silu(n.g, w), branch));
  ASSERT_EQ(ag_graph_status(n.g), AG_OK) << ag_graph_error(n.g);
  const int n_forward = ag_graph_node_count(n.g);
  for (int i = 0; i < n_forward; i++) EXPECT_NE(ag_graph_node(n.g, i)->kind, AG_NODE_BACKWARD);
  ASSERT_EQ(ag_backward(n.g, loss), AG_OK) << ag_last_error();
  ASSERT_GT(ag_graph_node_count(n.g), n_forward);
  int backward_ops[AG_OP_COUNT] = {0};
  for (int i = n_forward; i < ag_graph_node_count(n.g); i++) {
    const ag_node *node = ag_graph_node(n.g, i);
    if (node->kind != AG_NODE_BACKWARD) continue;
    backward_ops[node->op]++;
    // out[k] is the gradient of forward input in[k]: never one of the branch.
    for (int k = 0; k < AG_OP_MAX_ARGS; k++) {
      if (!node->call.out[k]) continue;
      EXPECT_GE(ag_graph_value_index(n.g, node->call.in[k]), branch_values)
          << "node " << i << " writes the gradient of a constant-branch value";
    }
  }
  // The parameter branch: mean, mul (only its w side), silu. Nothing else.
  EXPECT_EQ(backward_ops[AG_OP_MEAN], 1);
  EXPECT_EQ(backward_ops[AG_OP_MUL], 1);
  EXPECT_EQ(backward_ops[AG_OP_SILU], 1);
  EXPECT_EQ(backward_ops[AG_OP_GELU], 0);
  EXPECT_EQ(backward_ops[AG_OP_ADD], 0);
  for (int i = 0; i < branch_values; i++)
    EXPECT_EQ(ag_graph_grad(n.g, ag_graph_value(n.g, i)), nullptr);
  EXPECT_NE(ag_graph_grad(n.g, w), nullptr);
}

TEST(Autograd, UnusedParameterHasNoGradient) {
  Net n;
  ag_tensor *unused = nullptr;
  ASSERT_TRUE(build_net(n, ag_backend_cpu(), [&](Net &m) {
    ag_tensor *a = m.param_input("a", {4}, 71);
    unused = m.param_input("unused", {4}, 72);
    ag_tensor *b = ag_relu(m.g, unused);  // computed, but the loss ignores it
    (void)b;
    return ag_mean_all(m.g, ag_mul(m.g, a, a));
  }));
  EXPECT_EQ(ag_graph_param_count(n.g), 2);
  EXPECT_NE(ag_graph_grad(n.g, ag_params_find(n.p, "a")), nullptr);
  EXPECT_EQ(ag_graph_grad(n.g, unused), nullptr);
  EXPECT_EQ(ag_graph_grad(n.g, ag_params_find(n.p, "unused")), nullptr);
  run_loss(n);
}

#else  // AG_TEST_EMU

// The same graph (same names, same seed: identical Philox initial weights)
// on the emulator and on the CPU gives the same gradients. The kernels
// differ (flash attention, tiled GEMM and convolution against the CPU
// reference), all in f32, so the gradients agree to accumulated rounding:
// relative 1e-3 of each tensor's largest gradient, plus 1e-5 absolute.
void compare_with_cpu(const std::function<ag_tensor *(Net &)> &build) {
  ag_backend *emu = ag_backend_emu();
  ASSERT_NE(emu, nullptr) << ag_last_error();
  Net cpu, dev;
  ASSERT_TRUE(build_net(cpu, ag_backend_cpu(), build));
  ASSERT_TRUE(build_net(dev, emu, build));
  ASSERT_EQ(ag_params_count(cpu.p), ag_params_count(dev.p));
  for (int i = 0; i < ag_params_count(cpu.p); i++)
    ASSERT_EQ(ag_test::read_floats(ag_params_tensor(cpu.p, i)),
              ag_test::read_floats(ag_params_tensor(dev.p, i)))
        << "initial " << ag_params_name(cpu.p, i) << " differs";
  const double lc = run_loss(cpu), le = run_loss(dev);
  if (::testing::Test::HasFailure()) return;  // a failed run leaves nothing to compare
  EXPECT_NEAR(lc, le, 1e-5 + 1e-4 * std::fabs(lc));
  const auto gc = param_grads(cpu), ge = param_grads(dev);
  for (size_t i = 0; i < gc.size(); i++) {
    ASSERT_EQ(gc[i].size(), ge[i].size());
    float scale = 0;
    for (float v : gc[i]) scale = std::max(scale, std::fabs(v));
    for (size_t k = 0; k < gc[i].size(); k++)
      EXPECT_NEAR(ge[i][k], gc[i][k], 1e-5 + 1e-3 * scale)
          << ag_params_name(cpu.p, (int)i) << "[" << k << "]";
  }
}

// Head dim 32: the CUDA flash-attention kernels take head dims 32, 64 and
// 128 only, so the CPU check's 8 channels / 2 heads cannot run here.
TEST(AutogradEmu, TransformerBlockMatchesCpu) {
  compare_with_cpu([](Net &m) { return transformer_loss(m, 64); });
}
TEST(AutogradEmu, ConvBlockMatchesCpu) { compare_with_cpu(conv_loss); }

#endif

}  // namespace
