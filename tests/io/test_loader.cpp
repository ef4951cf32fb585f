// Fashion-MNIST dataset API and the batch loader: determinism, coverage,
// partial batches, prefetch == no prefetch, normalisation.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/io/idx.h"
#include "runtime/data/ag_loader.h"

namespace {

// A small synthetic dataset: image i is filled with (i * 7) % 256, label i % 10,
// so a batch reveals which indices it holds.
struct Synth {
  explicit Synth(int64_t n, int64_t h = 3, int64_t w = 2) : img(n * h * w), lab(n) {
    for (int64_t i = 0; i < n; i++) {
      std::fill(img.begin() + i * h * w, img.begin() + (i + 1) * h * w, (uint8_t)(i * 7 % 256));
      lab[i] = (uint8_t)(i % 10);
    }
    ds.n = n, ds.h = h, ds.w = w, ds.images = img.data(), ds.labels = lab.data();
  }
  std::vector<uint8_t> img, lab;
  ag_mnist ds{};
};

struct Batch {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

// Runs one epoch; returns its batches (the end marker is consumed).
std::vector<Batch> run_epoch(ag_loader *l) {
  std::vector<Batch> out;
  for (;;) {
    ag_tensor *im = nullptr, *lb = nullptr;
    EXPECT_EQ(ag_loader_next(l, &im, &lb), AG_OK) << ag_last_error();
    if (!im) {
      EXPECT_EQ(lb, nullptr);
      return out;
    }
    Batch b;
    b.images = ag_test::read_floats(im);
    auto lbytes = ag_test::read_bytes(lb);
    b.labels.resize(lbytes.size() / 4);
    memcpy(b.labels.data(), lbytes.data(), lbytes.size());
    EXPECT_EQ(im->ndim, 4);
    EXPECT_EQ(im->shape[0], (int64_t)b.labels.size());
    EXPECT_EQ(im->shape[1], 1);
    EXPECT_EQ(lb->dtype, AG_I32);
    out.push_back(std::move(b));
    ag_tensor_free(im);
    ag_tensor_free(lb);
    if (out.size() > 100000) return out;  // guard against a missing end marker
  }
}

// Recovers dataset indices of a synthetic batch from the pixel values.
std::vector<int64_t> indices_of(const Batch &b, int64_t hw, int64_t n) {
  std::vector<int64_t> idx;
  for (size_t i = 0; i < b.labels.size(); i++) {
    int v = (int)lrintf(b.images[i * hw] * 255.0f);
    for (int64_t k = 0; k < n; k++)  // small n: brute-force inverse of (k*7)%256 and label
      if (k * 7 % 256 == v && k % 10 == b.labels[i]) {
        idx.push_back(k);
        break;
      }
  }
  return idx;
}

ag_loader *open(const ag_mnist &ds, ag_loader_opts o) {
  ag_loader *l = nullptr;
  EXPECT_EQ(ag_loader_open(&ds, &o, &l), AG_OK) << ag_last_error();
  return l;
}

TEST(Mnist, LoadTrainAndTest) {
  ag_mnist tr, te;
  ASSERT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "train", &tr), AG_OK) << ag_last_error();
  ASSERT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "t10k", &te), AG_OK) << ag_last_error();
  EXPECT_EQ(tr.n, 60000);
  EXPECT_EQ(te.n, 10000);
  EXPECT_EQ(tr.h, 28);
  EXPECT_EQ(tr.w, 28);
  std::vector<int> hist(10, 0);
  for (int64_t i = 0; i < tr.n; i++) hist[tr.labels[i]]++;
  for (int c = 0; c < 10; c++) EXPECT_EQ(hist[c], 6000);
  ag_mnist_free(&tr);
  ag_mnist_free(&te);
}

TEST(Mnist, ClassNames) {
  EXPECT_STREQ(ag_fashion_mnist_class_name(0), "T-shirt/top");
  EXPECT_STREQ(ag_fashion_mnist_class_name(5), "Sandal");
  EXPECT_STREQ(ag_fashion_mnist_class_name(9), "Ankle boot");
  EXPECT_EQ(ag_fashion_mnist_class_name(10), nullptr);
  EXPECT_EQ(ag_fashion_mnist_class_name(-1), nullptr);
}

TEST(Mnist, MissingSplitAndMismatchedCounts) {
  ag_mnist ds;
  EXPECT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "nope", &ds), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("nope-images"), std::string::npos) << ag_last_error();
  // A directory with 4 images but 3 labels, then a bad label value.
  std::string dir = testing::TempDir() + "ag_mnist_" + std::to_string(getpid());
  ASSERT_EQ(system(("mkdir -p '" + dir + "'").c_str()), 0);
  int64_t idims[3] = {4, 2, 2}, ldims3[1] = {3}, ldims4[1] = {4};
  uint8_t pix[16] = {0}, lab[4] = {1, 2, 3, 4};
  std::string ip = dir + "/x-images-idx3-ubyte", lp = dir + "/x-labels-idx1-ubyte";
  ASSERT_EQ(ag_idx_write(ip.c_str(), AG_IDX_U8, 3, idims, pix, 0), AG_OK);
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims3, lab, 0), AG_OK);
  EXPECT_EQ(ag_mnist_load(dir.c_str(), "x", &ds), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("4 images but 3 labels"), std::string::npos)
      << ag_last_error();
  lab[2] = 10;
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims4, lab, 0), AG_OK);
  EXPECT_EQ(ag_mnist_load(dir.c_str(), "x", &ds), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("label 10"), std::string::npos) << ag_last_error();
  lab[2] = 3;
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims4, lab, 0), AG_OK);
  ASSERT_EQ(ag_mnist_load(dir.c_str(), "x", &ds), AG_OK) << ag_last_error();  // unpacked names work
  EXPECT_EQ(ds.n, 4);
  ag_mnist_free(&ds);
  std::remove(ip.c_str());
  std::remove(lp.c_str());
  rmdir(dir.c_str());
}

TEST(Permutation, DeterministicAndComplete) {
  const int64_t n = 1000;
  std::vector<int64_t> a(n), b(n), c(n), d(n);
  ag_epoch_permutation(42, 0, n, a.data());
  ag_epoch_permutation(42, 0, n, b.data());
  ag_epoch_permutation(42, 1, n, c.data());
  ag_epoch_permutation(43, 0, n, d.data());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
  for (auto *p : {&a, &c, &d}) {
    std::vector<int64_t> s = *p;
    std::sort(s.begin(), s.end());
    for (int64_t i = 0; i < n; i++) ASSERT_EQ(s[i], i);
  }
  // Actually shuffled, not the identity.
  int fixed = 0;
  for (int64_t i = 0; i < n; i++) fixed += a[i] == i;
  EXPECT_LT(fixed, 20);
}

TEST(Loader, EveryIndexOncePerEpochAndEpochsDiffer) {
  Synth s(37);
  auto o = ag_loader_default_opts();
  o.batch = 8, o.seed = 7, o.prefetch = 0;
  ag_loader *l = open(s.ds, o);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(ag_loader_batches_per_epoch(l), 5);
  std::vector<std::vector<int64_t>> orders;
  for (int e = 0; e < 3; e++) {
    EXPECT_EQ(ag_loader_epoch(l), (uint64_t)e);
    auto batches = run_epoch(l);
    ASSERT_EQ(batches.size(), 5u);
    EXPECT_EQ(batches.back().labels.size(), 5u);  // 37 = 4*8 + 5, kept
    std::vector<int64_t> order;
    for (auto &b : batches) {
      auto idx = indices_of(b, 6, 37);
      order.insert(order.end(), idx.begin(), idx.end());
    }
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted.size(), 37u);
    for (int64_t i = 0; i < 37; i++) EXPECT_EQ(sorted[i], i);
    // The loader follows the published permutation exactly.
    std::vector<int64_t> perm(37);
    ag_epoch_permutation(7, e, 37, perm.data());
    EXPECT_EQ(order, perm);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  ag_loader_close(l);
}

TEST(Loader, SameSeedSameOrderAndResume) {
  Synth s(50);
  auto o = ag_loader_default_opts();
  o.batch = 16, o.seed = 99, o.prefetch = 0;
  ag_loader *a = open(s.ds, o), *b = open(s.ds, o);
  run_epoch(a);  // skip epoch 0 on `a`
  auto ea1 = run_epoch(a);
  o.first_epoch = 1;  // `c` resumes directly at epoch 1
  ag_loader *c = open(s.ds, o);
  auto eb0 = run_epoch(b);
  auto eb1 = run_epoch(b);
  auto ec1 = run_epoch(c);
  ASSERT_EQ(ea1.size(), ec1.size());
  for (size_t i = 0; i < ea1.size(); i++) {
    EXPECT_EQ(ea1[i].images, eb1[i].images);
    EXPECT_EQ(ea1[i].images, ec1[i].images);
    EXPECT_EQ(ea1[i].labels, ec1[i].labels);
  }
  EXPECT_NE(eb0[0].labels, eb1[0].labels);
  ag_loader_close(a);
  ag_loader_close(b);
  ag_loader_close(c);
}

TEST(Loader, DropLastAndNoShuffle) {
  Synth s(37);
  auto o = ag_loader_default_opts();
  o.batch = 8, o.drop_last = 1, o.shuffle = 0, o.prefetch = 0;
  ag_loader *l = open(s.ds, o);
  EXPECT_EQ(ag_loader_batches_per_epoch(l), 4);
  auto batches = run_epoch(l);
  ASSERT_EQ(batches.size(), 4u);
  for (size_t b = 0; b < 4; b++) {
    ASSERT_EQ(batches[b].labels.size(), 8u);
    auto idx = indices_of(batches[b], 6, 37);
    for (int i = 0; i < 8; i++) EXPECT_EQ(idx[i], (int64_t)b * 8 + i);
  }
  ag_loader_close(l);
  // Exact multiple: no partial batch either way.
  Synth t(32);
  o.drop_last = 0;
  l = open(t.ds, o);
  auto full = run_epoch(l);
  ASSERT_EQ(full.size(), 4u);
  EXPECT_EQ(full.back().labels.size(), 8u);
  ag_loader_close(l);
}

TEST(Loader, BadOptions) {
  Synth s(5);
  auto o = ag_loader_default_opts();
  ag_loader *l = nullptr;
  o.batch = 0;
  EXPECT_EQ(ag_loader_open(&s.ds, &o, &l), AG_ERR_INVALID);
  o.batch = 8, o.drop_last = 1;
  EXPECT_EQ(ag_loader_open(&s.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("drop_last"), std::string::npos);
  o.drop_last = 0, o.norm = AG_NORM_MEAN_STD, o.std = 0.0f;
  EXPECT_EQ(ag_loader_open(&s.ds, &o, &l), AG_ERR_INVALID);
  EXPECT_EQ(l, nullptr);
}

TEST(Loader, PrefetchMatchesSynchronous) {
  ag_mnist ds;
  ASSERT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "t10k", &ds), AG_OK) << ag_last_error();
  auto o = ag_loader_default_opts();
  o.batch = 256, o.seed = 3, o.norm = AG_NORM_SIGNED;
  o.prefetch = 0;
  ag_loader *sync = open(ds, o);
  o.prefetch = 1;
  ag_loader *pre = open(ds, o);
  for (int e = 0; e < 2; e++) {
    auto a = run_epoch(sync), b = run_epoch(pre);
    ASSERT_EQ(a.size(), 40u);  // 10000 / 256 rounded up
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a.back().labels.size(), 10000u - 39 * 256);
    for (size_t i = 0; i < a.size(); i++) {
      ASSERT_EQ(a[i].images, b[i].images) << "epoch " << e << " batch " << i;
      ASSERT_EQ(a[i].labels, b[i].labels);
    }
  }
  ag_loader_close(sync);
  ag_loader_close(pre);
  ag_mnist_free(&ds);
}

TEST(Loader, CloseMidEpochWithPrefetch) {
  Synth s(100);
  auto o = ag_loader_default_opts();
  o.batch = 10;
  for (int k = 0; k < 20; k++) {  // repeated to shake out shutdown races
    ag_loader *l = open(s.ds, o);
    ag_tensor *im, *lb;
    ASSERT_EQ(ag_loader_next(l, &im, &lb), AG_OK);
    ag_tensor_free(im);
    ag_tensor_free(lb);
    ag_loader_close(l);
  }
  ag_loader_close(nullptr);
}

TEST(Loader, NormalisationModes) {
  Synth s(3, 1, 1);  // pixel values 0, 7, 14
  auto o = ag_loader_default_opts();
  o.batch = 3, o.shuffle = 0, o.prefetch = 0;
  struct M { ag_norm m; float mean, std; float want[3]; } ms[] = {
      {AG_NORM_UNIT, 0, 1, {0.0f, 7 / 255.0f, 14 / 255.0f}},
      {AG_NORM_SIGNED, 0, 1, {-1.0f, 7 / 127.5f - 1, 14 / 127.5f - 1}},
      {AG_NORM_MEAN_STD, 0.5f, 0.25f, {-2.0f, (7 / 255.0f - 0.5f) / 0.25f, (14 / 255.0f - 0.5f) / 0.25f}}};
  for (auto &m : ms) {
    o.norm = m.m, o.mean = m.mean, o.std = m.std;
    ag_loader *l = open(s.ds, o);
    auto b = run_epoch(l);
    ASSERT_EQ(b.size(), 1u);
    for (int i = 0; i < 3; i++) EXPECT_NEAR(b[0].images[i], m.want[i], 1e-5f) << "mode " << m.m;
    ag_loader_close(l);
  }
}

// Hook used below: negates labels, fails on batch `fail_at` of epoch 0.
struct Hook {
  int64_t fail_at;
  int calls = 0;
};
ag_status hook_fn(void *ctx, uint64_t epoch, int64_t bi, float *, int32_t *labels, int64_t count,
                  int64_t, int64_t) {
  auto *h = static_cast<Hook *>(ctx);
  h->calls++;
  if (epoch == 0 && bi == h->fail_at)
    return ag_set_error(AG_ERR_INVALID, "augment failed at batch %lld", (long long)bi);
  for (int64_t i = 0; i < count; i++) labels[i] = -labels[i];
  return AG_OK;
}

// A hook error raised on the prefetch thread reaches the caller, message
// included, at the batch it belongs to; earlier batches are unaffected.
TEST(Loader, TransformAndThreadErrorPropagation) {
  Synth s(40);
  for (int prefetch = 0; prefetch < 2; prefetch++) {
    Hook h{2};
    auto o = ag_loader_default_opts();
    o.batch = 10, o.shuffle = 0, o.prefetch = prefetch;
    o.transform = hook_fn, o.transform_ctx = &h;
    ag_loader *l = open(s.ds, o);
    ag_clear_error();
    for (int b = 0; b < 2; b++) {
      ag_tensor *im, *lb;
      ASSERT_EQ(ag_loader_next(l, &im, &lb), AG_OK) << ag_last_error();
      auto bytes = ag_test::read_bytes(lb);
      int32_t second;
      memcpy(&second, bytes.data() + 4, 4);
      EXPECT_EQ(second, -1);  // index b*10+1 has label 1, negated by the hook
      ag_tensor_free(im);
      ag_tensor_free(lb);
    }
    for (int k = 0; k < 2; k++) {  // sticky: reported again, no crash, no hang
      ag_tensor *im = nullptr, *lb = nullptr;
      EXPECT_EQ(ag_loader_next(l, &im, &lb), AG_ERR_INVALID);
      EXPECT_EQ(im, nullptr);
      EXPECT_NE(std::string(ag_last_error()).find("augment failed at batch 2"), std::string::npos)
          << "prefetch " << prefetch << ": " << ag_last_error();
    }
    ag_loader_close(l);
  }
}

TEST(Normalise, U8F32RoundTripAndClamp) {
  std::vector<uint8_t> u(256);
  for (int i = 0; i < 256; i++) u[i] = (uint8_t)i;
  std::vector<float> f(256);
  ag_u8_to_f32(u.data(), f.data(), 256, 2.0f / 255.0f, -1.0f);
  EXPECT_FLOAT_EQ(f[0], -1.0f);
  EXPECT_FLOAT_EQ(f[255], 1.0f);
  std::vector<uint8_t> back(256);
  ag_f32_to_u8(f.data(), back.data(), 256, 127.5f, 127.5f);
  EXPECT_EQ(back, u);
  float odd[5] = {-3.0f, 2.0f, NAN, INFINITY, 0.5f};
  uint8_t o[5];
  ag_f32_to_u8(odd, o, 5, 255.0f, 0.0f);
  EXPECT_EQ(o[0], 0);
  EXPECT_EQ(o[1], 255);
  EXPECT_EQ(o[2], 0);
  EXPECT_EQ(o[3], 255);
  EXPECT_EQ(o[4], 128);  // 127.5 rounds to even -> 128
}

}  // namespace
