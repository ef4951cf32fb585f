// The scheduler on a real GPU, each plan compared bit for bit with the same
// training step planned on one stream without capture on the same device:
//   - several CUDA streams joined by event waits (capture off), so a missing
//     or misplaced wait shows up as a race the emulator cannot have;
//   - the default CUDA plan (up to 4 streams, captured into a CUDA graph on
//     its second run and replayed after), with new inputs every run, so a
//     replay that read stale inputs or skipped a node would differ.
// Both steps are the 4-layer transformer LM of tests/sched/test_sched.cpp.
// Skipped, with the reason, where no device answers (tests/gpu_main.cpp).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "sched_models.h"

extern "C" {
#include "runtime/backends/ag_backend.h"
}

namespace {

using namespace sched_test;

constexpr LmShape kLm = {4, 64, 128, 64, 4, 4};

ag_backend *cuda_backend() {
  ag_backend *be = nullptr;
  EXPECT_EQ(ag_backend_select("cuda", &be, nullptr, 0), AG_OK) << ag_last_error();
  return be;
}

ag_sched_opts one_stream_no_capture() {
  ag_sched_opts o = ag_sched_defaults();
  o.max_streams = 1;
  o.cuda_graph = 0;
  return o;
}

// One training step (the LM and its backward) on its own parameters; two of
// them from the same seed start from the same bytes, so each can have a plan.
struct Step {
  ag_params *p = nullptr;
  Lm m;
  ag_sched *s = nullptr;

  Step(ag_backend *be, uint64_t seed) {
    p = ag_params_new(be, seed);
    EXPECT_NE(p, nullptr) << ag_last_error();
    if (!p) return;
    m = build_lm(be, p, kLm);
    EXPECT_EQ(ag_graph_status(m.g), AG_OK) << ag_graph_error(m.g);
    EXPECT_EQ(ag_backward(m.g, m.loss), AG_OK) << ag_last_error();
  }
  ~Step() {
    ag_sched_free(s);
    ag_graph_free(m.g);
    ag_params_free(p);
  }
  Step(const Step &) = delete;
  Step &operator=(const Step &) = delete;

  void plan(const ag_sched_opts &o) {
    ASSERT_EQ(ag_sched_new(m.g, &o, &s), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_sched_verify(s), AG_OK) << ag_last_error();
  }
};

// Plans `ref` on one stream without capture and `got` with `opts` (which
// must use several streams joined by events), then runs both `runs` times
// with new inputs each run and compares the loss and every gradient bitwise
// after each run. With capture on, `got`'s first run launches directly, its
// second captures and replays, and later runs only replay.
void run_and_compare(const ag_sched_opts &opts, int runs) {
  ag_backend *be = cuda_backend();
  ASSERT_NE(be, nullptr);
  Step ref(be, 42), got(be, 42);
  ASSERT_TRUE(ref.p && got.p);
  ASSERT_EQ(ag_params_count(ref.p), ag_params_count(got.p));
  for (int i = 0; i < ag_params_count(ref.p); i++)
    ASSERT_EQ(read_bytes(ag_params_tensor(ref.p, i)), read_bytes(ag_params_tensor(got.p, i)))
        << "same seed, different initial " << ag_params_name(ref.p, i);
  ASSERT_NO_FATAL_FAILURE(ref.plan(one_stream_no_capture()));
  ASSERT_NO_FATAL_FAILURE(got.plan(opts));
  const ag_sched_stats one = ag_sched_get_stats(ref.s), st = ag_sched_get_stats(got.s);
  std::printf("compared plan: %d streams, %d waits, %d kernels, capture %s\n", st.streams,
              st.waits, st.kernels, opts.cuda_graph ? "on" : "off");
  ASSERT_EQ(one.streams, 1);
  EXPECT_GT(st.streams, 1) << "the plan must really use several streams";
  EXPECT_GT(st.waits, 0) << "and join them with events";
  std::vector<unsigned char> previous_loss;
  for (int run = 1; run <= runs; run++) {
    SCOPED_TRACE("run " + std::to_string(run));
    const uint32_t seed = 100u + (uint32_t)run;
    write_inputs(ref.m, seed);
    write_inputs(got.m, seed);
    ASSERT_EQ(ag_sched_run(ref.s), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_sched_run(got.s), AG_OK) << ag_last_error();
    EXPECT_EQ(ag_sched_get_stats(ref.s).captured, 0);
    EXPECT_EQ(ag_sched_get_stats(got.s).captured, opts.cuda_graph && run >= 2 ? 1 : 0);
    EXPECT_EQ(ag_sched_get_stats(got.s).runs, run);
    const Bytes want = loss_and_grads(ref.m.g, ref.m.loss),
                have = loss_and_grads(got.m.g, got.m.loss);
    expect_bitwise_equal(want, have, "vs one stream without capture");
    // New inputs change the loss, so equality above means the run read them.
    EXPECT_NE(have[0], previous_loss);
    previous_loss = have[0];
  }
}

TEST(SchedGpu, StreamsWithEventWaitsMatchOneStreamBitwise) {
  ag_sched_opts o = ag_sched_defaults();
  o.max_streams = 4;
  o.cuda_graph = 0;
  run_and_compare(o, 3);
}

// The default CUDA plan: up to 4 streams, captured on the second run.
TEST(SchedGpu, CapturedGraphReplaysMatchOneStreamBitwise) {
  const ag_sched_opts o = ag_sched_defaults();
  ASSERT_TRUE(o.cuda_graph);
  run_and_compare(o, 4);
}

}  // namespace
