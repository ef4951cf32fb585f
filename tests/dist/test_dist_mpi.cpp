// The communicator over two ranks (run under `mpirun -np 2`): every
// collective on the CPU backend (MPI), on the emulated backend with NCCL's
// stand-in and with MPI, in the dtypes each takes, with values that differ
// per rank and results that must be exact (small integers and halves add
// exactly in every dtype and any order); the all-gather op forward and
// backward in a planned graph; the host helpers; bad input.
//
// One CPU communicator stays open for the whole run (the environment below),
// so MPI is not finalised while the tests open and close others.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dist_test_util.h"

extern "C" {
#include "runtime/backends/ag_backend_emu.h"
#include "runtime/dist/ag_comm.h"
#include "runtime/graph/ag_graph.h"
#include "runtime/sched/ag_sched.h"
}

using ag_dist_test::tensor_of;
using ag_dist_test::values_of;

namespace {

constexpr double kTimeout = 20.0;
ag_comm *g_cpu = nullptr;

class CpuCommEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const ag_comm_opts o = {AG_COMM_MPI, kTimeout};
    ASSERT_EQ(ag_comm_open(ag_backend_cpu(), &o, &g_cpu), AG_OK) << ag_last_error();
  }
  void TearDown() override { ag_comm_close(g_cpu); }
};
const auto *const g_env = ::testing::AddGlobalTestEnvironment(new CpuCommEnvironment);

// Rank r's element i: a small integer, distinct per rank.
double value(int r, int64_t i) { return (double)(i % 7) + 1.0 + 10.0 * r; }
// Halves whose average over two ranks is a half too.
double half_value(int r, int64_t i) { return 0.5 * (double)(i % 5) + 3.0 * r; }

std::vector<double> values(int r, int64_t n, double (*f)(int, int64_t)) {
  std::vector<double> v((size_t)n);
  for (int64_t i = 0; i < n; i++) v[(size_t)i] = f(r, i);
  return v;
}

struct Variant {
  const char *name;
  bool emu;
  ag_comm_kind kind;
  ag_dtype dtype;
};

std::string variant_name(const ::testing::TestParamInfo<Variant> &info) {
  return info.param.name;
}

// Tensors freed at the end of a test.
struct Tensors {
  std::vector<ag_tensor *> all;
  ag_tensor *add(ag_tensor *t) {
    all.push_back(t);
    return t;
  }
  ~Tensors() {
    for (ag_tensor *t : all) ag_tensor_free(t);
  }
};

class Collectives : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    const Variant &v = GetParam();
    dt = v.dtype;
    if (!v.emu) {
      be = ag_backend_cpu();
      comm = g_cpu;
      return;
    }
    be = ag_backend_emu();
    ASSERT_NE(be, nullptr);
    const ag_comm_opts o = {v.kind, kTimeout};
    ASSERT_EQ(ag_comm_open(be, &o, &own), AG_OK) << ag_last_error();
    comm = own;
  }
  void TearDown() override { ag_comm_close(own); }

  ag_tensor *make(const std::vector<double> &v) { return ts.add(tensor_of(be, dt, v)); }
  ag_tensor *zeros(int64_t n) { return make(std::vector<double>((size_t)n, 0.0)); }
  bool is_float() const { return dt != AG_I32; }

  ag_backend *be = nullptr;
  ag_comm *comm = nullptr, *own = nullptr;
  ag_dtype dt = AG_F32;
  Tensors ts;
};

TEST_P(Collectives, Identity) {
  EXPECT_EQ(ag_comm_world(comm), 2);
  EXPECT_EQ(ag_comm_kind_of(comm), GetParam().kind);
  EXPECT_EQ(ag_comm_backend(comm), be);
  const ag_comm_env env = ag_comm_env_read();
  EXPECT_TRUE(env.launched);
  EXPECT_EQ(env.world, 2);
  EXPECT_EQ(env.rank, ag_comm_rank(comm));
  EXPECT_EQ(env.local_rank, ag_comm_rank(comm));  // one node
}

TEST_P(Collectives, AllReduceSum) {
  const int r = ag_comm_rank(comm);
  for (int64_t n : {37, 3000}) {
    ag_tensor *src = make(values(r, n, value)), *dst = zeros(n);
    ASSERT_EQ(ag_comm_all_reduce(comm, dst, src, AG_COMM_SUM, nullptr), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
    const std::vector<double> got = values_of(dst);
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(got[(size_t)i], value(0, i) + value(1, i)) << i;
    EXPECT_EQ(values_of(src), values(r, n, value)) << "the source is unchanged";
  }
}

TEST_P(Collectives, AllReduceInPlace) {
  const int r = ag_comm_rank(comm);
  ag_tensor *t = make(values(r, 64, value));
  ASSERT_EQ(ag_comm_all_reduce(comm, t, t, AG_COMM_SUM, nullptr), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  const std::vector<double> got = values_of(t);
  for (int64_t i = 0; i < 64; i++) ASSERT_EQ(got[(size_t)i], value(0, i) + value(1, i)) << i;
}

TEST_P(Collectives, AllReduceAvg) {
  const int r = ag_comm_rank(comm);
  ag_tensor *src = make(values(r, 45, half_value)), *dst = zeros(45);
  ag_status st = ag_comm_all_reduce(comm, dst, src, AG_COMM_AVG, nullptr);
  if (!is_float()) {
    EXPECT_EQ(st, AG_ERR_UNSUPPORTED);
    EXPECT_NE(std::string(ag_last_error()).find("i32"), std::string::npos) << ag_last_error();
    return;
  }
  ASSERT_EQ(st, AG_OK) << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  const std::vector<double> got = values_of(dst);
  for (int64_t i = 0; i < 45; i++)
    ASSERT_EQ(got[(size_t)i], 0.5 * (half_value(0, i) + half_value(1, i))) << i;
}

TEST_P(Collectives, BroadcastFromRank1) {
  const int r = ag_comm_rank(comm);
  ag_tensor *t = make(values(r, 50, value));
  ASSERT_EQ(ag_comm_broadcast(comm, t, 1, nullptr), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(t), values(1, 50, value));
}

TEST_P(Collectives, AllGather) {
  const int r = ag_comm_rank(comm);
  const int64_t n = 29;
  ag_tensor *src = make(values(r, n, value)), *dst = zeros(2 * n);
  ASSERT_EQ(ag_comm_all_gather(comm, dst, src, nullptr), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  std::vector<double> want = values(0, n, value), second = values(1, n, value);
  want.insert(want.end(), second.begin(), second.end());
  EXPECT_EQ(values_of(dst), want);
}

TEST_P(Collectives, ReduceScatter) {
  const int r = ag_comm_rank(comm);
  const int64_t n = 33;
  ag_tensor *src = make(values(r, 2 * n, value)), *dst = zeros(n);
  ASSERT_EQ(ag_comm_reduce_scatter(comm, dst, src, AG_COMM_SUM, nullptr), AG_OK)
      << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  std::vector<double> got = values_of(dst);
  for (int64_t i = 0; i < n; i++)
    ASSERT_EQ(got[(size_t)i], value(0, r * n + i) + value(1, r * n + i)) << i;
  if (!is_float()) return;
  ag_tensor *halves = make(values(r, 2 * n, half_value));
  ASSERT_EQ(ag_comm_reduce_scatter(comm, dst, halves, AG_COMM_AVG, nullptr), AG_OK)
      << ag_last_error();
  ASSERT_EQ(ag_comm_synchronize(comm, nullptr), AG_OK) << ag_last_error();
  got = values_of(dst);
  for (int64_t i = 0; i < n; i++)
    ASSERT_EQ(got[(size_t)i], 0.5 * (half_value(0, r * n + i) + half_value(1, r * n + i))) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Dist, Collectives,
    ::testing::Values(Variant{"cpu_mpi_f32", false, AG_COMM_MPI, AG_F32},
                      Variant{"cpu_mpi_bf16", false, AG_COMM_MPI, AG_BF16},
                      Variant{"cpu_mpi_f16", false, AG_COMM_MPI, AG_F16},
                      Variant{"cpu_mpi_i32", false, AG_COMM_MPI, AG_I32},
                      Variant{"emu_nccl_f32", true, AG_COMM_NCCL, AG_F32},
                      Variant{"emu_nccl_bf16", true, AG_COMM_NCCL, AG_BF16},
                      Variant{"emu_nccl_i32", true, AG_COMM_NCCL, AG_I32},
                      Variant{"emu_mpi_f32", true, AG_COMM_MPI, AG_F32}),
    variant_name);

// y = all_gather(x, 2) of each rank's x [3, 4]; loss = sum(y * c) with the
// same c on every rank. Forward: y is x of rank 0 over x of rank 1.
// Backward: dL/dy = c on both ranks, so rank r's dx is the sum over ranks of
// c's rows [3r, 3r + 3): 2 * c there.
void check_all_gather_graph(ag_backend *be, int rank) {
  const int64_t xs[2] = {3, 4}, n = 24;
  std::vector<double> xv(12), cv(24);
  for (int i = 0; i < 12; i++) xv[(size_t)i] = 0.25 * i - 1.0 + 4.0 * rank;
  for (int i = 0; i < 24; i++) cv[(size_t)i] = 0.5 * (i % 6) - 1.0;
  Tensors ts;
  ag_tensor *x = ts.add(ag_tensor_reshape(ts.add(tensor_of(be, AG_F32, xv)), 2, xs));
  const int64_t cs[2] = {6, 4};
  ag_tensor *c = ts.add(ag_tensor_reshape(ts.add(tensor_of(be, AG_F32, cv)), 2, cs));
  ASSERT_NE(x, nullptr);
  ASSERT_NE(c, nullptr);
  ag_graph *g = ag_graph_new(be);
  ag_tensor *y = ag_graph_output(g, ag_all_gather(g, ag_graph_param(g, x), 2));
  ag_tensor *prod = ag_reshape(g, ag_mul(g, y, ag_graph_const(g, c)), 1, &n);
  ag_tensor *loss = ag_graph_output(g, ag_sum(g, prod, 0, 1));
  ASSERT_EQ(ag_graph_status(g), AG_OK) << ag_graph_error(g);
  ASSERT_EQ(ag_backward(g, loss), AG_OK) << ag_last_error();
  ag_sched *s = nullptr;
  ASSERT_EQ(ag_sched_new(g, nullptr, &s), AG_OK) << ag_last_error();
  for (int run = 0; run < 2; run++) ASSERT_EQ(ag_sched_run(s), AG_OK) << ag_last_error();
  const std::vector<double> got_y = values_of(y), gx = values_of(ag_graph_grad(g, x));
  double want_loss = 0.0;
  for (int i = 0; i < 24; i++) {
    const double yi = 0.25 * (i % 12) - 1.0 + 4.0 * (i / 12);
    ASSERT_EQ(got_y[(size_t)i], yi) << i;
    want_loss += yi * cv[(size_t)i];
  }
  EXPECT_NEAR(values_of(loss)[0], want_loss, 1e-5);
  for (int i = 0; i < 12; i++) ASSERT_EQ(gx[(size_t)i], 2.0 * cv[(size_t)(12 * rank + i)]) << i;
  ag_sched_free(s);
  ag_graph_free(g);
}

TEST(AllGatherOp, CpuMpi) { check_all_gather_graph(ag_backend_cpu(), ag_comm_rank(g_cpu)); }

TEST(AllGatherOp, EmuNccl) {
  ag_comm *c = nullptr;
  const ag_comm_opts o = {AG_COMM_NCCL, kTimeout};
  ASSERT_EQ(ag_comm_open(ag_backend_emu(), &o, &c), AG_OK) << ag_last_error();
  check_all_gather_graph(ag_backend_emu(), ag_comm_rank(c));
  ag_comm_close(c);
}

// Auto picks nccl on the emulated backend when launched with two ranks.
TEST(Comm, AutoOnEmuIsNccl) {
  ag_comm *c = nullptr;
  ASSERT_EQ(ag_comm_open(ag_backend_emu(), nullptr, &c), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_comm_kind_of(c), AG_COMM_NCCL);
  EXPECT_EQ(ag_comm_world(c), 2);
  ag_comm_close(c);
}

TEST(Comm, HostHelpers) {
  const int r = ag_comm_rank(g_cpu);
  char msg[32] = {0};
  std::snprintf(msg, sizeof msg, "from rank %d", r);
  ASSERT_EQ(ag_comm_broadcast_host(g_cpu, msg, sizeof msg, 1), AG_OK) << ag_last_error();
  EXPECT_STREQ(msg, "from rank 1");
  double v = r + 0.25;
  ASSERT_EQ(ag_comm_sum_host(g_cpu, &v), AG_OK) << ag_last_error();
  EXPECT_EQ(v, 1.5);
  EXPECT_EQ(ag_comm_barrier(g_cpu), AG_OK) << ag_last_error();
}

void expect_error(ag_status st, ag_status want, const char *text) {
  EXPECT_EQ(st, want) << ag_last_error();
  EXPECT_NE(std::string(ag_last_error()).find(text), std::string::npos) << ag_last_error();
}

// Every check below fails before any rank communicates, the same way on
// both, so the ranks stay in step.
TEST(Comm, BadInput) {
  Tensors ts;
  ag_tensor *a = ts.add(tensor_of(ag_backend_cpu(), AG_F32, std::vector<double>(10, 1.0)));
  ag_tensor *b = ts.add(tensor_of(ag_backend_cpu(), AG_F32, std::vector<double>(15, 1.0)));
  ag_tensor *k = ts.add(tensor_of(ag_backend_cpu(), AG_I32, std::vector<double>(10, 1.0)));
  ag_tensor *e = ts.add(tensor_of(ag_backend_emu(), AG_F32, std::vector<double>(10, 1.0)));
  expect_error(ag_comm_all_gather(g_cpu, b, a, nullptr), AG_ERR_INVALID,
               "all-gather: f32[15] and f32[10] do not match for 2 ranks");
  expect_error(ag_comm_reduce_scatter(g_cpu, a, a, AG_COMM_SUM, nullptr), AG_ERR_INVALID,
               "reduce-scatter");
  expect_error(ag_comm_all_reduce(g_cpu, k, k, AG_COMM_AVG, nullptr), AG_ERR_UNSUPPORTED,
               "all-reduce: i32[10]; f32, f16, bf16 expected");
  expect_error(ag_comm_broadcast(g_cpu, a, 2, nullptr), AG_ERR_INVALID,
               "broadcast from rank 2 of 2 ranks");
  expect_error(ag_comm_all_reduce(g_cpu, e, e, AG_COMM_SUM, nullptr), AG_ERR_INVALID,
               "is on backend emu, the communicator on cpu");
  ag_comm *c = nullptr;
  const ag_comm_opts mpi = {AG_COMM_MPI, 0.0}, nccl = {AG_COMM_NCCL, 0.0};
  expect_error(ag_comm_open(ag_backend_cpu(), &mpi, &c), AG_ERR_INVALID,
               "backend cpu already has a communicator");
  expect_error(ag_comm_open(ag_backend_cpu(), &nccl, &c), AG_ERR_INVALID,
               "nccl needs a cuda or emu backend, not cpu");
  const ag_comm_opts negative = {AG_COMM_NCCL, -1.0};
  expect_error(ag_comm_open(ag_backend_emu(), &negative, &c), AG_ERR_INVALID,
               "timeout -1 s is not a positive number");
  setenv("AG_DIST_TIMEOUT", "soon", 1);
  expect_error(ag_comm_open(ag_backend_emu(), &nccl, &c), AG_ERR_INVALID,
               "AG_DIST_TIMEOUT='soon' is not a positive number of seconds");
  unsetenv("AG_DIST_TIMEOUT");
  EXPECT_EQ(c, nullptr);
}

// An all-gather op built for 3 ranks cannot be planned on a 2-rank
// communicator.
TEST(AllGatherOp, WorldMismatch) {
  const int64_t s[1] = {4};
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  ag_graph_output(g, ag_all_gather(g, ag_graph_input(g, "x", AG_F32, 1, s), 3));
  ag_sched *sched = nullptr;
  expect_error(ag_sched_new(g, nullptr, &sched), AG_ERR_UNSUPPORTED,
               "built for world 3, but the communicator on backend cpu has 2 ranks");
  ag_graph_free(g);
}

}  // namespace
