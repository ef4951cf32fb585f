// Fashion-MNIST: the IDX pair (real files and files written here), the
// dataset over it (fields, normalisation), its errors (missing, truncated,
// corrupt, mismatched files: one message naming the dataset, the file and
// the problem), and the loader over the real test split.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/data/ag_fashion_mnist.h"
#include "runtime/data/ag_loader.h"
#include "runtime/io/idx.h"

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

// A small synthetic split: image i is filled with (i * 7) % 256, label i % 10.
struct Synth {
  explicit Synth(int64_t n, int64_t h = 3, int64_t w = 2) : img(n * h * w), lab(n) {
    for (int64_t i = 0; i < n; i++) {
      std::fill(img.begin() + i * h * w, img.begin() + (i + 1) * h * w, (uint8_t)(i * 7 % 256));
      lab[i] = (uint8_t)(i % 10);
    }
    raw.n = n, raw.h = h, raw.w = w, raw.images = img.data(), raw.labels = lab.data();
  }
  std::vector<uint8_t> img, lab;
  ag_mnist raw{};
};

// A scratch directory of IDX files, removed with its files at the end.
struct Dir {
  Dir() : path(testing::TempDir() + "ag_mnist_" + std::to_string(getpid())) {
    EXPECT_EQ(system(("mkdir -p '" + path + "'").c_str()), 0);
  }
  ~Dir() { EXPECT_EQ(system(("rm -rf '" + path + "'").c_str()), 0); }
  std::string file(const std::string &name) const { return path + "/" + name; }
  std::string path;
};

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
  EXPECT_TRUE(contains(ag_last_error(), "fashion-mnist nope: ")) << ag_last_error();
  EXPECT_TRUE(contains(ag_last_error(), "nope-images")) << ag_last_error();
  // A directory with 4 images but 3 labels, then a bad label value.
  Dir dir;
  int64_t idims[3] = {4, 2, 2}, ldims3[1] = {3}, ldims4[1] = {4};
  uint8_t pix[16] = {0}, lab[4] = {1, 2, 3, 4};
  std::string ip = dir.file("x-images-idx3-ubyte"), lp = dir.file("x-labels-idx1-ubyte");
  ASSERT_EQ(ag_idx_write(ip.c_str(), AG_IDX_U8, 3, idims, pix, 0), AG_OK);
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims3, lab, 0), AG_OK);
  EXPECT_EQ(ag_mnist_load(dir.path.c_str(), "x", &ds), AG_ERR_IO);
  EXPECT_TRUE(contains(ag_last_error(), "fashion-mnist x: 4 images in '" + ip + "' but 3 labels in '" +
                                            lp + "'"))
      << ag_last_error();
  lab[2] = 10;
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims4, lab, 0), AG_OK);
  EXPECT_EQ(ag_mnist_load(dir.path.c_str(), "x", &ds), AG_ERR_IO);
  EXPECT_TRUE(contains(ag_last_error(), "label 10 at index 2 of '" + lp + "' outside 0..9"))
      << ag_last_error();
  lab[2] = 3;
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims4, lab, 0), AG_OK);
  ASSERT_EQ(ag_mnist_load(dir.path.c_str(), "x", &ds), AG_OK) << ag_last_error();  // unpacked names
  EXPECT_EQ(ds.n, 4);
  ag_mnist_free(&ds);
}

// Each broken file gives one message: the dataset and split first, then the
// file, then what is wrong with it; and both the raw load and the dataset's
// open report it the same way.
TEST(Mnist, TruncatedAndCorruptFiles) {
  Dir dir;
  int64_t idims[3] = {4, 2, 2}, ldims[1] = {4};
  uint8_t pix[16] = {0}, lab[4] = {1, 2, 3, 4};
  std::string ip = dir.file("y-images-idx3-ubyte.gz"), lp = dir.file("y-labels-idx1-ubyte.gz");
  ASSERT_EQ(ag_idx_write(lp.c_str(), AG_IDX_U8, 1, ldims, lab, 1), AG_OK);
  auto expect_error = [&](const std::string &problem) {
    ag_mnist raw;
    EXPECT_EQ(ag_mnist_load(dir.path.c_str(), "y", &raw), AG_ERR_IO);
    const std::string msg = ag_last_error();
    EXPECT_EQ(msg.rfind("fashion-mnist y: ", 0), 0u) << msg;
    EXPECT_TRUE(contains(msg, ip)) << msg;
    EXPECT_TRUE(contains(msg, problem)) << msg;
    EXPECT_EQ(raw.images, nullptr);
    ag_dataset *ds = nullptr;
    EXPECT_EQ(ag_fashion_mnist_open(dir.path.c_str(), "y", nullptr, &ds), AG_ERR_IO);
    EXPECT_EQ(ds, nullptr);
    EXPECT_EQ(std::string(ag_last_error()), msg);
  };
  // Truncated: plain bytes under the .gz name (zlib reads both), 5 short.
  std::vector<uint8_t> whole;
  ASSERT_EQ(ag_idx_write(ip.c_str(), AG_IDX_U8, 3, idims, pix, 0), AG_OK);
  {
    std::ifstream f(ip, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(f), {});
  }
  ASSERT_EQ(whole.size(), 16u + 16u);
  {
    std::ofstream f(ip, std::ios::binary);
    f.write(reinterpret_cast<const char *>(whole.data()), (std::streamsize)whole.size() - 5);
  }
  expect_error("truncated data: 11 of 16 bytes");
  {
    std::ofstream f(ip, std::ios::binary);
    f << "not an idx file at all";
  }
  expect_error("bad magic");
  const float fpix[16] = {0};
  ASSERT_EQ(ag_idx_write(ip.c_str(), AG_IDX_F32, 3, idims, fpix, 1), AG_OK);
  expect_error("holds type 0x0d rank 3, expected u8 rank 3");
}

TEST(FashionMnist, DatasetFieldsAndItems) {
  ag_dataset *ds = nullptr;
  ASSERT_EQ(ag_fashion_mnist_open(AG_FASHION_MNIST_DIR, "t10k", nullptr, &ds), AG_OK)
      << ag_last_error();
  EXPECT_STREQ(ds->name, "fashion-mnist t10k");
  EXPECT_EQ(ag_dataset_length(ds), 10000);
  int count = 0;
  const ag_field *f = ag_dataset_fields(ds, &count);
  ASSERT_EQ(count, 2);
  char buf[64];
  EXPECT_STREQ(f[0].name, "image");
  EXPECT_STREQ(ag_shape_describe(&f[0].item, buf, sizeof buf), "f32[1,28,28]");
  EXPECT_STREQ(f[1].name, "label");
  EXPECT_STREQ(ag_shape_describe(&f[1].item, buf, sizeof buf), "i32[]");
  ag_mnist raw;
  ASSERT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "t10k", &raw), AG_OK);
  std::vector<float> images(2 * 784);
  int32_t labels[2];
  void *bufs[2] = {images.data(), labels};
  const int64_t idx[2] = {9999, 0};
  ASSERT_EQ(ag_dataset_fill(ds, idx, 2, bufs), AG_OK) << ag_last_error();
  for (int i = 0; i < 2; i++) {
    EXPECT_EQ(labels[i], raw.labels[idx[i]]);
    for (int p = 0; p < 784; p++)
      ASSERT_EQ(images[i * 784 + p], raw.images[idx[i] * 784 + p] * (1.0f / 255.0f));
  }
  ag_mnist_free(&raw);
  ag_dataset_free(ds);
}

TEST(FashionMnist, NormalisationModes) {
  Synth s(3, 1, 1);  // pixel values 0, 7, 14
  struct M {
    ag_pixel_norm m;
    float mean, std;
    float want[3];
  } ms[] = {{AG_PIXEL_UNIT, 0, 1, {0.0f, 7 / 255.0f, 14 / 255.0f}},
            {AG_PIXEL_SIGNED, 0, 1, {-1.0f, 7 / 127.5f - 1, 14 / 127.5f - 1}},
            {AG_PIXEL_MEAN_STD, 0.5f, 0.25f,
             {-2.0f, (7 / 255.0f - 0.5f) / 0.25f, (14 / 255.0f - 0.5f) / 0.25f}}};
  for (auto &m : ms) {
    const ag_fashion_mnist_opts fo = {m.m, m.mean, m.std};
    ag_dataset *ds = nullptr;
    ASSERT_EQ(ag_fashion_mnist_view(&s.raw, &fo, &ds), AG_OK) << ag_last_error();
    float images[3];
    int32_t labels[3];
    void *bufs[2] = {images, labels};
    const int64_t idx[3] = {0, 1, 2};
    ASSERT_EQ(ag_dataset_fill(ds, idx, 3, bufs), AG_OK);
    for (int i = 0; i < 3; i++) EXPECT_NEAR(images[i], m.want[i], 1e-5f) << "mode " << m.m;
    EXPECT_EQ(labels[2], 2);
    ag_dataset_free(ds);
  }
  const ag_fashion_mnist_opts bad = {AG_PIXEL_MEAN_STD, 0.5f, 0.0f};
  ag_dataset *ds = nullptr;
  EXPECT_EQ(ag_fashion_mnist_view(&s.raw, &bad, &ds), AG_ERR_INVALID);
  EXPECT_TRUE(contains(ag_last_error(), "std 0 must be > 0")) << ag_last_error();
  EXPECT_EQ(ds, nullptr);
}

// The loader over the real test split, with the prefetch thread and without.
TEST(FashionMnist, PrefetchMatchesSynchronous) {
  ag_mnist raw;
  ASSERT_EQ(ag_mnist_load(AG_FASHION_MNIST_DIR, "t10k", &raw), AG_OK) << ag_last_error();
  const ag_fashion_mnist_opts fo = {AG_PIXEL_SIGNED, 0, 1};
  ag_dataset *ds = nullptr;
  ASSERT_EQ(ag_fashion_mnist_view(&raw, &fo, &ds), AG_OK) << ag_last_error();
  auto o = ag_loader_default_opts();
  o.batch = 256, o.seed = 3, o.prefetch = 0;
  ag_loader *sync = nullptr, *pre = nullptr;
  ASSERT_EQ(ag_loader_open(ds, &o, &sync), AG_OK) << ag_last_error();
  o.prefetch = 1;
  ag_dataset *ds2 = nullptr;  // a dataset is used by one loader at a time
  ASSERT_EQ(ag_fashion_mnist_view(&raw, &fo, &ds2), AG_OK);
  ASSERT_EQ(ag_loader_open(ds2, &o, &pre), AG_OK) << ag_last_error();
  for (int e = 0; e < 2; e++) {
    for (size_t i = 0;; i++) {
      const ag_batch *a = nullptr, *b = nullptr;
      ASSERT_EQ(ag_loader_next(sync, &a), AG_OK) << ag_last_error();
      ASSERT_EQ(ag_loader_next(pre, &b), AG_OK) << ag_last_error();
      ASSERT_EQ(a == nullptr, b == nullptr) << "epoch " << e << " batch " << i;
      if (!a) {
        EXPECT_EQ(i, 40u);  // 10000 / 256 rounded up
        break;
      }
      EXPECT_EQ(a->count, i < 39 ? 256 : 10000 - 39 * 256);
      ASSERT_EQ(a->count, b->count);
      ASSERT_EQ(memcmp(a->data[0], b->data[0], (size_t)a->count * 784 * 4), 0)
          << "epoch " << e << " batch " << i;
      ASSERT_EQ(memcmp(a->data[1], b->data[1], (size_t)a->count * 4), 0);
    }
  }
  ag_loader_close(sync);
  ag_loader_close(pre);
  ag_dataset_free(ds);
  ag_dataset_free(ds2);
  ag_mnist_free(&raw);
}

TEST(Pixels, U8F32RoundTripAndClamp) {
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
