// Graph building errors: each names what is wrong (the op, the shapes), the
// first error sticks while later builders return NULL, and ag_backward and
// ag_sched_new refuse graphs and losses they cannot handle.
#include <gtest/gtest.h>

#include <string>

#include "ag_test_util.h"
extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}

namespace {

// Expects `text` (a std::string or C string) to contain `part`, and shows it.
#define EXPECT_HAS(text, part)                               \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "\"" << std::string(text) << "\" lacks \"" << (part) << "\""

// A CPU graph and the caller-side tensors its leaves wrap.
struct G {
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  std::vector<ag_tensor *> owned;

  ~G() {
    ag_graph_free(g);
    for (ag_tensor *t : owned) ag_tensor_free(t);
  }
  ag_tensor *tensor(std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    ag_tensor *t =
        ag_test::make_tensor(ag_backend_cpu(), AG_F32, shape, ag_test::random_values((size_t)n, 5));
    owned.push_back(t);
    return t;
  }
  ag_tensor *param(std::vector<int64_t> shape) { return ag_graph_param(g, tensor(shape)); }
  ag_tensor *input(std::vector<int64_t> shape) {
    return ag_graph_input(g, "in", AG_F32, (int)shape.size(), shape.data());
  }
  std::string error() const { return ag_graph_error(g); }
};

TEST(GraphErrors, MatmulShapeMismatchNamesOpAndShapes) {
  G t;
  ag_tensor *a = t.input({2, 3}), *b = t.param({4, 5});
  const int nodes = ag_graph_node_count(t.g);
  EXPECT_EQ(ag_matmul(t.g, a, b), nullptr);
  EXPECT_NE(ag_graph_status(t.g), AG_OK);
  EXPECT_HAS(t.error(), "matmul");
  EXPECT_HAS(t.error(), "f32[2,3]");
  EXPECT_HAS(t.error(), "f32[4,5]");
  EXPECT_EQ(t.error(), ag_last_error());
  EXPECT_EQ(ag_graph_node_count(t.g), nodes) << "a rejected op must not be recorded";
}

TEST(GraphErrors, BinaryOpShapeMismatchNamesOpAndShapes) {
  G t;
  EXPECT_EQ(ag_add(t.g, t.input({2, 3}), t.input({4, 3})), nullptr);
  EXPECT_HAS(t.error(), "add");
  EXPECT_HAS(t.error(), "f32[2,3]");
  EXPECT_HAS(t.error(), "f32[4,3]");
}

TEST(GraphErrors, ReshapeWrongElementCountNamesBothShapes) {
  G t;
  const int64_t to[2] = {4, 2};
  EXPECT_EQ(ag_reshape(t.g, t.input({2, 3}), 2, to), nullptr);
  EXPECT_HAS(t.error(), "reshape");
  EXPECT_HAS(t.error(), "f32[2,3]");
  EXPECT_HAS(t.error(), "f32[4,2]");
}

// After a failure every builder returns NULL (even one whose own inputs are
// fine) and the graph keeps the first error, not the consequences.
TEST(GraphErrors, FailurePropagatesAndFirstErrorSticks) {
  G t;
  ag_tensor *x = t.input({2, 3}), *w = t.param({4, 5});
  ag_tensor *bad = ag_matmul(t.g, x, w);
  ASSERT_EQ(bad, nullptr);
  const std::string first = t.error();
  const ag_status st = ag_graph_status(t.g);
  const int nodes = ag_graph_node_count(t.g);
  EXPECT_EQ(ag_relu(t.g, bad), nullptr);
  EXPECT_EQ(ag_add(t.g, bad, x), nullptr);
  EXPECT_EQ(ag_relu(t.g, x), nullptr) << "a builder after a failure must not record";
  const int64_t wrong[1] = {7};
  EXPECT_EQ(ag_reshape(t.g, x, 1, wrong), nullptr);  // a second, different error
  EXPECT_EQ(ag_mean_all(t.g, bad), nullptr);
  EXPECT_EQ(ag_graph_input(t.g, "late", AG_F32, 1, wrong), nullptr);
  EXPECT_EQ(ag_graph_param(t.g, t.tensor({3})), nullptr);
  EXPECT_EQ(ag_graph_node_count(t.g), nodes);
  EXPECT_EQ(ag_graph_status(t.g), st);
  EXPECT_EQ(t.error(), first);
  EXPECT_HAS(first, "matmul");
  EXPECT_EQ(ag_backward(t.g, bad), st);
  EXPECT_EQ(std::string(ag_last_error()), first);
}

TEST(GraphErrors, ValueOfAnotherGraphIsRejected) {
  G t, other;
  ag_tensor *x = t.input({2, 3});
  ag_tensor *foreign = ag_graph_name(other.input({2, 3}), "foreign");
  EXPECT_EQ(ag_add(t.g, x, foreign), nullptr);
  EXPECT_HAS(t.error(), "add");
  EXPECT_HAS(t.error(), "foreign");
  EXPECT_HAS(t.error(), "not a value of this graph");
  EXPECT_EQ(ag_graph_status(other.g), AG_OK) << "the other graph is not to blame";
}

// An unnamed tensor is identified by its shape.
TEST(GraphErrors, UnnamedForeignValueIsDescribed) {
  G t, other;
  EXPECT_EQ(ag_sub(t.g, t.input({2, 3}), other.input({5, 7})), nullptr);
  EXPECT_HAS(t.error(), "sub: input 1");
  EXPECT_HAS(t.error(), "f32[5,7]");
}

TEST(GraphErrors, NonContiguousParamIsRejected) {
  G t;
  const int perm[2] = {1, 0};
  ag_tensor *view = ag_tensor_permute(t.tensor({2, 3}), perm);
  ASSERT_NE(view, nullptr) << ag_last_error();
  t.owned.push_back(view);
  EXPECT_EQ(ag_graph_param(t.g, view), nullptr);
  EXPECT_HAS(t.error(), "param f32[3,2]");
  EXPECT_HAS(t.error(), "not contiguous");
}

// A caller's tensor used directly (not wrapped as param or const) is not a
// graph value either; the message says how to wrap it.
TEST(GraphErrors, UnwrappedTensorIsRejected) {
  G t;
  ag_tensor *raw = ag_graph_name(t.tensor({2, 3}), "raw");
  EXPECT_EQ(ag_mul(t.g, t.input({2, 3}), raw), nullptr);
  EXPECT_HAS(t.error(), "mul");
  EXPECT_HAS(t.error(), "raw");
  EXPECT_HAS(t.error(), "ag_graph_param");
}

TEST(GraphErrors, ReshapeOfAnotherGraphsValueIsRejected) {
  G t, other;
  const int64_t to[1] = {6};
  EXPECT_EQ(ag_reshape(t.g, other.input({2, 3}), 1, to), nullptr);
  EXPECT_HAS(t.error(), "reshape");
  EXPECT_HAS(t.error(), "not a value of this graph");
}

TEST(GraphErrors, BackwardNeedsScalarLoss) {
  G t;
  ag_tensor *y = ag_relu(t.g, t.param({2, 3}));
  ASSERT_NE(y, nullptr) << t.error();
  EXPECT_NE(ag_backward(t.g, y), AG_OK);
  EXPECT_HAS(ag_last_error(), "ag_backward");
  EXPECT_HAS(ag_last_error(), "one element");
  EXPECT_HAS(ag_last_error(), "f32[2,3]");
  EXPECT_EQ(ag_graph_grad(t.g, y), nullptr);
  EXPECT_NE(ag_graph_status(t.g), AG_OK);
  EXPECT_HAS(t.error(), "one element");
}

TEST(GraphErrors, BackwardNeedsFloatLoss) {
  G t;
  ag_tensor *p = t.param({1});
  ag_tensor *l = ag_cast(t.g, p, AG_I32);
  ASSERT_NE(l, nullptr) << t.error();
  EXPECT_NE(ag_backward(t.g, l), AG_OK);
  EXPECT_HAS(ag_last_error(), "i32[1]");
}

TEST(GraphErrors, BackwardNeedsLossDependingOnAParameter) {
  G t;
  t.param({3});  // a parameter the loss does not read
  ag_tensor *loss = ag_mean_all(t.g, ag_relu(t.g, t.input({3})));
  ASSERT_NE(loss, nullptr) << t.error();
  const int nodes = ag_graph_node_count(t.g);
  EXPECT_NE(ag_backward(t.g, loss), AG_OK);
  EXPECT_HAS(ag_last_error(), "depends on no parameter");
  EXPECT_EQ(ag_graph_node_count(t.g), nodes) << "a refused backward appends nothing";
  EXPECT_HAS(t.error(), "depends on no parameter");
}

TEST(GraphErrors, BackwardOfLossFromAnotherGraph) {
  G t, other;
  t.param({1});
  ag_tensor *loss = ag_mean_all(other.g, other.param({3}));
  ASSERT_NE(loss, nullptr) << other.error();
  EXPECT_NE(ag_backward(t.g, loss), AG_OK);
  EXPECT_HAS(ag_last_error(), "not a value of this graph");
}

TEST(GraphErrors, BackwardTwiceFails) {
  G t;
  ag_tensor *p = t.param({3});
  ag_tensor *loss = ag_mean_all(t.g, ag_mul(t.g, p, p));
  ASSERT_EQ(ag_backward(t.g, loss), AG_OK) << ag_last_error();
  ag_tensor *grad = ag_graph_grad(t.g, p);
  ASSERT_NE(grad, nullptr);
  const int nodes = ag_graph_node_count(t.g);
  EXPECT_NE(ag_backward(t.g, loss), AG_OK);
  EXPECT_HAS(ag_last_error(), "already called");
  EXPECT_EQ(ag_graph_node_count(t.g), nodes);
  EXPECT_EQ(ag_graph_grad(t.g, p), grad) << "the first gradients stay";
  // The misuse is recorded, so a caller checking ag_graph_status sees it.
  EXPECT_HAS(t.error(), "already called");
  ag_sched *s = nullptr;
  EXPECT_NE(ag_sched_new(t.g, nullptr, &s), AG_OK);
  EXPECT_EQ(s, nullptr);
}

TEST(GraphErrors, SchedRefusesGraphWithError) {
  G t;
  ag_tensor *x = t.input({2, 3});
  ag_graph_output(t.g, ag_relu(t.g, x));
  ASSERT_EQ(ag_matmul(t.g, x, t.param({4, 5})), nullptr);
  const std::string first = t.error();
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(t.g, nullptr, &s), ag_graph_status(t.g));
  EXPECT_HAS(ag_last_error(), first);
  EXPECT_EQ(s, nullptr);
}

TEST(GraphErrors, NullLeavesAreRejected) {
  G t;
  EXPECT_EQ(ag_graph_param(t.g, nullptr), nullptr);
  EXPECT_HAS(t.error(), "param");
  EXPECT_HAS(t.error(), "no tensor");
}

TEST(GraphErrors, InputWithBadShapeIsRejected) {
  G t;
  const int64_t s[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(ag_graph_input(t.g, "x", AG_F32, 5, s), nullptr);
  EXPECT_NE(ag_graph_status(t.g), AG_OK);
  EXPECT_FALSE(t.error().empty());
}

}  // namespace
