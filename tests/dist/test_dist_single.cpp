// The single-rank communicator, run without a launcher: names, the
// environment, every collective as a copy or nothing, the all-gather op with
// world 1 and no communicator, and the errors of bad options.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "dist_test_util.h"

extern "C" {
#include "runtime/dist/ag_comm.h"
#include "runtime/graph/ag_graph.h"
}

using ag_dist_test::tensor_of;
using ag_dist_test::values_of;

namespace {

TEST(CommNames, RoundTrip) {
  for (ag_comm_kind k : {AG_COMM_AUTO, AG_COMM_SINGLE, AG_COMM_MPI, AG_COMM_NCCL})
    EXPECT_EQ(ag_comm_kind_parse(ag_comm_kind_name(k)), (int)k);
  EXPECT_EQ(ag_comm_kind_parse("gloo"), -1);
  EXPECT_EQ(ag_comm_kind_parse(nullptr), -1);
}

TEST(CommEnv, WithoutLauncher) {
  const ag_comm_env e = ag_comm_env_read();
  EXPECT_EQ(e.launched, 0);
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world, 1);
  EXPECT_EQ(e.local_rank, 0);
}

TEST(CommEnv, SlurmVariables) {
  setenv("SLURM_PROCID", "3", 1);
  setenv("SLURM_NTASKS", "8", 1);
  setenv("SLURM_LOCALID", "1", 1);
  const ag_comm_env e = ag_comm_env_read();
  unsetenv("SLURM_PROCID");
  unsetenv("SLURM_NTASKS");
  unsetenv("SLURM_LOCALID");
  EXPECT_EQ(e.launched, 1);
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world, 8);
  EXPECT_EQ(e.local_rank, 1);
}

TEST(SingleComm, CollectivesAreCopies) {
  ag_backend *be = ag_backend_cpu();
  ag_comm *c = nullptr;
  ASSERT_EQ(ag_comm_open(be, nullptr, &c), AG_OK) << ag_last_error();
  EXPECT_EQ(ag_comm_kind_of(c), AG_COMM_SINGLE);
  EXPECT_EQ(ag_comm_rank(c), 0);
  EXPECT_EQ(ag_comm_world(c), 1);
  EXPECT_EQ(be->libs.comm, nullptr) << "single installs no handle";
  const std::vector<double> v = {1.5, -2.0, 3.25, 7.0};
  ag_tensor *src = tensor_of(be, AG_BF16, v), *dst = tensor_of(be, AG_BF16, {0, 0, 0, 0});
  ASSERT_EQ(ag_comm_all_reduce(c, dst, src, AG_COMM_AVG, nullptr), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(dst), v);
  ASSERT_EQ(ag_comm_broadcast(c, dst, 0, nullptr), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(dst), v);
  ag_tensor *zero = tensor_of(be, AG_BF16, {0, 0, 0, 0});
  ASSERT_EQ(ag_comm_all_gather(c, zero, src, nullptr), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(zero), v);
  ag_tensor *zero2 = tensor_of(be, AG_BF16, {0, 0, 0, 0});
  ASSERT_EQ(ag_comm_reduce_scatter(c, zero2, src, AG_COMM_SUM, nullptr), AG_OK)
      << ag_last_error();
  EXPECT_EQ(values_of(zero2), v);
  EXPECT_EQ(ag_comm_synchronize(c, nullptr), AG_OK);
  EXPECT_EQ(ag_comm_barrier(c), AG_OK);
  double d = 2.5;
  EXPECT_EQ(ag_comm_sum_host(c, &d), AG_OK);
  EXPECT_EQ(d, 2.5);
  char msg[8] = "same";
  EXPECT_EQ(ag_comm_broadcast_host(c, msg, sizeof msg, 0), AG_OK);
  EXPECT_STREQ(msg, "same");
  EXPECT_EQ(ag_comm_broadcast_host(c, msg, sizeof msg, 1), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("broadcast from rank 1 of 1 ranks"),
            std::string::npos)
      << ag_last_error();
  ag_tensor_free(src);
  ag_tensor_free(dst);
  ag_tensor_free(zero);
  ag_tensor_free(zero2);
  ag_comm_close(c);
}

void expect_open_error(ag_backend *be, ag_comm_opts o, const char *text) {
  ag_comm *c = nullptr;
  EXPECT_NE(ag_comm_open(be, &o, &c), AG_OK);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(std::string(ag_last_error()).find(text), std::string::npos) << ag_last_error();
}

TEST(SingleComm, BadOptions) {
  expect_open_error(ag_backend_cpu(), {AG_COMM_NCCL, 0.0},
                    "dist: nccl needs a cuda or emu backend, not cpu (use mpi)");
  expect_open_error(ag_backend_cpu(), {AG_COMM_SINGLE, -3.0},
                    "dist: timeout -3 s is not a positive number of seconds");
  expect_open_error(ag_backend_cpu(), {(ag_comm_kind)9, 0.0}, "unknown communicator kind 9");
#ifndef AG_HAVE_MPI
  expect_open_error(ag_backend_cpu(), {AG_COMM_MPI, 0.0},
                    "dist: mpi needs MPI, which this build lacks (install libopenmpi-dev");
  setenv("OMPI_COMM_WORLD_RANK", "0", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  expect_open_error(ag_backend_cpu(), {AG_COMM_AUTO, 0.0},
                    "dist: launched as rank 0 of 2, but this build has no MPI");
  unsetenv("OMPI_COMM_WORLD_RANK");
  unsetenv("OMPI_COMM_WORLD_SIZE");
#endif
  setenv("AG_DIST_TIMEOUT", "0", 1);
  expect_open_error(ag_backend_cpu(), {AG_COMM_SINGLE, 0.0},
                    "AG_DIST_TIMEOUT='0' is not a positive number of seconds");
  unsetenv("AG_DIST_TIMEOUT");
}

// With world 1 and no communicator the op copies, forward and backward.
TEST(AllGatherOp, WorldOneIsACopy) {
  ag_backend *be = ag_backend_cpu();
  const std::vector<double> xv = {1, 2, 3, 4, 5, 6}, gv = {0.5, -1, 2, 0, 3, 1};
  ag_tensor *x = tensor_of(be, AG_F32, xv), *y = tensor_of(be, AG_F32, std::vector<double>(6));
  ag_tensor *gy = tensor_of(be, AG_F32, gv), *gx = tensor_of(be, AG_F32, std::vector<double>(6));
  const ag_all_gather_args one = {1};
  ag_op_call fwd = {};
  fwd.in[0] = x;
  fwd.out[0] = y;
  ag_all_gather_args_encode(&fwd, &one);
  ASSERT_EQ(ag_op_forward(be, AG_OP_ALL_GATHER, &fwd), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(y), xv);
  ag_op_call bwd = fwd;
  bwd.in[1] = y;
  bwd.in[2] = gy;
  bwd.out[0] = gx;
  ASSERT_EQ(ag_op_backward(be, AG_OP_ALL_GATHER, &bwd), AG_OK) << ag_last_error();
  EXPECT_EQ(values_of(gx), gv);
  for (ag_tensor *t : {x, y, gy, gx}) ag_tensor_free(t);
}

TEST(AllGatherOp, WorldTwoNeedsACommunicator) {
  const int64_t s[2] = {2, 3};
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  ag_tensor *y = ag_all_gather(g, ag_graph_input(g, "x", AG_F32, 2, s), 2);
  ASSERT_NE(y, nullptr) << ag_graph_error(g);
  EXPECT_EQ(y->shape[0], 4);
  EXPECT_EQ(y->shape[1], 3);
  ag_tensor *x = tensor_of(ag_backend_cpu(), AG_F32, std::vector<double>(6, 1.0));
  ag_tensor *out = tensor_of(ag_backend_cpu(), AG_F32, std::vector<double>(12, 0.0));
  const int64_t ys[2] = {4, 3};
  ag_tensor *x2 = ag_tensor_reshape(x, 2, s), *out2 = ag_tensor_reshape(out, 2, ys);
  const ag_all_gather_args two = {2};
  ag_op_call c = {};
  c.in[0] = x2;
  c.out[0] = out2;
  ag_all_gather_args_encode(&c, &two);
  EXPECT_EQ(ag_op_forward(ag_backend_cpu(), AG_OP_ALL_GATHER, &c), AG_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(ag_last_error()).find("world 2 needs a communicator on backend cpu"),
            std::string::npos)
      << ag_last_error();
  ag_tensor_free(x2);
  ag_tensor_free(out2);
  ag_tensor_free(x);
  ag_tensor_free(out);
  ag_graph_free(g);
}

TEST(AllGatherOp, BadWorld) {
  const int64_t s[1] = {4};
  ag_graph *g = ag_graph_new(ag_backend_cpu());
  EXPECT_EQ(ag_all_gather(g, ag_graph_input(g, "x", AG_F32, 1, s), 0), nullptr);
  EXPECT_NE(std::string(ag_graph_error(g)).find("all_gather: world 0 is not a rank count"),
            std::string::npos)
      << ag_graph_error(g);
  ag_graph_free(g);
}

}  // namespace
