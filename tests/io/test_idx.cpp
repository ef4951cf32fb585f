// IDX reader: the real Fashion-MNIST files, files the test writes itself
// (plain and gzip, every element type), and every corruption we promise to
// reject with AG_ERR_IO and a message naming the file.
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/io/idx.h"

namespace {

std::string tmp_path(const std::string &name) {
  return testing::TempDir() + "ag_idx_" + std::to_string(getpid()) + "_" + name;
}

void write_raw(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char *>(bytes.data()), (std::streamsize)bytes.size());
}

void write_gz(const std::string &path, const std::vector<uint8_t> &bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), (unsigned)bytes.size()), (int)bytes.size());
  gzclose(f);
}

// Header for type `t` and the given dims.
std::vector<uint8_t> header(uint8_t t, std::vector<uint32_t> dims) {
  std::vector<uint8_t> h = {0, 0, t, (uint8_t)dims.size()};
  for (uint32_t d : dims) {
    h.push_back(d >> 24), h.push_back(d >> 16), h.push_back(d >> 8), h.push_back(d);
  }
  return h;
}

// Reading `path` must fail with AG_ERR_IO and a message naming it.
void expect_io_error(const std::string &path, const char *what) {
  ag_idx idx;
  EXPECT_EQ(ag_idx_read(path.c_str(), &idx), AG_ERR_IO) << what;
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find(path), std::string::npos) << what << ": " << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
  EXPECT_EQ(idx.data, nullptr);
}

TEST(Idx, FashionMnistTrainAndTest) {
  const std::string dir = AG_FASHION_MNIST_DIR;
  struct Split { const char *name; int64_t n; } splits[] = {{"train", 60000}, {"t10k", 10000}};
  for (auto &s : splits) {
    ag_idx img, lab;
    std::string ip = dir + "/" + s.name + "-images-idx3-ubyte.gz";
    std::string lp = dir + "/" + s.name + "-labels-idx1-ubyte.gz";
    ASSERT_EQ(ag_idx_read(ip.c_str(), &img), AG_OK) << ag_last_error();
    ASSERT_EQ(ag_idx_read(lp.c_str(), &lab), AG_OK) << ag_last_error();
    EXPECT_EQ(img.type, AG_IDX_U8);
    EXPECT_EQ(img.rank, 3);
    EXPECT_EQ(img.dims[0], s.n);
    EXPECT_EQ(img.dims[1], 28);
    EXPECT_EQ(img.dims[2], 28);
    EXPECT_EQ(lab.rank, 1);
    EXPECT_EQ(lab.dims[0], s.n);
    // Fashion-MNIST is balanced: every class has exactly N/10 images.
    std::vector<int64_t> hist(10, 0);
    const uint8_t *l = static_cast<const uint8_t *>(lab.data);
    for (int64_t i = 0; i < lab.count; i++) {
      ASSERT_LT(l[i], 10);
      hist[l[i]]++;
    }
    for (int c = 0; c < 10; c++) EXPECT_EQ(hist[c], s.n / 10) << s.name << " class " << c;
    // Images are not blank: pixels use the whole 0..255 range.
    const uint8_t *p = static_cast<const uint8_t *>(img.data);
    uint8_t lo = 255, hi = 0;
    for (int64_t i = 0; i < img.count; i++) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
    EXPECT_EQ(lo, 0);
    EXPECT_EQ(hi, 255);
    ag_idx_free(&img);
    ag_idx_free(&lab);
  }
}

TEST(Idx, ToTensorU8) {
  ag_idx lab;
  std::string lp = std::string(AG_FASHION_MNIST_DIR) + "/t10k-labels-idx1-ubyte.gz";
  ASSERT_EQ(ag_idx_read(lp.c_str(), &lab), AG_OK) << ag_last_error();
  ag_tensor *t = nullptr;
  ASSERT_EQ(ag_idx_to_tensor(&lab, &t), AG_OK) << ag_last_error();
  EXPECT_EQ(t->dtype, AG_U8);
  EXPECT_EQ(t->shape[0], 10000);
  auto bytes = ag_test::read_bytes(t);
  EXPECT_EQ(0, memcmp(bytes.data(), lab.data, bytes.size()));
  ag_tensor_free(t);
  ag_idx_free(&lab);
}

// Every element type survives write -> read, plain and gzip, with byte order
// handled (values chosen so a missing swap would show).
TEST(Idx, RoundTripAllTypesPlainAndGzip) {
  int64_t dims[2] = {3, 2};
  int16_t i16[6] = {1, -2, 300, -32768, 32767, 258};
  int32_t i32[6] = {1, -2, 70000, INT32_MIN, INT32_MAX, 0x01020304};
  float f32[6] = {0.5f, -1.25f, 3e30f, -0.0f, 1e-30f, 7.0f};
  double f64[6] = {0.1, -2.5, 1e300, 3.0, -4.0, 5e-300};
  uint8_t u8[6] = {0, 1, 2, 127, 128, 255};
  int8_t i8[6] = {0, -1, 2, -128, 127, 5};
  struct Case { ag_idx_type t; const void *p; size_t es; } cases[] = {
      {AG_IDX_U8, u8, 1}, {AG_IDX_I8, i8, 1}, {AG_IDX_I16, i16, 2},
      {AG_IDX_I32, i32, 4}, {AG_IDX_F32, f32, 4}, {AG_IDX_F64, f64, 8}};
  for (auto &c : cases)
    for (int gz = 0; gz < 2; gz++) {
      std::string p = tmp_path("rt_" + std::to_string(c.t) + (gz ? ".gz" : ""));
      ASSERT_EQ(ag_idx_write(p.c_str(), c.t, 2, dims, c.p, gz), AG_OK) << ag_last_error();
      ag_idx idx;
      ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK) << ag_last_error();
      EXPECT_EQ(idx.type, c.t);
      EXPECT_EQ(idx.rank, 2);
      EXPECT_EQ(idx.dims[0], 3);
      EXPECT_EQ(idx.dims[1], 2);
      EXPECT_EQ(idx.count, 6);
      EXPECT_EQ(0, memcmp(idx.data, c.p, 6 * c.es)) << "type " << c.t << " gz " << gz;
      ag_idx_free(&idx);
      std::remove(p.c_str());
    }
}

// A file written by hand (not by ag_idx_write), big-endian i32, gzip.
TEST(Idx, HandWrittenBigEndianGzip) {
  auto bytes = header(0x0C, {2});
  for (uint8_t b : {0x00, 0x00, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFE}) bytes.push_back(b);
  std::string p = tmp_path("be.gz");
  write_gz(p, bytes);
  ag_idx idx;
  ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK) << ag_last_error();
  const int32_t *v = static_cast<const int32_t *>(idx.data);
  EXPECT_EQ(v[0], 258);
  EXPECT_EQ(v[1], -2);
  ag_tensor *t = nullptr;
  ASSERT_EQ(ag_idx_to_tensor(&idx, &t), AG_OK);
  EXPECT_EQ(t->dtype, AG_I32);
  ag_tensor_free(t);
  ag_idx_free(&idx);
  std::remove(p.c_str());
}

TEST(Idx, MissingFile) { expect_io_error(tmp_path("does_not_exist"), "cannot open"); }

TEST(Idx, EmptyFile) {
  std::string p = tmp_path("empty");
  write_raw(p, {});
  expect_io_error(p, "truncated header");
  std::remove(p.c_str());
}

TEST(Idx, BadMagic) {
  std::string p = tmp_path("magic");
  write_raw(p, {0x89, 'P', 'N', 'G', 0, 0, 0, 0});
  expect_io_error(p, "bad magic");
  write_raw(p, {0, 0, 0x07, 1, 0, 0, 0, 1, 5});  // unknown type byte
  expect_io_error(p, "bad magic");
  write_raw(p, {0, 0, 0x08, 0});  // rank 0
  expect_io_error(p, "rank");
  std::remove(p.c_str());
}

TEST(Idx, TruncatedDimsAndData) {
  std::string p = tmp_path("trunc");
  auto h = header(0x08, {10, 4});
  write_raw(p, std::vector<uint8_t>(h.begin(), h.begin() + 9));
  expect_io_error(p, "truncated header");
  auto body = h;
  body.resize(h.size() + 39, 7);  // one byte short of 40
  write_raw(p, body);
  expect_io_error(p, "truncated data");
  // Same through gzip.
  std::string pg = tmp_path("trunc.gz");
  write_gz(pg, body);
  expect_io_error(pg, "truncated data");
  // And a gzip stream cut in half.
  body.resize(h.size() + 40, 7);
  write_gz(pg, body);
  std::ifstream in(pg, std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), {});
  gz.resize(gz.size() / 2);
  write_raw(pg, gz);
  ag_idx idx;
  EXPECT_EQ(ag_idx_read(pg.c_str(), &idx), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find(pg), std::string::npos) << ag_last_error();
  std::remove(p.c_str());
  std::remove(pg.c_str());
}

TEST(Idx, TrailingBytes) {
  std::string p = tmp_path("trail");
  auto b = header(0x08, {2});
  b.insert(b.end(), {1, 2, 3});
  write_raw(p, b);
  expect_io_error(p, "trailing");
  std::remove(p.c_str());
}

TEST(Idx, AbsurdDims) {
  std::string p = tmp_path("huge");
  // 2^32-1 cubed overflows 64 bits; must be caught before any allocation.
  write_raw(p, header(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}));
  expect_io_error(p, "dims promise");
  write_raw(p, header(0x08, {100000, 100000}));  // 10 GB: over the cap
  expect_io_error(p, "dims promise");
  std::remove(p.c_str());
}

TEST(Idx, ToTensorRejectsUnmappedTypes) {
  int64_t dims[1] = {2};
  double v[2] = {1, 2};
  std::string p = tmp_path("f64");
  ASSERT_EQ(ag_idx_write(p.c_str(), AG_IDX_F64, 1, dims, v, 0), AG_OK);
  ag_idx idx;
  ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK);
  ag_tensor *t = nullptr;
  EXPECT_EQ(ag_idx_to_tensor(&idx, &t), AG_ERR_UNSUPPORTED);
  EXPECT_EQ(t, nullptr);
  ag_idx_free(&idx);
  std::remove(p.c_str());
}

}  // namespace
