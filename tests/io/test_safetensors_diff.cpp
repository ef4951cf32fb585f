// Differential test of the safetensors reader against the reference, Python's
// `safetensors`: tests/io/safetensors_diff.py writes every case (valid files,
// malformed ones, and files valid for the reference that aigc refuses for a
// limit of its own) and says which the reference accepts and what it reads.
// aigc must accept exactly the same files and read the same tensors, bytes and
// metadata; it must refuse the rest with one line naming the file and the
// problem, and the aigc-limit cases with a message naming the limit.
//
// One case runs them all, so that a missing Python or package makes the whole
// binary one skip by exit code (ag_test_skip_run): ctest reports it skipped,
// and a run whose checks fail can never be reported as skipped.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "ag_gpu_main.h"
#include "ag_test_util.h"
#include "runtime/io/safetensors.h"

namespace fs = std::filesystem;

namespace {

// One line of the case maker's output (see safetensors_diff.py).
struct Case {
  std::string name, expect, verdict, needle, summary, reason;
};

struct Aigc {
  bool accepted = false;
  std::string message, summary;
};

// The case maker's escaping of a field, applied to what aigc read.
std::string clean(const std::string &s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\t')
      out += ' ';
    else if (ch == '\n')
      out += "\\n";
    else if (ch == '\0')
      out += "\\u0000";
    else
      out += ch;
  }
  return out;
}

std::vector<std::string> split(const std::string &line, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(line);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!line.empty() && line.back() == sep) parts.push_back("");
  return parts;
}

// Runs the case maker into `dir`; its exit code (77: package missing).
int make_cases(const std::string &dir, std::vector<Case> *cases, std::string *log) {
  std::string script = (fs::path(__FILE__).parent_path() / "safetensors_diff.py").string();
  std::string cmd = std::string("'") + AG_TEST_PYTHON + "' '" + script + "' '" + dir + "' 2>&1";
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  *log = out;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto f = split(line, '\t');
    if (f.size() == 6) cases->push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
  }
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char *format_dtype(ag_dtype dt) {
  switch (dt) {
    case AG_F32:
      return "F32";
    case AG_F16:
      return "F16";
    case AG_BF16:
      return "BF16";
    case AG_I32:
      return "I32";
    case AG_U8:
      return "U8";
    default:
      return "?";
  }
}

std::string hex(const std::vector<uint8_t> &bytes) {
  std::string s;
  char b[3];
  for (uint8_t x : bytes) {
    std::snprintf(b, sizeof b, "%02x", x);
    s += b;
  }
  return s;
}

// "name:DTYPE[shape]=hex" of tensor i, loaded through ag_st_load_into; the
// empty string (and *why) when it does not load.
std::string load_one(const ag_safetensors *st, int i, std::string *why) {
  ag_st_tensor_info info;
  ag_tensor *t = nullptr;
  if (ag_st_info(st, i, &info) == AG_OK)
    t = ag_tensor_new(ag_backend_cpu(), info.dtype, info.ndim, info.shape);
  if (!t || ag_st_load_into(st, info.name, t) != AG_OK) {
    *why = ag_last_error();
    ag_tensor_free(t);
    return "";
  }
  std::string dims;
  for (int k = 0; k < info.ndim; k++) dims += (k ? "," : "") + std::to_string(info.shape[k]);
  std::string s = std::string(info.name) + ":" + format_dtype(info.dtype) + "[" + dims +
                  "]=" + hex(ag_test::read_bytes(t));
  ag_tensor_free(t);
  return s;
}

// What aigc makes of a file: opened, every tensor loaded, the metadata read.
Aigc open_with_aigc(const std::string &path) {
  Aigc r;
  ag_clear_error();
  ag_safetensors *st = ag_st_open(path.c_str());
  if (!st) {
    r.message = ag_last_error();
    return r;
  }
  std::vector<std::string> tensors, meta;
  for (int i = 0; i < ag_st_count(st) && r.message.empty(); i++)
    tensors.push_back(load_one(st, i, &r.message));
  for (int i = 0; i < ag_st_metadata_count(st); i++) {
    const char *k = ag_st_metadata_key(st, i);
    meta.push_back(std::string(k) + "=" + ag_st_metadata(st, k));
  }
  ag_st_close(st);
  if (!r.message.empty()) return r;
  std::sort(tensors.begin(), tensors.end());
  std::sort(meta.begin(), meta.end());
  auto join = [](const std::vector<std::string> &v) {
    std::string s;
    for (size_t i = 0; i < v.size(); i++) s += (i ? ";" : "") + v[i];
    return s;
  };
  r.accepted = true;
  r.summary = clean(join(tensors) + "|" + join(meta));
  return r;
}

void check_case(const Case &c, const std::string &path, const Aigc &a) {
  SCOPED_TRACE(c.name + " (reference: " + c.verdict + (c.reason.empty() ? "" : ", ") + c.reason +
               "; aigc: " + (a.accepted ? "accept" : a.message) + ")");
  ASSERT_NE(c.verdict, "inconsistent") << "deserialize() and safe_open() disagree";
  if (c.expect == "aigc-limit") {
    EXPECT_EQ(c.verdict, "accept") << "an aigc-limit case must be valid for the reference";
    EXPECT_FALSE(a.accepted) << "aigc must refuse what exceeds its limits";
  } else {
    ASSERT_EQ(c.expect, "same");
    EXPECT_EQ(a.accepted, c.verdict == "accept") << "aigc and the reference disagree";
    if (a.accepted && c.verdict == "accept") {
      EXPECT_EQ(a.summary, c.summary) << "aigc read other tensors than the reference";
    }
  }
  if (a.accepted) return;
  EXPECT_NE(a.message.find(c.needle), std::string::npos) << "message: " << a.message;
  EXPECT_NE(a.message.find(fs::path(path).filename().string()), std::string::npos)
      << "the message must name the file: " << a.message;
  EXPECT_EQ(a.message.find('\n'), std::string::npos) << "one line: " << a.message;
}

}  // namespace

TEST(SafetensorsDiff, AcceptsExactlyWhatPythonSafetensorsAccepts) {
  if (std::string(AG_TEST_PYTHON).empty()) ag_test_skip_run("no python3 found at configure time");
  fs::path dir = fs::temp_directory_path() / ("ag_st_diff_" + std::to_string(getpid()));
  fs::remove_all(dir);
  std::vector<Case> cases;
  std::string log;
  int rc = make_cases(dir.string(), &cases, &log);
  if (rc == AG_TEST_SKIP_CODE) {
    fs::remove_all(dir);
    ag_test_skip_run(log + " (install with: " + AG_TEST_PYTHON + " -m pip install safetensors)");
  }
  ASSERT_EQ(rc, 0) << log;

  int valid = 0, refused = 0, limits = 0;
  for (const Case &c : cases) {
    std::string path = (dir / (c.name + ".safetensors")).string();
    Aigc a = open_with_aigc(path);
    check_case(c, path, a);
    valid += c.expect == "same" && c.verdict == "accept";
    refused += c.expect == "same" && c.verdict == "refuse";
    limits += c.expect == "aigc-limit";
    std::printf("%-36s %-10s reference %-6s aigc %s\n", c.name.c_str(), c.expect.c_str(),
                c.verdict.c_str(), a.accepted ? "accept" : a.message.c_str());
  }
  std::printf("%d valid, %d malformed, %d aigc-limit cases\n", valid, refused, limits);
  EXPECT_GE(valid, 10);
  EXPECT_GE(refused, 30);
  EXPECT_LE(limits, 12) << "aigc-limit cases are exceptions: keep them few";
  fs::remove_all(dir);
}
