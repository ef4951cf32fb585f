// Scheduler tests: memory planning (peak vs no reuse, in place), bitwise
// equality of plans with and without reuse, streams and their event waits,
// planning-time errors, repeated runs and resident values. Built twice: on
// the CPU backend and (AG_SCHED_TEST_EMU) on the CUDA emulator.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/common/ag_kernels.h"
#include "sched_models.h"

extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/ops/matmul.h"
#ifdef AG_SCHED_TEST_EMU
#include "runtime/backends/ag_backend_emu.h"
#endif
}

namespace {

using namespace sched_test;

ag_backend *test_backend() {
#ifdef AG_SCHED_TEST_EMU
  return ag_backend_emu();
#else
  return ag_backend_cpu();
#endif
}

// The bytes a placed tensor spans, [lo, hi).
struct Span {
  const char *lo, *hi;
};

Span span_of(const ag_tensor *t) {
  const size_t es = ag_dtype_size(t->dtype);
  int64_t extent = 1;
  for (int d = 0; d < t->ndim; d++) extent += (t->shape[d] - 1) * t->stride[d];
  const char *lo = (const char *)t->buf->data + t->offset * (int64_t)es;
  return {lo, lo + extent * (int64_t)es};
}

bool overlap(Span a, Span b) { return a.lo < b.hi && b.lo < a.hi; }

// Checks a one-stream plan from the placed memory alone, independently of
// the planner's own bookkeeping: no node writes over its own inputs (except
// output 0 exactly over one input, when in place is allowed), no value is
// overwritten between the node that writes it and any node that reads it,
// and outputs and gradients are not overwritten after they are written.
// Returns the first violation.
std::string find_clobber(ag_graph *g, bool allow_inplace) {
  const int n_nodes = ag_graph_node_count(g);
  auto writer = [&](const ag_tensor *t) {
    return ag_graph_value_producer(g, ag_graph_value_base(g, ag_graph_value_index(g, t)));
  };
  auto clobbered = [&](const ag_tensor *t, int from, int to) -> int {
    const Span x = span_of(t);
    for (int k = from + 1; k < to; k++) {
      const ag_node *node = ag_graph_node(g, k);
      if (node->kind == AG_NODE_VIEW) continue;
      for (const ag_tensor *o : node->call.out)
        if (o && overlap(span_of(o), x)) return k;
    }
    return -1;
  };
  for (int n = 0; n < n_nodes; n++) {
    const ag_node *node = ag_graph_node(g, n);
    if (node->kind == AG_NODE_VIEW) continue;
    for (const ag_tensor *in : node->call.in) {
      if (!in) continue;
      for (int o = 0; o < AG_OP_MAX_ARGS; o++) {
        const ag_tensor *out = node->call.out[o];
        if (!out || !overlap(span_of(out), span_of(in))) continue;
        const bool exact = span_of(out).lo == span_of(in).lo && span_of(out).hi == span_of(in).hi;
        if (!(allow_inplace && o == 0 && exact))
          return "node " + std::to_string(n) + " writes output " + std::to_string(o) +
                 " over its input " + std::to_string(ag_graph_value_index(g, in));
      }
      const int k = clobbered(in, writer(in), n);
      if (k >= 0)
        return "node " + std::to_string(k) + " overwrites value " +
               std::to_string(ag_graph_value_index(g, in)) + " before node " + std::to_string(n) +
               " reads it";
    }
  }
  for (int v = 0; v < ag_graph_value_count(g); v++) {
    if (!(ag_graph_value_flags(g, v) & (AG_VALUE_OUTPUT | AG_VALUE_GRAD))) continue;
    const ag_tensor *t = ag_graph_value(g, v);
    const int k = clobbered(t, writer(t), n_nodes);
    if (k >= 0)
      return "node " + std::to_string(k) + " overwrites resident value " + std::to_string(v);
  }
  return "";
}

ag_sched_opts opts_with(int reuse, int inplace, int streams) {
  ag_sched_opts o = ag_sched_defaults();
  o.reuse = reuse;
  o.inplace = inplace;
  o.max_streams = streams;
  return o;
}

// ---- a 4-layer causal transformer LM, trained with cross-entropy ---------

constexpr LmShape kLm = {4, 64, 128, 64, 4, 4};

Bytes run_plan(Lm &m, const ag_sched_opts &o, ag_sched_stats *stats) {
  ag_sched *s = nullptr;
  EXPECT_EQ(ag_sched_new(m.g, &o, &s), AG_OK) << ag_last_error();
  if (!s) return {};
  write_inputs(m, 1);
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  auto r = loss_and_grads(m.g, m.loss);
  if (stats) *stats = ag_sched_get_stats(s);
  ag_sched_free(s);
  return r;
}

class SchedLm : public ::testing::Test {
 protected:
  void SetUp() override {
    p = ag_params_new(test_backend(), 42);
    ASSERT_NE(p, nullptr) << ag_last_error();
    m = build_lm(test_backend(), p, kLm);
    ASSERT_EQ(ag_graph_status(m.g), AG_OK) << ag_graph_error(m.g);
    ASSERT_EQ(ag_backward(m.g, m.loss), AG_OK) << ag_last_error();
  }
  void TearDown() override {
    ag_graph_free(m.g);
    ag_params_free(p);
  }
  ag_params *p = nullptr;
  Lm m;
};

TEST_F(SchedLm, PeakIsAtLeast40PercentBelowNoReuse) {
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(m.g, nullptr, &s), AG_OK) << ag_last_error();
  const ag_sched_stats st = ag_sched_get_stats(s);
  std::printf("transformer training graph: %d nodes, %d kernels, %d in place\n", st.nodes,
              st.kernels, st.inplace);
  std::printf("arena (planned peak) %zu bytes, no reuse %zu bytes (%.1f%%), resident %zu bytes\n",
              st.arena_bytes, st.no_reuse_bytes,
              100.0 * (double)st.arena_bytes / (double)st.no_reuse_bytes, st.resident_bytes);
  const std::string plan = testing::TempDir() + "sched_lm_plan.txt";
  if (FILE *f = std::fopen(plan.c_str(), "w")) {
    ag_sched_dump(s, f);
    std::fclose(f);
  }
  EXPECT_GT(st.no_reuse_bytes, 0u);
  EXPECT_LE((double)st.arena_bytes, 0.6 * (double)st.no_reuse_bytes) << "plan written to " << plan;
  EXPECT_GT(st.inplace, 0);
  EXPECT_EQ(st.streams, 1);
  EXPECT_EQ(st.waits, 0);
  EXPECT_EQ(find_clobber(m.g, true), "");
  ag_sched_free(s);
  const ag_sched_opts no_inplace = opts_with(1, 0, 1);
  ASSERT_EQ(ag_sched_new(m.g, &no_inplace, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_get_stats(s).inplace, 0);
  EXPECT_EQ(find_clobber(m.g, false), "");
  ag_sched_free(s);
}

TEST_F(SchedLm, ReuseAndInPlaceAreBitwiseEqualToNoReuse) {
  ag_sched_stats plain{}, planned{};
  const auto a = run_plan(m, opts_with(0, 0, 1), &plain);
  const auto b = run_plan(m, opts_with(1, 1, 1), &planned);
  EXPECT_EQ(plain.inplace, 0);
  EXPECT_EQ(plain.arena_bytes, plain.no_reuse_bytes);
  EXPECT_GT(planned.inplace, 0);
  EXPECT_LT(planned.arena_bytes, plain.arena_bytes);
  expect_bitwise_equal(a, b, "reuse+inplace vs none");
  expect_bitwise_equal(a, run_plan(m, opts_with(1, 0, 1), nullptr), "reuse only vs none");
  expect_bitwise_equal(a, run_plan(m, opts_with(0, 1, 1), nullptr), "inplace only vs none");
}

TEST_F(SchedLm, FourStreamPlanVerifiesAndMatches) {
  const auto one = run_plan(m, opts_with(1, 1, 1), nullptr);
  ag_sched *s = nullptr;
  const ag_sched_opts o = opts_with(1, 1, 4);
  ASSERT_EQ(ag_sched_new(m.g, &o, &s), AG_OK) << ag_last_error();
  const ag_sched_stats st = ag_sched_get_stats(s);
  std::printf("4-stream plan: %d streams, %d waits, arena %zu bytes\n", st.streams, st.waits,
              st.arena_bytes);
  EXPECT_GT(st.streams, 1);
  EXPECT_EQ(ag_sched_verify(s), AG_OK) << ag_last_error();
  write_inputs(m, 1);
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  expect_bitwise_equal(one, loss_and_grads(m.g, m.loss), "4 streams vs 1");
  ag_sched_free(s);
}

// ---- two towers (CLIP-like) ---------------------------------------------

int producer(ag_graph *g, const ag_tensor *t) {
  return ag_graph_value_producer(g, ag_graph_value_index(g, t));
}

class SchedTowers : public ::testing::Test {
 protected:
  void SetUp() override {
    p = ag_params_new(test_backend(), 7);
    ASSERT_NE(p, nullptr) << ag_last_error();
    t = build_towers(test_backend(), p);
    ASSERT_EQ(ag_graph_status(t.g), AG_OK) << ag_graph_error(t.g);
    ASSERT_EQ(ag_backward(t.g, t.loss), AG_OK) << ag_last_error();
  }
  void TearDown() override {
    ag_graph_free(t.g);
    ag_params_free(p);
  }
  Bytes run_once(const ag_sched_opts &o, uint32_t seed) {
    ag_sched *s = nullptr;
    EXPECT_EQ(ag_sched_new(t.g, &o, &s), AG_OK) << ag_last_error();
    if (!s) return {};
    write_inputs(t, seed);
    EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    auto r = loss_and_grads(t.g, t.loss);
    ag_sched_free(s);
    return r;
  }
  ag_params *p = nullptr;
  Towers t;
};

TEST_F(SchedTowers, TowersRunOnTwoStreams) {
  const auto one = run_once(opts_with(1, 1, 1), 3);
  ag_sched *s = nullptr;
  const ag_sched_opts o = opts_with(1, 1, 2);
  ASSERT_EQ(ag_sched_new(t.g, &o, &s), AG_OK) << ag_last_error();
  const int a1 = producer(t.g, t.ha), a2 = producer(t.g, t.ya);
  const int b1 = producer(t.g, t.hb), b2 = producer(t.g, t.yb);
  ASSERT_TRUE(a1 >= 0 && a2 >= 0 && b1 >= 0 && b2 >= 0);
  EXPECT_EQ(ag_sched_node_stream(s, a1), ag_sched_node_stream(s, a2));
  EXPECT_EQ(ag_sched_node_stream(s, b1), ag_sched_node_stream(s, b2));
  EXPECT_NE(ag_sched_node_stream(s, a1), ag_sched_node_stream(s, b1));
  const ag_sched_stats st = ag_sched_get_stats(s);
  EXPECT_EQ(st.streams, 2);
  EXPECT_GT(st.waits, 0);
  EXPECT_EQ(ag_sched_verify(s), AG_OK) << ag_last_error();
  write_inputs(t, 3);
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  expect_bitwise_equal(one, loss_and_grads(t.g, t.loss), "2 streams vs 1");
  ag_sched_free(s);
}

// New inputs on one plan give what a fresh graph and plan give for each.
TEST_F(SchedTowers, RepeatedRunsMatchFreshGraphs) {
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(t.g, nullptr, &s), AG_OK) << ag_last_error();
  for (uint32_t seed = 10; seed < 13; seed++) {
    write_inputs(t, seed);
    ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    const auto reused = loss_and_grads(t.g, t.loss);
    Towers fresh = build_towers(test_backend(), p);
    ASSERT_EQ(ag_backward(fresh.g, fresh.loss), AG_OK) << ag_last_error();
    ag_sched *fs = nullptr;
    ASSERT_EQ(ag_sched_new(fresh.g, nullptr, &fs), AG_OK) << ag_last_error();
    write_inputs(fresh, seed);
    ASSERT_EQ(ag_sched_run(fs), AG_OK) << ag_last_error();
    expect_bitwise_equal(reused, loss_and_grads(fresh.g, fresh.loss), "repeated vs fresh");
    ag_sched_free(fs);
    ag_graph_free(fresh.g);
  }
  EXPECT_EQ(ag_sched_get_stats(s).runs, 3);
  ag_sched_free(s);
  // A new plan of the same graph starts counting again and still runs.
  ASSERT_EQ(ag_sched_new(t.g, nullptr, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_get_stats(s).runs, 0);
  write_inputs(t, 10);
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_get_stats(s).runs, 1);
  ag_sched_free(s);
}

// An intermediate flagged as output keeps exactly the eager result after the
// rest of the graph (its backward included) has reused the arena.
TEST_F(SchedTowers, FlaggedIntermediateKeepsItsValue) {
  ag_graph_free(t.g);
  t = build_towers(test_backend(), p);
  ag_graph_output(t.g, t.ha);
  ASSERT_EQ(ag_backward(t.g, t.loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(t.g, nullptr, &s), AG_OK) << ag_last_error();
  const int64_t hs[2] = {kTowerN, kTowerHid};
  ag_tensor *eager = ag_tensor_new(test_backend(), AG_F32, 2, hs);
  ASSERT_NE(eager, nullptr) << ag_last_error();
  ag_tensor *w = ag_params_find(p, "a.fc1.weight"), *bias = ag_params_find(p, "a.fc1.bias");
  ASSERT_NE(w, nullptr);
  ASSERT_NE(bias, nullptr);
  for (uint32_t seed = 20; seed < 23; seed++) {
    write_inputs(t, seed);
    ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_eager_matmul_bias(eager, t.a, w, bias, ag_matmul_args{0, 1, AG_MATMUL_EPI_GELU}),
              AG_OK)
        << ag_last_error();
    const auto got = read_bytes(t.ha), want = read_bytes(eager);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size()), 0) << "seed " << seed;
  }
  // Another plan's run writes its own intermediates; this plan's output and
  // gradients are untouched by it.
  const auto ha = read_bytes(t.ha);
  const auto grads = loss_and_grads(t.g, t.loss);
  Towers other = build_towers(test_backend(), p);
  ASSERT_EQ(ag_backward(other.g, other.loss), AG_OK) << ag_last_error();
  ag_sched *os = nullptr;
  ASSERT_EQ(ag_sched_new(other.g, nullptr, &os), AG_OK) << ag_last_error();
  write_inputs(other, 99);
  ASSERT_EQ(ag_sched_run(os), AG_OK) << ag_last_error();
  EXPECT_EQ(read_bytes(t.ha), ha);
  expect_bitwise_equal(grads, loss_and_grads(t.g, t.loss), "after another plan ran");
  ag_sched_free(os);
  ag_graph_free(other.g);
  ag_tensor_free(eager);
  ag_sched_free(s);
}

// ---- planning errors ----------------------------------------------------

// A host backend whose kernels lack the unary backward (GELU's among them).
ag_backend *nokernel_backend() {
  static ag_kernel_table table;
  static ag_elementwise_kernels elementwise;
  static ag_backend be;
  static ag_backend *registered = nullptr;
  if (!registered) {
    table = ag_cpu_kernel_table;
    elementwise = ag_cpu_elementwise_kernels;
    elementwise.unary_backward = nullptr;
    table.elementwise = &elementwise;
    if (ag_backend_init_host(&be, "nokernel", AG_DEVICE_CPU, &table) != AG_OK) return nullptr;
    if (ag_backend_register(&be) != AG_OK) return nullptr;
    registered = &be;
  }
  return registered;
}

TEST(SchedErrors, MissingKernelFailsAtPlanning) {
  ag_backend *be = nokernel_backend();
  ASSERT_NE(be, nullptr) << ag_last_error();
  ag_params *p = ag_params_new(be, 1);
  Towers t = build_towers(be, p);
  ASSERT_EQ(ag_graph_status(t.g), AG_OK) << ag_graph_error(t.g);
  // Forward alone needs no GELU backward: plans and runs.
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(t.g, nullptr, &s), AG_OK) << ag_last_error();
  write_inputs(t, 1);
  EXPECT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  ag_sched_free(s);
  // With the backward appended, planning names the op and the backend.
  ASSERT_EQ(ag_backward(t.g, t.loss), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_new(t.g, nullptr, &s), AG_ERR_UNSUPPORTED);
  EXPECT_EQ(s, nullptr);
  const std::string msg = ag_last_error();
  EXPECT_NE(msg.find("gelu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("backward"), std::string::npos) << msg;
  EXPECT_NE(msg.find("nokernel"), std::string::npos) << msg;
  ag_graph_free(t.g);
  ag_params_free(p);
}

TEST(SchedErrors, GraphWithErrorIsRefused) {
  ag_graph *g = ag_graph_new(test_backend());
  const int64_t s2[2] = {2, 3}, s3[2] = {4, 5};
  ag_tensor *a = ag_graph_input(g, "a", AG_F32, 2, s2), *b = ag_graph_input(g, "b", AG_F32, 2, s3);
  EXPECT_EQ(ag_matmul(g, a, b), nullptr);
  ag_sched *s = nullptr;
  EXPECT_NE(ag_sched_new(g, nullptr, &s), AG_OK);
  EXPECT_EQ(s, nullptr);
  ag_graph_free(g);
}

// The fused CUDA attention runs head dims 32, 64 and 128 only, so planning
// refuses head dim 48 there, naming the node, the op and the reason; the CPU
// kernels run any head dim.
TEST(SchedErrors, AttentionHeadDimIsCheckedWhenPlanned) {
  ag_graph *g = ag_graph_new(test_backend());
  const int64_t shape[4] = {1, 2, 5, 48};
  ag_tensor *q = ag_graph_input(g, "q", AG_F32, 4, shape);
  ag_tensor *k = ag_graph_input(g, "k", AG_F32, 4, shape);
  ag_tensor *v = ag_graph_input(g, "v", AG_F32, 4, shape);
  ag_graph_output(g, ag_attention(g, q, k, v, ag_attention_args{}));
  ASSERT_EQ(ag_graph_status(g), AG_OK) << ag_graph_error(g);
  ag_sched *s = nullptr;
#ifdef AG_SCHED_TEST_EMU
  EXPECT_EQ(ag_sched_new(g, nullptr, &s), AG_ERR_UNSUPPORTED);
  EXPECT_EQ(s, nullptr);
  const std::string msg = ag_last_error();
  EXPECT_NE(msg.find("node 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("attention"), std::string::npos) << msg;
  EXPECT_NE(msg.find("head dim 48 (32, 64 or 128 supported)"), std::string::npos) << msg;
#else
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  ag_sched_free(s);
#endif
  ag_graph_free(g);
}

// A graph's values live in its plan's memory, so a second live plan is
// refused; after freeing the first, planning again works.
TEST(SchedErrors, OnePlanAtATime) {
  ag_graph *g = ag_graph_new(test_backend());
  const int64_t n = 4;
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 1, &n);
  ag_graph_output(g, ag_relu(g, ag_scale(g, x, 2.0f)));
  ag_sched *s = nullptr, *t = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  EXPECT_NE(ag_sched_new(g, nullptr, &t), AG_OK);
  EXPECT_NE(std::string(ag_last_error()).find("already has a plan"), std::string::npos)
      << ag_last_error();
  EXPECT_EQ(t, nullptr);
  ag_sched_free(s);
  ASSERT_EQ(ag_sched_new(g, nullptr, &t), AG_OK) << ag_last_error();
  ag_sched_free(t);
  ag_graph_free(g);
}

// Hooks run once per run right after the node writing their value, in the
// order given, see that value already written, and refuse leaves.
struct HookLog {
  std::vector<std::string> calls;
  const ag_tensor *watched;
  float seen;
};

ag_status hook_a(void *user, void *) {
  auto *log = static_cast<HookLog *>(user);
  float v = 0;
  log->calls.push_back("a");
  if (ag_tensor_read(log->watched, &v, sizeof v) != AG_OK) return AG_ERR_IO;
  log->seen = v;
  return AG_OK;
}

ag_status hook_b(void *user, void *) {
  static_cast<HookLog *>(user)->calls.push_back("b");
  return AG_OK;
}

ag_status hook_fail(void *, void *) { return ag_set_error(AG_ERR_IO, "hook says no"); }

TEST(SchedHooks, RunAfterTheWriterInOrderOncePerRun) {
  ag_graph *g = ag_graph_new(test_backend());
  const int64_t n = 1;
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 1, &n);
  ag_tensor *y = ag_graph_output(g, ag_scale(g, x, 3.0f));
  ag_graph_output(g, ag_relu(g, y));
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  HookLog log{{}, y, 0.0f};
  EXPECT_NE(ag_sched_on_written(s, x, hook_a, &log), AG_OK) << "an input has no writer";
  ASSERT_EQ(ag_sched_on_written(s, y, hook_a, &log), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_on_written(s, y, hook_b, &log), AG_OK) << ag_last_error();
  for (int run = 1; run <= 3; run++) {
    const float v = (float)run;
    ASSERT_EQ(ag_tensor_write(x, &v, sizeof v), AG_OK);
    ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    EXPECT_EQ(log.seen, 3.0f * v) << "the hook sees the written value";
  }
  EXPECT_EQ(log.calls, (std::vector<std::string>{"a", "b", "a", "b", "a", "b"}));
  EXPECT_EQ(ag_sched_get_stats(s).captured, 0) << "hooks are never captured";
  EXPECT_NE(ag_sched_on_written(s, y, hook_b, &log), AG_OK) << "added after the first run";
  ag_sched_free(s);
  ag_graph_free(g);
}

TEST(SchedHooks, AFailingHookStopsTheRun) {
  ag_graph *g = ag_graph_new(test_backend());
  const int64_t n = 1;
  ag_tensor *x = ag_graph_input(g, "x", AG_F32, 1, &n);
  ag_tensor *y = ag_graph_output(g, ag_scale(g, x, 3.0f));
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_on_written(s, y, hook_fail, nullptr), AG_OK) << ag_last_error();
  const float v = 1.0f;
  ASSERT_EQ(ag_tensor_write(x, &v, sizeof v), AG_OK);
  EXPECT_EQ(ag_sched_run(s), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("hook says no"), std::string::npos)
      << ag_last_error();
  ag_sched_free(s);
  ag_graph_free(g);
}

}  // namespace
