// Builders of ops that the pipelines need (attention_padded, timestep
// embedding, batchnorm): a one-node graph, planned and run, gives what the
// eager op gives on the same inputs (the same CPU kernels, so bit for bit).
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <vector>

extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}

namespace {

// Owns the caller-side tensors of a test.
struct Tensors {
  ag_backend *be = ag_backend_cpu();
  std::vector<ag_tensor *> owned;
  ~Tensors() {
    for (ag_tensor *t : owned) ag_tensor_free(t);
  }
  ag_tensor *make(ag_dtype dt, std::vector<int64_t> shape, const void *data) {
    ag_tensor *t = ag_tensor_new(be, dt, (int)shape.size(), shape.data());
    owned.push_back(t);
    if (t && data) ag_tensor_write(t, data, ag_tensor_nbytes(t));
    return t;
  }
  ag_tensor *ramp(std::vector<int64_t> shape, float scale, float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float> v((size_t)n);
    for (int64_t i = 0; i < n; i++) v[(size_t)i] = offset + scale * (float)((i * 7) % 11 - 5);
    return make(AG_F32, std::move(shape), v.data());
  }
};

std::vector<char> bytes_of(const ag_tensor *t) {
  std::vector<char> b(ag_tensor_nbytes(t));
  EXPECT_EQ(ag_tensor_read(t, b.data(), b.size()), AG_OK) << ag_last_error();
  return b;
}

ag_op_call call_on(std::initializer_list<const ag_tensor *> in) {
  ag_op_call c = {};
  std::copy(in.begin(), in.end(), c.in);
  return c;
}

// Runs the eager op on `call`'s inputs; returns its outputs' bytes.
std::vector<std::vector<char>> eager_outputs(Tensors &ts, ag_op op, ag_op_call call) {
  ag_shape shapes[AG_OP_MAX_ARGS];
  EXPECT_EQ(ag_op_infer(op, &call, shapes), AG_OK) << ag_last_error();
  const int n_out = ag_op_get_info(op)->n_out;
  for (int k = 0; k < n_out; k++)
    call.out[k] = ts.make(shapes[k].dtype, {shapes[k].dims, shapes[k].dims + shapes[k].ndim},
                          nullptr);
  EXPECT_EQ(ag_op_eager(op, &call), AG_OK) << ag_last_error();
  std::vector<std::vector<char>> outs;
  for (int k = 0; k < n_out; k++) outs.push_back(bytes_of(call.out[k]));
  return outs;
}

// Plans and runs g once with `ys` as outputs; returns their bytes, read
// while the plan (which owns their memory) is alive.
std::vector<std::vector<char>> run_graph(ag_graph *g, std::vector<ag_tensor *> ys) {
  std::vector<std::vector<char>> outs;
  for (ag_tensor *y : ys) EXPECT_NE(ag_graph_output(g, y), nullptr) << ag_graph_error(g);
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  if (!s) return outs;
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  for (ag_tensor *y : ys) outs.push_back(bytes_of(y));
  ag_sched_free(s);
  return outs;
}

TEST(Builders, AttentionPaddedMatchesEager) {
  Tensors ts;
  const int32_t lens[2] = {3, 6};
  ag_tensor *q = ts.ramp({2, 2, 4, 32}, 0.1f), *k = ts.ramp({2, 2, 6, 32}, 0.07f),
            *v = ts.ramp({2, 2, 6, 32}, 0.2f), *len = ts.make(AG_I32, {2}, lens);
  const ag_attention_args args = {0.0f, 1};
  ag_op_call call = call_on({q, k, v, len});
  ag_attention_args_encode(&call, &args);
  const auto want = eager_outputs(ts, AG_OP_ATTENTION_PADDED, call);

  ag_graph *g = ag_graph_new(ts.be);
  ag_tensor *o = ag_attention_padded(g, ag_graph_const(g, q), ag_graph_const(g, k),
                                     ag_graph_const(g, v), ag_graph_const(g, len), args);
  EXPECT_EQ(run_graph(g, {o}), std::vector<std::vector<char>>{want[0]});
  ag_graph_free(g);
}

TEST(Builders, TimestepEmbeddingMatchesEager) {
  Tensors ts;
  const float steps[3] = {0.0f, 10.0f, 999.0f};
  ag_tensor *t = ts.make(AG_F32, {3}, steps);
  const ag_timestep_embedding_args args = {9, 1, 0.0f, 1.0f};
  ag_op_call call = call_on({t});
  ag_timestep_embedding_args_encode(&call, &args);
  const auto want = eager_outputs(ts, AG_OP_TIMESTEP_EMBEDDING, call);

  ag_graph *g = ag_graph_new(ts.be);
  ag_tensor *y = ag_timestep_embedding(g, ag_graph_const(g, t), args);
  ASSERT_NE(y, nullptr) << ag_graph_error(g);
  EXPECT_EQ(y->ndim, 2);
  EXPECT_EQ(y->shape[1], 9);
  EXPECT_EQ(run_graph(g, {y}), std::vector<std::vector<char>>{want[0]});
  ag_graph_free(g);
}

// Training mode: y and the new running statistics both match.
TEST(Builders, BatchnormMatchesEager) {
  Tensors ts;
  ag_tensor *x = ts.ramp({3, 4, 5}, 0.3f), *w = ts.ramp({4}, 0.1f, 1.0f), *b = ts.ramp({4}, 0.05f),
            *mean = ts.ramp({4}, 0.01f), *var = ts.ramp({4}, 0.02f, 1.0f);
  const ag_batchnorm_args args = {1, 1e-5f, 0.1f};
  ag_op_call call = call_on({x, w, b, mean, var});
  ag_batchnorm_args_encode(&call, &args);
  const auto want = eager_outputs(ts, AG_OP_BATCHNORM, call);

  ag_graph *g = ag_graph_new(ts.be);
  ag_tensor *running = nullptr;
  ag_tensor *y = ag_batchnorm(g, ag_graph_const(g, x), ag_graph_param(g, w), ag_graph_param(g, b),
                              ag_graph_const(g, mean), ag_graph_const(g, var), args, &running);
  ASSERT_NE(running, nullptr) << ag_graph_error(g);
  EXPECT_EQ(run_graph(g, {y, running}), (std::vector<std::vector<char>>{want[0], want[2]}));
  ag_graph_free(g);
}

}  // namespace
