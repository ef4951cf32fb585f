// Builders the pipelines need for noise and losses (ag_randn, ag_rand,
// ag_huber_loss): a one-node graph, planned and run, gives bit for bit what
// the eager op gives with the same arguments, on the CPU and (AG_TEST_EMU)
// on the CUDA emulator, whose Philox stream is the CPU's.
#include <gtest/gtest.h>

#include <vector>

extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}
#ifdef AG_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif

namespace {

const std::vector<int64_t> kShape = {3, 257};  // odd, so Philox blocks straddle rows

std::vector<ag_backend *> backends() {
#ifdef AG_TEST_EMU
  return {ag_backend_cpu(), ag_backend_emu()};
#else
  return {ag_backend_cpu()};
#endif
}

std::vector<char> bytes_of(const ag_tensor *t) {
  std::vector<char> b(ag_tensor_nbytes(t));
  EXPECT_EQ(ag_tensor_read(t, b.data(), b.size()), AG_OK) << ag_last_error();
  return b;
}

// Plans and runs g once with y as its output; returns y's bytes.
std::vector<char> run_for(ag_graph *g, ag_tensor *y) {
  EXPECT_NE(ag_graph_output(g, y), nullptr) << ag_graph_error(g);
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  std::vector<char> out = bytes_of(y);
  ag_sched_free(s);
  return out;
}

// The bytes of an eager fill of kShape in dtype dt.
template <class Fill> std::vector<char> eager_fill(ag_backend *be, ag_dtype dt, Fill fill) {
  ag_tensor *t = ag_tensor_new(be, dt, (int)kShape.size(), kShape.data());
  EXPECT_EQ(fill(t), AG_OK) << ag_last_error();
  std::vector<char> out = bytes_of(t);
  ag_tensor_free(t);
  return out;
}

TEST(FillBuilders, RandnMatchesEagerNormal) {
  for (ag_backend *be : backends()) {
    for (ag_dtype dt : {AG_F32, AG_BF16}) {
      SCOPED_TRACE(std::string(be->name) + " " + ag_dtype_name(dt));
      ag_graph *g = ag_graph_new(be);
      ag_tensor *y = ag_randn(g, dt, (int)kShape.size(), kShape.data(), 42, 1001);
      ASSERT_NE(y, nullptr) << ag_graph_error(g);
      EXPECT_EQ(run_for(g, y), eager_fill(be, dt, [](ag_tensor *t) {
                  return ag_eager_fill_normal(t, 42, 1001, 0.0f, 1.0f);
                }));
      ag_graph_free(g);
    }
  }
}

TEST(FillBuilders, RandMatchesEagerUniform) {
  for (ag_backend *be : backends()) {
    for (ag_dtype dt : {AG_F32, AG_F16}) {
      SCOPED_TRACE(std::string(be->name) + " " + ag_dtype_name(dt));
      ag_graph *g = ag_graph_new(be);
      ag_tensor *y = ag_rand(g, dt, (int)kShape.size(), kShape.data(), 7, 3);
      ASSERT_NE(y, nullptr) << ag_graph_error(g);
      EXPECT_EQ(run_for(g, y), eager_fill(be, dt, [](ag_tensor *t) {
                  return ag_eager_fill_uniform(t, 7, 3, 0.0f, 1.0f);
                }));
      ag_graph_free(g);
    }
  }
}

// Random fills are float only: the fill's inference rejects an i32 output
// when the node is recorded.
TEST(FillBuilders, RandnRejectsIntegerDtype) {
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  EXPECT_EQ(ag_randn(g, AG_I32, (int)kShape.size(), kShape.data(), 1, 0), nullptr);
  EXPECT_NE(ag_graph_status(g), AG_OK);
  ag_graph_free(g);
}

TEST(FillBuilders, HuberLossMatchesEager) {
  for (ag_backend *be : backends()) {
    SCOPED_TRACE(be->name);
    std::vector<float> va(24), vb(24);
    for (size_t i = 0; i < va.size(); i++) {
      va[i] = 0.25f * (float)((int)(i * 7 % 11) - 5);
      vb[i] = 0.1f * (float)((int)(i * 5 % 9) - 4);
    }
    const int64_t shape[2] = {4, 6};
    ag_tensor *a = ag_tensor_new(be, AG_F32, 2, shape), *b = ag_tensor_new(be, AG_F32, 2, shape);
    ASSERT_EQ(ag_tensor_write(a, va.data(), ag_tensor_nbytes(a)), AG_OK);
    ASSERT_EQ(ag_tensor_write(b, vb.data(), ag_tensor_nbytes(b)), AG_OK);
    ag_graph *g = ag_graph_new(be);
    ag_tensor *y = ag_huber_loss(g, ag_graph_const(g, a), ag_graph_const(g, b), 0.5f);
    ASSERT_NE(y, nullptr) << ag_graph_error(g);
    const int64_t one = 1;
    ag_tensor *ye = ag_tensor_new(be, AG_F32, 1, &one);
    ag_op_call c = {};
    c.in[0] = a, c.in[1] = b, c.out[0] = ye;
    const ag_huber_args args = {0.5f};
    ag_huber_args_encode(&c, &args);
    ASSERT_EQ(ag_op_eager(AG_OP_HUBER_LOSS, &c), AG_OK) << ag_last_error();
    EXPECT_EQ(run_for(g, y), bytes_of(ye));
    ag_graph_free(g);
    for (ag_tensor *t : {a, b, ye}) ag_tensor_free(t);
  }
}

}  // namespace
