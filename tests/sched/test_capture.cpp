// The scheduler's CUDA-graph path, run on the "capture" backend (CPU kernels
// behind an emulation of CUDA stream capture, backend_capture.h): the first
// run launches directly, the second captures and replays, later runs replay;
// every run is bitwise equal to the same graph on the CPU backend with the
// same (new each run) inputs. Also: capture off, a two-stream plan, a launch
// failing mid-capture, and the backend's own capture rules.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "sched_models.h"

extern "C" {
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
#include "runtime/ops/matmul.h"
#include "sched/backend_capture.h"
}

namespace {

using namespace sched_test;

ag_backend *capture_backend() {
  ag_backend *be = ag_backend_capture();
  EXPECT_NE(be, nullptr) << ag_last_error();
  return be;
}

// Both backends initialise parameters with the same CPU kernels and seed.
void expect_same_params(ag_params *a, ag_params *b) {
  ASSERT_EQ(ag_params_count(a), ag_params_count(b));
  for (int i = 0; i < ag_params_count(a); i++)
    EXPECT_EQ(read_bytes(ag_params_tensor(a, i)), read_bytes(ag_params_tensor(b, i)))
        << ag_params_name(a, i);
}

ag_capture_counters delta(const ag_capture_counters &after, const ag_capture_counters &before) {
  return {after.kernels_run - before.kernels_run,
          after.kernels_replayed - before.kernels_replayed,
          after.kernels_recorded - before.kernels_recorded,
          after.kernels_in_capture - before.kernels_in_capture,
          after.copies_recorded - before.copies_recorded,
          after.captures - before.captures,
          after.graphs - before.graphs,
          after.replays - before.replays,
          after.live_graphs - before.live_graphs};
}

// What one run did on the capture backend, given its number (1-based) and
// whether the plan captures: run 1 launches directly, run 2 captures every
// kernel without running any and replays once, later runs only replay.
void expect_run_counters(const ag_capture_counters &d, int run, bool graphs, int kernels) {
  const bool captures = graphs && run == 2, replays = graphs && run >= 2;
  SCOPED_TRACE("run " + std::to_string(run));
  EXPECT_EQ(d.captures, captures ? 1 : 0);
  EXPECT_EQ(d.graphs, captures ? 1 : 0);
  EXPECT_EQ(d.kernels_recorded, captures ? kernels : 0);
  EXPECT_EQ(d.kernels_in_capture, 0) << "a kernel ran while the capture was open";
  EXPECT_EQ(d.replays, replays ? 1 : 0);
  EXPECT_EQ(d.kernels_replayed, replays ? kernels : 0);
  EXPECT_EQ(d.kernels_run, kernels) << "every kernel runs exactly once per run";
}

// One graph built twice: on the CPU backend (the reference) and on the
// capture backend, from parameters with the same seed.
template <class Model>
struct Pair {
  ag_params *cpu_p = nullptr, *cap_p = nullptr;
  Model cpu, cap;
};

// ---- the training steps: 2 transformer blocks + LM head, or two towers ----

constexpr LmShape kLm = {2, 16, 32, 16, 2, 2};

// The training steps compared: the graph plus its backward.
Lm lm_step(ag_backend *be, ag_params *p) {
  Lm m = build_lm(be, p, kLm);
  EXPECT_EQ(ag_backward(m.g, m.loss), AG_OK) << ag_last_error();
  return m;
}

Towers towers_step(ag_backend *be, ag_params *p) {
  Towers t = build_towers(be, p);
  EXPECT_EQ(ag_backward(t.g, t.loss), AG_OK) << ag_last_error();
  return t;
}

template <class Model>
Pair<Model> make_pair(Model (*build)(ag_backend *, ag_params *), uint64_t seed) {
  Pair<Model> p;
  p.cpu_p = ag_params_new(ag_backend_cpu(), seed);
  p.cap_p = ag_params_new(capture_backend(), seed);
  EXPECT_TRUE(p.cpu_p && p.cap_p) << ag_last_error();
  if (!p.cpu_p || !p.cap_p) return p;
  p.cpu = build(ag_backend_cpu(), p.cpu_p);
  p.cap = build(capture_backend(), p.cap_p);
  expect_same_params(p.cpu_p, p.cap_p);
  return p;
}

template <class Model>
void free_pair(Pair<Model> &p) {
  ag_graph_free(p.cpu.g);
  ag_graph_free(p.cap.g);
  ag_params_free(p.cpu_p);
  ag_params_free(p.cap_p);
}

// Runs both plans `runs` times with new inputs each run, checking after every
// run the capture backend's counters, the plan's stats and bitwise equality.
template <class Model>
void run_and_compare(Pair<Model> &p, const ag_sched_opts &cap_opts, int runs) {
  const bool graphs = cap_opts.cuda_graph != 0;
  ag_sched *cpu_s = nullptr, *cap_s = nullptr;
  ASSERT_EQ(ag_sched_new(p.cpu.g, nullptr, &cpu_s), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_new(p.cap.g, &cap_opts, &cap_s), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_verify(cap_s), AG_OK) << ag_last_error();
  const int kernels = ag_sched_get_stats(cap_s).kernels;
  const ag_capture_counters start = ag_capture_get_counters(capture_backend());
  Bytes previous;
  for (int run = 1; run <= runs; run++) {
    const uint32_t seed = 100u + (uint32_t)run;
    write_inputs(p.cpu, seed);
    write_inputs(p.cap, seed);
    ASSERT_EQ(ag_sched_run(cpu_s), AG_OK) << ag_last_error();
    const ag_capture_counters before = ag_capture_get_counters(capture_backend());
    ASSERT_EQ(ag_sched_run(cap_s), AG_OK) << "run " << run << ": " << ag_last_error();
    expect_run_counters(delta(ag_capture_get_counters(capture_backend()), before), run, graphs,
                        kernels);
    EXPECT_FALSE(ag_capture_is_open(capture_backend()));
    const ag_sched_stats st = ag_sched_get_stats(cap_s);
    EXPECT_EQ(st.captured, graphs && run >= 2 ? 1 : 0) << "run " << run;
    EXPECT_EQ(st.runs, run);
    const Bytes want = loss_and_grads(p.cpu.g, p.cpu.loss),
                got = loss_and_grads(p.cap.g, p.cap.loss);
    expect_bitwise_equal(want, got, "run " + std::to_string(run) + " vs the CPU backend");
    // New inputs change the loss, so equality above means the run read them.
    EXPECT_NE(got[0], previous.empty() ? std::vector<unsigned char>{} : previous[0]);
    previous = got;
  }
  const ag_capture_counters total = delta(ag_capture_get_counters(capture_backend()), start);
  EXPECT_EQ(total.captures, graphs ? 1 : 0) << "captured once, never again";
  EXPECT_EQ(total.live_graphs, graphs ? 1 : 0) << "the plan holds its graph";
  ag_sched_free(cap_s);
  ag_sched_free(cpu_s);
  EXPECT_EQ(delta(ag_capture_get_counters(capture_backend()), start).live_graphs, 0)
      << "ag_sched_free destroys the graph";
}

TEST(SchedCapture, TrainingStepCapturesOnSecondRunAndReplaysAfter) {
  auto p = make_pair(lm_step, 42);
  run_and_compare(p, ag_sched_defaults(), 5);
  free_pair(p);
}

TEST(SchedCapture, NothingIsCapturedWhenGraphsAreOff) {
  auto p = make_pair(lm_step, 42);
  ag_sched_opts o = ag_sched_defaults();
  o.cuda_graph = 0;
  run_and_compare(p, o, 4);
  free_pair(p);
}

TEST(SchedCapture, TwoStreamPlanCapturesAndReplays) {
  auto p = make_pair(towers_step, 7);
  ag_sched_opts o = ag_sched_defaults();
  o.max_streams = 2;
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(p.cap.g, &o, &s), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_sched_get_stats(s).streams, 2);
  EXPECT_GT(ag_sched_get_stats(s).waits, 0);
  ag_sched_free(s);
  run_and_compare(p, o, 5);
  free_pair(p);
}

// A launch failing while the second run is captured: the run returns that
// error naming the node, no graph is kept and no capture is left open; the
// next run captures afresh and matches the CPU backend.
void fail_during_capture(int streams) {
  auto p = make_pair(towers_step, 9);
  ag_backend *be = capture_backend();
  ag_sched_opts o = ag_sched_defaults();
  o.max_streams = streams;
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(p.cap.g, &o, &s), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_sched_get_stats(s).streams, streams);
  // The node producing tower b's output: on the side stream of a 2-stream plan.
  const int node = ag_graph_value_producer(p.cap.g, ag_graph_value_index(p.cap.g, p.cap.yb));
  ASSERT_GE(node, 0);
  if (streams > 1) {
    ASSERT_NE(ag_sched_node_stream(s, node), 0) << "not on the side stream";
  }
  const ag_op op = ag_graph_node(p.cap.g, node)->op;
  int skip = 0;  // earlier forward launches of the same op
  for (int n = 0; n < node; n++) {
    const ag_node *earlier = ag_graph_node(p.cap.g, n);
    skip += earlier->kind == AG_NODE_FORWARD && earlier->op == op;
  }
  write_inputs(p.cap, 1);
  ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  const ag_capture_counters before = ag_capture_get_counters(be);
  ag_capture_fail_launch(be, op, 0, skip);
  write_inputs(p.cap, 2);
  EXPECT_EQ(ag_sched_run(s), AG_ERR_KERNEL);
  const std::string msg = ag_last_error();
  EXPECT_NE(msg.find("injected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node " + std::to_string(node)), std::string::npos) << msg;
  const ag_capture_counters d = delta(ag_capture_get_counters(be), before);
  EXPECT_EQ(d.captures, 1);
  EXPECT_EQ(d.graphs, 0);
  EXPECT_EQ(d.live_graphs, 0);
  EXPECT_EQ(d.replays, 0);
  EXPECT_EQ(d.kernels_run, 0) << "nothing ran: the capture recorded, then failed";
  EXPECT_FALSE(ag_capture_is_open(be));
  EXPECT_EQ(ag_sched_get_stats(s).captured, 0);
  EXPECT_EQ(ag_sched_get_stats(s).runs, 1);
  // A new capture can begin (and be discarded) on the backend.
  void *stream = nullptr;
  ASSERT_EQ(be->stream_create(be, &stream), AG_OK);
  EXPECT_EQ(be->capture_begin(be, stream), AG_OK) << ag_last_error();
  EXPECT_EQ(be->capture_end(be, stream, nullptr), AG_OK) << ag_last_error();
  be->stream_destroy(be, stream);
  // The plan captures again on its next run, and it is right.
  for (uint32_t seed = 3; seed < 5; seed++) {
    write_inputs(p.cap, seed);
    write_inputs(p.cpu, seed);
    ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_sched_get_stats(s).captured, 1);
    ag_sched *cpu_s = nullptr;
    ASSERT_EQ(ag_sched_new(p.cpu.g, nullptr, &cpu_s), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_sched_run(cpu_s), AG_OK) << ag_last_error();
    expect_bitwise_equal(loss_and_grads(p.cpu.g, p.cpu.loss), loss_and_grads(p.cap.g, p.cap.loss),
                         "after a failed capture, seed " + std::to_string(seed));
    ag_sched_free(cpu_s);
  }
  EXPECT_EQ(delta(ag_capture_get_counters(be), before).graphs, 1);
  ag_sched_free(s);
  free_pair(p);
}

TEST(SchedCapture, LaunchFailingMidCaptureIsDiscarded) { fail_during_capture(1); }

TEST(SchedCapture, SideStreamLaunchFailingMidCaptureIsDiscarded) { fail_during_capture(2); }

// ---- the backend's capture rules, directly ------------------------------

class CaptureBackend : public ::testing::Test {
 protected:
  void SetUp() override {
    be = capture_backend();
    ASSERT_NE(be, nullptr);
    ASSERT_EQ(be->stream_create(be, &s0), AG_OK);
    ASSERT_EQ(be->stream_create(be, &s1), AG_OK);
    ASSERT_EQ(be->event_create(be, &ev, 0), AG_OK);
  }
  void TearDown() override {
    EXPECT_FALSE(ag_capture_is_open(be));
    be->event_destroy(be, ev);
    be->stream_destroy(be, s1);
    be->stream_destroy(be, s0);
  }
  ag_backend *be = nullptr;
  void *s0 = nullptr, *s1 = nullptr, *ev = nullptr;
};

TEST_F(CaptureBackend, BeginTwiceAndMisusedEndAreErrors) {
  EXPECT_NE(be->capture_begin(be, nullptr), AG_OK) << "the default stream is not capturable";
  ASSERT_EQ(be->capture_begin(be, s0), AG_OK) << ag_last_error();
  EXPECT_EQ(be->capture_begin(be, s1), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("already open"), std::string::npos);
  EXPECT_NE(be->synchronize(be, nullptr), AG_OK) << "device sync during capture";
  EXPECT_NE(be->capture_end(be, s1, nullptr), AG_OK) << "ended on the wrong stream";
  EXPECT_TRUE(ag_capture_is_open(be));
  EXPECT_EQ(be->capture_end(be, s0, nullptr), AG_OK) << ag_last_error();
  EXPECT_NE(be->capture_end(be, s0, nullptr), AG_OK) << "nothing open";
}

// Copies and memsets on a capturing stream are recorded, not done, and are
// redone (reading the source as it is then) at every replay.
TEST_F(CaptureBackend, CopiesAndMemsetsAreRecordedAndReplayed) {
  float src[4] = {1, 2, 3, 4}, dst[4] = {0, 0, 0, 0}, zero[4] = {0, 0, 0, 0};
  ASSERT_EQ(be->capture_begin(be, s0), AG_OK) << ag_last_error();
  ASSERT_EQ(be->memset(be, dst, 0x7f, sizeof dst, s0), AG_OK);
  ASSERT_EQ(be->copy(be, dst, src, sizeof dst, AG_COPY_D2D, s0), AG_OK);
  EXPECT_EQ(std::memcmp(dst, zero, sizeof dst), 0) << "recorded work must not run";
  void *graph = nullptr;
  ASSERT_EQ(be->capture_end(be, s0, &graph), AG_OK) << ag_last_error();
  ASSERT_NE(graph, nullptr);
  ASSERT_EQ(be->graph_launch(be, graph, s0), AG_OK) << ag_last_error();
  EXPECT_EQ(std::memcmp(dst, src, sizeof dst), 0);
  src[2] = 9;
  ASSERT_EQ(be->graph_launch(be, graph, s0), AG_OK) << ag_last_error();
  EXPECT_EQ(dst[2], 9.0f);
  be->graph_destroy(be, graph);
}

// A side stream pulled into a capture through an event must be joined back.
TEST_F(CaptureBackend, UnjoinedSideStreamFailsTheCapture) {
  float src[2] = {1, 2}, dst[2] = {0, 0};
  for (bool join : {false, true}) {
    SCOPED_TRACE(join ? "joined" : "unjoined");
    ASSERT_EQ(be->capture_begin(be, s0), AG_OK) << ag_last_error();
    ASSERT_EQ(be->event_record(be, ev, s0), AG_OK);
    ASSERT_EQ(be->stream_wait_event(be, s1, ev), AG_OK);
    ASSERT_EQ(be->copy(be, dst, src, sizeof dst, AG_COPY_D2D, s1), AG_OK);
    EXPECT_EQ(dst[0], 0.0f) << "the side stream is capturing";
    if (join) {
      ASSERT_EQ(be->event_record(be, ev, s1), AG_OK);
      ASSERT_EQ(be->stream_wait_event(be, s0, ev), AG_OK);
    }
    void *graph = nullptr;
    const ag_status st = be->capture_end(be, s0, &graph);
    EXPECT_FALSE(ag_capture_is_open(be));
    if (!join) {
      EXPECT_EQ(st, AG_ERR_DEVICE);
      EXPECT_NE(std::string(ag_last_error()).find("unjoined"), std::string::npos);
      EXPECT_EQ(graph, nullptr);
      continue;
    }
    ASSERT_EQ(st, AG_OK) << ag_last_error();
    ASSERT_EQ(be->graph_launch(be, graph, s0), AG_OK) << ag_last_error();
    EXPECT_EQ(dst[1], 2.0f);
    be->graph_destroy(be, graph);
  }
}

}  // namespace
