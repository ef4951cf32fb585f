// IDX reader: the real Fashion-MNIST files, files the test writes itself
// (plain and gzip, every element type), every corruption we promise to
// reject with AG_ERR_IO and a message naming the file and the problem, and
// gzip edge cases decided the same way as Python's gzip module
// (tests/io/idx_gzip_peer.py).
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
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

std::vector<uint8_t> read_raw(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

void put_le32(std::vector<uint8_t> &v, uint32_t x) {
  for (int i = 0; i < 4; i++) v.push_back((uint8_t)(x >> (8 * i)));
}

// One gzip member built by hand (RFC 1952), so the header flags and the
// trailer can be anything: header with `flags` (FEXTRA 4, FNAME 8, FHCRC 2
// get their fields; a wrong header CRC when `bad_hcrc`), raw deflate data,
// CRC-32 and ISIZE.
std::vector<uint8_t> gz_member(const std::vector<uint8_t> &content, uint8_t flags = 0,
                               bool bad_hcrc = false) {
  std::vector<uint8_t> g = {0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3};
  if (flags & 4) g.insert(g.end(), {3, 0, 'a', 'b', 'c'});
  if (flags & 8) g.insert(g.end(), {'f', '.', 'i', 'd', 'x', 0});
  if (flags & 2) {
    uint32_t h = (uint32_t)crc32(0, g.data(), (uInt)g.size()) ^ (bad_hcrc ? 1u : 0u);
    g.push_back((uint8_t)h), g.push_back((uint8_t)(h >> 8));
  }
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> raw(deflateBound(&z, (uLong)content.size()));
  z.next_in = const_cast<Bytef *>(content.data());
  z.avail_in = (uInt)content.size();
  z.next_out = raw.data();
  z.avail_out = (uInt)raw.size();
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  raw.resize(z.total_out);
  deflateEnd(&z);
  g.insert(g.end(), raw.begin(), raw.end());
  put_le32(g, (uint32_t)crc32(0, content.data(), (uInt)content.size()));
  put_le32(g, (uint32_t)content.size());
  return g;
}

std::vector<uint8_t> cat(std::vector<uint8_t> a, const std::vector<uint8_t> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
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
void expect_io_error(const std::string &path, const std::string &what) {
  ag_idx idx;
  EXPECT_EQ(ag_idx_read(path.c_str(), &idx), AG_ERR_IO) << what;
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find(path), std::string::npos) << what << ": " << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
  EXPECT_EQ(idx.data, nullptr);
}

TEST(Idx, FashionMnistTrainAndTest) {
  const std::string dir = AG_FASHION_MNIST_DIR;
  struct Split {
    const char *name;
    int64_t n;
  } splits[] = {{"train", 60000}, {"t10k", 10000}};
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
  struct Case {
    ag_idx_type t;
    const void *p;
    size_t es;
  } cases[] = {{AG_IDX_U8, u8, 1},   {AG_IDX_I8, i8, 1},   {AG_IDX_I16, i16, 2},
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
  std::vector<uint8_t> gz = read_raw(pg);
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
  // Under the cap but far beyond what the file holds (found by fuzzing: a
  // 12-byte file made the reader allocate 3 GB before reading any data).
  write_raw(p, header(0x08, {3053453316u}));
  expect_io_error(p, "truncated data: 0 of 3053453316 bytes");
  write_raw(p, gz_member(header(0x08, {3053453316u})));
  expect_io_error(p, "more than the");
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

// Found by fuzzing: dims whose product overflowed int64 (signed overflow),
// and a zero dim hiding huge others (accepted before, 0 elements).
TEST(Idx, OverflowingAndZeroHiddenDims) {
  std::string p = tmp_path("dims");
  write_raw(p, header(0x08, {0xF0000000u, 0xFFFFFFFFu}));
  expect_io_error(p, "dims promise more than 4294967296 bytes: [4026531840, 4294967295]");
  write_raw(p, header(0x08, {0, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}));
  expect_io_error(p,
                  "dims promise more than 4294967296 bytes: [0, 4294967295, 4294967295, "
                  "4294967295] of 1-byte elements (zero dims not counted");
  // A zero dim with sane others is a valid empty file.
  write_raw(p, header(0x0D, {0, 28, 28}));
  ag_idx idx;
  ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK) << ag_last_error();
  EXPECT_EQ(idx.count, 0);
  EXPECT_EQ(idx.dims[1], 28);
  ag_idx_free(&idx);
  std::remove(p.c_str());
}

// A small valid IDX file: u8 [2, 3].
std::vector<uint8_t> small_idx() { return cat(header(0x08, {2, 3}), {1, 2, 3, 4, 5, 6}); }

// Each gzip fault gives its own message, not a header or data complaint.
TEST(Idx, GzipFaultsNamed) {
  std::string p = tmp_path("fault.gz");
  const auto good = gz_member(small_idx());
  auto with = [&](std::vector<uint8_t> bytes, const std::string &what) {
    write_raw(p, bytes);
    expect_io_error(p, what);
  };
  auto bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  with(bad_crc, "gzip CRC mismatch");
  auto bad_isize = good;
  bad_isize[bad_isize.size() - 4] ^= 0x01;
  with(bad_isize, "gzip length (ISIZE) mismatch");
  // A bad CRC on content shorter than the IDX header used to be reported as
  // a truncated header.
  auto tiny = gz_member({0, 0});
  tiny[tiny.size() - 8] ^= 0x80;
  with(tiny, "gzip CRC mismatch");
  with(std::vector<uint8_t>(good.begin(), good.end() - 8),
       "gzip stream ends early (cut short after " + std::to_string(good.size() - 8) + " bytes)");
  with(std::vector<uint8_t>(good.begin(), good.begin() + 14), "gzip stream ends early");
  with(cat(good, {'X', 'Y', 'Z'}), "3 bytes of garbage after the gzip stream");
  with(cat(good, {0, 0, 7}), "3 bytes of garbage after the gzip stream");
  with(cat(good, {0x1f}), "1 bytes of garbage after the gzip stream");
  // A cut stream used to be reported as "dims missing".
  auto cut = gz_member(cat(header(0x08, {1000}), std::vector<uint8_t>(1000, 9)));
  with(std::vector<uint8_t>(cut.begin(), cut.begin() + cut.size() / 2), "gzip stream ends early");
  std::remove(p.c_str());
}

// What RFC 1952 and Python's gzip module allow is read as the one stream it is.
TEST(Idx, GzipMembersAndPadding) {
  std::string p = tmp_path("members.gz");
  const auto b = small_idx();
  const std::vector<uint8_t> first(b.begin(), b.begin() + 7), rest(b.begin() + 7, b.end());
  for (const auto &bytes :
       {cat(gz_member(first), gz_member(rest)),
        cat(cat(gz_member(first), gz_member({})), gz_member(rest)), cat(gz_member(b), {0, 0, 0, 0}),
        cat(gz_member(b), gz_member({})), gz_member(b, 4 | 8 | 2)}) {
    write_raw(p, bytes);
    ag_idx idx;
    ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK) << ag_last_error();
    EXPECT_EQ(idx.count, 6);
    EXPECT_EQ(static_cast<const uint8_t *>(idx.data)[5], 6);
    ag_idx_free(&idx);
  }
  // Content past the IDX data is refused even when it sits in a later member.
  write_raw(p, cat(gz_member(b), gz_member({1})));
  expect_io_error(p, "trailing bytes after 6 data bytes");
  std::remove(p.c_str());
}

bool has_tmp_files(const std::string &dir, const std::string &prefix) {
  for (const auto &e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.find(".tmp.") != std::string::npos) return true;
  }
  return false;
}

// Writes go to a temporary name and are renamed: a failed write keeps what
// was there and leaves nothing behind.
TEST(Idx, WriteIsAtomic) {
  int64_t dims[1] = {3};
  uint8_t v[3] = {1, 2, 3};
  for (int gz = 0; gz < 2; gz++) {
    std::string p = tmp_path("atomic" + std::to_string(gz));
    ASSERT_EQ(ag_idx_write(p.c_str(), AG_IDX_U8, 1, dims, v, gz), AG_OK) << ag_last_error();
    EXPECT_FALSE(has_tmp_files(testing::TempDir(), "ag_idx_")) << "temp file left behind";
    // The target is a directory: refused before anything is written.
    std::string d = tmp_path("adir" + std::to_string(gz));
    ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
    ASSERT_EQ(ag_idx_write(d.c_str(), AG_IDX_U8, 1, dims, v, gz), AG_ERR_IO);
    EXPECT_NE(std::string(ag_last_error()).find("is not a regular file"), std::string::npos)
        << ag_last_error();
    EXPECT_FALSE(has_tmp_files(testing::TempDir(), "ag_idx_")) << "temp file left behind";
    // A missing directory: nothing can be created.
    std::string nodir = tmp_path("no_such_dir") + "/x.idx";
    EXPECT_EQ(ag_idx_write(nodir.c_str(), AG_IDX_U8, 1, dims, v, gz), AG_ERR_IO);
    EXPECT_NE(std::string(ag_last_error()).find("cannot create"), std::string::npos)
        << ag_last_error();
    // Refused arguments leave the existing file as it was.
    int64_t huge[2] = {0xFFFFFFFFll, 0xFFFFFFFFll};
    EXPECT_EQ(ag_idx_write(p.c_str(), AG_IDX_U8, 2, huge, v, gz), AG_ERR_INVALID);
    EXPECT_NE(std::string(ag_last_error()).find("dims promise"), std::string::npos)
        << ag_last_error();
    ag_idx idx;
    ASSERT_EQ(ag_idx_read(p.c_str(), &idx), AG_OK) << ag_last_error();
    EXPECT_EQ(idx.count, 3);
    ag_idx_free(&idx);
    rmdir(d.c_str());
    std::remove(p.c_str());
  }
}

// Runs the Python peer on `files`; one verdict line per file ("ok" or
// "refused: ..."). Returns the exit code.
int run_gzip_peer(const std::vector<std::string> &files, std::vector<std::string> *verdicts) {
  std::string script =
      (std::filesystem::path(__FILE__).parent_path() / "idx_gzip_peer.py").string();
  std::string cmd = std::string("'") + AG_TEST_PYTHON + "' '" + script + "'";
  for (const auto &f : files) cmd += " '" + f + "'";
  FILE *pp = popen((cmd + " 2>&1").c_str(), "r");
  if (!pp) return -1;
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pp)) > 0;) out.append(buf, n);
  int rc = pclose(pp);
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) verdicts->push_back(line);
  return rc;
}

// Gzip IDX files given to Python's gzip.decompress (+ the IDX checks, in
// tests/io/idx_gzip_peer.py) and to ag_idx_read: they must agree on
// accept/refuse, except where zlib is deliberately stricter (listed below).
TEST(Idx, GzipAgreesWithPythonGzip) {
  if (std::string(AG_TEST_PYTHON).empty()) GTEST_SKIP() << "no python3 found at configure time";
  const auto b = small_idx();
  const auto good = gz_member(b);
  const std::vector<uint8_t> first(b.begin(), b.begin() + 7), rest(b.begin() + 7, b.end());
  auto flip = [](std::vector<uint8_t> v, size_t at, uint8_t mask) {
    v[at] ^= mask;
    return v;
  };
  auto cut = [](const std::vector<uint8_t> &v, size_t n) {
    return std::vector<uint8_t>(v.begin(), v.begin() + (ptrdiff_t)n);
  };
  const auto big = gz_member(cat(header(0x0B, {300}), std::vector<uint8_t>(600, 0x5a)));
  const auto second = gz_member(rest);
  struct Case {
    const char *name;
    std::vector<uint8_t> bytes;
    bool aigc_stricter;  // zlib refuses, Python's gzip module accepts
  } cases[] = {
      {"valid", good, false},
      {"valid_big", big, false},
      {"bad_crc", flip(good, good.size() - 8, 1), false},
      {"bad_crc_high_byte", flip(good, good.size() - 5, 0x80), false},
      {"bad_isize", flip(good, good.size() - 4, 1), false},
      {"isize_high_byte", flip(good, good.size() - 1, 1), false},
      {"missing_trailer", cut(good, good.size() - 8), false},
      {"half_trailer", cut(good, good.size() - 4), false},
      {"one_trailer_byte_short", cut(good, good.size() - 1), false},
      {"truncated_mid_stream", cut(big, big.size() / 2), false},
      {"header_only", cut(good, 10), false},
      {"magic_only", {0x1f, 0x8b}, false},
      {"garbage_after", cat(good, {'X', 'Y', 'Z'}), false},
      {"one_garbage_byte", cat(good, {0x01}), false},
      {"zero_padding", cat(good, std::vector<uint8_t>(16, 0)), false},
      {"zeros_then_garbage", cat(good, {0, 0, 0, 9}), false},
      {"two_members", cat(gz_member(first), second), false},
      {"empty_member_between", cat(cat(gz_member(first), gz_member({})), second), false},
      {"empty_member_after", cat(good, gz_member({})), false},
      {"empty_member_only", gz_member({}), false},
      {"second_member_bad_crc", cat(gz_member(first), flip(second, second.size() - 8, 1)), false},
      {"second_member_cut", cat(gz_member(first), cut(second, 12)), false},
      {"second_header_cut", cat(good, {0x1f, 0x8b, 8}), false},
      {"lone_magic_byte_after", cat(good, {0x1f}), false},
      {"trailing_idx_bytes_in_member", cat(good, gz_member({1, 2})), false},
      {"idx_data_short", gz_member(cut(b, b.size() - 1)), false},
      {"idx_bad_magic", gz_member({0, 1, 8, 1, 0, 0, 0, 0}), false},
      {"idx_huge_zero_hidden", gz_member(header(0x08, {0, 0xFFFFFFFFu, 0xFFFFFFFFu})), false},
      {"bad_method", flip(good, 2, 0x0f), false},
      {"fextra_fname", gz_member(b, 4 | 8), false},
      {"fhcrc_good", gz_member(b, 2), false},
      {"corrupt_deflate", flip(big, 12, 0xff), false},
      {"plain_named_gz", b, false},
      {"plain_truncated", cut(b, b.size() - 2), false},
      {"zlib_not_gzip", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, false},
      {"empty_file", {}, false},
      // zlib checks the header CRC and the reserved flag bits; Python's gzip
      // module ignores both. A damaged header is refused on purpose.
      {"fhcrc_wrong", gz_member(b, 2, true), true},
      {"reserved_flag", gz_member(b, 0x20), true},
  };
  std::vector<std::string> files;
  for (const auto &c : cases) {
    files.push_back(tmp_path(std::string("peer_") + c.name + ".gz"));
    write_raw(files.back(), c.bytes);
  }
  std::vector<std::string> verdicts;
  int rc = run_gzip_peer(files, &verdicts);
  ASSERT_EQ(rc, 0) << "peer failed: " << (verdicts.empty() ? "" : verdicts[0]);
  ASSERT_EQ(verdicts.size(), files.size());
  int accepted = 0;
  for (size_t i = 0; i < files.size(); i++) {
    ag_idx idx;
    ag_status st = ag_idx_read(files[i].c_str(), &idx);
    std::string why = st == AG_OK ? "ok" : ag_last_error();
    bool python_ok = verdicts[i] == "ok";
    if (cases[i].aigc_stricter) {
      EXPECT_TRUE(python_ok) << cases[i].name << ": python " << verdicts[i];
      EXPECT_NE(st, AG_OK) << cases[i].name;
    } else {
      EXPECT_EQ(st == AG_OK, python_ok)
          << cases[i].name << ": aigc " << why << "; python " << verdicts[i];
    }
    if (st == AG_OK) {
      accepted++;
    } else {
      EXPECT_EQ(st, AG_ERR_IO) << cases[i].name;
      EXPECT_NE(why.find(files[i]), std::string::npos) << why;
    }
    ag_idx_free(&idx);
    std::remove(files[i].c_str());
  }
  // Both sides of the line are exercised.
  EXPECT_GE(accepted, 8);
  EXPECT_GE((int)files.size() - accepted, 20);
}

}  // namespace
