// Tensors and views on the CPU backend: strides, views without copies,
// contiguous copies, host I/O and its errors.
#include "ag_test_util.h"
#include "runtime/ops/ag_ops.h"

using namespace ag_test;

static std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = (float)i;
  return v;
}

TEST(Tensor, NewIsContiguousRowMajor) {
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {2, 3, 4}, iota(24));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(ag_tensor_numel(t), 24);
  EXPECT_EQ(ag_tensor_nbytes(t), 96u);
  EXPECT_EQ(t->stride[0], 12);
  EXPECT_EQ(t->stride[1], 4);
  EXPECT_EQ(t->stride[2], 1);
  EXPECT_TRUE(ag_tensor_is_contiguous(t));
  char d[64];
  EXPECT_STREQ(ag_tensor_describe(t, d, sizeof d), "f32[2,3,4]");
  ag_tensor_free(t);
}

TEST(Tensor, RejectsTooManyDims) {
  int64_t shape[5] = {1, 1, 1, 1, 1};
  EXPECT_EQ(ag_tensor_new(ag_backend_cpu(), AG_F32, 5, shape), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("5 dims"), std::string::npos) << ag_last_error();
}

TEST(Tensor, ViewsShareStorage) {
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {4, 6}, iota(24));
  ag_tensor *s = ag_tensor_slice(t, 1, 2, 5);
  ag_tensor *p = ag_tensor_permute(t, std::vector<int>{1, 0}.data());
  ASSERT_NE(s, nullptr);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(s->buf, t->buf);
  EXPECT_EQ(p->buf, t->buf);
  EXPECT_EQ(s->offset, 2);
  EXPECT_EQ(s->shape[1], 3);
  EXPECT_FALSE(ag_tensor_is_contiguous(s));
  EXPECT_EQ(p->shape[0], 6);
  EXPECT_EQ(p->stride[0], 1);
  EXPECT_EQ(p->stride[1], 6);
  // A view keeps the storage alive after its base is freed.
  ag_tensor_free(t);
  ag_tensor *c = ag_tensor_contiguous(s);
  ASSERT_NE(c, nullptr) << ag_last_error();
  auto v = read_floats(c);
  std::vector<float> want = {2, 3, 4, 8, 9, 10, 14, 15, 16, 20, 21, 22};
  EXPECT_EQ(v, want);
  ag_tensor_free(c);
  ag_tensor_free(s);
  ag_tensor_free(p);
}

TEST(Tensor, ContiguousOfPermutedSliceMatchesIndexing) {
  const int64_t A = 3, B = 5, C = 4, D = 7;
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {A, B, C, D}, iota(A * B * C * D));
  ag_tensor *s = ag_tensor_slice(t, 1, 1, 4);            // [3,3,4,7]
  ag_tensor *p = ag_tensor_permute(s, std::vector<int>{3, 1, 0, 2}.data());  // [7,3,3,4]
  ag_tensor *c = ag_tensor_contiguous(p);
  ASSERT_NE(c, nullptr) << ag_last_error();
  auto v = read_floats(c);
  size_t k = 0;
  for (int64_t d = 0; d < D; d++)
    for (int64_t b = 1; b < 4; b++)
      for (int64_t a = 0; a < A; a++)
        for (int64_t cc = 0; cc < C; cc++, k++)
          ASSERT_EQ(v[k], (float)(((a * B + b) * C + cc) * D + d)) << "at " << k;
  for (ag_tensor *x : {t, s, p, c}) ag_tensor_free(x);
}

TEST(Tensor, ReshapeNeedsContiguousAndSameCount) {
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {4, 6}, iota(24));
  int64_t ok[3] = {2, 3, 4}, bad[2] = {5, 5};
  ag_tensor *r = ag_tensor_reshape(t, 3, ok);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->stride[0], 12);
  EXPECT_EQ(ag_tensor_reshape(t, 2, bad), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("24 elements"), std::string::npos);
  ag_tensor *p = ag_tensor_permute(t, std::vector<int>{1, 0}.data());
  int64_t flat[1] = {24};
  EXPECT_EQ(ag_tensor_reshape(p, 1, flat), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("non-contiguous"), std::string::npos);
  for (ag_tensor *x : {t, r, p}) ag_tensor_free(x);
}

TEST(Tensor, BadViewsAreErrors) {
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {4, 6}, iota(24));
  EXPECT_EQ(ag_tensor_slice(t, 1, 4, 7), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("out of range"), std::string::npos);
  EXPECT_EQ(ag_tensor_slice(t, 2, 0, 1), nullptr);
  EXPECT_EQ(ag_tensor_permute(t, std::vector<int>{0, 0}.data()), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("permutation"), std::string::npos);
  ag_tensor_free(t);
}

TEST(Tensor, HostIoChecksSizeAndLayout) {
  ag_tensor *t = make_tensor(ag_backend_cpu(), AG_F32, {4, 6}, iota(24));
  float buf[24];
  EXPECT_EQ(ag_tensor_read(t, buf, 8), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("8 bytes given"), std::string::npos);
  ag_tensor *p = ag_tensor_permute(t, std::vector<int>{1, 0}.data());
  EXPECT_EQ(ag_tensor_read(p, buf, sizeof buf), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("not contiguous"), std::string::npos);
  ag_tensor_free(p);
  ag_tensor_free(t);
}

TEST(Tensor, EveryDtypeRoundTrips) {
  for (ag_dtype dt : {AG_F32, AG_F16, AG_BF16, AG_I32, AG_U8}) {
    int64_t shape[2] = {3, 5};
    ag_tensor *t = ag_tensor_new(ag_backend_cpu(), dt, 2, shape);
    ASSERT_NE(t, nullptr);
    std::vector<uint8_t> in(ag_tensor_nbytes(t));
    for (size_t i = 0; i < in.size(); i++) in[i] = (uint8_t)(i * 37 + 1);
    ASSERT_EQ(ag_tensor_write(t, in.data(), in.size()), AG_OK);
    ag_tensor *p = ag_tensor_permute(t, std::vector<int>{1, 0}.data());
    ag_tensor *pc = ag_tensor_contiguous(p);
    ASSERT_NE(pc, nullptr) << ag_last_error();
    ag_tensor *back = ag_tensor_permute(pc, std::vector<int>{1, 0}.data());
    ag_tensor *c = ag_tensor_contiguous(back);
    ASSERT_NE(c, nullptr) << ag_last_error();
    EXPECT_EQ(read_bytes(c), in) << ag_dtype_name(dt);
    for (ag_tensor *x : {c, back, pc, p, t}) ag_tensor_free(x);
  }
}
