// Backend registry, device selection, op dispatch checks and errors.
#include <cstdlib>
#include <string>
#include <thread>

#include "ag_test_util.h"
#include "kernels/common/ag_kernels.h"
#include "runtime/core/ag_info.h"
#include "runtime/ops/ag_ops.h"

using namespace ag_test;

static bool has_cuda() {
  int n = 0;
  return ag_cuda_probe(&n) == AG_OK && n > 0;
}

TEST(Backend, CpuIsAlwaysRegistered) {
  EXPECT_EQ(ag_backend_find("cpu"), ag_backend_cpu());
  EXPECT_GE(ag_backend_count(), 1);
  ag_backend *be = nullptr;
  ASSERT_EQ(ag_backend_select("cpu", &be, nullptr, 0), AG_OK);
  EXPECT_EQ(be, ag_backend_cpu());
}

TEST(Backend, AutoExplainsItsChoice) {
  ag_backend *be = nullptr;
  char note[512];
  ASSERT_EQ(ag_backend_select("auto", &be, note, sizeof note), AG_OK);
  if (has_cuda()) {
    EXPECT_EQ(std::string(be->name), "cuda:0");
  } else {
    EXPECT_EQ(be, ag_backend_cpu());
    EXPECT_NE(std::string(note).find("using cpu because"), std::string::npos) << note;
  }
}

TEST(Backend, CudaWithoutDeviceIsAClearError) {
  if (has_cuda()) GTEST_SKIP() << "a CUDA device is present";
  ag_backend *be = nullptr;
  EXPECT_EQ(ag_backend_select("cuda", &be, nullptr, 0), AG_ERR_DEVICE);
  EXPECT_EQ(be, nullptr);
  std::string msg = ag_last_error();
  EXPECT_TRUE(msg.find("CUDA") != std::string::npos) << msg;
  EXPECT_EQ(ag_backend_select("cuda:3", &be, nullptr, 0), AG_ERR_DEVICE);
}

TEST(Backend, BadSpecsAreRejected) {
  ag_backend *be = nullptr;
  EXPECT_EQ(ag_backend_select("tpu", &be, nullptr, 0), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("unknown device 'tpu'"), std::string::npos);
  EXPECT_EQ(ag_backend_select("cuda:x", &be, nullptr, 0), AG_ERR_INVALID);
  EXPECT_EQ(ag_backend_select("cuda:", &be, nullptr, 0), AG_ERR_INVALID);
}

TEST(Backend, EnvironmentChoosesTheDevice) {
  setenv("AG_DEVICE", "cpu", 1);
  ag_backend *be = nullptr;
  EXPECT_EQ(ag_backend_select(nullptr, &be, nullptr, 0), AG_OK);
  EXPECT_EQ(be, ag_backend_cpu());
  setenv("AG_DEVICE", "nonsense", 1);
  EXPECT_EQ(ag_backend_select("", &be, nullptr, 0), AG_ERR_INVALID);
  unsetenv("AG_DEVICE");
}

TEST(Backend, DuplicateNamesAreRejected) {
  static ag_backend dup;
  ASSERT_EQ(ag_backend_init_host(&dup, "cpu", AG_DEVICE_CPU, &ag_cpu_kernel_table), AG_OK);
  EXPECT_EQ(ag_backend_register(&dup), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("already registered"), std::string::npos);
}

TEST(Backend, MissingKernelIsAnErrorNotACrash) {
  static const ag_kernel_table empty = {};  // a backend with no kernels at all
  static ag_backend bare;
  ASSERT_EQ(ag_backend_init_host(&bare, "bare-test", AG_DEVICE_CPU, &empty), AG_OK);
  ASSERT_EQ(ag_backend_register(&bare), AG_OK);
  ag_tensor *x = make_tensor(&bare, AG_F32, {4}, {1, 2, 3, 4});
  ag_tensor *y = ag_tensor_new(&bare, AG_F32, 1, x->shape);
  EXPECT_EQ(ag_eager_gelu(y, x), AG_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(ag_last_error()).find("gelu: no forward kernel on backend bare-test"),
            std::string::npos)
      << ag_last_error();
  ag_tensor_free(x);
  ag_tensor_free(y);
}

TEST(Ops, ShapeErrorsNameTheOpAndShapes) {
  ag_backend *cpu = ag_backend_cpu();
  ag_tensor *a = make_tensor(cpu, AG_F32, {2, 3}, random_values(6, 1));
  ag_tensor *b = make_tensor(cpu, AG_F32, {3, 2}, random_values(6, 2));
  ag_tensor *y = ag_tensor_new(cpu, AG_F32, 2, a->shape);
  EXPECT_EQ(ag_eager_add(y, a, b), AG_ERR_INVALID);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find("add"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[2,3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[3,2]"), std::string::npos) << msg;
  ag_tensor *s = ag_tensor_new(cpu, AG_F32, 2, a->shape);
  EXPECT_EQ(ag_eager_sum(s, a), AG_ERR_INVALID);  // sum keeps a last dim of 1
  ag_tensor *h = ag_tensor_new(cpu, AG_BF16, 2, a->shape);
  EXPECT_EQ(ag_eager_gelu(h, a), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("is bf16[2,3], expected f32[2,3]"), std::string::npos)
      << ag_last_error();
  for (ag_tensor *t : {a, b, y, s, h}) ag_tensor_free(t);
}

TEST(Ops, UnsupportedDtypeIsAnError) {
  ag_backend *cpu = ag_backend_cpu();
  int64_t shape[1] = {8};
  ag_tensor *x = ag_tensor_new(cpu, AG_I32, 1, shape);
  ag_tensor *y = ag_tensor_new(cpu, AG_I32, 1, shape);
  EXPECT_EQ(ag_eager_gelu(y, x), AG_ERR_UNSUPPORTED);
  EXPECT_NE(std::string(ag_last_error()).find("i32"), std::string::npos) << ag_last_error();
  ag_tensor_free(x);
  ag_tensor_free(y);
}

TEST(Ops, TensorOnAnotherBackendIsAnError) {
  static ag_backend other;
  ASSERT_EQ(ag_backend_init_host(&other, "other-test", AG_DEVICE_CPU, &ag_cpu_kernel_table), AG_OK);
  ASSERT_EQ(ag_backend_register(&other), AG_OK);
  ag_tensor *a = make_tensor(ag_backend_cpu(), AG_F32, {4}, {1, 2, 3, 4});
  ag_tensor *b = make_tensor(&other, AG_F32, {4}, {1, 2, 3, 4});
  ag_tensor *y = ag_tensor_new(ag_backend_cpu(), AG_F32, 1, a->shape);
  EXPECT_EQ(ag_eager_add(y, a, b), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("lives on other-test"), std::string::npos);
  ag_tensor *moved = ag_tensor_to(b, ag_backend_cpu());
  EXPECT_EQ(ag_eager_add(y, a, moved), AG_OK);
  EXPECT_EQ(read_floats(y), (std::vector<float>{2, 4, 6, 8}));
  for (ag_tensor *t : {a, b, y, moved}) ag_tensor_free(t);
}

TEST(Errors, MessagesAreThreadLocal) {
  ag_set_error(AG_ERR_IO, "main thread %d", 1);
  std::thread t([] {
    EXPECT_STREQ(ag_last_error(), "");
    ag_set_error(AG_ERR_IO, "worker");
  });
  t.join();
  EXPECT_STREQ(ag_last_error(), "main thread 1");
}

TEST(Info, PeakTablePicksTheMostSpecificEntry) {
  double tf = 0, bw = 0;
  ASSERT_TRUE(ag_peak_lookup("NVIDIA H100 80GB HBM3", &tf, &bw));
  EXPECT_EQ(tf, 989.0);
  EXPECT_EQ(bw, 3350.0);
  ASSERT_TRUE(ag_peak_lookup("NVIDIA H100 PCIe", &tf, &bw));
  EXPECT_EQ(tf, 756.0);
  ASSERT_TRUE(ag_peak_lookup("NVIDIA GH200 480GB", &tf, &bw));
  EXPECT_EQ(bw, 4000.0);
  ASSERT_TRUE(ag_peak_lookup("NVIDIA H200", &tf, &bw));
  EXPECT_EQ(bw, 4800.0);
  ASSERT_TRUE(ag_peak_lookup("NVIDIA L40S", &tf, &bw));
  EXPECT_EQ(tf, 362.0);
  EXPECT_FALSE(ag_peak_lookup("Imaginary GPU", &tf, &bw));
}

// Streams and events exist on every backend so CUDA-style code runs anywhere;
// on the CPU the work is done when a call returns.
TEST(Backend, StreamsAndEventsWorkOnCpu) {
  ag_backend *be = ag_backend_cpu();
  void *stream = nullptr, *event = nullptr;
  ASSERT_EQ(be->stream_create(be, &stream), AG_OK);
  void *start = nullptr;
  ASSERT_EQ(be->event_create(be, &event, 1), AG_OK);
  ASSERT_EQ(be->event_create(be, &start, 1), AG_OK);
  ASSERT_EQ(be->event_record(be, start, stream), AG_OK);
  ag_tensor *x = make_tensor(be, AG_F32, {4}, {1, 2, 3, 4});
  ag_tensor *y = ag_tensor_new(be, AG_F32, 1, x->shape);
  ag_op_call call{};
  call.in[0] = x;
  call.out[0] = y;
  const ag_unary_args factor = {2.0f};
  ag_unary_args_encode(&call, &factor);
  call.stream = stream;
  ASSERT_EQ(ag_op_forward(be, AG_OP_SCALE, &call), AG_OK);
  EXPECT_EQ(be->event_record(be, event, stream), AG_OK);
  EXPECT_EQ(be->stream_wait_event(be, nullptr, event), AG_OK);
  EXPECT_EQ(be->synchronize(be, stream), AG_OK);
  float ms = -1.0f;
  EXPECT_EQ(be->event_elapsed_ms(be, start, event, &ms), AG_OK);
  EXPECT_GE(ms, 0.0f);
  EXPECT_EQ(read_floats(y), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(be->memset(be, ag_tensor_data(y), 0, ag_tensor_nbytes(y), stream), AG_OK);
  EXPECT_EQ(read_floats(y), (std::vector<float>{0, 0, 0, 0}));
  be->event_destroy(be, event);
  be->event_destroy(be, start);
  be->stream_destroy(be, stream);
  ag_tensor_free(x);
  ag_tensor_free(y);
}
