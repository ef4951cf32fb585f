// safetensors checkpoints: round trip, strict validation of corrupt files,
// model/checkpoint mismatch messages, atomic save, and interop with Python's
// `safetensors` package (tests/io/safetensors_peer.py).
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ag_test_util.h"
#include "runtime/io/safetensors.h"

namespace fs = std::filesystem;
using ag_test::make_tensor;
using ag_test::read_bytes;
using ag_test::read_floats;

namespace {

struct Dir {
  fs::path path;
  Dir() {
    path = fs::temp_directory_path() /
           ("ag_st_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string file(const std::string &name) const { return (path / name).string(); }
};

std::vector<uint8_t> slurp(const std::string &p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void spit(const std::string &p, const std::vector<uint8_t> &b) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char *>(b.data()), (std::streamsize)b.size());
}

// A file from a header string and data bytes, in the spec's layout.
std::vector<uint8_t> make_file(const std::string &header, const std::vector<uint8_t> &data,
                               uint64_t hlen_override = 0) {
  uint64_t n = hlen_override ? hlen_override : header.size();
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

bool has_tmp_files(const fs::path &dir) {
  for (auto &e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

// Tensors the Python peer expects (see EXPECTED in safetensors_peer.py).
struct Named {
  std::vector<std::string> names;
  std::vector<ag_tensor *> tensors;
  ~Named() {
    for (auto *t : tensors) ag_tensor_free(t);
  }
  // Float dtypes only (ag_test::encode); integer tensors go through add_raw.
  void add(const char *name, ag_dtype dt, std::vector<int64_t> shape, std::vector<float> v) {
    names.push_back(name);
    tensors.push_back(make_tensor(ag_backend_cpu(), dt, shape, v));
  }
  void add_raw(const char *name, ag_dtype dt, std::vector<int64_t> shape, const void *bytes) {
    ag_tensor *t = ag_tensor_new(ag_backend_cpu(), dt, (int)shape.size(), shape.data());
    EXPECT_EQ(ag_tensor_write(t, bytes, ag_tensor_nbytes(t)), AG_OK) << ag_last_error();
    names.push_back(name);
    tensors.push_back(t);
  }
  std::vector<const char *> cnames() const {
    std::vector<const char *> v;
    for (auto &s : names) v.push_back(s.c_str());
    return v;
  }
};

void fill_expected(Named &m) {
  std::vector<float> f32, f16, bf16;
  for (int i = 0; i < 6; i++) f32.push_back(i * 0.25f - 0.5f);
  for (int i = 0; i < 4; i++) f16.push_back(i * 0.5f - 1.0f);
  for (int i = 0; i < 4; i++) bf16.push_back(i * 1.5f - 2.0f);
  m.add("w.f32", AG_F32, {2, 3}, f32);
  m.add("w.f16", AG_F16, {4}, f16);
  m.add("w.bf16", AG_BF16, {2, 2}, bf16);
  const int32_t i32[3] = {-7, 0, 123456789};
  m.add_raw("w.i32", AG_I32, {3}, i32);
  const uint8_t u8[5] = {0, 1, 127, 128, 255};
  m.add_raw("w.u8", AG_U8, {5}, u8);
  m.add("scalar", AG_F32, {}, {3.5f});
  m.add("one", AG_F32, {1}, {-1.25f});
}

const char *kMetaKeys[] = {"model", "config", "step"};
const char *kMetaValues[] = {"mlp", "{\"hidden\": 256, \"layers\": 2}", "1200"};

ag_status save(const std::string &path, const Named &m, int n_meta = 3) {
  auto names = m.cnames();
  std::vector<const ag_tensor *> ts(m.tensors.begin(), m.tensors.end());
  return ag_st_save(path.c_str(), names.data(), ts.data(), (int)ts.size(), kMetaKeys, kMetaValues,
                    n_meta);
}

// Opens `bytes` as a file and expects AG_ERR_IO with `needle` in the message.
void expect_corrupt(const Dir &d, const std::vector<uint8_t> &bytes, const std::string &needle) {
  std::string p = d.file("bad.safetensors");
  spit(p, bytes);
  ag_clear_error();
  ag_safetensors *st = ag_st_open(p.c_str());
  EXPECT_EQ(st, nullptr);
  ag_st_close(st);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << "message: " << msg;
}

// An uninitialised CPU tensor of `shape`.
ag_tensor *new_cpu(ag_dtype dt, std::vector<int64_t> shape) {
  ag_tensor *t = ag_tensor_new(ag_backend_cpu(), dt, (int)shape.size(), shape.data());
  EXPECT_NE(t, nullptr) << ag_last_error();
  return t;
}

std::vector<uint8_t> zeros(size_t n) { return std::vector<uint8_t>(n, 0); }

}  // namespace

TEST(Safetensors, RoundTripEveryDtypeAndMetadata) {
  Dir d;
  Named m;
  fill_expected(m);
  std::string p = d.file("ckpt.safetensors");
  ASSERT_EQ(save(p, m), AG_OK) << ag_last_error();
  auto bytes = slurp(p);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
  EXPECT_EQ((8 + hlen) % 8, 0u) << "data must start 8-byte aligned";

  ag_safetensors *st = ag_st_open(p.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();
  ASSERT_EQ(ag_st_count(st), (int)m.names.size());
  for (size_t i = 0; i < m.names.size(); i++) {
    EXPECT_STREQ(ag_st_name(st, (int)i), m.names[i].c_str()) << "order is preserved";
    ag_st_tensor_info info;
    ASSERT_EQ(ag_st_info(st, (int)i, &info), AG_OK);
    const ag_tensor *t = m.tensors[i];
    EXPECT_EQ(info.dtype, t->dtype);
    ASSERT_EQ(info.ndim, t->ndim);
    for (int k = 0; k < t->ndim; k++) EXPECT_EQ(info.shape[k], t->shape[k]);
    EXPECT_EQ(info.bytes, ag_tensor_nbytes(t));
    ag_tensor *back = ag_tensor_new(ag_backend_cpu(), t->dtype, t->ndim, t->shape);
    ASSERT_EQ(ag_st_load_into(st, m.names[i].c_str(), back), AG_OK) << ag_last_error();
    EXPECT_EQ(read_bytes(back), read_bytes(t)) << m.names[i];
    ag_tensor_free(back);
  }
  EXPECT_EQ(ag_st_metadata_count(st), 3);
  for (int i = 0; i < 3; i++) EXPECT_STREQ(ag_st_metadata(st, kMetaKeys[i]), kMetaValues[i]);
  EXPECT_EQ(ag_st_metadata(st, "absent"), nullptr);
  EXPECT_EQ(ag_st_find(st, "absent"), -1);
  ag_st_close(st);
}

TEST(Safetensors, SavesNonContiguousViewsAndNoMetadata) {
  Dir d;
  Named m;
  m.add("w", AG_F32, {2, 3}, {0, 1, 2, 3, 4, 5});
  const int perm[2] = {1, 0};
  ag_tensor *wt = ag_tensor_permute(m.tensors[0], perm);
  ASSERT_NE(wt, nullptr);
  const char *names[] = {"wt"};
  const ag_tensor *ts[] = {wt};
  std::string p = d.file("v.safetensors");
  ASSERT_EQ(ag_st_save(p.c_str(), names, ts, 1, nullptr, nullptr, 0), AG_OK) << ag_last_error();
  ag_tensor_free(wt);
  ag_safetensors *st = ag_st_open(p.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();
  EXPECT_EQ(ag_st_metadata_count(st), 0);
  const int64_t shape[2] = {3, 2};
  ag_tensor *back = ag_tensor_new(ag_backend_cpu(), AG_F32, 2, shape);
  ASSERT_EQ(ag_st_load_into(st, "wt", back), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(back), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  ag_tensor_free(back);
  ag_st_close(st);
}

TEST(Safetensors, LoadIntoMismatchSaysExactlyWhat) {
  Dir d;
  Named m;
  m.add("fc1.weight", AG_F32, {128, 784}, std::vector<float>(128 * 784, 0.5f));
  std::string p = d.file("m.safetensors");
  ASSERT_EQ(save(p, m, 0), AG_OK) << ag_last_error();
  ag_safetensors *st = ag_st_open(p.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();

  const int64_t s_big[2] = {256, 784};
  ag_tensor *big = ag_tensor_new(ag_backend_cpu(), AG_F32, 2, s_big);
  EXPECT_EQ(ag_st_load_into(st, "fc1.weight", big), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error())
                .find("checkpoint tensor 'fc1.weight' is f32[128,784], model expects f32[256,784]"),
            std::string::npos)
      << ag_last_error();

  const int64_t s_ok[2] = {128, 784};
  ag_tensor *half = ag_tensor_new(ag_backend_cpu(), AG_F16, 2, s_ok);
  EXPECT_EQ(ag_st_load_into(st, "fc1.weight", half), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error())
                .find("checkpoint tensor 'fc1.weight' is f32[128,784], model expects f16[128,784]"),
            std::string::npos)
      << ag_last_error();

  EXPECT_EQ(ag_st_load_into(st, "fc2.weight", half), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("no tensor 'fc2.weight'"), std::string::npos)
      << ag_last_error();
  ag_tensor_free(big);
  ag_tensor_free(half);
  ag_st_close(st);
}

TEST(Safetensors, LoadParamsReportsAllProblemsAtOnce) {
  Dir d;
  Named m;
  m.add("fc1.weight", AG_F32, {4, 3}, std::vector<float>(12, 1.0f));
  m.add("fc1.bias", AG_F32, {4}, {1, 2, 3, 4});
  m.add("old.head", AG_F32, {2}, {0, 0});
  std::string p = d.file("p.safetensors");
  ASSERT_EQ(save(p, m, 0), AG_OK) << ag_last_error();
  ag_safetensors *st = ag_st_open(p.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();

  const int64_t s_w[2] = {5, 3}, s_b[1] = {4}, s_h[1] = {7};
  ag_tensor *w = ag_tensor_new(ag_backend_cpu(), AG_F32, 2, s_w);
  ag_tensor *b = ag_tensor_new(ag_backend_cpu(), AG_F32, 1, s_b);
  ag_tensor *h = ag_tensor_new(ag_backend_cpu(), AG_F32, 1, s_h);
  const float zero[4] = {0, 0, 0, 0};
  ASSERT_EQ(ag_tensor_write(b, zero, sizeof zero), AG_OK);
  const char *names[] = {"fc1.weight", "fc1.bias", "head"};
  ag_tensor *ts[] = {w, b, h};
  EXPECT_EQ(ag_st_load_params(st, names, ts, 3), AG_ERR_INVALID);
  std::string msg = ag_last_error();
  EXPECT_NE(msg.find("3 problems"), std::string::npos) << msg;
  EXPECT_NE(msg.find("checkpoint tensor 'fc1.weight' is f32[4,3], model expects f32[5,3]"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("missing 'head'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected 'old.head'"), std::string::npos) << msg;
  EXPECT_EQ(read_floats(b), (std::vector<float>{0, 0, 0, 0})) << "nothing loaded on error";

  // The matching subset loads (with the file's extra tensor named as unexpected
  // unless listed), so list exactly the file's tensors with right shapes.
  ag_tensor *w2 = new_cpu(AG_F32, {4, 3});
  ag_tensor *h2 = new_cpu(AG_F32, {2});
  const char *names2[] = {"fc1.bias", "fc1.weight", "old.head"};
  ag_tensor *ts2[] = {b, w2, h2};
  EXPECT_EQ(ag_st_load_params(st, names2, ts2, 3), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(b), (std::vector<float>{1, 2, 3, 4}));

  // Many problems: all counted, the list cut short with "..." (the error
  // buffer is 1 KB), never cut mid-name.
  std::vector<std::string> many;
  for (int i = 0; i < 100; i++) many.push_back("layer." + std::to_string(i) + ".weight");
  std::vector<const char *> many_names;
  std::vector<ag_tensor *> many_ts(100, h);
  for (auto &n : many) many_names.push_back(n.c_str());
  EXPECT_EQ(ag_st_load_params(st, many_names.data(), many_ts.data(), 100), AG_ERR_INVALID);
  msg = ag_last_error();
  EXPECT_NE(msg.find("103 problems"), std::string::npos) << msg;
  EXPECT_EQ(msg.substr(msg.size() - 5), "; ...") << msg;

  const char *twice[] = {"fc1.bias", "fc1.bias"};
  ag_tensor *twice_ts[] = {b, b};
  EXPECT_EQ(ag_st_load_params(st, twice, twice_ts, 2), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("'fc1.bias' is listed twice"), std::string::npos)
      << ag_last_error();
  for (ag_tensor *t : {w, b, h, w2, h2}) ag_tensor_free(t);
  ag_st_close(st);
}

TEST(Safetensors, TruncatedFilesAreRejected) {
  Dir d;
  Named m;
  fill_expected(m);
  std::string p = d.file("full.safetensors");
  ASSERT_EQ(save(p, m), AG_OK) << ag_last_error();
  auto full = slurp(p);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | full[i];
  struct Cut {
    size_t at;
    const char *needle;
  } cuts[] = {{0, "shorter than the 8-byte"},    {5, "shorter than the 8-byte"},
              {8, "larger than the file"},       {8 + hlen / 2, "larger than the file"},
              {8 + hlen, "is beyond the"},       {8 + hlen + 7, "is beyond the"},
              {full.size() - 1, "is beyond the"}};
  for (auto &c : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(c.at));
    expect_corrupt(d, std::vector<uint8_t>(full.begin(), full.begin() + (long)c.at), c.needle);
  }
  // Every other cut point: an error, never a crash.
  for (size_t at = 0; at < full.size(); at++) {
    spit(d.file("cut.safetensors"), std::vector<uint8_t>(full.begin(), full.begin() + (long)at));
    ag_safetensors *st = ag_st_open(d.file("cut.safetensors").c_str());
    EXPECT_EQ(st, nullptr) << "cut at " << at;
    ag_st_close(st);
  }
}

TEST(Safetensors, CorruptHeadersAreRejected) {
  Dir d;
  const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  {
    std::string p = d.file("ok.safetensors");
    spit(p, make_file(ok, zeros(8)));
    ag_safetensors *st = ag_st_open(p.c_str());
    EXPECT_NE(st, nullptr) << "the baseline must be valid: " << ag_last_error();
    ag_st_close(st);
  }
  expect_corrupt(d, make_file(ok, zeros(8), 1ull << 40), "oversized header");
  expect_corrupt(d, make_file(ok, zeros(8), 200000000ull), "oversized header");
  expect_corrupt(d, make_file("{\"a\": [1, 2", zeros(8)), "not valid JSON");
  expect_corrupt(d, make_file("hello world!", zeros(8)), "does not start with '{'");
  expect_corrupt(d, make_file("[1,2,3]", {}), "does not start with '{'");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                 "tensor 'a': dtype \"F33\" is unknown");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", zeros(8)),
                 "unsupported");
  expect_corrupt(d, make_file(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", zeros(8)),
                 "tensor 'a': missing \"dtype\"");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", zeros(8)),
                 "tensor 'a': f32[3] needs 12 bytes, data_offsets [0, 8] hold 8");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", zeros(8)),
                 "shape[0] is -2, not a non-negative JSON integer");
  expect_corrupt(
      d, make_file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8]}})", zeros(8)),
      "at most 4");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", zeros(8)),
                 "end before they begin");
  expect_corrupt(d, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", zeros(8)),
                 "must be [begin, end]");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                           zeros(12)),
                 "overlap");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                           zeros(12)),
                 "tensor 'b': data_offsets [8, 12] leave a hole of 4 bytes");
  expect_corrupt(d, make_file(ok, zeros(12)), "trailing bytes");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                           zeros(8)),
                 "appears twice");
  expect_corrupt(d, make_file(R"({"__metadata__":{"step":3}})", {}), "not a string");
  expect_corrupt(d, make_file(ok + "  x", zeros(8)), "trailing bytes after the JSON");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],)"
                           R"("data_offsets":[0,8]}})",
                           zeros(8)),
                 "tensor 'a'");
  ag_clear_error();
  EXPECT_EQ(ag_st_open(d.file("does-not-exist").c_str()), nullptr);
  EXPECT_NE(std::string(ag_last_error()).find("cannot open"), std::string::npos);
}

// The earlier fuzz findings, checked without Python: each of these files was
// read by aigc although the reference (Python's safetensors 0.8) refuses it,
// or refused although the reference reads it. tests/io/safetensors_diff.py
// holds the full differential list.
TEST(Safetensors, ReadsExactlyLikeTheReference) {
  Dir d;
  auto entry = [](const std::string &shape, const std::string &offsets) {
    return R"({"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
  };
  const std::string a = R"("a":)" + entry("[2]", "[0,8]");
  expect_corrupt(d, make_file(R"({"__metadata__\u0000zz":{"k":"v"},)" + a + "}", zeros(8)),
                 "holds a NUL character");
  expect_corrupt(d, make_file(R"({"a":)" + entry("[2.0]", "[0,8]") + "}", zeros(8)),
                 "tensor 'a': shape[0] is 2.0, not a non-negative JSON integer");
  expect_corrupt(d, make_file(R"({"a":)" + entry("[2]", "[0,8e0]") + "}", zeros(8)),
                 "tensor 'a': data_offsets[1] is 8e0, not a non-negative JSON integer");
  expect_corrupt(d,
                 make_file(R"({"a":)" + entry("[2]", "[0,18446744073709551615]") + "}", zeros(24)),
                 "tensor 'a': data_offsets end 18446744073709551615 is beyond the 24-byte data "
                 "section");
  expect_corrupt(d, make_file("{" + a + "}" + std::string(3, '\0'), zeros(8)),
                 "trailing bytes after the JSON object (header byte 54 is 0x00");
  expect_corrupt(d, make_file(R"({"__metadata__":{"k":"1","k":"2"},)" + a + "}", zeros(8)),
                 "metadata key 'k' appears twice");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],)"
                           R"("data_offsets":[0,8]}})",
                           zeros(8)),
                 "field \"dtype\" appears twice");
  expect_corrupt(d,
                 make_file(R"({"a":{"dtype":"F32",)" + std::string(1, '\0') +
                               R"("shape":[2],"data_offsets":[0,8]}})",
                           zeros(8)),
                 "not valid JSON");

  // A name is any JSON string: the message shows control characters escaped,
  // so it stays one line.
  expect_corrupt(d, make_file(R"({"a\nb":)" + entry("[3]", "[0,8]") + "}", zeros(8)),
                 "tensor 'a\\u000ab': f32[3] needs 12 bytes");
  EXPECT_EQ(std::string(ag_last_error()).find('\n'), std::string::npos) << ag_last_error();

  // Valid for the reference, so for aigc too: space or JSON whitespace
  // padding, leading whitespace, an empty name, "__metadata__": null.
  for (const std::string &header :
       {"{" + a + "}     ", " {" + a + "}\n\t", R"({"":)" + entry("[2]", "[0,8]") + "}",
        R"({"__metadata__":null,)" + a + "}"}) {
    std::string p = d.file("ok.safetensors");
    spit(p, make_file(header, zeros(8)));
    ag_safetensors *st = ag_st_open(p.c_str());
    EXPECT_NE(st, nullptr) << header << ": " << ag_last_error();
    EXPECT_EQ(ag_st_count(st), 1) << header;
    ag_st_close(st);
  }
}

TEST(Safetensors, FailedSaveLeavesExistingFileIntactAndNoTmp) {
  Dir d;
  Named m;
  fill_expected(m);
  std::string p = d.file("keep.safetensors");
  ASSERT_EQ(save(p, m), AG_OK) << ag_last_error();
  auto before = slurp(p);
  EXPECT_FALSE(has_tmp_files(d.path));

  // Bad arguments are refused before anything is written.
  Named dup;
  dup.add("x", AG_F32, {1}, {1});
  dup.add("x", AG_F32, {1}, {2});
  EXPECT_EQ(save(p, dup), AG_ERR_INVALID);
  EXPECT_NE(std::string(ag_last_error()).find("'x' is given twice"), std::string::npos);
  EXPECT_EQ(slurp(p), before);

  // A missing directory: the temp file cannot be created.
  std::string nodir = d.file("no/such/dir/x.safetensors");
  EXPECT_EQ(save(nodir, m), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("cannot create"), std::string::npos)
      << ag_last_error();
  EXPECT_FALSE(fs::exists(nodir));

  // The target is a directory: refused before anything is written (a rename
  // would fail, or replace a device node such as /dev/null).
  std::string isdir = d.file("adir.safetensors");
  fs::create_directories(fs::path(isdir) / "inside");
  EXPECT_EQ(save(isdir, m), AG_ERR_IO);
  EXPECT_NE(std::string(ag_last_error()).find("is not a regular file"), std::string::npos)
      << ag_last_error();
  EXPECT_TRUE(fs::is_directory(isdir));
  EXPECT_FALSE(has_tmp_files(d.path));

  // A successful overwrite replaces the file whole.
  Named small;
  const uint8_t two[2] = {1, 2};
  small.add_raw("only", AG_U8, {2}, two);
  ASSERT_EQ(save(p, small, 0), AG_OK) << ag_last_error();
  ag_safetensors *st = ag_st_open(p.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();
  EXPECT_EQ(ag_st_count(st), 1);
  ag_st_close(st);
  EXPECT_EQ(slurp(p).size() % 8, 2u);  // 8 + aligned header + 2 bytes of data
  EXPECT_FALSE(has_tmp_files(d.path));
}

// A full disk or a file-size limit (`ulimit -f`): the write fails (EFBIG),
// the error names the file and the reason, the previous checkpoint stays whole
// and the temporary file is removed.
TEST(Safetensors, WriteErrorKeepsPreviousFileAndRemovesTmp) {
  Dir d;
  Named small;
  const uint8_t two[2] = {1, 2};
  small.add_raw("only", AG_U8, {2}, two);
  std::string p = d.file("keep.safetensors");
  ASSERT_EQ(save(p, small, 0), AG_OK) << ag_last_error();
  auto before = slurp(p);
  Named big;
  big.add("w", AG_F32, {4096}, std::vector<float>(4096, 1.0f));  // 16 KiB of data

  struct rlimit old, lim;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 4096;
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  ag_status s = save(p, big, 0);
  std::string msg = ag_last_error();
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_EQ(s, AG_ERR_IO);
  EXPECT_NE(msg.find("keep.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::strerror(EFBIG)), std::string::npos) << msg;
  EXPECT_EQ(slurp(p), before) << "the previous checkpoint must survive";
  EXPECT_FALSE(has_tmp_files(d.path));
}

// Runs the Python peer; returns its exit code (77: package missing) and output.
static int run_peer(const std::string &mode, const std::string &file, std::string *out) {
  std::string script = (fs::path(__FILE__).parent_path() / "safetensors_peer.py").string();
  std::string cmd =
      std::string("'") + AG_TEST_PYTHON + "' '" + script + "' " + mode + " '" + file + "' 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) *out += buf;
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(Safetensors, InteropWithPythonSafetensors) {
  if (std::string(AG_TEST_PYTHON).empty()) GTEST_SKIP() << "no python3 found at configure time";
  std::string script = (fs::path(__FILE__).parent_path() / "safetensors_peer.py").string();
  if (!fs::exists(script)) GTEST_SKIP() << "peer script not found at " << script;
  Dir d;
  Named m;
  fill_expected(m);
  std::string ours = d.file("aigc.safetensors");
  ASSERT_EQ(save(ours, m), AG_OK) << ag_last_error();
  std::string out;
  int rc = run_peer("check", ours, &out);
  if (rc == 77)
    GTEST_SKIP() << out << "install with: " << AG_TEST_PYTHON
                 << " -m pip install safetensors numpy";
  ASSERT_EQ(rc, 0) << "python could not read aigc's file:\n" << out;

  std::string theirs = d.file("python.safetensors");
  out.clear();
  ASSERT_EQ(run_peer("write", theirs, &out), 0) << out;
  ag_safetensors *st = ag_st_open(theirs.c_str());
  ASSERT_NE(st, nullptr) << ag_last_error();
  EXPECT_STREQ(ag_st_metadata(st, "source"), "python");
  EXPECT_STREQ(ag_st_metadata(st, "step"), "42");
  EXPECT_EQ(ag_st_count(st), 5);
  ag_tensor *a = new_cpu(AG_F32, {2, 3});
  ag_tensor *b = new_cpu(AG_I32, {2, 3});
  ag_tensor *c = new_cpu(AG_U8, {3});
  ag_tensor *dd = new_cpu(AG_F16, {2});
  ag_tensor *s = ag_tensor_new(ag_backend_cpu(), AG_F32, 0, nullptr);
  const char *names[] = {"a", "b", "c", "d", "s"};
  ag_tensor *ts[] = {a, b, c, dd, s};
  ASSERT_EQ(ag_st_load_params(st, names, ts, 5), AG_OK) << ag_last_error();
  EXPECT_EQ(read_floats(a), (std::vector<float>{0, 0.5f, 1, 1.5f, 2, 2.5f}));
  auto bb = read_bytes(b);
  std::vector<int32_t> bi(6);
  std::memcpy(bi.data(), bb.data(), 24);
  EXPECT_EQ(bi, (std::vector<int32_t>{-3, -2, -1, 0, 1, 2}));
  EXPECT_EQ(read_bytes(c), (std::vector<uint8_t>{10, 20, 30}));
  EXPECT_EQ(read_floats(dd), (std::vector<float>{0.5f, -1.5f}));
  EXPECT_EQ(read_floats(s), (std::vector<float>{2.5f}));
  for (ag_tensor *t : ts) ag_tensor_free(t);
  ag_st_close(st);
}
