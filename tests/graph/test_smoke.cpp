#include <gtest/gtest.h>
#include <cmath>
#include <vector>
extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}

TEST(Smoke, MlpGrad) {
  ag_backend *be = ag_backend_cpu();
  int64_t ws[2] = {4, 3}, bs[1] = {4}, xs[2] = {2, 3};
  ag_tensor *w = ag_tensor_new(be, AG_F32, 2, ws), *b = ag_tensor_new(be, AG_F32, 1, bs);
  std::vector<float> wv(12), bv(4, 0.1f), xv(6);
  for (int i = 0; i < 12; i++) wv[i] = 0.1f * (i - 6);
  for (int i = 0; i < 6; i++) xv[i] = 0.3f * (i - 2);
  ag_tensor_write(w, wv.data(), 48);
  ag_tensor_write(b, bv.data(), 16);
  ag_graph *g = ag_graph_new(be);
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 2, xs);
  ag_tensor *y = ag_linear(g, x, ag_graph_param(g, w), ag_graph_param(g, b), AG_MATMUL_EPI_GELU);
  ag_tensor *loss = ag_mean_all(g, ag_mul(g, y, y));
  ag_graph_output(g, loss);
  ASSERT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  ag_sched_dump(s, stdout);
  ASSERT_EQ(ag_tensor_write(x, xv.data(), 24), AG_OK);
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  float l = 0;
  ag_tensor_read(loss, &l, 4);
  std::vector<float> gw(12);
  ag_tensor_read(ag_graph_grad(g, w), gw.data(), 48);
  // finite differences
  auto f = [&](std::vector<float> &W) {
    double acc = 0;
    for (int r = 0; r < 2; r++)
      for (int o = 0; o < 4; o++) {
        double z = bv[o];
        for (int k = 0; k < 3; k++) z += xv[r * 3 + k] * W[o * 3 + k];
        double t = tanh(0.7978845608 * (z + 0.044715 * z * z * z));
        double a = 0.5 * z * (1 + t);
        acc += a * a;
      }
    return acc / 8;
  };
  EXPECT_NEAR(l, f(wv), 1e-5);
  for (int i = 0; i < 12; i++) {
    std::vector<float> p = wv, m = wv;
    p[i] += 1e-3f;
    m[i] -= 1e-3f;
    EXPECT_NEAR(gw[i], (f(p) - f(m)) / 2e-3, 1e-4) << i;
  }
  ag_sched_free(s);
  ag_graph_free(g);
  ag_tensor_free(w);
  ag_tensor_free(b);
}
