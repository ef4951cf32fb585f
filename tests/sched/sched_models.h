// sched_models.h - the graphs and helpers the scheduler tests share: a
// transformer LM training step, two CLIP-like towers, deterministic inputs
// and the loss and gradients as bytes for bitwise comparisons.
#ifndef AG_SCHED_MODELS_H
#define AG_SCHED_MODELS_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "models/ag_transformer.h"
#include "runtime/sched/ag_sched.h"
}

namespace sched_test {

using Bytes = std::vector<std::vector<unsigned char>>;

// Deterministic values in [-1, 1) that differ per (seed, i).
inline std::vector<float> pattern(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t h = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < n; i++) {
    h ^= h << 13;
    h ^= h >> 17;
    h ^= h << 5;
    v[i] = (float)(h % 20000u) / 10000.0f - 1.0f;
  }
  return v;
}

inline std::vector<unsigned char> read_bytes(const ag_tensor *t) {
  std::vector<unsigned char> b(ag_tensor_nbytes(t));
  EXPECT_EQ(ag_tensor_read(t, b.data(), b.size()), AG_OK) << ag_last_error();
  return b;
}

inline void write_floats(ag_tensor *t, const std::vector<float> &v) {
  ASSERT_EQ(v.size() * sizeof(float), ag_tensor_nbytes(t));
  ASSERT_EQ(ag_tensor_write(t, v.data(), ag_tensor_nbytes(t)), AG_OK) << ag_last_error();
}

// The loss and every parameter gradient, as bytes, in parameter order.
inline Bytes loss_and_grads(ag_graph *g, const ag_tensor *loss) {
  Bytes out{read_bytes(loss)};
  for (int i = 0; i < ag_graph_param_count(g); i++) {
    const ag_tensor *gr = ag_graph_grad(g, ag_graph_param_at(g, i));
    EXPECT_NE(gr, nullptr) << "parameter " << i << " has no gradient";
    if (gr) out.push_back(read_bytes(gr));
  }
  return out;
}

inline void expect_bitwise_equal(const Bytes &a, const Bytes &b, const std::string &what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); i++) {
    ASSERT_EQ(a[i].size(), b[i].size()) << what << ": tensor " << i;
    EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].size()), 0)
        << what << ": tensor " << i << (i == 0 ? " (the loss)" : " (a gradient)") << " differs";
  }
}

// ---- a causal transformer LM trained with cross-entropy -------------------

struct LmShape {
  int64_t batch, seq, channels, vocab, heads, layers;
};

struct Lm {
  LmShape shape{};
  ag_graph *g = nullptr;
  ag_tensor *x = nullptr, *targets = nullptr, *loss = nullptr;
};

// The forward graph (call ag_backward for the training step).
inline Lm build_lm(ag_backend *be, ag_params *p, const LmShape &s) {
  Lm m;
  m.shape = s;
  m.g = ag_graph_new(be);
  const int64_t xs[3] = {s.batch, s.seq, s.channels}, ts[1] = {s.batch * s.seq};
  const ag_transformer_config c = {s.layers, s.heads, s.vocab, 1};
  m.x = ag_graph_input(m.g, "x", AG_F32, 3, xs);
  m.targets = ag_graph_input(m.g, "targets", AG_I32, 1, ts);
  m.loss = ag_graph_output(
      m.g, ag_cross_entropy(m.g, ag_transformer_logits(m.g, p, &c, m.x), m.targets));
  return m;
}

inline void write_inputs(const Lm &m, uint32_t seed) {
  const LmShape &s = m.shape;
  write_floats(m.x, pattern((size_t)(s.batch * s.seq * s.channels), seed));
  std::vector<int32_t> t((size_t)(s.batch * s.seq));
  for (size_t i = 0; i < t.size(); i++) t[i] = (int32_t)((i * 7 + seed) % s.vocab);
  ASSERT_EQ(ag_tensor_write(m.targets, t.data(), t.size() * 4), AG_OK) << ag_last_error();
}

// ---- two towers (CLIP-like), independent until the loss -------------------

constexpr int64_t kTowerN = 8, kTowerIn = 16, kTowerHid = 32, kTowerOut = 8;

struct Towers {
  ag_graph *g = nullptr;
  ag_tensor *a = nullptr, *b = nullptr, *ha = nullptr, *hb = nullptr;
  ag_tensor *ya = nullptr, *yb = nullptr, *loss = nullptr;
};

// The forward graph: two dense layers per tower, loss mean(ya * yb).
inline Towers build_towers(ag_backend *be, ag_params *p) {
  Towers t;
  t.g = ag_graph_new(be);
  const int64_t s[2] = {kTowerN, kTowerIn};
  t.a = ag_graph_input(t.g, "a", AG_F32, 2, s);
  t.b = ag_graph_input(t.g, "b", AG_F32, 2, s);
  t.ha = ag_nn_linear(t.g, p, "a.fc1", t.a, kTowerHid, AG_MATMUL_EPI_GELU, 1);
  t.ya = ag_nn_linear(t.g, p, "a.fc2", t.ha, kTowerOut, AG_MATMUL_EPI_NONE, 1);
  t.hb = ag_nn_linear(t.g, p, "b.fc1", t.b, kTowerHid, AG_MATMUL_EPI_GELU, 1);
  t.yb = ag_nn_linear(t.g, p, "b.fc2", t.hb, kTowerOut, AG_MATMUL_EPI_NONE, 1);
  t.loss = ag_graph_output(t.g, ag_mean_all(t.g, ag_mul(t.g, t.ya, t.yb)));
  return t;
}

inline void write_inputs(const Towers &t, uint32_t seed) {
  write_floats(t.a, pattern((size_t)(kTowerN * kTowerIn), seed));
  write_floats(t.b, pattern((size_t)(kTowerN * kTowerIn), seed + 1000));
}

}  // namespace sched_test

#endif
